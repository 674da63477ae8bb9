"""Backups and verified restores of the whole database (docs/backups.md)."""
