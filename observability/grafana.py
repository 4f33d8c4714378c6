"""coinstream's Grafana dashboards as code.

    python observability/grafana.py          # (re)write helm/coinstream/dashboards/*.json
    python observability/grafana.py --check  # exit 1 if a committed file differs from this code

The JSON files are what ships (the chart turns each into a ConfigMap for the
Grafana sidecar); this module is where they are edited, so panels share one
layout and one way of writing latency, rate and ratio queries.

Conventions: the data source is the ``${datasource}`` variable (type
prometheus); ``job`` is the component name, the same locally (`coinstream up
--prometheus`) and in the chart's ServiceMonitors; rates use Grafana's
``$__rate_interval``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "helm" / "coinstream" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"


# --- query helpers ------------------------------------------------------------------


def sel(metric: str, **labels: str) -> str:
    """``metric{k="v",...}``; a value starting with ``~`` is a regex match, ``!`` a negative one."""
    parts = []
    for k, v in labels.items():
        op = "=~" if v.startswith("~") else "!=" if v.startswith("!") else "="
        parts.append(f'{k}{op}"{v.lstrip("~!")}"')
    return metric + ("{" + ",".join(parts) + "}" if parts else "")


def rate(metric: str, by: str = "", **labels: str) -> str:
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({sel(metric, **labels)}[{RATE}]))"


def quantile(q: float, histogram: str, by: str = "", **labels: str) -> str:
    grouping = ", ".join(["le", *([by] if by else [])])
    return f"histogram_quantile({q}, sum by ({grouping}) (rate({sel(histogram + '_bucket', **labels)}[{RATE}])))"


def error_ratio(job: str, by: str = "") -> str:
    """5xx share of a service's requests; 0 (not empty) when there were no errors."""
    count = "coinstream_http_request_duration_seconds_count"
    errors = rate(count, by, job=job, status="~5..")
    total = rate(count, by, job=job)
    return f"({errors} or {total} * 0) / {total}"


# --- panel helpers ------------------------------------------------------------------


def target(expr: str, legend: str = "", ref: int = 0) -> dict:
    return {
        "refId": chr(ord("A") + ref),
        "datasource": DATASOURCE,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": True,
    }


def timeseries(
    title: str,
    queries: list[tuple[str, str]],
    unit: str = "short",
    description: str = "",
    width: int = 12,
    stack: bool = False,
) -> dict:
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"w": width, "h": 8},
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "min": 0,
                "custom": {
                    "drawStyle": "line",
                    "lineWidth": 1,
                    "fillOpacity": 10,
                    "showPoints": "never",
                    "stacking": {"mode": "normal" if stack else "none", "group": "A"},
                },
            },
            "overrides": [],
        },
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": [target(expr, legend, i) for i, (expr, legend) in enumerate(queries)],
    }


def stat(
    title: str,
    expr: str,
    legend: str = "",
    unit: str = "short",
    description: str = "",
    width: int = 6,
    thresholds: list[tuple[float | None, str]] | None = None,
    mappings: list[dict] | None = None,
) -> dict:
    steps = [{"value": v, "color": c} for v, c in (thresholds or [(None, "green")])]
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"w": width, "h": 4},
        "fieldConfig": {
            "defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}, "mappings": mappings or []},
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "textMode": "auto",
        },
        "targets": [target(expr, legend)],
    }


UP_MAPPING = [
    {"type": "value", "options": {"0": {"text": "DOWN", "color": "red"}, "1": {"text": "UP", "color": "green"}}}
]


def row(title: str) -> dict:
    return {"type": "row", "title": title, "collapsed": False, "gridPos": {"w": 24, "h": 1}, "panels": []}


def dashboard(uid: str, title: str, description: str, panels: list[dict]) -> dict:
    """A dashboard with panels laid out left to right, wrapping at Grafana's 24 columns."""
    x = y = line_height = 0
    laid_out = []
    for i, panel in enumerate(panels, start=1):
        w, h = panel["gridPos"]["w"], panel["gridPos"]["h"]
        if panel["type"] == "row" or x + w > 24:
            x, y, line_height = 0, y + line_height, 0
        panel = {"id": i, **panel, "gridPos": {"x": x, "y": y, "w": w, "h": h}}
        laid_out.append(panel)
        x += w
        line_height = max(line_height, h)
        if panel["type"] == "row":
            x, y, line_height = 0, y + h, 0
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["coinstream"],
        "timezone": "utc",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "links": [
            {
                "type": "dashboards",
                "title": "coinstream",
                "tags": ["coinstream"],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "annotations": {"list": []},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                    "regex": "",
                    "options": [],
                }
            ]
        },
        "panels": laid_out,
    }


# --- shared panel sets ----------------------------------------------------------------

HTTP = "coinstream_http_request_duration_seconds"


def http_panels(job: str) -> list[dict]:
    return [
        row("HTTP"),
        timeseries(
            "Requests/s by route and status",
            [(rate(f"{HTTP}_count", "route, status", job=job), "{{route}} {{status}}")],
            "reqps",
            stack=True,
        ),
        timeseries(
            "Latency by route (p50, p99)",
            [
                (quantile(0.5, HTTP, "route", job=job), "p50 {{route}}"),
                (quantile(0.99, HTTP, "route", job=job), "p99 {{route}}"),
            ],
            "s",
        ),
        timeseries(
            "5xx error ratio",
            [(error_ratio(job), "5xx share")],
            "percentunit",
            width=8,
            description="Share of requests answered with a 5xx (alert CoinstreamHttpErrorRatioHigh at 5%).",
        ),
        timeseries(
            "Requests in flight", [(f"sum({sel('coinstream_http_requests_in_flight', job=job)})", "in flight")], width=8
        ),
        stat(
            "Target up",
            f"max({sel('up', job=job)})",
            unit="none",
            width=8,
            mappings=UP_MAPPING,
            thresholds=[(None, "red"), (1, "green")],
        ),
    ]


def produce_panels(job: str) -> list[dict]:
    return [
        row("Kafka produce"),
        timeseries(
            "Events produced/s by topic",
            [(rate("coinstream_kafka_produced_total", "topic", job=job), "{{topic}}")],
            "ops",
            width=8,
        ),
        timeseries(
            "Produce-to-ack latency (p50, p99)",
            [
                (quantile(0.5, "coinstream_kafka_produce_duration_seconds", "topic", job=job), "p50 {{topic}}"),
                (quantile(0.99, "coinstream_kafka_produce_duration_seconds", "topic", job=job), "p99 {{topic}}"),
            ],
            "s",
            width=8,
        ),
        timeseries(
            "Produce errors/s",
            [(rate("coinstream_kafka_produce_errors_total", "topic", job=job), "{{topic}}")],
            "ops",
            width=8,
            description="Events the broker did not acknowledge (alert CoinstreamKafkaProduceErrors).",
        ),
    ]


def consume_panels(job: str) -> list[dict]:
    return [
        row("Kafka consume"),
        timeseries(
            "Records consumed/s by topic",
            [(rate("coinstream_kafka_consumed_total", "topic", job=job), "{{topic}}")],
            "ops",
            width=8,
        ),
        timeseries(
            "Invalid records/s",
            [(rate("coinstream_kafka_consume_invalid_total", "topic", job=job), "{{topic}}")],
            "ops",
            width=8,
            description="Consumed records that failed schema validation.",
        ),
        timeseries(
            "Handler failures/s",
            [(rate("coinstream_kafka_consume_errors_total", "topic", job=job), "{{topic}}")],
            "ops",
            width=8,
            description="Batches whose handler failed (redelivered: offsets are committed after handling).",
        ),
    ]


# --- the dashboards ------------------------------------------------------------------------


def overview() -> dict:
    lag = "coinstream_pipeline_lag_seconds"
    return dashboard(
        "coinstream-overview",
        "coinstream / Pipeline overview",
        "CoinGecko -> ingest -> Kafka -> Spark lander -> HDFS/Trino -> query -> api, end to end.",
        [
            row("Components"),
            stat("Targets up", "sum(up)", description="Scrape targets answering.", width=6),
            stat("Targets down", "count(up == 0) or vector(0)", width=6, thresholds=[(None, "green"), (1, "red")]),
            stat(
                "Event-to-queryable (latest)",
                f"max({sel(lag, stage='landed')})",
                unit="s",
                width=6,
                thresholds=[(None, "green"), (60, "orange"), (300, "red")],
            ),
            stat(
                "API 5xx ratio",
                error_ratio("api"),
                unit="percentunit",
                width=6,
                thresholds=[(None, "green"), (0.01, "orange"), (0.05, "red")],
            ),
            timeseries(
                "Target up by job",
                [("max by (job) (up)", "{{job}}")],
                "none",
                width=24,
                description="1 while Prometheus scrapes the component, 0 when it is down (alert CoinstreamComponentDown).",
            ),
            row("Ingest"),
            timeseries(
                "Ingest rate: price events produced/s",
                [
                    (rate("coinstream_kafka_produced_total", "topic", job="ingest"), "{{topic}}"),
                ],
                "ops",
                width=8,
            ),
            timeseries(
                "Kafka produce rate by topic (all services)",
                [
                    (rate("coinstream_kafka_produced_total", "topic"), "{{topic}}"),
                    (rate("kafka_server_brokertopicmetrics_messagesin_total", topic="!"), "broker: messages in"),
                ],
                "ops",
                width=8,
            ),
            timeseries(
                "CoinGecko calls/s and 429s/s",
                [
                    (rate("coinstream_coingecko_calls_total", "status"), "{{status}}"),
                    (rate("coinstream_coingecko_rate_limited_total"), "429 rate limited"),
                ],
                "reqps",
                width=8,
                description="Alert CoinstreamCoinGeckoRateLimited when more than 20% are 429.",
            ),
            row("Landing"),
            timeseries(
                "Event-to-queryable latency",
                [(f"max by (stage) ({sel(lag)})", "{{stage}}")],
                "s",
                width=8,
                description="Age of the newest landed event when its batch was committed.",
            ),
            timeseries(
                "Lander lag (records waiting in Kafka)",
                [(f"sum({sel('coinstream_lander_kafka_lag_records', job='lander')})", "records")],
                "short",
                width=8,
            ),
            timeseries(
                "Rows landed/s and batches",
                [
                    (rate("coinstream_lander_rows_landed_total", job="lander"), "rows landed/s"),
                    (rate("coinstream_lander_batches_total", "status", job="lander"), "batches/s {{status}}"),
                ],
                "ops",
                width=8,
            ),
            row("Serving"),
            timeseries(
                "API latency (p50, p99)",
                [
                    (quantile(0.5, HTTP, job="api"), "p50"),
                    (quantile(0.99, HTTP, job="api"), "p99"),
                ],
                "s",
                width=8,
            ),
            timeseries("API 5xx error ratio", [(error_ratio("api"), "5xx share")], "percentunit", width=8),
            timeseries("Requests/s by service", [(rate(f"{HTTP}_count", "job"), "{{job}}")], "reqps", width=8),
            timeseries(
                "Portfolio streams open", [("sum(coinstream_portfolio_streams_open)", "streams")], "short", width=8
            ),
            timeseries(
                "Query latency to Trino (p99)",
                [
                    (quantile(0.99, "coinstream_trino_query_duration_seconds", "query", job="query"), "{{query}}"),
                ],
                "s",
                width=8,
            ),
            timeseries(
                "Backfill queue depth", [("sum(coinstream_backfill_queue_depth)", "requests")], "short", width=8
            ),
        ],
    )


def api() -> dict:
    return dashboard(
        "coinstream-api",
        "coinstream / api",
        "The public API: portfolios, streams, charts.",
        [
            *http_panels("api"),
            row("Portfolios"),
            timeseries(
                "Portfolio streams open",
                [(f"sum({sel('coinstream_portfolio_streams_open', job='api')})", "streams")],
                width=12,
            ),
            timeseries(
                "Valuations: cache hits and queries",
                [
                    (rate("coinstream_api_valuation_cache_total", by="result", job="api"), "{{result}}"),
                ],
                "reqps",
                "Hits are answered by the api; misses ask the query service (Trino).",
                width=12,
            ),
            *produce_panels("api"),
            *consume_panels("api"),
        ],
    )


def ingest() -> dict:
    return dashboard(
        "coinstream-ingest",
        "coinstream / ingest",
        "CoinGecko client, poller and backfill worker.",
        [
            *http_panels("ingest"),
            row("CoinGecko"),
            timeseries(
                "Calls/s by endpoint and status",
                [
                    (
                        rate("coinstream_coingecko_calls_total", "endpoint, status", job="ingest"),
                        "{{endpoint}} {{status}}",
                    )
                ],
                "reqps",
                width=12,
            ),
            timeseries(
                "Call latency (p50, p99)",
                [
                    (
                        quantile(0.5, "coinstream_coingecko_call_duration_seconds", "endpoint", job="ingest"),
                        "p50 {{endpoint}}",
                    ),
                    (
                        quantile(0.99, "coinstream_coingecko_call_duration_seconds", "endpoint", job="ingest"),
                        "p99 {{endpoint}}",
                    ),
                ],
                "s",
                width=12,
            ),
            timeseries(
                "429 rate limited/s",
                [(rate("coinstream_coingecko_rate_limited_total", "endpoint", job="ingest"), "{{endpoint}}")],
                "reqps",
                width=12,
            ),
            timeseries(
                "Retries/s by reason",
                [(rate("coinstream_coingecko_retries_total", "reason", job="ingest"), "{{reason}}")],
                "reqps",
                width=12,
            ),
            *produce_panels("ingest"),
            row("Backfill"),
            timeseries(
                "Backfill queue depth",
                [(f"sum({sel('coinstream_backfill_queue_depth', job='ingest')})", "requests")],
                width=24,
                description="Backfill requests accepted but not yet produced.",
            ),
            *consume_panels("ingest"),
        ],
    )


def query() -> dict:
    trino = "coinstream_trino_query_duration_seconds"
    return dashboard(
        "coinstream-query",
        "coinstream / query",
        "Prices, coverage and valuations over Trino.",
        [
            *http_panels("query"),
            row("Trino queries"),
            timeseries(
                "Trino queries/s by kind and outcome",
                [(rate(f"{trino}_count", "query, outcome", job="query"), "{{query}} {{outcome}}")],
                "ops",
            ),
            timeseries(
                "Trino query latency (p50, p99)",
                [
                    (quantile(0.5, trino, "query", job="query"), "p50 {{query}}"),
                    (quantile(0.99, trino, "query", job="query"), "p99 {{query}}"),
                ],
                "s",
            ),
        ],
    )


def lander() -> dict:
    return dashboard(
        "coinstream-lander",
        "coinstream / lander",
        "The Spark Structured Streaming job landing prices as Parquet.",
        [
            row("Throughput"),
            timeseries(
                "Input vs processed rows/s",
                [
                    (f"sum({sel('coinstream_lander_input_rows_per_second', job='lander')})", "input"),
                    (f"sum({sel('coinstream_lander_processed_rows_per_second', job='lander')})", "processed"),
                ],
                "ops",
                description="Processed below input for long means the job falls behind.",
            ),
            timeseries("Rows landed/s", [(rate("coinstream_lander_rows_landed_total", job="lander"), "rows")], "ops"),
            row("Batches"),
            timeseries(
                "Batch duration (p50, p99)",
                [
                    (quantile(0.5, "coinstream_lander_batch_duration_seconds", job="lander"), "p50"),
                    (quantile(0.99, "coinstream_lander_batch_duration_seconds", job="lander"), "p99"),
                ],
                "s",
                width=8,
            ),
            timeseries(
                "Batches per 5 minutes by status",
                [
                    (
                        f"sum by (status) (increase({sel('coinstream_lander_batches_total', job='lander')}[5m]))",
                        "{{status}}",
                    )
                ],
                width=8,
                description="Failed batches fire CoinstreamSparkBatchFailures.",
            ),
            timeseries(
                "Dead letters per 5 minutes",
                [
                    (
                        f"sum(increase({sel('coinstream_lander_dead_letters_total', job='lander')}[5m]))",
                        "to coin.prices.dlq",
                    )
                ],
                width=8,
            ),
            row("Lag"),
            timeseries(
                "Kafka lag (records)", [(f"sum({sel('coinstream_lander_kafka_lag_records', job='lander')})", "records")]
            ),
            timeseries(
                "Event-to-queryable latency",
                [(f"max({sel('coinstream_pipeline_lag_seconds', stage='landed')})", "landed")],
                "s",
            ),
        ],
    )


def kafka() -> dict:
    bt = "kafka_server_brokertopicmetrics"
    return dashboard(
        "coinstream-kafka",
        "coinstream / kafka",
        "The broker (JMX exporter locally, Strimzi metrics in Kubernetes).",
        [
            row("Broker"),
            stat(
                "Broker up",
                f"max({sel('up', job='kafka')})",
                unit="none",
                mappings=UP_MAPPING,
                thresholds=[(None, "red"), (1, "green")],
            ),
            stat(
                "Active controllers",
                "sum(kafka_controller_kafkacontroller_activecontrollercount)",
                thresholds=[(None, "red"), (1, "green"), (2, "red")],
            ),
            stat(
                "Under-replicated partitions",
                "sum(kafka_server_replicamanager_underreplicatedpartitions)",
                thresholds=[(None, "green"), (1, "red")],
            ),
            stat(
                "Offline partitions",
                "sum(kafka_controller_kafkacontroller_offlinepartitionscount)",
                thresholds=[(None, "green"), (1, "red")],
            ),
            row("Traffic"),
            timeseries(
                "Messages in/s by topic",
                [(rate(f"{bt}_messagesin_total", "topic", topic="!"), "{{topic}}")],
                "ops",
                width=8,
            ),
            timeseries(
                "Bytes in/out per second",
                [
                    (rate(f"{bt}_bytesin_total", topic="!"), "in"),
                    (rate(f"{bt}_bytesout_total", topic="!"), "out"),
                ],
                "Bps",
                width=8,
            ),
            timeseries(
                "Requests/s by type",
                [(rate("kafka_network_requestmetrics_requests_total", "request"), "{{request}}")],
                "reqps",
                width=8,
            ),
            timeseries(
                "Failed produce/fetch requests/s",
                [
                    (rate(f"{bt}_failedproducerequests_total"), "produce"),
                    (rate(f"{bt}_failedfetchrequests_total"), "fetch"),
                ],
                "reqps",
                width=8,
            ),
            timeseries(
                "Partitions and leaders",
                [
                    ("sum(kafka_server_replicamanager_partitioncount)", "partitions"),
                    ("sum(kafka_server_replicamanager_leadercount)", "leaders"),
                ],
                width=8,
            ),
            timeseries(
                "Produced by coinstream services (acked)/s",
                [(rate("coinstream_kafka_produced_total", "job, topic"), "{{job}} {{topic}}")],
                "ops",
                width=8,
            ),
            row("JVM"),
            timeseries(
                "Heap used", [(f"sum({sel('jvm_memory_used_bytes', job='kafka', area='heap')})", "heap")], "bytes"
            ),
            timeseries(
                "GC time per second",
                [(rate("jvm_gc_collection_seconds_sum", "gc", job="kafka"), "{{gc}}")],
                "percentunit",
            ),
        ],
    )


def trino() -> dict:
    qm = "trino_execution_name_QueryManager"
    return dashboard(
        "coinstream-trino",
        "coinstream / trino",
        "The Trino coordinator (native OpenMetrics endpoint).",
        [
            row("Coordinator"),
            stat(
                "Coordinator up",
                f"max({sel('up', job='trino')})",
                unit="none",
                mappings=UP_MAPPING,
                thresholds=[(None, "red"), (1, "green")],
            ),
            stat("Running queries", f"sum({qm}_RunningQueries)"),
            stat("Queued queries", f"sum({qm}_QueuedQueries)", thresholds=[(None, "green"), (5, "orange")]),
            stat(
                "Failed queries (1h)",
                f"sum(increase({qm}_FailedQueries[1h]))",
                thresholds=[(None, "green"), (1, "orange")],
            ),
            row("Queries"),
            timeseries(
                "Queries started, completed and failed per second",
                [
                    (f"sum(rate({qm}_StartedQueries[{RATE}]))", "started"),
                    (f"sum(rate({qm}_CompletedQueries[{RATE}]))", "completed"),
                    (f"sum(rate({qm}_FailedQueries[{RATE}]))", "failed"),
                ],
                "ops",
            ),
            timeseries(
                "Seen from the query service: latency (p99) by kind",
                [
                    (quantile(0.99, "coinstream_trino_query_duration_seconds", "query", job="query"), "{{query}}"),
                ],
                "s",
            ),
        ],
    )


DASHBOARDS = {
    "coinstream-overview.json": overview,
    "coinstream-api.json": api,
    "coinstream-ingest.json": ingest,
    "coinstream-query.json": query,
    "coinstream-lander.json": lander,
    "coinstream-kafka.json": kafka,
    "coinstream-trino.json": trino,
}


def render() -> dict[str, str]:
    return {name: json.dumps(build(), indent=2) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a committed dashboard differs from this code")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rendered = render()
    if args.check:
        stale = [
            n for n, text in rendered.items() if not (args.out / n).is_file() or (args.out / n).read_text() != text
        ]
        extra = sorted(p.name for p in args.out.glob("coinstream-*.json") if p.name not in rendered)
        for name in stale:
            print(f"{args.out / name} is out of date: run python observability/grafana.py", file=sys.stderr)
        for name in extra:
            print(f"{args.out / name} is not generated by observability/grafana.py", file=sys.stderr)
        return 1 if stale or extra else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        (args.out / name).write_text(text)
    print(f"wrote {len(rendered)} dashboards to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
