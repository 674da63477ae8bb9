"""Imports every capability's tables so that metadata (and Alembic) sees the whole schema."""

from __future__ import annotations

import importlib
import pkgutil

import fairengage
from fairengage.db import Base

# Each capability keeps its tables in its own `models.py`; importing them all here registers every table
# with Base.metadata without a central list to keep in step.
for _module in pkgutil.iter_modules(fairengage.__path__):
    if _module.ispkg:
        try:
            importlib.import_module(f"fairengage.{_module.name}.models")
        except ModuleNotFoundError as exc:
            if exc.name != f"fairengage.{_module.name}.models":
                raise

__all__ = ["Base"]
