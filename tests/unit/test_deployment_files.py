"""The production profile (deploy/production/, issue 19): compose accepts it, its alert rules and
dashboard are well formed and name only metrics that douane defines.

No Docker engine exists on the development machines: ``docker-compose config`` (Debian's
``docker-compose`` package, installed here when missing if we are root with apt-get, as the
Makefile installs softhsm2) validates and resolves the file without starting anything.
``promtool`` is not available either: the rule file's structure is checked here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.adapters.tracing import tracing_configured
from streams.config import project_root

PROFILE = project_root() / "deploy" / "production"
COMPOSE_FILE = PROFILE / "docker-compose.yml"
PROMETHEUS_FILE = PROFILE / "prometheus" / "prometheus.yml"
ALERTS_FILE = PROFILE / "prometheus" / "alerts.yml"
DASHBOARD_FILE = PROFILE / "grafana" / "dashboards" / "douane.json"
DATASOURCE_FILE = PROFILE / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDER_FILE = PROFILE / "grafana" / "provisioning" / "dashboards" / "douane.yml"

WORKERS = ("worker-1", "worker-2")
SERVICES = {"kafka", "postgres", "model", *WORKERS, "front-door", "prometheus", "grafana",
            "otel-collector"}
COLLECTOR_FILE = PROFILE / "otel-collector" / "config.yaml"

# The alerts issue 19 asks for, each with the metric it must watch.
REQUIRED_ALERTS = {
    "DouaneConsumerLag": "douane_consumer_lag",
    "DouaneNoAuditCheckpoint": "douane_audit_checkpoint_age_seconds",
    "DouaneAuditStoreUnavailable": "douane_audit_store_writable",
    "DouaneDetectorFailures": "douane_detection_seconds_count",
    "DouaneProviderCircuitOpen": "douane_provider_circuit_state",
}

# series Prometheus makes itself for every target
PROMETHEUS_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

_SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count"),
             "summary": ("_sum", "_count", ""), "info": ("_info",)}


def series_in_code() -> frozenset[str]:
    """The douane_* series streams/adapters/metrics.py registers, as Prometheus stores them
    (counters end in _total, histograms give _bucket, _sum and _count)."""
    from prometheus_client import REGISTRY

    import streams.adapters.metrics  # noqa: F401  (registers them)

    return frozenset(family.name + suffix for family in REGISTRY.collect()
                     if family.name.startswith("douane_")
                     for suffix in _SUFFIXES.get(family.type, ("",)))


def defined_series() -> frozenset[str]:
    return series_in_code() | PROMETHEUS_SERIES


# ------------------------------------------------------------------------ PromQL metric names

_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
             "group_right", "offset", "bool", "inf", "nan", "atan2"}
_IDENTIFIER = re.compile(r"(?<![A-Za-z0-9_:.$])[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions,
    keywords, label names (inside {...}, by/on/... lists), durations or strings."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ",
                  text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        word = match.group(0)
        if word.lower() in _KEYWORDS or text[match.end():].lstrip().startswith("("):
            continue
        names.add(word)
    return names


def test_metric_names_reads_selectors_only() -> None:
    expr = ('histogram_quantile(0.95, sum by (le, provider) '
            '(rate(douane_x_bucket{state="open", job=~"a.*"}[5m]))) > 1e3 '
            'and on (instance) (up == 0) unless douane_y offset 5m')
    assert metric_names(expr) == {"douane_x_bucket", "up", "douane_y"}


def test_the_metrics_module_registers_the_series_the_alerts_were_written_for() -> None:
    assert {"douane_requests_total", "douane_consumer_lag", "douane_audit_store_writable",
            "douane_provider_circuit_state", "douane_detection_seconds_bucket"} <= \
        series_in_code()


# -------------------------------------------------------------------------- docker-compose

def _installed_docker_compose() -> str | None:
    found = shutil.which("docker-compose")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": False,
             "timeout": 600}
    install = ["apt-get", "install", "-y", "-qq", "docker-compose"]
    if subprocess.run(install, **quiet).returncode != 0:  # type: ignore[call-overload]
        subprocess.run(["apt-get", "update", "-qq"], **quiet)  # type: ignore[call-overload]
        subprocess.run(install, **quiet)  # type: ignore[call-overload]
    return shutil.which("docker-compose")


@pytest.fixture(scope="module")
def resolved_compose() -> Iterator[dict[str, Any]]:
    """The profile as ``docker-compose config`` resolves it (anchors merged, paths absolute)."""
    binary = _installed_docker_compose()
    if binary is None:
        pytest.skip("docker-compose is not installed and cannot be (not root, or no apt-get): "
                    "install Debian's docker-compose package to check the deployment files")
    result = subprocess.run([binary, "-f", str(COMPOSE_FILE), "config"], capture_output=True,
                            text=True, timeout=120, check=False, cwd=project_root())
    assert result.returncode == 0, f"docker-compose config refused {COMPOSE_FILE}:\n" \
                                   f"{result.stderr}"
    yield yaml.safe_load(result.stdout)


def test_compose_accepts_the_profile_and_runs_every_service(
        resolved_compose: dict[str, Any]) -> None:
    assert set(resolved_compose["services"]) == SERVICES


def test_workers_share_one_group_and_the_postgresql_audit_log(
        resolved_compose: dict[str, Any]) -> None:
    services = resolved_compose["services"]
    environments = [services[name]["environment"] for name in WORKERS]
    assert len({env["DOUANE_APP_ID"] for env in environments}) == 1
    # static membership: each worker its own id, or two would fence each other off
    assert len({env["DOUANE_KAFKA_GROUP_INSTANCE_ID"] for env in environments}) == len(WORKERS)
    for env in environments:
        dsn = env["DOUANE_AUDIT_DSN"]
        assert dsn.startswith("postgresql://douane@postgres:5432/")
        assert "passfile=/run/secrets/audit-db.pgpass" in dsn  # no password in the DSN
        assert env["DOUANE_KAFKA_CLIENT_PROPERTIES"] == "/run/secrets/douane-worker.properties"
    for name in WORKERS:
        assert "audit-db.pgpass" in {secret["source"] if isinstance(secret, dict) else secret
                                     for secret in services[name]["secrets"]}
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] \
        == "/run/secrets/audit-db.secret"
    assert "POSTGRES_PASSWORD" not in services["postgres"]["environment"]


def test_kafka_is_reached_over_sasl_ssl_only(resolved_compose: dict[str, Any]) -> None:
    kafka = resolved_compose["services"]["kafka"]
    script = next(Path(source) for source, target in map(_volume, kafka["volumes"])
                  if target == "/opt/douane/kafka-start.sh")
    text = script.read_text("utf-8")
    assert "listeners=SASL_SSL://:9092,CONTROLLER://localhost:9093" in text
    assert "allow.everyone.if.no.acl.found=false" in text
    assert "ports" not in kafka


def test_healthchecks_ask_readiness(resolved_compose: dict[str, Any]) -> None:
    services = resolved_compose["services"]
    for name in WORKERS:
        port = services[name]["environment"]["DOUANE_WORKER_HTTP_PORT"]
        assert services[name]["environment"]["DOUANE_WORKER_HTTP_HOST"] == "0.0.0.0"
        assert f"http://127.0.0.1:{port}/readyz" in " ".join(services[name]["healthcheck"]
                                                              ["test"])
    assert "http://127.0.0.1:8080/readyz" in " ".join(services["front-door"]["healthcheck"]
                                                       ["test"])
    assert services["front-door"]["depends_on"]["worker-1"]["condition"] == "service_healthy"


def test_ports_are_published_on_loopback_only(resolved_compose: dict[str, Any]) -> None:
    exposed = {name: service["ports"] for name, service in resolved_compose["services"].items()
               if any(not _on_loopback(port) for port in service.get("ports", []))}
    assert exposed == {}


# docker-compose 1.x prints the short syntax ("src:target:ro", "127.0.0.1:80:80/tcp"), 2.x the
# long one (mappings)
def _volume(volume: str | dict[str, Any]) -> tuple[str, str]:
    if isinstance(volume, dict):
        return str(volume["source"]), str(volume["target"])
    source, target = volume.split(":")[:2]
    return source, target


def _on_loopback(port: str | dict[str, Any]) -> bool:
    if isinstance(port, dict):
        return port.get("host_ip") in ("127.0.0.1", "::1")
    return port.startswith(("127.0.0.1:", "[::1]:"))


def _mount(service: dict[str, Any], source: Path) -> str:
    return next(target for mounted, target in map(_volume, service["volumes"])
                if Path(mounted) == source.resolve())


def test_prometheus_scrapes_every_worker_and_the_front_door(
        resolved_compose: dict[str, Any]) -> None:
    services = resolved_compose["services"]
    config = yaml.safe_load(PROMETHEUS_FILE.read_text("utf-8"))
    targets = {target for job in config["scrape_configs"]
               if job.get("metrics_path", "/metrics") == "/metrics"
               for static in job["static_configs"] for target in static["targets"]}
    wanted = {f"{name}:{services[name]['environment']['DOUANE_WORKER_HTTP_PORT']}"
              for name in WORKERS} | {"front-door:8080"}
    assert wanted <= targets
    prometheus = services["prometheus"]
    assert _mount(prometheus, PROMETHEUS_FILE) == "/etc/prometheus/prometheus.yml"
    assert config["rule_files"] == [_mount(prometheus, ALERTS_FILE)]


def test_workers_and_the_front_door_send_traces_to_the_collector(
        resolved_compose: dict[str, Any]) -> None:
    services = resolved_compose["services"]
    config = yaml.safe_load(COLLECTOR_FILE.read_text("utf-8"))
    port = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].rsplit(":", 1)[1]
    assert "otlp" in config["service"]["pipelines"]["traces"]["receivers"]
    for name in (*WORKERS, "front-door"):
        environment = services[name]["environment"]
        assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://otel-collector:{port}"
        assert tracing_configured(environment)  # what the process itself decides from it
    instances = {services[name]["environment"]["OTEL_RESOURCE_ATTRIBUTES"] for name in WORKERS}
    assert len(instances) == len(WORKERS)
    collector = services["otel-collector"]
    assert _mount(collector, COLLECTOR_FILE) == "/etc/otelcol/config.yaml"
    assert "ports" not in collector  # the compose network only


def test_grafana_provisions_the_dashboard_file(resolved_compose: dict[str, Any]) -> None:
    grafana = resolved_compose["services"]["grafana"]
    provisioning = _mount(grafana, PROFILE / "grafana" / "provisioning")
    assert provisioning == "/etc/grafana/provisioning"
    provider = yaml.safe_load(DASHBOARD_PROVIDER_FILE.read_text("utf-8"))["providers"][0]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == _mount(grafana, DASHBOARD_FILE.parent)
    datasource = yaml.safe_load(DATASOURCE_FILE.read_text("utf-8"))["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    dashboard = json.loads(DASHBOARD_FILE.read_text("utf-8"))
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels
    for panel in panels:
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        assert panel["targets"], panel["title"]


# --------------------------------------------------------------------------- alert rules

_DURATION = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ALERT_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}


def rule_problems(document: object) -> list[str]:
    """What Prometheus would refuse in a rule file (the parts douane's file uses)."""
    if not isinstance(document, dict) or set(document) != {"groups"} \
            or not isinstance(document["groups"], list):
        return ["the file must be a mapping with one key, groups: a list"]
    problems: list[str] = []
    group_names: set[str] = set()
    for index, group in enumerate(document["groups"]):
        where = f"groups[{index}]"
        if not isinstance(group, dict) or not isinstance(group.get("name"), str) \
                or not isinstance(group.get("rules"), list):
            problems.append(f"{where}: needs a name and a list of rules")
            continue
        if group["name"] in group_names:
            problems.append(f"{where}: group name {group['name']!r} used twice")
        group_names.add(group["name"])
        problems += [f"{where}: unknown key {key!r}" for key in set(group)
                     - {"name", "rules", "interval", "limit"}]
        for number, rule in enumerate(group["rules"]):
            problems += [f"{where}.rules[{number}]: {problem}"
                         for problem in _alert_problems(rule)]
    return problems


def _alert_problems(rule: object) -> list[str]:
    if not isinstance(rule, dict) or "alert" not in rule:
        return ["not an alerting rule (no 'alert')"]
    problems = [f"unknown key {key!r}" for key in set(rule) - _ALERT_KEYS]
    if not isinstance(rule["alert"], str) or not _NAME.match(rule["alert"]):
        problems.append(f"alert name {rule['alert']!r} is not a valid metric name")
    expr = rule.get("expr")
    if not isinstance(expr, str) or not expr.strip():
        problems.append("expr must be a non-empty string")
    elif not _balanced(expr):
        problems.append(f"expr has unbalanced brackets: {expr!r}")
    for key in ("for", "keep_firing_for"):
        if key in rule and not _DURATION.match(str(rule[key])):
            problems.append(f"{key}: {rule[key]!r} is not a duration")
    for key in ("labels", "annotations"):
        value = rule.get(key, {})
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and _NAME.match(k) and isinstance(v, str)
                for k, v in value.items()):
            problems.append(f"{key} must map label names to strings")
    return problems


def _balanced(expr: str) -> bool:
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for char in text:
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


def _alerts() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS_FILE.read_text("utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_alert_rules_are_well_formed() -> None:
    assert rule_problems(yaml.safe_load(ALERTS_FILE.read_text("utf-8"))) == []


def test_rule_check_finds_mistakes() -> None:
    broken = {"groups": [{"name": "g", "rules": [
        {"alert": "Bad Name", "expr": "rate(x[5m]", "for": "10 minutes",
         "labels": {"severity": 2}, "summary": "misplaced"}]}]}
    problems = rule_problems(broken)
    assert len(problems) == 5, problems


def test_the_required_alerts_exist_and_watch_their_metric() -> None:
    alerts = {rule["alert"]: rule for rule in _alerts()}
    assert len(alerts) == len(_alerts()), "an alert name is used twice"
    for name, metric in REQUIRED_ALERTS.items():
        assert name in alerts, f"alert {name} missing from {ALERTS_FILE.name}"
        assert metric in metric_names(alerts[name]["expr"]), name
        assert alerts[name]["labels"]["severity"] in {"warning", "critical"}


def test_alerts_and_dashboard_use_only_metrics_douane_defines() -> None:
    known = defined_series()
    used = {f"alert {rule['alert']}": metric_names(rule["expr"]) for rule in _alerts()}
    dashboard = json.loads(DASHBOARD_FILE.read_text("utf-8"))
    used |= {f"panel {panel['title']!r}": set().union(*(metric_names(target["expr"])
                                                        for target in panel["targets"]))
             for panel in dashboard["panels"] if panel["type"] != "row"}
    unknown = {where: sorted(names - known) for where, names in used.items() if names - known}
    assert unknown == {}
    assert all(used.values()), "an expression selects no metric"
