"""Several people, one encounter: shared answers once, one record and one receipt per person."""
