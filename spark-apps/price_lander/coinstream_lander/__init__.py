"""The Spark Structured Streaming job that lands coin.prices as Parquet, exactly once as Trino sees it."""
