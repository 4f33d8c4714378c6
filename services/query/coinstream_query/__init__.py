"""coinstream query service: price series, data coverage and portfolio valuation over Trino."""
