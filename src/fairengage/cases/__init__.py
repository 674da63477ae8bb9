"""Intervention cases: each officer an analysis run flags becomes a case for their supervisor to act on.

This is the governance side's answer to a flag. Analytics know an officer only by `officer_key`, a keyed
hash; the key is resolved to the officer here, inside the database's side, and never handed back. A
case keeps the comparison that raised it, every later run's re-test of the same measure, and what the
supervisor decided, did and when they will look again. Every read of a case is written to the audit log.
"""
