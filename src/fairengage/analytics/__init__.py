"""Analytics: the analytic table on DuckDB or Spark, bias indices with their intervals, and report.json."""
