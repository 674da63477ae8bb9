"""Publishing: the one path from the database to a public release, its ledger and its two-person approval."""
