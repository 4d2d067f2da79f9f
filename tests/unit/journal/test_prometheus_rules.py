"""Prometheus config and rules: promtool checks them, and they only name real metrics.

promtool is a hard requirement of this test (Debian/Ubuntu: ``apt-get install
prometheus``); without it the test fails rather than skips, so a CI image that lost
it cannot silently stop checking the alerts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ivr.journal.metrics import Metrics

ROOT = Path(__file__).resolve().parents[3]
PROM_DIR = ROOT / "config" / "prometheus"
CONFIG = PROM_DIR / "prometheus.yml"
RECORDING = PROM_DIR / "rules" / "ivr-recording.yml"
ALERTS = PROM_DIR / "rules" / "ivr-alerts.yml"
RULES_TEST = ROOT / "tests" / "prometheus" / "ivr-rules-test.yml"

# Series Prometheus itself adds, allowed in rules next to the daemon's own.
PROMETHEUS_SERIES = {"up"}


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool not found on PATH; it is needed to check the Prometheus config and "
            "rules. Install it with: apt-get install prometheus"
        )
    return path


def _run_promtool(*args: str) -> None:
    cmd = [_promtool(), *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd)} exited with {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )


def _rules(path: Path) -> list[dict[str, Any]]:
    doc = yaml.safe_load(path.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def recording_rule_names() -> set[str]:
    """Names the recording rules define (``queue:ivr_...:ratio_rate5m`` and so on)."""
    return {rule["record"] for rule in _rules(RECORDING)}


def test_promtool_check_config() -> None:
    _run_promtool("check", "config", str(CONFIG))


def test_promtool_check_rules() -> None:
    _run_promtool("check", "rules", str(RECORDING), str(ALERTS))


def test_promtool_test_rules() -> None:
    _run_promtool("test", "rules", str(RULES_TEST))


def test_config_scrapes_the_daemon_every_5s_and_loads_the_rules() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "shop-ivr"]
    assert job["scrape_interval"] == "5s"
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:8080"]
    loaded = {(PROM_DIR / f).resolve() for f in config["rule_files"]}
    assert loaded == {RECORDING.resolve(), ALERTS.resolve()}


def test_every_alert_has_actionable_annotations() -> None:
    for rule in _rules(ALERTS):
        annotations = rule.get("annotations", {})
        assert annotations.get("summary"), rule["alert"]
        assert len(annotations.get("description", "")) > 80, rule["alert"]
        assert rule.get("labels", {}).get("severity") in {"warning", "critical"}, rule["alert"]


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    doc = yaml.safe_load(RULES_TEST.read_text())
    cases = [case for test in doc["tests"] for case in test.get("alert_rule_test", [])]
    for rule in _rules(ALERTS):
        name = rule["alert"]
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c.get("exp_alerts") for c in mine), f"{name}: no case where it fires"
        assert any(not c.get("exp_alerts") for c in mine), f"{name}: no case where it is quiet"


def test_rules_only_use_metrics_the_daemon_exports() -> None:
    known = set(Metrics().series_names()) | recording_rule_names() | PROMETHEUS_SERIES
    for rule in _rules(RECORDING) + _rules(ALERTS):
        expr = re.sub(r"\{[^}]*\}", "", rule["expr"])  # drop label matchers
        for name in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
            if "ivr_" in name or name in PROMETHEUS_SERIES:
                assert name in known, f"{rule.get('record') or rule['alert']}: unknown {name}"
