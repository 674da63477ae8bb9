"""Rule sets as data: load and validate the versioned TOML files, and pick the one in force on a date."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeGuard

from fairengage.policy.codes import DUTY_RULES, ENTRY_CHECK_CODES
from fairengage.shipped import shipped

RULESET_DIR = shipped("policy", "rulesets")
_SHIPPED = RULESET_DIR.resolve()

KINDS = ("refuse", "flag", "lifecycle", "report")
# Only these kinds are judged when a record is made; lifecycle and report rules are run by review,
# retention and reports, and are published with the rest.
ENTRY_KINDS = ("refuse", "flag")
LANGS = ("en", "fr")
LIST_NAMES = (
    "purposes",
    "scope_exclusions",
    "reason_grounds",
    "description_elements",
    "inform_exceptions",
    "receipt_exceptions",
    "perceived_race",
    "perceived_gender",
    "outcomes",
)
# Every rule set carries these, with these types (bool is refused where a number is wanted).
PARAMETER_TYPES: Mapping[str, type | tuple[type, ...]] = MappingProxyType(
    {
        "review_days": int,
        "restriction_years": int,
        "training_months": int,
        "destruction_years": int,
        "annual_report_months": int,
        "suppression_threshold": int,
        "notable_disproportionality": (int, float),
        "notable_disparity": (int, float),
        "min_reason_words": int,
        "restricted_read_purposes": list,
        "race_terms": list,
        "forbidden_reason_phrases": list,
    }
)
# How a rule set judges a reason whose text alone is suspect (RACE-NOT-A-REASON, FORBIDDEN-REASONS):
# "refuse" the record, or keep it with a "flag" for the reviewer. A file that leaves them out is strict.
JUDGEMENTS = ("refuse", "flag")
OPTIONAL_PARAMETERS: Mapping[str, str] = MappingProxyType(
    {
        # The text names a racialized group, other grounds are ticked, and no description is declared.
        "race_term_with_other_grounds": "refuse",
        # The text names a forbidden reason and no ground that can carry a reason is ticked.
        "forbidden_phrase_without_ground": "refuse",
    }
)
_TOP_KEYS = frozenset(
    {
        "id",
        "title",
        "version",
        "effective_from",
        "effective_to",
        "source",
        "complaints_body",
        "own_record_request",
        "parameters",
        "rules",
        *LIST_NAMES,
    }
)
_ITEM_KEYS = frozenset({"code", "label_en", "label_fr", "forbidden"})
_RULE_KEYS = frozenset(
    {
        "code",
        "kind",
        "fields",
        "message_en",
        "message_fr",
        "flag_message_en",
        "flag_message_fr",
        "source",
        "exceptions",
        "variants",
    }
)
_BODY_KEYS = ("name_en", "name_fr", "website", "phone")


class PolicyError(Exception):
    """A problem with the policy: no rule set applies, or a rule set is missing or malformed."""


class NoRuleSetInForce(PolicyError):
    """No rule set covers the date asked about."""


class UnknownRuleSet(PolicyError, LookupError):
    """No rule set has the id asked for (a LookupError too, like a missing key)."""


class RuleSetFileError(PolicyError):
    """A rule-set file is malformed; the message starts with the file's name."""


@dataclass(frozen=True)
class ListItem:
    """One entry of a rule set's list (a purpose, a ground, a category): a stored code and its labels."""

    code: str
    label_en: str
    label_fr: str
    forbidden: bool = False

    def label(self, lang: str = "en") -> str:
        """The label in `lang` (`en` or `fr`)."""
        return self.label_fr if lang == "fr" else self.label_en


@dataclass(frozen=True)
class Rule:
    """One rule: what it checks, how it acts (`kind`), what it tells the officer, and its source."""

    code: str
    kind: str
    fields: tuple[str, ...]
    message_en: str
    message_fr: str
    source: str
    flag_message_en: str | None = None
    flag_message_fr: str | None = None
    exceptions: str | None = None
    # Other wordings for particular fails, by name ("unanswered", "confirmed"), each with `en` and `fr`.
    variants: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False, compare=False
    )

    @property
    def entry_time(self) -> bool:
        """True for the rules judged when a record is made (kinds refuse and flag)."""
        return self.kind in ENTRY_KINDS

    def message(self, lang: str = "en", *, flag: bool = False, variant: str | None = None) -> str:
        """The message in `lang`; with `flag`, the reviewer-flag wording when the rule has one.

        A `variant` the rule words on its own (e.g. SCOPE-EXCLUDED's "unanswered") takes precedence.
        """
        if variant and variant in self.variants:
            return self.variants[variant]["fr" if lang == "fr" else "en"]
        # The loader guarantees flag messages come in pairs.
        if flag and self.flag_message_en and self.flag_message_fr:
            return self.flag_message_fr if lang == "fr" else self.flag_message_en
        return self.message_fr if lang == "fr" else self.message_en


@dataclass(frozen=True)
class ComplaintsBody:
    """The independent body a person may complain to, as printed on the receipt."""

    name_en: str
    name_fr: str
    website: str
    phone: str

    def name(self, lang: str = "en") -> str:
        """The body's name in `lang`."""
        return self.name_fr if lang == "fr" else self.name_en


# Identity equality (eq=False): a rule set is loaded once per directory and compared by `id`, and its
# mappings would make a value hash impossible.
@dataclass(frozen=True, eq=False)
class RuleSet:
    """A dated, versioned rule set read from one TOML file."""

    id: str
    title: str
    version: str
    effective_from: date
    effective_to: date | None
    source: str
    lists: Mapping[str, tuple[ListItem, ...]]
    complaints_body: ComplaintsBody | None
    own_record_request: Mapping[str, str]
    parameters: Mapping[str, Any]
    rules: tuple[Rule, ...]
    path: Path | None = None

    def __repr__(self) -> str:
        return f"RuleSet({self.id!r}, version={self.version!r})"

    def covers(self, day: date) -> bool:
        """True when `day` falls within the rule set's effective dates (both ends inclusive)."""
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def items(self, list_name: str) -> tuple[ListItem, ...]:
        """The entries of one list (`purposes`, `reason_grounds`, ...)."""
        try:
            return self.lists[list_name]
        except KeyError:
            raise PolicyError(f"{self.id}: no list named {list_name!r}") from None

    def codes(self, list_name: str) -> tuple[str, ...]:
        """The codes of one list, in file order."""
        return tuple(item.code for item in self.items(list_name))

    def item(self, list_name: str, code: str | None) -> ListItem | None:
        """The entry with `code` in a list, or None."""
        return next((item for item in self.items(list_name) if item.code == code), None)

    def label(self, list_name: str, code: str, lang: str = "en") -> str:
        """The label of `code` in a list, in `lang`; the code itself when the list lacks it."""
        found = self.item(list_name, code)
        return found.label(lang) if found else code

    def forbidden_codes(self, list_name: str = "reason_grounds") -> frozenset[str]:
        """The codes marked `forbidden = true` in a list."""
        return frozenset(item.code for item in self.items(list_name) if item.forbidden)

    def rule(self, code: str) -> Rule:
        """The rule with this code; PolicyError when the rule set has none."""
        for rule in self.rules:
            if rule.code == code:
                return rule
        raise PolicyError(f"{self.id}: no rule {code!r}")

    def param(self, name: str) -> Any:
        """A parameter's value (lists come back as tuples)."""
        try:
            return self.parameters[name]
        except KeyError:
            raise PolicyError(f"{self.id}: no parameter {name!r}") from None

    def own_record_text(self, lang: str = "en") -> str | None:
        """How to ask for one's own record, in `lang`, or None when the rule set does not say."""
        return self.own_record_request.get(lang) or self.own_record_request.get("en")

    def public_dict(self) -> dict[str, Any]:
        """Everything an officer, a reviewer or the public may read about the rule set, as JSON-ready data."""
        published: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "version": self.version,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "source": self.source,
        }
        for name in LIST_NAMES:
            published[name] = [
                {"code": i.code, "label_en": i.label_en, "label_fr": i.label_fr, "forbidden": i.forbidden}
                for i in self.items(name)
            ]
        body = self.complaints_body
        published["complaints_body"] = {k: getattr(body, k) for k in _BODY_KEYS} if body else None
        published["own_record_request"] = dict(self.own_record_request) or None
        published["parameters"] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in self.parameters.items()
        }
        published["rules"] = [
            {
                "code": r.code,
                "kind": r.kind,
                "fields": list(r.fields),
                "message_en": r.message_en,
                "message_fr": r.message_fr,
                "flag_message_en": r.flag_message_en,
                "flag_message_fr": r.flag_message_fr,
                "exceptions": r.exceptions,
                "variants": {name: dict(v) for name, v in r.variants.items()},
                "source": r.source,
            }
            for r in self.rules
        ]
        return published


def load_rulesets(directory: str | Path | None = None) -> list[RuleSet]:
    """Every rule set in `directory` (default: the shipped ones), validated, ordered by start date."""
    # The shipped directory is resolved once; evaluation calls this for every record.
    return list(_load_directory(_SHIPPED if directory is None else Path(directory).resolve()))


def ruleset_for_record(ruleset_id: str) -> RuleSet:
    """The rule set a stored record was judged by; the newest one for records judged by none (legacy).

    Legacy records predate every rule set; what they show (the complaints body, labels) is today's.
    """
    try:
        return get_ruleset(ruleset_id)
    except UnknownRuleSet:
        return load_rulesets()[-1]


def ruleset_in_force(day: date, *, directory: str | Path | None = None) -> RuleSet:
    """The rule set in force on `day` (a datetime counts by its own date); NoRuleSetInForce if none."""
    if isinstance(day, datetime):
        day = day.date()
    for ruleset in load_rulesets(directory):
        if ruleset.covers(day):
            return ruleset
    raise NoRuleSetInForce(f"no rule set is in force on {day.isoformat()}")


def get_ruleset(ruleset_id: str, *, directory: str | Path | None = None) -> RuleSet:
    """The rule set with this id; UnknownRuleSet if there is none."""
    for ruleset in load_rulesets(directory):
        if ruleset.id == ruleset_id:
            return ruleset
    raise UnknownRuleSet(f"no rule set with id {ruleset_id!r}")


@lru_cache(maxsize=8)
def _load_directory(directory: Path) -> tuple[RuleSet, ...]:
    """Parse every *.toml in the directory once and check that their dates do not overlap."""
    if not directory.is_dir():
        raise RuleSetFileError(f"{directory}: rule-set directory not found")
    rulesets = sorted(
        (_parse_file(p) for p in sorted(directory.glob("*.toml"))), key=lambda r: r.effective_from
    )
    for earlier, later in pairwise(rulesets):
        if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
            raise RuleSetFileError(
                f"{_name(later)}: effective dates overlap {_name(earlier)} "
                f"({earlier.id} runs to {earlier.effective_to or 'no end'}, "
                f"{later.id} starts {later.effective_from})"
            )
    return tuple(rulesets)


def _name(ruleset: RuleSet) -> str:
    return ruleset.path.name if ruleset.path else ruleset.id


def _parse_file(path: Path) -> RuleSet:
    """Build one RuleSet from its file, or raise RuleSetFileError naming the file and the problem."""

    def bad(problem: str) -> RuleSetFileError:
        return RuleSetFileError(f"{path.name}: {problem}")

    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise bad(f"not valid TOML ({error})") from error

    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise bad(f"unknown key(s) {sorted(unknown)}")
    for key in ("id", "title", "version", "source"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise bad(f"{key!r} must be a non-empty string")
    if data["id"] != path.stem:
        raise bad(f"id {data['id']!r} must match the file name")
    effective_from = data.get("effective_from")
    effective_to = data.get("effective_to")
    if not _is_plain_date(effective_from):
        raise bad("'effective_from' must be a date (YYYY-MM-DD)")
    if effective_to is not None and not _is_plain_date(effective_to):
        raise bad("'effective_to' must be a date (YYYY-MM-DD) or be left out")
    if effective_to is not None and effective_to < effective_from:
        raise bad("'effective_to' is before 'effective_from'")

    lists = {name: _parse_list(data.get(name), name, bad) for name in LIST_NAMES}
    parameters = _parse_parameters(data.get("parameters"), bad)
    rules = _parse_rules(data.get("rules"), lists, parameters, bad)

    body = data.get("complaints_body")
    complaints_body = None
    if body is not None:
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), str) and body[k] for k in _BODY_KEYS
        ):
            raise bad(f"[complaints_body] needs {', '.join(_BODY_KEYS)}")
        complaints_body = ComplaintsBody(**{k: body[k] for k in _BODY_KEYS})
    own = data.get("own_record_request", {})
    if not isinstance(own, dict) or not all(isinstance(own.get(k), str) and own[k] for k in LANGS):
        raise bad("[own_record_request] needs 'en' and 'fr' text")

    return RuleSet(
        id=data["id"],
        title=data["title"],
        version=data["version"],
        effective_from=effective_from,
        effective_to=effective_to,
        source=data["source"],
        lists=MappingProxyType(lists),
        complaints_body=complaints_body,
        own_record_request=MappingProxyType({k: own[k] for k in LANGS}),
        parameters=MappingProxyType(parameters),
        rules=rules,
        path=path,
    )


def _is_plain_date(value: Any) -> TypeGuard[date]:
    # tomllib reads 2024-04-01 as a date and 2024-04-01T00:00 as a datetime (a date subclass).
    return isinstance(value, date) and not isinstance(value, datetime)


def _parse_list(raw: Any, name: str, bad: Any) -> tuple[ListItem, ...]:
    if not isinstance(raw, list) or not raw:
        raise bad(f"list [[{name}]] is missing or empty")
    items: list[ListItem] = []
    for entry in raw:
        if not isinstance(entry, dict) or set(entry) - _ITEM_KEYS:
            raise bad(f"[[{name}]] entries take only {sorted(_ITEM_KEYS)}")
        for key in ("code", "label_en", "label_fr"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise bad(f"[[{name}]] entry {entry.get('code', '?')!r} needs a non-empty {key!r}")
        if not isinstance(entry.get("forbidden", False), bool):
            raise bad(f"[[{name}]] entry {entry['code']!r}: 'forbidden' must be true or false")
        items.append(
            ListItem(entry["code"], entry["label_en"], entry["label_fr"], entry.get("forbidden", False))
        )
    codes = [item.code for item in items]
    if len(set(codes)) != len(codes):
        raise bad(f"[[{name}]] repeats a code")
    return tuple(items)


def _parse_parameters(raw: Any, bad: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise bad("[parameters] table is missing")
    for name, wanted in PARAMETER_TYPES.items():
        value = raw.get(name)
        if value is None:
            raise bad(f"parameter {name!r} is missing")
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise bad(f"parameter {name!r} has the wrong type")
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise bad(f"parameter {name!r} must be a list of strings")
    for name, default in OPTIONAL_PARAMETERS.items():
        value = raw.setdefault(name, default)
        if value not in JUDGEMENTS:
            raise bad(f"parameter {name!r} must be one of {', '.join(JUDGEMENTS)}")
    # Lists become tuples so that a loaded rule set cannot be changed by its readers.
    return {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}


def _parse_rules(
    raw: Any, lists: Mapping[str, Any], parameters: Mapping[str, Any], bad: Any
) -> tuple[Rule, ...]:
    if not isinstance(raw, list) or not raw:
        raise bad("no [[rules]]")
    rules: list[Rule] = []
    for entry in raw:
        code = entry.get("code") if isinstance(entry, dict) else None
        if not isinstance(code, str) or not code:
            raise bad("a [[rules]] entry has no 'code'")
        unknown = set(entry) - _RULE_KEYS
        if unknown:
            raise bad(f"rule {code}: unknown key(s) {sorted(unknown)}")
        if entry.get("kind") not in KINDS:
            raise bad(f"rule {code}: unknown kind {entry.get('kind')!r} (one of {', '.join(KINDS)})")
        for key in ("message_en", "message_fr", "source"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise bad(f"rule {code}: missing {key!r}")
        fields = entry.get("fields", [])
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise bad(f"rule {code}: 'fields' must be a list of field names")
        flag_en, flag_fr = entry.get("flag_message_en"), entry.get("flag_message_fr")
        if (flag_en is None) != (flag_fr is None):
            raise bad(f"rule {code}: give both flag_message_en and flag_message_fr, or neither")
        exceptions = entry.get("exceptions")
        if exceptions is not None and exceptions not in lists:
            raise bad(f"rule {code}: 'exceptions' names no list ({exceptions!r})")
        if entry["kind"] in ENTRY_KINDS and code not in ENTRY_CHECK_CODES:
            raise bad(f"rule {code}: kind {entry['kind']!r} needs a check; none is implemented for this code")
        variants = entry.get("variants", {})
        if not isinstance(variants, dict) or not all(
            isinstance(v, dict)
            and set(v) == set(LANGS)
            and all(isinstance(t, str) and t.strip() for t in v.values())
            for v in variants.values()
        ):
            raise bad(f"rule {code}: each of 'variants' needs 'en' and 'fr' text, and nothing else")
        if code in DUTY_RULES and exceptions is None:
            raise bad(f"rule {code}: name its list of exception grounds in 'exceptions'")
        rules.append(
            Rule(
                code=code,
                kind=entry["kind"],
                fields=tuple(fields),
                message_en=_fill(entry["message_en"], parameters, code, bad),
                message_fr=_fill(entry["message_fr"], parameters, code, bad),
                source=entry["source"],
                flag_message_en=_fill(flag_en, parameters, code, bad) if flag_en else None,
                flag_message_fr=_fill(flag_fr, parameters, code, bad) if flag_fr else None,
                exceptions=exceptions,
                variants=MappingProxyType(
                    {
                        name: MappingProxyType(
                            {lang: _fill(t, parameters, code, bad) for lang, t in v.items()}
                        )
                        for name, v in variants.items()
                    }
                ),
            )
        )
    codes = [rule.code for rule in rules]
    if len(set(codes)) != len(codes):
        raise bad("two [[rules]] share a code")
    return tuple(rules)


def _fill(message: str, parameters: Mapping[str, Any], code: str, bad: Any) -> str:
    """Put parameter values into a message's {placeholders}, so a message never contradicts its figure."""
    try:
        return message.format_map(parameters)
    except (KeyError, ValueError, IndexError) as error:
        raise bad(f"rule {code}: message names an unknown parameter or has a stray brace ({error})") from None
