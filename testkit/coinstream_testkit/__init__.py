"""What coinstream's tests, k8s-tests and benchmarks share, and no product image holds.

The modules stay small and plain: a free loopback port (``net``), one percentile
(``stats``), Server-Sent Events parsing (``sse``), the CoinGecko simulator's control
API (``sim``), portfolios posted and valued from the simulator's seeded prices
(``portfolios``), services run as the runtime runs them (``servers``), a stand-in
for the query service (``stub_query``), an independent valuation (``valuation_reference``),
the PromQL of the rules and dashboards (``promql``) and events of any schema (``events``).

Installed with the project (``pip install -e '.[dev]'``) from ``testkit/``; the images
copy only their own packages (services/Dockerfile, spark-apps/price_lander/Dockerfile).
"""
