"""The local Prometheus component: its scrape config, its start-up command, and the PromQL inventory."""

import pytest
import yaml
from coinstream.runtime import prometheus as prom
from coinstream.runtime.config import LocalSettings
from coinstream.runtime.process import StartError
from coinstream_common.settings import TrinoSettings
from coinstream_testkit import promql

pytestmark = pytest.mark.unit


@pytest.fixture
def cfg(tmp_path):
    return LocalSettings(
        state_dir=str(tmp_path / "state"),
        cache_dir=str(tmp_path / "cache"),
        api_port=18000,
        ingest_port=18001,
        query_port=18002,
        sim_port=18100,
        trino_port=18080,
        hdfs_namenode_http_port=19870,
        hdfs_datanode_http_port=19864,
        prometheus_port=19090,
    )


def _jobs(cfg) -> dict[str, dict]:
    config = prom.prometheus_config(cfg, ["/rules/*.yml"])
    return {j["job_name"]: j for j in config["scrape_configs"]}


def test_one_scrape_job_per_component_on_the_configured_ports(cfg):
    jobs = _jobs(cfg)
    expected = {
        "api": 18000,
        "ingest": 18001,
        "query": 18002,
        "coingecko-sim": 18100,
        "trino": 18080,
        "hdfs-namenode": 19870,
        "hdfs-datanode": 19864,
        "prometheus": 19090,
        "lander": 9108,
        "kafka": 9404,
    }
    assert {job: int(j["static_configs"][0]["targets"][0].rsplit(":", 1)[1]) for job, j in jobs.items()} == expected
    assert all(j["static_configs"][0]["targets"][0].startswith(cfg.host + ":") for j in jobs.values())


def test_endpoints_without_a_native_default_use_their_paths_and_credentials(cfg):
    jobs = _jobs(cfg)
    assert jobs["hdfs-namenode"]["metrics_path"] == jobs["hdfs-datanode"]["metrics_path"] == "/prom"
    assert jobs["trino"]["basic_auth"] == {"username": TrinoSettings().user}  # Trino's user header, as basic auth
    assert "basic_auth" not in jobs["api"]


def test_the_kafka_exporter_port_can_be_set_in_local_settings():
    class WithPort(LocalSettings):
        kafka_metrics_port: int = 19404

    assert _jobs(WithPort())["kafka"]["static_configs"][0]["targets"] == ["127.0.0.1:19404"]


def test_the_lander_is_scraped_where_its_settings_put_it(monkeypatch):
    monkeypatch.setenv("COINSTREAM_LANDER_METRICS_PORT", "19108")
    assert _jobs(LocalSettings())["lander"]["static_configs"][0]["targets"] == ["127.0.0.1:19108"]


def test_the_written_config_passes_promtool_with_the_real_rules(cfg, run_promtool):
    comp = prom.Prometheus(cfg)
    assert comp.write_config() is True
    assert comp.write_config() is False  # unchanged: no reload needed
    loaded = yaml.safe_load(comp.config_file.read_text())
    assert loaded["rule_files"] == [str(prom.RULES_DIR / "*.yml")]
    result = run_promtool("check", "config", str(comp.config_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(prom.rule_files())} rule files found" in result.stdout


def test_every_job_the_dashboards_and_rules_name_is_scraped(cfg):
    jobs = set(_jobs(cfg))
    named = {
        (q.source, v)
        for q in promql.dashboard_queries() + promql.rule_queries()
        for s in promql.selectors(q.expr)
        for k, op, v in s.matchers
        if k == "job" and op == "="
    }
    assert named, "the dashboards filter components by job"
    assert not [f"{src}: job {v!r}" for src, v in named if v not in jobs]


def test_command_listens_where_configured_and_keeps_data_in_the_component_home(cfg, monkeypatch):
    monkeypatch.setattr(prom, "prometheus_binary", lambda: "/usr/bin/prometheus")
    comp = prom.Prometheus(cfg)
    argv, _env = comp.command()
    assert argv[0] == "/usr/bin/prometheus"
    assert f"--web.listen-address=127.0.0.1:{cfg.prometheus_port}" in argv
    assert f"--config.file={comp.home / 'prometheus.yml'}" in argv
    assert f"--storage.tsdb.path={comp.home / 'data'}" in argv
    assert any(a.startswith("--storage.tsdb.retention.time=") for a in argv)


def test_fetch_without_the_binary_and_without_root_says_how_to_install(cfg, monkeypatch):
    monkeypatch.setattr(prom, "prometheus_binary", lambda: None)
    monkeypatch.setattr(prom.os, "geteuid", lambda: 1000)
    with pytest.raises(StartError, match="apt-get install -y --no-install-recommends prometheus"):
        prom.Prometheus(cfg).fetch()


def test_fetch_as_root_installs_debians_package_and_disables_its_service(cfg, monkeypatch):
    calls = []
    installed = {"done": False}

    def fake_run(argv, **kwargs):
        calls.append(argv)
        if argv[:2] == ["apt-get", "install"]:
            installed["done"] = True

        class Result:
            returncode, stdout, stderr = 0, "", ""

        return Result()

    monkeypatch.setattr(prom, "prometheus_binary", lambda: "/usr/bin/prometheus" if installed["done"] else None)
    monkeypatch.setattr(prom.os, "geteuid", lambda: 0)
    monkeypatch.setattr(prom.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(prom.subprocess, "run", fake_run)
    monkeypatch.setattr(prom, "systemd_running", lambda: True)
    prom.Prometheus(cfg).fetch()
    assert calls[0] == prom.APT_INSTALL
    assert ["systemctl", "disable", "--now", "prometheus"] in calls


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (
            'histogram_quantile(0.99, sum by (le, route) (rate(h_bucket{job="api", status=~"5.."}[$__rate_interval])))',
            [("h_bucket", (("job", "=", "api"), ("status", "=~", "5..")))],
        ),
        (
            "sum(rate(a_total[5m:1m])) / on(job) group_left sum without (x) (b) > 0 and up == 0 offset 5m",
            [("a_total", ()), ("b", ()), ("up", ())],
        ),
        ('max_over_time(foo[10m]) unless bar{a!="1"} or vector(0)', [("foo", ()), ("bar", (("a", "!=", "1"),))]),
        ('label_replace(up, "dst", "$1", "job", "(.*)")', [("up", ())]),
        ("job:coinstream_http_error_ratio:rate5m > 0.05", [("job:coinstream_http_error_ratio:rate5m", ())]),
        ("count(up == 0) or vector(0)", [("up", ())]),
    ],
)
def test_selectors_finds_the_metrics_of_an_expression(expr, expected):
    assert [(s.metric, s.matchers) for s in promql.selectors(expr)] == expected


def test_selector_promql_keeps_only_the_asked_matchers():
    s = promql.Selector("m", (("job", "=", "api"), ("status", "=~", "5..")))
    assert s.promql(("=",)) == 'm{job="api"}'
    assert s.promql() == 'm{job="api",status=~"5.."}'


def test_concrete_replaces_grafana_variables():
    assert promql.concrete("rate(x[$__rate_interval]) + rate(y[${__interval}])") == "rate(x[1m]) + rate(y[30s])"
