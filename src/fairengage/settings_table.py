"""The settings table of docs/deployment.md, written from the settings class so that it cannot go stale.

Each row is one field of `fairengage.config.Settings`: its variable, type, default and description (the
field's `description`). `fairengage settings --markdown` prints the table; with `--into FILE` it replaces
the text between the two marker lines of that page. A test compares the page with this output.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from sqlalchemy.engine import make_url

from fairengage.config import INSECURE_DEFAULT_KEY, Settings

BEGIN = "<!-- settings table: begin (written by `fairengage settings --markdown --into`) -->"
END = "<!-- settings table: end -->"
PREFIX = "FAIRENGAGE_"


class MissingMarkers(ValueError):
    """The page has no pair of marker lines to write the table between."""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " or ".join(f"`{value}`" for value in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        kinds = [_type_name(a) for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(kinds) + " (optional)"
    return {
        str: "text",
        SecretStr: "secret text",
        int: "integer",
        float: "number",
        bool: "`true` or `false`",
        Path: "path",
    }.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(info: FieldInfo) -> str:
    # Constraints live in the field's metadata (annotated_types.Gt, Ge, Le…): shown, since a value out of
    # them stops the service at start.
    words = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}
    found = []
    for item in info.metadata:
        for name, sign in words.items():
            value = getattr(item, name, None)
            if value is not None:
                found.append(f"{sign} {value:,}".replace(",", " "))
    return f", {', '.join(found)}" if found else ""


def _default(info: FieldInfo) -> str:
    value = info.default
    if isinstance(value, SecretStr):
        return "none: required" if value.get_secret_value() == INSECURE_DEFAULT_KEY else "(hidden)"
    if value is None:
        return "unset"
    if value == "":
        return "(empty)"
    if isinstance(value, Path) and not value.is_absolute():
        return f"`./{value}`"  # as written in a settings file: relative to the working folder
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def rows() -> list[tuple[str, str, str, str]]:
    """(variable, type, default, description) for every setting, in the class's order."""
    found = []
    for name, info in Settings.model_fields.items():
        found.append(
            (
                f"`{PREFIX}{name.upper()}`",
                _type_name(info.annotation) + _bounds(info),
                _default(info),
                (info.description or "").replace("|", "\\|"),
            )
        )
    return found


def markdown() -> str:
    """The settings table, in Markdown."""
    lines = ["| variable | type | default | meaning |", "| --- | --- | --- | --- |"]
    lines += [f"| {' | '.join(row)} |" for row in rows()]
    return "\n".join(lines) + "\n"


def with_table(page: str) -> str:
    """The page's text with the table between its markers replaced by the current one."""
    start, end = page.find(BEGIN), page.find(END)
    if start < 0 or end < start:
        raise MissingMarkers(f"no lines {BEGIN!r} … {END!r} to write the table between")
    return page[: start + len(BEGIN)] + "\n" + markdown() + page[end:]


def table_in(page: str) -> str:
    """The table as the page has it now (between its markers)."""
    start, end = page.find(BEGIN), page.find(END)
    if start < 0 or end < start:
        raise MissingMarkers(f"no lines {BEGIN!r} … {END!r} to read the table between")
    return page[start + len(BEGIN) : end].strip("\n") + "\n"


def in_force(settings: Settings) -> list[tuple[str, str]]:
    """(name, value) of every setting in force; secrets, and a password in the database URL, hidden."""
    found = []
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = "(hidden)"
        elif name == "database_url":
            value = make_url(value).render_as_string(hide_password=True)
        found.append((name, "" if value is None else str(value)))
    return found
