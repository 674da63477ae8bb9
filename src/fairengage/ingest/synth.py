"""Synthetic community engagements with effects that can be planted, for the demo, tests and benchmarks.

``generate`` writes the analytic table of docs/architecture.md (one row per engagement) and, with
``with_details=True``, the extra columns the database loader needs. Everything is drawn with numpy
from a seed, column by column (no per-row Python), so the same seed always gives the same frame and
millions of rows take seconds. The person's perceived-race group is drawn from the division's
population shares (``population.py``) times the planted odds multipliers, renormalised; with no
effect planted the data holds no group difference beyond chance.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from astral import Observer
from astral.sun import sun

from fairengage import vocabulary
from fairengage.config import DEFAULT_LATITUDE, DEFAULT_LONGITUDE
from fairengage.ingest.population import DIVISION_CODES, DIVISIONS, division_shares
from fairengage.vocabulary import BENCHMARK_GROUPS, PERCEIVED_RACES

# The pandas dtype of each kind of analytic column (the columns are the shared vocabulary's); a
# nullable flag needs pandas' nullable boolean, whose missing value plain `bool` cannot hold.
_PANDAS_TYPES: dict[tuple[str, bool], str] = {
    ("string", False): "str",
    ("string", True): "str",
    ("timestamp", False): "datetime64[us, UTC]",
    ("float", False): "float64",
    ("float", True): "float64",
    ("int", False): "Int64",
    ("int", True): "Int64",
    ("boolean", False): "bool",
    ("boolean", True): "boolean",
}
# Column -> pandas dtype of the analytic table (docs/architecture.md, "Analytic table").
ANALYTIC_COLUMNS: dict[str, str] = {
    c.name: _PANDAS_TYPES[c.kind, c.nullable] for c in vocabulary.ANALYTIC_COLUMNS
}
# Extra columns of ``generate(with_details=True)``, for loading records into the application database.
DETAIL_COLUMNS: dict[str, str] = {
    "officer_badge": "str",
    "reason": "str",
    "reason_grounds": "list<item: string>[pyarrow]",
    "inform_exception": "str",
    "receipt_exception": "str",
    "location_description": "str",
    "person_name": "str",
    "person_date_of_birth": "date32[day][pyarrow]",
    "person_address": "str",
    "legacy": "bool",
}

PURPOSES: tuple[str, ...] = ("inquiring_into_offences", "suspicious_activities", "intelligence")
GENDERS: tuple[str, ...] = ("man", "woman", "gender diverse", "unknown")
OUTCOMES: tuple[str, ...] = vocabulary.OUTCOMES
REASON_GROUNDS: tuple[str, ...] = (
    "behaviour",
    "information_received",
    "description_match",
    "vehicle",
    "associated_with_suspect",
    "time_and_place_of_offence",
)
# Exception grounds of docs/rule-sets.md "Duties at the time (ss.6-8)": informing, then the receipt.
INFORM_EXCEPTIONS: tuple[str, ...] = (
    "safety",
    "ongoing_investigation",
    "confidential_informant",
    "identity_contrary_to_law",
)
RECEIPT_EXCEPTIONS: tuple[str, ...] = ("safety", "respond_to_other_matter")

# Officer keys of synthetic data are made with this fixed key, never with a deployment's secret.
SYNTHETIC_OFFICER_KEY = b"fairengage-synthetic-officer-key"
DEFAULT_HIT_RATE = 0.30
# Planted thresholds (PlantedEffects.plant_thresholds): a group's search threshold on the probability of
# guilt, its risk distribution (share guilty phi, signal separation delta), and how much phi varies by
# division (standard deviation on the logit scale).
DEFAULT_THRESHOLD = 0.30
DEFAULT_RISK = (0.10, 2.0)
DIVISION_RISK_SPREAD = 0.6

# Base rates of the generator (fractions of all records unless said otherwise).
UNKNOWN_RACE_SHARE = 0.03  # the officer recorded Unknown: drawn apart from, and untouched by, any effect
HOME_DIVISION_SHARE = 0.92  # records made by an officer of the division itself
DUTY_DONE, DUTY_EXCEPTION = 0.95, 0.025  # informed / receipt offered; exception; the rest: duty missed
IDENTIFYING_INFO_RATE = 0.72
SEARCH_RATE = 0.04
# Several people engaged at once (docs/rule-sets.md: one record per person): the share of encounters
# with more than one person, and how many people those have (2, 3, 4). They share the time, place,
# officer, purpose and reason; each person has their own record, duties and outcome.
GROUP_SHARE = 0.12
GROUP_SIZE_P = (0.65, 0.25, 0.10)
AGE_MISSING_RATE = 0.015
LOCATION_MISSING_RATE = 0.01
GENDER_P = (0.80, 0.17, 0.005, 0.025)
PURPOSE_P = (0.45, 0.40, 0.15)
OUTCOME_P = (0.87, 0.06, 0.035, 0.015, 0.02)
OUTCOME_P_CONTRABAND = (0.25, 0.10, 0.15, 0.45, 0.05)
INFORM_EXCEPTION_P = (0.50, 0.35, 0.10, 0.05)
RECEIPT_EXCEPTION_P = (0.40, 0.60)

# When street checks happen: more in the evening and at night, on Fridays and Saturdays, and in summer.
HOUR_WEIGHTS = np.array(
    [6.0, 5.5, 4.5, 3.2, 2.0, 1.2, 1.0, 1.3, 1.8, 2.2, 2.6, 3.0,
     3.3, 3.4, 3.6, 3.9, 4.2, 4.6, 5.0, 5.6, 6.3, 6.8, 7.0, 6.7]
)  # fmt: skip
WEEKDAY_WEIGHTS = np.array([0.90, 0.88, 0.92, 0.98, 1.15, 1.22, 1.00])  # Monday first
MONTH_WEIGHTS = np.array([0.80, 0.80, 0.88, 0.95, 1.05, 1.12, 1.18, 1.18, 1.07, 1.00, 0.92, 0.85])

# Neighbourhoods of the City's 140-neighbourhood map, each under the division that holds its
# centroid (computed once from the public boundary files; centroids rounded to 0.001 degree).
_NEIGHBOURHOODS = """
D11 43.655 -79.437 Dufferin Grove
D11 43.645 -79.468 High Park-Swansea
D11 43.674 -79.460 Weston-Pellam Park
D11 43.668 -79.471 Junction Area
D11 43.646 -79.443 Roncesvalles
D11 43.657 -79.496 Lambton Baby Point
D11 43.659 -79.486 Runnymede-Bloor West Village
D11 43.666 -79.439 Dovercourt-Wallace Emerson-Junction
D11 43.658 -79.466 High Park North
D12 43.701 -79.486 Brookhaven-Amesbury
D12 43.703 -79.516 Weston
D12 43.675 -79.494 Rockcliffe-Smythe
D12 43.688 -79.500 Mount Dennis
D12 43.712 -79.498 Rustic
D12 43.693 -79.480 Beechborough-Greenbrook
D12 43.686 -79.471 Keelesdale-Eglinton West
D12 43.716 -79.481 Maple Leaf
D13 43.689 -79.455 Caledonia-Fairbank
D13 43.691 -79.428 Humewood-Cedarvale
D13 43.704 -79.428 Forest Hill North
D13 43.678 -79.448 Corso Italia-Davenport
D13 43.699 -79.453 Briar Hill-Belgravia
D13 43.689 -79.440 Oakwood Village
D13 43.677 -79.425 Wychwood
D14 43.637 -79.439 South Parkdale
D14 43.650 -79.415 Trinity-Bellwoods
D14 43.648 -79.430 Little Portugal
D14 43.659 -79.418 Palmerston-Little Italy
D14 43.637 -79.412 Niagara
D22 43.658 -79.580 Eringate-Centennial-West Deane
D22 43.605 -79.542 Alderwood
D22 43.671 -79.522 Edenbridge-Humber Valley
D22 43.601 -79.510 New Toronto
D22 43.616 -79.500 Mimico (includes Humber Bay Shores)
D22 43.633 -79.573 Markland Wood
D22 43.592 -79.533 Long Branch
D22 43.645 -79.569 Etobicoke West Mall
D22 43.654 -79.511 Kingsway South
D22 43.633 -79.543 Islington-City Centre West
D22 43.636 -79.501 Stonegate-Queensway
D22 43.666 -79.545 Princess-Rosethorn
D23 43.699 -79.548 Kingsview Village-The Westway
D23 43.716 -79.596 West Humber-Clairville
D23 43.747 -79.587 Mount Olive-Silverstone-Jamestown
D23 43.721 -79.549 Elms-Old Rexdale
D23 43.692 -79.522 Humber Heights-Westmount
D23 43.684 -79.554 Willowridge-Martingrove-Richview
D23 43.724 -79.566 Rexdale-Kipling
D23 43.738 -79.564 Thistletown-Beaumond Heights
D31 43.733 -79.490 Downsview-Roding-CFB
D31 43.759 -79.556 Humber Summit
D31 43.746 -79.513 Glenfield-Jane Heights
D31 43.765 -79.522 Black Creek
D31 43.718 -79.528 Pelmo Park-Humberlea
D31 43.766 -79.489 York University Heights
D31 43.743 -79.542 Humbermede
D32 43.779 -79.452 Westminster-Branson
D32 43.765 -79.456 Bathurst Manor
D32 43.720 -79.437 Englemount-Lawrence
D32 43.786 -79.431 Newtonbrook West
D32 43.715 -79.457 Yorkdale-Glen Park
D32 43.731 -79.420 Bedford Park-Nortown
D32 43.730 -79.404 Lawrence Park North
D32 43.742 -79.446 Clanton Park
D32 43.791 -79.406 Newtonbrook East
D32 43.754 -79.425 Lansing-Westgate
D32 43.771 -79.428 Willowdale West
D32 43.771 -79.401 Willowdale East
D33 43.771 -79.341 Henry Farm
D33 43.787 -79.335 Pleasant View
D33 43.783 -79.354 Don Valley Village
D33 43.728 -79.315 Victoria Village
D33 43.756 -79.379 St.Andrew-Windfields
D33 43.738 -79.350 Banbury-Don Mills
D33 43.731 -79.379 Bridle Path-Sunnybrook-York Mills
D33 43.803 -79.355 Hillcrest Village
D33 43.755 -79.330 Parkwoods-Donalda
D33 43.776 -79.377 Bayview Village
D33 43.797 -79.382 Bayview Woods-Steeles
D41 43.726 -79.260 Kennedy Park
D41 43.697 -79.280 Oakridge
D41 43.749 -79.299 Wexford/Maryvale
D41 43.695 -79.265 Birchcliffe-Cliffside
D41 43.714 -79.281 Clairlea-Birchmount
D41 43.735 -79.272 Ionview
D41 43.759 -79.279 Dorset Park
D42 43.821 -79.275 Milliken
D42 43.813 -79.321 Steeles
D42 43.796 -79.314 L'Amoreaux
D42 43.789 -79.266 Agincourt South-Malvern West
D42 43.805 -79.267 Agincourt North
D42 43.804 -79.222 Malvern
D42 43.821 -79.186 Rouge
D42 43.780 -79.303 Tam O'Shanter-Sullivan
D43 43.791 -79.177 Highland Creek
D43 43.767 -79.177 West Hill
D43 43.739 -79.217 Scarborough Village
D43 43.749 -79.195 Guildwood
D43 43.741 -79.246 Eglinton East
D43 43.767 -79.229 Woburn
D43 43.760 -79.257 Bendale
D43 43.782 -79.207 Morningside
D43 43.721 -79.236 Cliffcrest
D43 43.782 -79.151 Centennial Scarborough
D51 43.670 -79.375 North St.James Town
D51 43.660 -79.361 Regent Park
D51 43.657 -79.367 Moss Park
D51 43.660 -79.379 Church-Yonge Corridor
D51 43.668 -79.366 Cabbagetown-South St.James Town
D52 43.657 -79.386 Bay Street Corridor
D52 43.663 -79.401 University
D52 43.654 -79.397 Kensington-Chinatown
D52 43.634 -79.377 Waterfront Communities-The Island
D53 43.682 -79.408 Casa Loma
D53 43.672 -79.404 Annex
D53 43.717 -79.406 Lawrence Park South
D53 43.683 -79.380 Rosedale-Moore Park
D53 43.705 -79.404 Yonge-Eglinton
D53 43.704 -79.393 Mount Pleasant West
D53 43.705 -79.385 Mount Pleasant East
D53 43.708 -79.350 Thorncliffe Park
D53 43.694 -79.414 Forest Hill South
D53 43.704 -79.366 Leaside-Bennington
D53 43.688 -79.398 Yonge-St.Clair
D55 43.677 -79.315 Woodbine Corridor
D55 43.649 -79.336 South Riverdale
D55 43.689 -79.356 Broadview North
D55 43.673 -79.324 Greenwood-Coxwell
D55 43.690 -79.331 Danforth East York
D55 43.695 -79.296 Taylor-Massey
D55 43.676 -79.337 Blake-Jones
D55 43.684 -79.330 Danforth
D55 43.697 -79.335 Old East York
D55 43.707 -79.312 O'Connor-Parkview
D55 43.694 -79.311 Woodbine-Lumsden
D55 43.716 -79.333 Flemingdon Park
D55 43.672 -79.351 North Riverdale
D55 43.684 -79.299 East End-Danforth
D55 43.680 -79.355 Playter Estates-Danforth
D55 43.671 -79.300 The Beaches
"""

# Intersections used for the free-text location, a few per division.
_INTERSECTIONS: dict[str, tuple[str, ...]] = {
    "D11": ("Dundas St W & Roncesvalles Ave", "Keele St & Annette St", "Bloor St W & Runnymede Rd"),
    "D12": ("Weston Rd & Lawrence Ave W", "Jane St & Trethewey Dr", "Keele St & Eglinton Ave W"),
    "D13": ("Eglinton Ave W & Oakwood Ave", "St Clair Ave W & Dufferin St", "Bathurst St & Vaughan Rd"),
    "D14": ("Queen St W & Ossington Ave", "Bloor St W & Dufferin St", "King St W & Dufferin St"),
    "D22": ("Kipling Ave & Bloor St W", "Lake Shore Blvd W & Islington Ave", "The Queensway & Royal York Rd"),
    "D23": ("Finch Ave W & Kipling Ave", "Rexdale Blvd & Islington Ave", "Albion Rd & Martin Grove Rd"),
    "D31": ("Jane St & Finch Ave W", "Keele St & Sheppard Ave W", "Sentinel Rd & Finch Ave W"),
    "D32": ("Yonge St & Sheppard Ave", "Bathurst St & Steeles Ave W", "Wilson Ave & Dufferin St"),
    "D33": ("Don Mills Rd & Sheppard Ave E", "Victoria Park Ave & Finch Ave E", "Leslie St & York Mills Rd"),
    "D41": ("Eglinton Ave E & Kennedy Rd", "Lawrence Ave E & Warden Ave", "Danforth Rd & Birchmount Rd"),
    "D42": ("Sheppard Ave E & Markham Rd", "McCowan Rd & Finch Ave E", "Steeles Ave E & Middlefield Rd"),
    "D43": ("Kingston Rd & Morningside Ave", "Lawrence Ave E & Galloway Rd", "Ellesmere Rd & Markham Rd"),
    "D51": ("Queen St E & Parliament St", "Sherbourne St & Dundas St E", "Gerrard St E & River St"),
    "D52": ("Queen St W & Spadina Ave", "Dundas St W & University Ave", "King St W & John St"),
    "D53": ("Yonge St & Eglinton Ave", "Bayview Ave & Davisville Ave", "Thorncliffe Park Dr & Overlea Blvd"),
    "D55": ("Danforth Ave & Pape Ave", "Queen St E & Coxwell Ave", "Gerrard St E & Main St"),
}

# Name pools for officers and for the fictional people of detailed records.
_MEN = (
    "James", "Liam", "Noah", "Ethan", "Lucas", "Mohammed", "Daniel", "Ryan", "Jean", "Marc",
    "Andre", "Kevin", "Jason", "Omar", "Arjun", "Raj", "Wei", "Jun", "Carlos", "Diego",
    "Kwame", "Tyrone", "Michael", "David", "Matthew", "Connor", "Luc", "Hassan", "Anthony", "Paolo",
)  # fmt: skip
_WOMEN = (
    "Emma", "Olivia", "Sarah", "Jessica", "Chloe", "Fatima", "Priya", "Mei", "Sofia", "Isabelle",
    "Marie", "Amanda", "Nicole", "Aisha", "Ana", "Grace", "Hannah", "Jasmine", "Leila", "Keisha",
)  # fmt: skip
_SURNAMES = (
    "Smith", "Brown", "Tremblay", "Martin", "Roy", "Wilson", "MacDonald", "Gagnon", "Taylor", "Campbell",
    "Anderson", "Leblanc", "Thompson", "White", "Singh", "Patel", "Chen", "Wong", "Li", "Nguyen",
    "Kim", "Santos", "Silva", "Rossi", "Ferreira", "Ahmed", "Khan", "Ali", "Mensah", "Williams",
    "Johnson", "Clarke", "Morrison", "Fraser", "Bouchard", "Pelletier", "Kowalski", "Novak", "Cohen",
    "Papadopoulos", "Garcia", "Hernandez", "Reyes", "Sharma", "Gill", "Lam", "Ng", "Osei", "Campbell-Brown",
)  # fmt: skip
_STREETS = (
    "Bathurst St", "Dufferin St", "Keele St", "Jane St", "Weston Rd", "Islington Ave", "Kipling Ave",
    "Bloor St W", "Danforth Ave", "Queen St E", "Gerrard St E", "Pape Ave", "Coxwell Ave",
    "Victoria Park Ave", "Warden Ave", "Kennedy Rd", "Markham Rd", "Lawrence Ave E", "Finch Ave W",
    "Sheppard Ave E", "Eglinton Ave W", "St Clair Ave W", "Ossington Ave", "Parliament St", "Dundas St W",
    "Bayview Ave",
)  # fmt: skip

# Reason templates by purpose, each with the structured grounds it states. Reasons never mention a
# racialized group (docs/rule-sets.md RACE-NOT-A-REASON) and never rest only on a refusal to answer, walking
# away or presence in a high-crime area (FORBIDDEN-REASONS).
_REASON_TEMPLATES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "inquiring_into_offences": (
        (
            "Person was near {place} minutes after a reported break and enter, wearing a {clothing} like the "
            "suspect's and walking the same way.",
            ("description_match", "time_and_place_of_offence"),
        ),
        (
            "Inquiring into a theft reported minutes earlier at {place}; the person was leaving the area "
            "carrying {item} like the stolen property.",
            ("time_and_place_of_offence", "behaviour"),
        ),
        (
            "Caller reported someone damaging parked cars near {place}; this person was the only one there "
            "and was holding {item}.",
            ("information_received", "time_and_place_of_offence"),
        ),
        (
            "Witness to a robbery at {place} described a suspect in a {clothing}; the person matched the "
            "clothing, height and direction of travel.",
            ("description_match", "information_received"),
        ),
        (
            "Person was with the driver of a car linked to a stolen-property report near {place} earlier "
            "this evening.",
            ("associated_with_suspect", "vehicle"),
        ),
    ),
    "suspicious_activities": (
        (
            "Person was trying the door handles of several parked cars near {place} and moved away each time "
            "a car approached.",
            ("behaviour",),
        ),
        (
            "Person was looking into the windows of closed businesses at {place} after midnight while "
            "carrying {item}.",
            ("behaviour", "time_and_place_of_offence"),
        ),
        (
            "A car with its lights off circled the lot at {place} several times; the person was the driver "
            "and had {item} on the seat.",
            ("vehicle", "behaviour"),
        ),
        (
            "Staff at {place} reported someone hiding merchandise in {item}; officer attended and spoke with "
            "the person outside.",
            ("information_received", "behaviour"),
        ),
        (
            "Person was handing small packages to passers-by near {place} in exchange for cash, several "
            "times within a few minutes.",
            ("behaviour",),
        ),
    ),
    "intelligence": (
        (
            "Person was with the subject of an ongoing firearms investigation at {place}; details gathered "
            "for the investigation file.",
            ("associated_with_suspect",),
        ),
        (
            "Tip received of drug sales from a car parked near {place}; the person was sitting in that car "
            "with {item}.",
            ("information_received", "vehicle"),
        ),
        (
            "Person was seen meeting the subject of an active break and enter series near {place} and "
            "passing over {item}.",
            ("associated_with_suspect", "behaviour"),
        ),
    ),
}
_REASON_FILLERS: dict[str, tuple[str, ...]] = {
    "place": ("a convenience store", "the subway station entrance", "a plaza parking lot", "a bus shelter",
              "a community centre", "a gas station", "a shopping mall entrance", "a hardware store"),
    "item": ("a backpack", "a duffel bag", "a pry bar", "bolt cutters", "a shopping bag", "several phones",
             "a screwdriver"),
    "clothing": ("grey hooded sweatshirt", "red jacket", "navy parka", "green ball cap",
                 "blue jacket and grey shoes"),
}  # fmt: skip


@dataclass(frozen=True)
class PlantedEffects:
    """Effects planted in synthetic data, so that analyses can be shown to find them (and only them)."""

    over_representation: dict[str, float] = field(default_factory=dict)
    biased_officers: int = 0
    biased_group: str = "Black"
    biased_multiplier: float = 3.0
    daylight_effect: float = 1.0
    daylight_group: str = "Black"
    hit_rate: dict[str, float] = field(default_factory=dict)
    # Searches decided by a threshold on each person's risk (docs/analyst.md, "The threshold test"):
    # when on, `hit_rate` is not used; `thresholds` and `risk` (phi, delta) default per group to
    # DEFAULT_THRESHOLD and DEFAULT_RISK.
    plant_thresholds: bool = False
    thresholds: dict[str, float] = field(default_factory=dict)
    risk: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse unknown groups and impossible multipliers or rates."""
        for group, multiplier in self.over_representation.items():
            _check_group(group, "over_representation")
            _check_positive(multiplier, f"over_representation[{group!r}]")
        _check_group(self.biased_group, "biased_group")
        _check_group(self.daylight_group, "daylight_group")
        if self.biased_officers < 0:
            raise ValueError(f"biased_officers must be 0 or more, got {self.biased_officers}")
        _check_positive(self.biased_multiplier, "biased_multiplier")
        _check_positive(self.daylight_effect, "daylight_effect")
        for group, rate in self.hit_rate.items():
            if group not in PERCEIVED_RACES:
                known = ", ".join(PERCEIVED_RACES)
                raise ValueError(f"hit_rate: unknown group {group!r}; use one of {known}")
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"hit_rate[{group!r}] must be between 0 and 1, got {rate}")
        for group, threshold in self.thresholds.items():
            _check_known(group, "thresholds")
            if not 0.0 < threshold < 1.0:
                raise ValueError(f"thresholds[{group!r}] must be between 0 and 1, got {threshold}")
        for group, (phi, delta) in self.risk.items():
            _check_known(group, "risk")
            if not 0.0 < phi < 1.0:
                raise ValueError(f"risk[{group!r}]: phi must be between 0 and 1, got {phi}")
            _check_positive(delta, f"risk[{group!r}]: delta")


def _check_known(group: str, name: str) -> None:
    if group not in PERCEIVED_RACES:
        raise ValueError(f"{name}: unknown group {group!r}; use one of {', '.join(PERCEIVED_RACES)}")


def _check_group(group: str, name: str) -> None:
    if group not in BENCHMARK_GROUPS:
        raise ValueError(f"{name}: unknown group {group!r}; use one of {', '.join(BENCHMARK_GROUPS)}")


def _check_positive(value: float, name: str) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be greater than 0, got {value}")


@dataclass(frozen=True)
class SynthOfficer:
    """A fictional officer of the synthetic roster."""

    badge: str
    name: str
    division: str
    officer_key: str


def officer_key(badge: str, key: bytes = SYNTHETIC_OFFICER_KEY) -> str:
    """Keyed hash of a badge: HMAC-SHA256, first 16 hex characters."""
    return hmac.new(key, badge.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def officers_roster(n: int, seed: int) -> list[SynthOfficer]:
    """A roster of n fictional officers with unique badges, spread over the divisions by volume."""
    if n < 1:
        raise ValueError(f"a roster needs at least one officer, got {n}")
    _check_seed(seed)
    rng = np.random.default_rng([seed, 0])
    low, high = (1000, 10_000) if n <= 9000 else (10_000, 100_000)
    if n > high - low:
        raise ValueError(f"at most {high - low} officers, got {n}")
    numbers = rng.choice(np.arange(low, high), size=n, replace=False)
    volumes = np.array([DIVISIONS[d].volume for d in DIVISION_CODES])
    # Every division gets an officer first (when there are enough), the rest follow the volume.
    first = rng.permutation(len(DIVISION_CODES))[: min(n, len(DIVISION_CODES))]
    rest = rng.choice(len(DIVISION_CODES), size=n - first.size, p=volumes / volumes.sum())
    divisions = np.concatenate([first, rest])
    women = rng.random(n) < 0.25
    firsts = np.where(women, rng.integers(0, len(_WOMEN), n), rng.integers(0, len(_MEN), n))
    lasts = rng.integers(0, len(_SURNAMES), n)
    roster = []
    for i in range(n):
        badge = f"T{numbers[i]}"
        given = _WOMEN[firsts[i]] if women[i] else _MEN[firsts[i]]
        roster.append(
            SynthOfficer(
                badge=badge,
                name=f"{given} {_SURNAMES[lasts[i]]}",
                division=DIVISION_CODES[divisions[i]],
                officer_key=officer_key(badge),
            )
        )
    return roster


def biased_officer_keys(officers: int, seed: int, count: int) -> list[str]:
    """The officer keys that ``generate`` makes biased for this roster size, seed and count."""
    roster = officers_roster(officers, seed)
    return [roster[i].officer_key for i in _biased_indices(officers, seed, count)]


def _biased_indices(officers: int, seed: int, count: int) -> np.ndarray:
    if count > officers:
        raise ValueError(f"biased_officers ({count}) cannot exceed officers ({officers})")
    # A stream of its own, so the choice does not depend on the record count.
    return np.sort(np.random.default_rng([seed, 1]).choice(officers, size=count, replace=False))


def _check_seed(seed: int) -> None:
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, got {seed}")


@lru_cache(maxsize=32)
def _sun_table(first: date, days: int, tz: str, lat: float, lon: float) -> np.ndarray:
    """Dawn, sunrise, sunset and civil dusk per date, as local clock seconds after midnight (days x 4)."""
    zone = ZoneInfo(tz)
    observer = Observer(latitude=lat, longitude=lon)
    table = np.empty((days, 4), dtype=np.int64)
    for i in range(days):
        # astral computes the sun's position; one call per distinct date, never per row.
        times = sun(observer, date=date.fromordinal(first.toordinal() + i), tzinfo=zone)
        for j, event in enumerate(("dawn", "sunrise", "sunset", "dusk")):
            moment = times[event]
            table[i, j] = moment.hour * 3600 + moment.minute * 60 + moment.second
    return table


def _phase_codes(day_index: np.ndarray, seconds: np.ndarray, table: np.ndarray) -> np.ndarray:
    """0 dark (before civil dawn or after civil dusk), 1 twilight, 2 light (sunrise to sunset)."""
    dawn, sunrise, sunset, dusk = (table[day_index, j] for j in range(4))
    light = (seconds >= sunrise) & (seconds < sunset)
    dark = (seconds < dawn) | (seconds >= dusk)
    return np.where(light, 2, np.where(dark, 0, 1))


def daylight_phase(
    occurred_at: pd.Series,
    tz: str = "America/Toronto",
    *,
    lat: float = DEFAULT_LATITUDE,
    lon: float = DEFAULT_LONGITUDE,
) -> np.ndarray:
    """'light', 'twilight' or 'dark' for each timestamp, by the sun at (lat, lon) on its local date."""
    local = pd.Series(occurred_at).dt.tz_convert(tz)
    if local.empty:
        return np.array([], dtype=object)
    days = local.dt.tz_localize(None).to_numpy().astype("datetime64[D]")
    seconds = (local.dt.hour * 3600 + local.dt.minute * 60 + local.dt.second).to_numpy()
    first = days.min()
    span = int((days.max() - first).astype(int)) + 1
    table = _sun_table(first.astype(date), span, tz, lat, lon)
    codes = _phase_codes((days - first).astype(np.int64), seconds, table)
    return np.array(["dark", "twilight", "light"], dtype=object)[codes]


def _labels(codes: np.ndarray, categories: Sequence[str]) -> pd.api.extensions.ExtensionArray:
    """Strings from integer codes (negative code: missing), decoded by pyarrow rather than per row."""
    missing = codes < 0
    indices = pa.array(np.where(missing, 0, codes).astype(np.int32), mask=missing)
    dictionary = pa.array(list(categories), type=pa.large_string())
    return pd.array(pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.large_string()), dtype="str")


def _join(*parts: str | pa.Array | pd.api.extensions.ExtensionArray) -> pa.Array:
    """Concatenate text columns and constants element-wise (a missing part makes the result missing)."""
    text = pa.large_string()
    args = [pa.scalar(part, text) if isinstance(part, str) else pa.array(part).cast(text) for part in parts]
    return pc.binary_join_element_wise(*args, pa.scalar("", text))


def _draw(rng: np.random.Generator, probabilities: Sequence[float] | np.ndarray, size: int) -> np.ndarray:
    p = np.asarray(probabilities, dtype=float)
    return rng.choice(p.size, size=size, p=p / p.sum())


def _draw_by_cell(rng: np.random.Generator, cell: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """For each row, a category drawn with the probabilities of its cell (weights: cells x categories)."""
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    cumulative[:, -1] = 1.0
    # Cell c's cumulative values are shifted into [c, c + 1], so one sorted search serves every cell.
    shifted = (cumulative + np.arange(len(weights))[:, None]).ravel()
    position = np.searchsorted(shifted, rng.random(cell.size) + cell, side="right")
    return np.minimum(position - cell * weights.shape[1], weights.shape[1] - 1)


def _neighbourhood_table() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Neighbourhood names, lat, lon, and each division's first index and count (divisions in order)."""
    rows = [line.split(" ", 3) for line in _NEIGHBOURHOODS.strip().splitlines()]
    rows.sort(key=lambda row: DIVISION_CODES.index(row[0]))
    names = [row[3] for row in rows]
    lat = np.array([float(row[1]) for row in rows])
    lon = np.array([float(row[2]) for row in rows])
    counts = np.array([sum(row[0] == d for row in rows) for d in DIVISION_CODES])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return names, lat, lon, starts, counts


def _reason_pool() -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Every filled-in reason per purpose, with its grounds."""
    pool: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for purpose, templates in _REASON_TEMPLATES.items():
        pool[purpose] = []
        for template, grounds in templates:
            slots = sorted({name for _, name, _, _ in string.Formatter().parse(template) if name})
            for values in itertools.product(*(_REASON_FILLERS[s] for s in slots)):
                pool[purpose].append((template.format(**dict(zip(slots, values, strict=True))), grounds))
    return pool


def generate(
    records: int,
    *,
    seed: int = 0,
    start: date = date(2024, 4, 1),
    end: date = date(2025, 12, 31),
    officers: int = 400,
    effects: PlantedEffects = PlantedEffects(),  # frozen, so one shared default is safe
    tz: str = "America/Toronto",
    lat: float = DEFAULT_LATITUDE,
    lon: float = DEFAULT_LONGITUDE,
    with_details: bool = False,
    group_share: float = GROUP_SHARE,
) -> pd.DataFrame:
    """Make ``records`` synthetic engagements between start and end (inclusive, local dates).

    ``records`` counts people: a ``group_share`` of the encounters engage 2 to 4 people, one row each,
    linked by ``encounter_id`` (the id of the encounter's first row; a row alone names itself).
    """
    if records < 0:
        raise ValueError(f"records must be 0 or more, got {records}")
    if end < start:
        raise ValueError(f"end ({end}) is before start ({start})")
    _check_seed(seed)
    if not 0.0 <= group_share < 1.0:
        raise ValueError(f"group_share must be from 0 up to 1, got {group_share}")
    roster = officers_roster(officers, seed)
    biased = np.zeros(officers, dtype=bool)
    biased[_biased_indices(officers, seed, effects.biased_officers)] = True
    rng = np.random.default_rng([seed, 2])
    n = records

    # When: a local date weighted by weekday and month, then an hour weighted by time of day.
    days = (end - start).days + 1
    calendar = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    weekday = (calendar.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    month = calendar.astype("datetime64[M]").astype(np.int64) % 12
    day_weights = WEEKDAY_WEIGHTS[weekday] * MONTH_WEIGHTS[month]
    moment = np.sort(
        _draw(rng, day_weights, n) * 86_400 + _draw(rng, HOUR_WEIGHTS, n) * 3600 + rng.integers(0, 3600, n)
    )
    # A stream of its own, so that the people of an encounter change only the rows that join one.
    first = _encounter_leaders(seed, n, group_share)
    moment = moment[first]  # still in time order: a row joins the encounter just before it
    day_index, seconds = np.divmod(moment, 86_400)
    phase = _phase_codes(day_index, seconds, _sun_table(start, days, tz, lat, lon))
    light = phase == 2

    # Where and by whom: a division by volume, then mostly an officer of that division.
    volumes = np.array([DIVISIONS[d].volume for d in DIVISION_CODES])
    division = _draw(rng, volumes, n)[first]
    home = np.array([DIVISION_CODES.index(o.division) for o in roster])
    activity = rng.lognormal(0.0, 0.5, officers)  # some officers make many more checks than others
    officer = np.empty(n, dtype=np.int64)
    elsewhere = rng.random(n) >= HOME_DIVISION_SHARE
    for d in range(len(DIVISION_CODES)):
        members = np.flatnonzero(home == d)
        rows = np.flatnonzero((division == d) & ~elsewhere)
        if members.size == 0:
            elsewhere[rows] = True
            continue
        officer[rows] = rng.choice(members, size=rows.size, p=activity[members] / activity[members].sum())
    rows = np.flatnonzero(elsewhere)
    officer[rows] = rng.choice(officers, size=rows.size, p=activity / activity.sum())
    officer = officer[first]

    # Who: the division's population shares times the planted odds multipliers, renormalised, in
    # 16 x 2 x 2 cells (division, biased officer, light).
    shares = division_shares()
    weights = np.array([shares[d] for d in DIVISION_CODES])[:, None, None, :].repeat(2, 1).repeat(2, 2)
    weights = weights * np.array([effects.over_representation.get(g, 1.0) for g in BENCHMARK_GROUPS])
    weights[:, 1, :, BENCHMARK_GROUPS.index(effects.biased_group)] *= effects.biased_multiplier
    weights[:, :, 1, BENCHMARK_GROUPS.index(effects.daylight_group)] *= effects.daylight_effect
    cell = division * 4 + biased[officer] * 2 + light
    race = _draw_by_cell(rng, cell, weights.reshape(-1, len(BENCHMARK_GROUPS)))
    race[rng.random(n) < UNKNOWN_RACE_SHARE] = PERCEIVED_RACES.index("Unknown")

    gender = _draw(rng, GENDER_P, n)
    age = np.clip(np.rint(15 + rng.gamma(2.0, 7.5, n)), 12, 85).astype(np.int64)
    age_missing = rng.random(n) < AGE_MISSING_RATE
    purpose = _draw(rng, PURPOSE_P, n)[first]

    # Duties (docs/rule-sets.md ss.6-8): done, a permitted exception (still compliant), or missed.
    inform_state = np.searchsorted([DUTY_DONE, DUTY_DONE + DUTY_EXCEPTION], rng.random(n), side="right")
    receipt_state = np.searchsorted([DUTY_DONE, DUTY_DONE + DUTY_EXCEPTION], rng.random(n), side="right")
    identifying = rng.random(n) < IDENTIFYING_INFO_RATE
    searched = rng.random(n) < SEARCH_RATE
    hit_rates = np.array([effects.hit_rate.get(g, DEFAULT_HIT_RATE) for g in PERCEIVED_RACES])
    found = searched & (rng.random(n) < hit_rates[race])
    if effects.plant_thresholds:
        searched, found = _threshold_searches(seed, race, division, effects)
    outcome = _draw_by_cell(rng, found.astype(np.int64), np.array([OUTCOME_P, OUTCOME_P_CONTRABAND]))

    names, hood_lat, hood_lon, hood_start, hood_count = _neighbourhood_table()
    located = (rng.random(n) >= LOCATION_MISSING_RATE)[first]
    hood = (hood_start[division] + (rng.random(n) * hood_count[division]).astype(np.int64))[first]
    lat = np.where(located, np.round(hood_lat[hood] + rng.normal(0.0, 0.004, n), 5), np.nan)[first]
    lon = np.where(located, np.round(hood_lon[hood] + rng.normal(0.0, 0.0055, n), 5), np.nan)[first]

    local = pd.Series(np.datetime64(start, "s") + moment.astype("timedelta64[s]"))
    # In the repeated autumn hour take daylight time for even seconds, standard time for odd ones;
    # a clock time skipped in spring moves forward to the first valid time.
    occurred = local.dt.tz_localize(tz, ambiguous=seconds % 2 == 0, nonexistent="shift_forward")
    ids = _engagement_ids(seed, n)
    frame = pd.DataFrame(
        {
            "engagement_id": ids,
            "occurred_at": occurred.dt.tz_convert("UTC").astype("datetime64[us, UTC]").array,
            "division": _labels(division, DIVISION_CODES),
            "neighbourhood": _labels(np.where(located, hood, -1), names),
            "lat": lat,
            "lon": lon,
            "officer_key": _labels(officer, [o.officer_key for o in roster]),
            "purpose": _labels(purpose, PURPOSES),
            "perceived_race": _labels(race, PERCEIVED_RACES),
            "perceived_gender": _labels(gender, GENDERS),
            "perceived_age": pd.arrays.IntegerArray(age, age_missing),
            "informed": inform_state == 0,
            "receipt_offered": receipt_state == 0,
            "identifying_info_collected": identifying,
            "searched": searched,
            "contraband_found": pd.arrays.BooleanArray(found, ~searched),
            "outcome": _labels(outcome, OUTCOMES),
            # Compliant when each duty was done or excepted on a permitted ground (state 0 or 1).
            "compliant": (inform_state < 2) & (receipt_state < 2),
            "encounter_id": ids.take(first),
        }
    )
    if with_details:
        _add_details(frame, seed=seed, roster=roster, officer=officer, division=division, purpose=purpose,
                     gender=gender, age=np.where(age_missing, -1, age), day=calendar[day_index],
                     inform_state=inform_state, receipt_state=receipt_state, located=located,
                     first=first)  # fmt: skip
    return frame


def _threshold_searches(
    seed: int, race: np.ndarray, division: np.ndarray, effects: PlantedEffects
) -> tuple[np.ndarray, np.ndarray]:
    """Searches and hits from the threshold test's own model (Simoiu, Corbett-Davies & Goel 2017).

    Each person is guilty (carries contraband) with probability phi; the officer sees a signal drawn
    from N(delta, 1) if guilty and N(0, 1) if not, turns it into the probability of guilt, and searches
    when that passes the group's threshold. A search finds contraband exactly when the person is guilty.
    phi varies by division (a fixed, seeded shift on the logit scale) so that the model can tell the
    risk distributions from the thresholds, as in real data.
    """
    # A stream of its own: every other column is the same with or without planted thresholds.
    rng = np.random.default_rng([seed, 13])
    n = race.size
    phi_of = np.array([effects.risk.get(g, DEFAULT_RISK)[0] for g in PERCEIVED_RACES])
    delta_of = np.array([effects.risk.get(g, DEFAULT_RISK)[1] for g in PERCEIVED_RACES])
    threshold_of = np.array([effects.thresholds.get(g, DEFAULT_THRESHOLD) for g in PERCEIVED_RACES])
    shift = rng.normal(0.0, DIVISION_RISK_SPREAD, len(DIVISION_CODES))
    logit_phi = np.log(phi_of[race] / (1 - phi_of[race])) + shift[division]
    phi = 1 / (1 + np.exp(-logit_phi))
    delta = delta_of[race]
    guilty = rng.random(n) < phi
    signal = rng.normal(0.0, 1.0, n) + delta * guilty
    # log-odds of guilt given the signal: prior log-odds plus the likelihood ratio of the two normals.
    log_odds = logit_phi + delta * signal - delta**2 / 2
    threshold = threshold_of[race]
    searched = log_odds > np.log(threshold / (1 - threshold))
    return searched, searched & guilty


def _encounter_leaders(seed: int, n: int, group_share: float) -> np.ndarray:
    """For each row, the row that opens its encounter: itself, or an earlier row of the same group."""
    rng = np.random.default_rng([seed, 4])
    extra = np.where(rng.random(n) < group_share, 1 + _draw(rng, GROUP_SIZE_P, n), 0)
    sizes = extra + 1
    starts = np.concatenate([[0], np.cumsum(sizes)])
    starts = starts[starts < n]
    leaders = np.zeros(n, dtype=np.int64)
    leaders[starts] = starts
    return np.maximum.accumulate(leaders)


def _engagement_ids(seed: int, n: int) -> pd.api.extensions.ExtensionArray:
    """Ids like ``SYN7-00000042``: the seed, then the row number in time order."""
    width = max(8, len(str(max(n - 1, 0))))
    numbers = pc.utf8_lpad(pa.array(np.arange(n)).cast(pa.large_string()), width, "0")
    return pd.array(_join(f"SYN{seed}-", numbers), dtype="str")


def _add_details(
    frame: pd.DataFrame,
    *,
    seed: int,
    roster: list[SynthOfficer],
    officer: np.ndarray,
    division: np.ndarray,
    purpose: np.ndarray,
    gender: np.ndarray,
    age: np.ndarray,
    day: np.ndarray,
    inform_state: np.ndarray,
    receipt_state: np.ndarray,
    located: np.ndarray,
    first: np.ndarray,
) -> None:
    """Add the columns a database load needs, from a stream of their own (base columns stay the same)."""
    rng = np.random.default_rng([seed, 3])
    n = len(frame)
    frame["officer_badge"] = _labels(officer, [o.badge for o in roster])

    pool = _reason_pool()
    texts = [text for p in PURPOSES for text, _ in pool[p]]
    grounds = [list(g) for p in PURPOSES for _, g in pool[p]]
    sizes = np.array([len(pool[p]) for p in PURPOSES])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # The people of an encounter share the officer's reason and the place.
    choice = (starts[purpose] + (rng.random(n) * sizes[purpose]).astype(np.int64))[first]
    frame["reason"] = _labels(choice, texts)
    ground_lists = pa.array(grounds, type=pa.list_(pa.string())).take(pa.array(choice))
    frame["reason_grounds"] = pd.arrays.ArrowExtensionArray(ground_lists)

    inform_ground = _draw(rng, INFORM_EXCEPTION_P, n)
    frame["inform_exception"] = _labels(np.where(inform_state == 1, inform_ground, -1), INFORM_EXCEPTIONS)
    receipt_ground = _draw(rng, RECEIPT_EXCEPTION_P, n)
    frame["receipt_exception"] = _labels(np.where(receipt_state == 1, receipt_ground, -1), RECEIPT_EXCEPTIONS)

    corners = [c for d in DIVISION_CODES for c in _INTERSECTIONS[d]]
    per_division = len(_INTERSECTIONS[DIVISION_CODES[0]])
    corner = (division * per_division + rng.integers(0, per_division, n))[first]
    frame["location_description"] = _labels(np.where(located, corner, -1), corners)

    # The person's details exist only where identifying information was collected; all fictional.
    known = frame["identifying_info_collected"].to_numpy()
    women = gender == GENDERS.index("woman")
    man_name = rng.integers(0, len(_MEN), n)
    woman_name = len(_MEN) + rng.integers(0, len(_WOMEN), n)
    either = np.where(rng.random(n) < 0.5, man_name, woman_name)
    given = np.where(women, woman_name, man_name)
    given = np.where((gender == GENDERS.index("man")) | women, given, either)
    first = _labels(np.where(known, given, -1), _MEN + _WOMEN)
    last = _labels(rng.integers(0, len(_SURNAMES), n), _SURNAMES)
    frame["person_name"] = pd.array(_join(first, " ", last), dtype="str")

    years = np.where(age >= 0, age, rng.integers(18, 61, n))
    born = day - (years * 365.25 + rng.integers(0, 365, n)).astype("timedelta64[D]")
    birth_dates = pa.array(born, mask=~known, type=pa.date32())
    frame["person_date_of_birth"] = pd.arrays.ArrowExtensionArray(birth_dates)

    number = pa.array(rng.integers(1, 3000, n))
    street = _labels(np.where(known, rng.integers(0, len(_STREETS), n), -1), _STREETS)
    # Fictional postal codes of Toronto's form (M, digit, letter, space, digit, letter, digit), from the
    # letters Canada Post uses.
    digits, letters = "0123456789", "ABCEGHJKLMNPRSTVWXYZ"
    postal = _join(
        "M",
        _labels(rng.integers(1, 10, n), digits),
        _labels(rng.integers(0, len(letters), n), letters),
        " ",
        _labels(rng.integers(0, 10, n), digits),
        _labels(rng.integers(0, len(letters), n), letters),
        _labels(rng.integers(0, 10, n), digits),
    )
    address = _join(number, " ", street, ", Toronto, ON ", postal)
    frame["person_address"] = pd.array(address, dtype="str")
    frame["legacy"] = np.zeros(n, dtype=bool)


def write_table(df: pd.DataFrame, path: Path | str) -> None:
    """Write a table as Parquet or CSV, chosen by the file's extension (.parquet or .csv)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".parquet", ".csv"}:
        raise ValueError(f"cannot write a table with extension {suffix or '(none)'!r}: use .parquet or .csv")
    table = pa.Table.from_pandas(df, preserve_index=False)
    if suffix == ".parquet":
        pq.write_table(table, path)
        return
    for index, column in enumerate(table.schema):
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            # CSV has no lists: ground codes are joined with ";" (read_table splits them again).
            table = table.set_column(index, column.name, pc.binary_join(table.column(index), ";"))
    # pyarrow's writer: ISO timestamps ending in Z, true/false, empty cells for missing values.
    pa_csv.write_csv(table, path)


def read_table(path: Path | str) -> pd.DataFrame:
    """Read a Parquet or CSV table back with the analytic (and detail) column dtypes."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        table = pq.read_table(path)
    elif suffix == ".csv":
        types = {name: _ARROW_TYPES[dtype] for name, dtype in _ALL_COLUMNS.items() if dtype in _ARROW_TYPES}
        options = pa_csv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True)
        table = pa_csv.read_csv(path, convert_options=options)
    else:
        raise ValueError(f"cannot read a table with extension {suffix or '(none)'!r}: use .parquet or .csv")
    nullable = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    # Column types come from the schema below, not from pandas metadata that other writers lack.
    frame = table.to_pandas(types_mapper=nullable.get, ignore_metadata=True)
    for column in frame.columns:
        dtype = _ALL_COLUMNS.get(column)
        if dtype == "list<item: string>[pyarrow]":
            values = pa.array(frame[column].array)
            if not pa.types.is_list(values.type):
                values = pc.split_pattern(values.cast(pa.large_string()), ";")
            frame[column] = pd.arrays.ArrowExtensionArray(values.cast(pa.list_(pa.string())))
        elif dtype == "date32[day][pyarrow]":
            frame[column] = pd.arrays.ArrowExtensionArray(pa.array(frame[column].array).cast(pa.date32()))
        elif dtype is not None:
            frame[column] = frame[column].astype(dtype)
    return frame


# Several people, one encounter: written by the extract and the generator, read when present (an older
# table without it is one encounter per row).
OPTIONAL_COLUMNS: dict[str, str] = {vocabulary.ENCOUNTER_COLUMN.name: "str"}
_ALL_COLUMNS: dict[str, str] = {**ANALYTIC_COLUMNS, **DETAIL_COLUMNS, **OPTIONAL_COLUMNS}
_ARROW_TYPES: dict[str, pa.DataType] = {
    "str": pa.large_string(),
    "float64": pa.float64(),
    "Int64": pa.int64(),
    "bool": pa.bool_(),
    "boolean": pa.bool_(),
    "datetime64[us, UTC]": pa.timestamp("us", tz="UTC"),
    "date32[day][pyarrow]": pa.date32(),
    "list<item: string>[pyarrow]": pa.large_string(),
}
