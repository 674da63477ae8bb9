"""Board and public reports, small-cell suppression, charts, maps and open data (reads report.json only)."""
