"""The Grafana dashboard: well-formed, and it cannot drift away from the daemon's metrics.

``dashboard_expressions`` and ``promql_for_prometheus`` are meant for reuse, e.g. by a
test that runs every panel's query against a real Prometheus.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ivr.journal.metrics import Metrics

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "config" / "grafana" / "dashboards" / "shop-ivr.json"
PROVISIONING = ROOT / "config" / "grafana" / "provisioning"
RECORDING = ROOT / "config" / "prometheus" / "rules" / "ivr-recording.yml"

# Grafana's variables, replaced by plain values so Prometheus can run the query.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "30s",
    "$__range": "1h",
    "$queue": ".*",
}

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # collapsed rows nest their panels


def dashboard_panels(path: Path = DASHBOARD) -> list[dict[str, Any]]:
    """Every panel of the dashboard at ``path`` except rows, nested ones included."""
    dashboard = json.loads(Path(path).read_text())
    return [p for p in _panels(dashboard["panels"]) if p.get("type") != "row"]


def dashboard_expressions(path: Path = DASHBOARD) -> list[str]:
    """Every panel target's PromQL expression, in dashboard order, Grafana variables kept.

    Pass each through ``promql_for_prometheus`` before sending it to Prometheus.
    """
    return [
        target["expr"]
        for panel in dashboard_panels(path)
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def promql_for_prometheus(expr: str) -> str:
    """``expr`` with the dashboard's Grafana variables replaced by plain values."""
    for variable in sorted(GRAFANA_VARIABLES, key=len, reverse=True):
        expr = expr.replace(variable, GRAFANA_VARIABLES[variable])
    return expr


def metric_names(expr: str) -> set[str]:
    """Names of ``ivr_`` series (and recording rules) an expression selects."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # no label values
    bare = re.sub(r"\{[^}]*\}", "", bare)  # no label matchers
    return {name for name in _NAME.findall(bare) if "ivr_" in name}


def recording_rule_names() -> set[str]:
    doc = yaml.safe_load(RECORDING.read_text())
    return {rule["record"] for group in doc["groups"] for rule in group["rules"]}


def allowed_names() -> set[str]:
    return set(Metrics().series_names()) | recording_rule_names()


def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def test_dashboard_is_grafana_10_json_with_a_stable_uid() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "shop-ivr"
    assert dashboard["title"]
    assert dashboard["schemaVersion"] >= 36
    assert "id" not in dashboard or dashboard["id"] is None  # importable anywhere
    ids = [p["id"] for p in _panels(dashboard["panels"])]
    assert len(ids) == len(set(ids)), "panel ids must be unique"


def test_every_panel_has_a_title_and_a_query() -> None:
    panels = dashboard_panels()
    assert len(panels) >= 10
    for panel in panels:
        assert panel.get("title"), panel
        targets = panel.get("targets", [])
        assert targets, f"panel {panel['title']!r} has no target"
        for target in targets:
            assert target.get("expr"), f"panel {panel['title']!r}: target without expr"
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), panel["title"]


def test_datasource_is_the_variable_defaulting_to_uid_prometheus() -> None:
    dashboard = _dashboard()
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    ds = variables["datasource"]
    assert ds["type"] == "datasource"
    assert ds["query"] == "prometheus"
    assert ds["current"]["value"] == "prometheus"
    for panel in dashboard_panels():
        for holder in [panel, *panel["targets"]]:
            assert holder["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel[
                "title"
            ]
    assert variables["queue"]["datasource"]["uid"] == "${datasource}"


def test_expressions_only_use_metrics_the_daemon_exports() -> None:
    known = allowed_names()
    dashboard = _dashboard()
    queries = [
        (p["title"], e) for p in dashboard_panels() for e in (t["expr"] for t in p["targets"])
    ]
    queries += [
        (f"variable {v['name']}", v["definition"])
        for v in dashboard["templating"]["list"]
        if v["type"] == "query"
    ]
    for title, expr in queries:
        names = metric_names(expr)
        assert names, f"{title}: {expr!r} names no ivr_ metric"
        unknown = names - known
        assert not unknown, f"{title}: {sorted(unknown)} not in Metrics nor recording rules"


def test_dashboard_shows_every_metric() -> None:
    used = set().union(*(metric_names(e) for e in dashboard_expressions()))
    doc = yaml.safe_load(RECORDING.read_text())
    for rule in (r for g in doc["groups"] for r in g["rules"]):
        if rule["record"] in used:
            used |= metric_names(rule["expr"])
    families = {f.name for f in Metrics().registry.collect()}
    shown = {f for f in families if any(u == f or u.startswith(f + "_") for u in used)}
    assert families == shown, f"not on the dashboard: {sorted(families - shown)}"


def test_dashboard_has_the_required_views() -> None:
    exprs = "\n".join(dashboard_expressions())
    for needle in (
        "queue:ivr_service_level:ratio_rate5m",
        "queue:ivr_abandon_rate:ratio_rate5m",
        "histogram_quantile(0.5, sum by (le, queue) (rate(ivr_queue_wait_seconds_bucket",
        "histogram_quantile(0.9, sum by (le, queue) (rate(ivr_queue_wait_seconds_bucket",
        "histogram_quantile(0.99, sum by (le, queue) (rate(ivr_queue_wait_seconds_bucket",
        'ivr_survey_score_sum{kind="csat"}',
        'ivr_survey_score_sum{kind="nps"}',
    ):
        assert needle in exprs, needle
    kinds = {p["type"] for p in dashboard_panels()}
    assert "heatmap" in kinds
    (heatmap,) = [p for p in dashboard_panels() if p["type"] == "heatmap"]
    assert heatmap["targets"][0]["format"] == "heatmap"
    assert "ivr_queue_wait_seconds_bucket" in heatmap["targets"][0]["expr"]


def test_promtool_parses_every_expression(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found on PATH; install it with: apt-get install prometheus")
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:expr_{i}", "expr": promql_for_prometheus(e)}
                    for i, e in enumerate(dashboard_expressions())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    proc = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"promtool check rules:\n{proc.stdout}\n{proc.stderr}"


def test_provisioning_points_at_uid_prometheus() -> None:
    ds = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    (prometheus,) = ds["datasources"]
    assert prometheus["uid"] == "prometheus"
    assert prometheus["type"] == "prometheus"
    boards = yaml.safe_load((PROVISIONING / "dashboards" / "shop-ivr.yml").read_text())
    (provider,) = boards["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"]


def test_metric_names_parser() -> None:
    expr = 'sum(rate(ivr_queue_wait_seconds_bucket{queue=~"ivr_x"}[5m])) / queue:ivr_a:rate5m'
    assert metric_names(expr) == {"ivr_queue_wait_seconds_bucket", "queue:ivr_a:rate5m"}
    assert promql_for_prometheus("x[$__rate_interval] $queue") == "x[1m] .*"
