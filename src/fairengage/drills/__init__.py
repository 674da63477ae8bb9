"""Load and crash drills against a real server: many officers at once (docs/load-and-recovery.md)."""
