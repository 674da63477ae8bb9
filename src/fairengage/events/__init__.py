"""Engagements that were never recorded: events imported from dispatch (CAD) and body-worn camera systems,
matched against the recorded engagements (`reconcile`), and the unmatched ones put before the division's
supervisor to record, dismiss with a reason, or escalate."""
