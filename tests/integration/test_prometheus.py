"""A real Prometheus scrapes the daemon while SIPp calls through the lab.

Every expression of the Grafana dashboard and of the recording rules must return data
through Prometheus' HTTP API and agree with the journal; `ivr report` and `ivr forecast`
must count the same calls.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from ivr.journal.metrics import QUEUE_WAIT_BUCKETS, TALK_BUCKETS
from ivr.lab.paths import REPO, LabPaths
from ivr.lab.prometheus import LabPrometheus, Sample, has_data, value
from ivr.lab.sipp import CallScript
from ivr.lab.softphones.agent import LabAgent
from ivr.reports import report as reports
from ivr.store.port import Entry
from ivr.store.sqlite import SqliteJournal
from tests.integration import prometheus as expect
from tests.integration.lab import DaemonProcess, sip_call

# Metric families no lab call can make yet: an expression selecting one of them may come back
# empty. Remove an entry once its feature counts (the test fails while an excused expression
# has data, to say so).
NOT_YET_EXERCISED: dict[str, str] = {
    # The queues plan has no survey; test_recording_survey.py checks the scores' metric.
    "ivr_survey_score": "no survey in the plan this test calls",
    # Agents give dispositions through the API; tests/unit/http/test_transfers_api.py.
    "ivr_dispositions": "no agent of this test gives a disposition",
}

SALES_AGENTS = ("agent2", "agent4")
WARM_UP = "7100000020"  # caller-number prefix of the calls that create the series
COUNTED = "7100000021"  # caller-number prefix of the calls rate() and increase() count
WARM_UP_CALLS, CALLS = 3, 9
# Raw series compared one for one with the journal (no rate, so the warm-up counts too).
RAW = (
    "ivr_queue_answered_total",
    "ivr_queue_abandoned_total",
    "ivr_queue_answered_within_sla_total",
    "ivr_calls_total",
    "ivr_queue_wait_seconds_bucket",
    "ivr_queue_wait_seconds_sum",
    "ivr_talk_seconds_count",
    "ivr_overflow_total",
)
OVERFLOW = {"name": "widen", "waited": 6, "lower_levels": 1}
"""The one overflow step of sales: callers who waited 6 s may go to less skilled agents."""


def excused(query: expect.Query) -> bool:
    """Whether `query` selects a family of NOT_YET_EXERCISED."""
    return any(n == f or n.startswith(f + "_") for n in query.names() for f in NOT_YET_EXERCISED)


async def test_prometheus_sees_the_calls_and_every_panel_agrees_with_the_journal(
    lab_paths: LabPaths, credentials: dict[str, str], tmp_path: Path
) -> None:
    roster = REPO / "tests" / "agents"
    shop = DaemonProcess(credentials, tmp_path, _plans(tmp_path / "dialplans"), roster).start()
    queries = expect.dashboard_queries() + expect.recording_queries()
    try:
        await asyncio.to_thread(shop.wait_health, 200, 20)
        for name in SALES_AGENTS:
            assert shop.api("POST", f"/api/agents/{name}/sign-in")[0] == 200
        with (
            LabAgent.named(lab_paths, "agent2", talk_seconds=1),
            LabAgent.named(lab_paths, "agent4", talk_seconds=1),
            LabAgent.named(lab_paths, "partner", talk_seconds=1),
        ):
            await _warm_up(lab_paths, shop)
            with LabPrometheus(tmp_path / "prometheus", f"127.0.0.1:{shop.port}") as prom:
                started = prom.now()
                await _wait(prom, "sum(ivr_calls_total)", lambda r: _is(r, WARM_UP_CALLS))
                await _counted_calls(lab_paths, shop, prom)
                at = await _settled(prom)
                assert shop.stop() == 0  # the journal is flushed on the way out
                # Every query is evaluated at `at`, so the daemon's absence since changes nothing.
                window = f"{math.ceil(at - started) + 5}s"
                results = {
                    q.source: prom.query(expect.grafana_to_promql(q.expr, window), at)
                    for q in queries
                }
                raw = {name: prom.query(name, at) for name in RAW}
                variable = prom.api("label/queue/values", end=f"{at:.3f}",
                                    **{"match[]": "ivr_queue_answered_total"})  # fmt: skip
                groups = prom.rule_groups()
    finally:
        shop.stop()

    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    entries = list(journal.read(0, math.inf))
    journal.close()
    records = reports.calls(entries)
    numbers = expect.callers(entries)
    counted = [r for r in records if numbers[r.call_id].startswith(COUNTED)]
    _check_the_scenario(records, counted, entries)
    _check_raw_series(raw, records, entries)
    _check_every_expression_has_data(queries, results)
    _check_values(results, counted, entries)
    # Every queue of the plan, called or not: the daemon creates their series at start.
    plan = yaml.safe_load((tmp_path / "dialplans" / "queues.yaml").read_text())
    assert set(variable) == set(plan["queues"]) >= {r.queue for r in records}
    _check_rules(groups)
    _check_report_and_forecast(shop.config, records, raw)


def _plans(folder: Path) -> Path:
    """The lab's queue plan (1 returns, 2 sales, 4 the partner) with OVERFLOW for sales."""
    plan = yaml.safe_load((REPO / "tests" / "dialplans" / "queues" / "queues.yaml").read_text())
    plan["queues"]["sales"]["overflow"] = [OVERFLOW]
    folder.mkdir()
    (folder / "queues.yaml").write_text(yaml.safe_dump(plan))
    return folder


async def _wait(
    prom: LabPrometheus, expr: str, holds: Callable[[list[Sample]], bool], timeout: float = 30
) -> list[Sample]:
    return await asyncio.to_thread(prom.wait_for, expr, holds, timeout)


async def _call(paths: LabPaths, caller: str, key: str, hang_up_after: float | None = None) -> None:
    script = CallScript("200", caller, keys=key, hang_up_after=hang_up_after)
    assert await sip_call(paths, script) == 0, caller


def _agents(shop: DaemonProcess, action: str) -> None:
    for name in SALES_AGENTS:
        body = {"reason": "meeting"} if action == "pause" else None
        assert shop.api("POST", f"/api/agents/{name}/{action}", body)[0] == 200


async def _warm_up(paths: LabPaths, shop: DaemonProcess) -> None:
    """One call of each kind before Prometheus starts, so its first scrape holds them all.

    rate() and increase() never count the first value of a new series, and the daemon makes
    a queue's series on its first call: the calls after this are the ones rates count.
    """
    await asyncio.gather(_call(paths, WARM_UP + "1", "2"), _call(paths, WARM_UP + "2", "4"))
    _agents(shop, "pause")
    await _call(paths, WARM_UP + "3", "2", hang_up_after=7)  # past the overflow step
    await asyncio.to_thread(_ended, shop, WARM_UP_CALLS)


def _ended(shop: DaemonProcess, calls: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while sum("event=call.ended" in line for line in shop.lines) < calls:
        assert time.monotonic() < deadline, f"fewer than {calls} calls ended"
        time.sleep(0.05)


async def _counted_calls(paths: LabPaths, shop: DaemonProcess, prom: LabPrometheus) -> None:
    """Abandoned twice, answered past the service-level time, answered twice, the partner."""
    # Sales agents still in a meeting: two callers give up (waits in different buckets, the
    # second after the overflow step), a third waits until Prometheus sees 21 s as the
    # longest wait, past the 20 s target.
    slow = asyncio.create_task(_call(paths, COUNTED + "1", "2"))
    await asyncio.gather(
        _call(paths, COUNTED + "2", "2", hang_up_after=3),
        _call(paths, COUNTED + "3", "2", hang_up_after=8),
    )
    longest = 'max(ivr_queue_longest_wait_seconds{queue="sales"})'
    await _wait(prom, longest, lambda r: has_data(r) and value(r[0]) >= 21, timeout=40)
    _agents(shop, "resume")
    await slow
    await asyncio.gather(
        _call(paths, COUNTED + "4", "2"),
        _call(paths, COUNTED + "5", "2"),
        _call(paths, COUNTED + "6", "4"),  # the night queue: the partner's trunk
    )


def _is(result: list[Sample], number: float) -> bool:
    return has_data(result) and value(result[0]) == number


async def _settled(prom: LabPrometheus) -> float:
    """A moment at which Prometheus has every call, nobody waits, and the rules saw it all."""
    done = (
        f"(sum(ivr_calls_total) == {CALLS})"
        " and on () (sum(ivr_active_calls) + sum(ivr_queue_callers) == 0)"
    )
    seen = float((await _wait(prom, done, has_data))[0]["value"][0])
    # timestamp() drops the name: keep it as a label, or the rules' series would collide.
    rules = 'label_replace({__name__=~"queue:ivr_.+"}, "rule", "$1", "__name__", "(.+)")'
    recorded = f"min(timestamp({rules}))"
    await _wait(prom, recorded, lambda r: has_data(r) and value(r[0]) >= seen)
    return prom.now()


def _check_the_scenario(
    records: list[reports.CallRecord], counted: list[reports.CallRecord], entries: list[Entry]
) -> None:
    """The calls did what the test meant them to do; otherwise the checks below prove little."""
    assert len(records) == CALLS and all(r.queue for r in records)
    assert sum(r.abandoned for r in counted) == 2
    late = [r for r in counted if r.answered and (r.wait or 0) > (r.sla or math.inf)]
    assert late, "no answer past the service-level time"
    assert len(_overflows(entries)) == 3  # the warm-up's abandon, the second abandon, the slow
    partner = [r.outcome for r in records if r.queue == "night"]
    assert partner == ["overflowed_external"] * 2


def _nonzero(counts: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], float]:
    # Series made at zero before their first call (Metrics.init_queue) count nothing.
    return {key: v for key, v in counts.items() if v}


def _check_raw_series(
    raw: dict[str, list[Sample]], records: list[reports.CallRecord], entries: list[Entry]
) -> None:
    """Counters and histograms hold exactly what the journal holds, warm-up included."""
    answered = [r for r in records if r.answered]
    within = [r for r in answered if r.wait is not None and r.sla is not None and r.wait <= r.sla]
    for name, rows in (
        ("ivr_queue_answered_total", answered),
        ("ivr_queue_abandoned_total", [r for r in records if r.abandoned]),
        ("ivr_queue_answered_within_sla_total", within),
    ):
        assert _nonzero(expect.keyed(raw[name], "queue")) == expect.count_by(rows, "queue"), name
    calls = expect.keyed(raw["ivr_calls_total"], "plan", "outcome")
    assert _nonzero(calls) == expect.count_by(records, "plan", "outcome")

    waits = expect.waits(records)
    groups = {(q, o) for q, o, _ in waits}
    buckets = expect.keyed(raw["ivr_queue_wait_seconds_bucket"], "queue", "outcome", "le")
    assert {(q, o) for q, o, _ in buckets} == groups
    sums = expect.keyed(raw["ivr_queue_wait_seconds_sum"], "queue", "outcome")
    for queue, outcome in groups:
        seconds = [s for q, o, s in waits if (q, o) == (queue, outcome)]
        mine = {b: n for (q, o, b), n in buckets.items() if (q, o) == (queue, outcome)}
        assert mine == expect.buckets(seconds), (queue, outcome, seconds)
        assert sums[queue, outcome] == pytest.approx(sum(seconds), abs=1e-6)
    # One talk time per answered call: one hang-up note each, whoever hung up first.
    hang_ups = Counter(e.fields["queue"] for e in entries if e.kind.endswith("_hung_up"))
    answers = Counter(e.fields["queue"] for e in entries if e.kind == "answered")
    assert hang_ups == answers
    talks = {(queue,): n for queue, n in hang_ups.items()}
    assert expect.keyed(raw["ivr_talk_seconds_count"], "queue") == talks
    steps = Counter((e.fields["queue"], e.fields["step"]) for e in _overflows(entries))
    assert expect.keyed(raw["ivr_overflow_total"], "queue", "step") == steps


def _check_every_expression_has_data(
    queries: list[expect.Query], results: dict[str, list[Sample]]
) -> None:
    problems = []
    for query in queries:
        result = results[query.source]
        if excused(query) and has_data(result):
            problems.append(f"{query.source}: has data now, remove it from NOT_YET_EXERCISED")
        elif not excused(query) and not has_data(result):
            problems.append(f"{query.source}: no data for {query.expr!r} (got {result})")
    assert not problems, "\n".join(problems)


def _check_values(
    results: dict[str, list[Sample]], counted: list[reports.CallRecord], entries: list[Entry]
) -> None:
    """Panels and rules say what the journal says of the calls after the warm-up."""
    ids = {r.call_id for r in counted}

    def counts(source: str, *labels: str) -> dict[tuple[str, ...], int]:
        return {k: n for k, n in expect.rounded(results[source], *labels).items() if n}

    assert counts("Calls by outcome (timeseries)/A", "outcome") == expect.count_by(
        counted, "outcome"
    )
    topics = expect.count_by([r for r in counted if r.topic], "topic")
    assert counts("Calls by topic (piechart)/A", "topic") == topics
    menu = Counter(
        (e.fields["plan"], e.fields["node"], e.fields["option"])
        for e in entries
        if e.kind == "menu_choice" and e.call_id in ids
    )
    assert counts("Top menu selections (table)/A", "plan", "node", "option") == dict(menu)
    steps = Counter((e.fields["queue"], e.fields["step"]) for e in _overflows(entries, ids))
    assert counts("Overflow by step (timeseries)/A", "queue", "step") == dict(steps)

    waits = expect.waits(counted)
    heatmap = expect.rounded(results["Wait time distribution (heatmap)/A"], "le")
    assert {le: n for (le,), n in heatmap.items()} == expect.buckets(s for _, _, s in waits)
    by_queue: dict[str, list[float]] = {}
    for queue, _, seconds in waits:
        by_queue.setdefault(queue, []).append(seconds)
    for ref, q in (("A", 0.5), ("B", 0.9), ("C", 0.99)):
        _within_buckets(results[f"Wait time percentiles (timeseries)/{ref}"], q, by_queue)
    talks: dict[str, list[float]] = {}
    for record in counted:
        if record.talk is not None:
            talks.setdefault(record.queue, []).append(record.talk)
    for ref, q in (("A", 0.5), ("B", 0.9)):
        _within_buckets(
            results[f"Talk time percentiles (timeseries)/{ref}"], q, talks, TALK_BUCKETS
        )

    for rule, figure in (("service_level", _service_level), ("abandon_rate", _abandon_rate)):
        for span in ("5m", "1h"):
            name = f"queue:ivr_{rule}:ratio_rate{span}"
            recorded = expect.keyed(results[f"recorded:{name}"], "queue")
            assert ("sales",) in recorded, name
            for (queue,), got in recorded.items():
                mine = [r for r in counted if r.queue == queue]
                assert got == pytest.approx(figure(mine), abs=0.02), (name, queue)
            direct = expect.keyed(results[f"rule:{name}"], "queue")
            assert direct == pytest.approx(recorded, rel=0.02), name

    # Nobody calls any more and the two sales agents are signed in.
    for source, expected in {
        "Active calls (stat)/A": 0,
        "Callers waiting (stat)/A": 0,
        "Longest wait (stat)/A": 0,
        "Callers waiting (timeseries)/A": 0,
        "Longest current wait (timeseries)/A": 0,
        "Callbacks pending (stat)/A": 0,
        "Callbacks (timeseries)/B": 0,
        "Agents signed in (stat)/A": len(SALES_AGENTS),
    }.items():
        assert sum(value(s) for s in results[source]) == expected, source
    for source in ("PBX connection (stat)/A", "PBX connection (state-timeline)/A"):
        assert expect.keyed(results[source], "interface") == {("ari",): 1, ("ami",): 1}
    by_state = expect.keyed(results["Agents by state (timeseries)/A"], "state")
    assert sum(by_state.values()) == len(SALES_AGENTS)
    by_state = expect.keyed(results["Agents by team and state (bargauge)/A"], "team", "state")
    assert {team for team, _ in by_state} == {"shop"}
    assert sum(by_state.values()) == len(SALES_AGENTS)
    # Nothing in the journal asks for a callback or a reload: both panels show zeros.
    assert not any(e.kind.startswith("callback") for e in entries)
    for source in ("Callbacks (timeseries)/A", "Plan reloads (timeseries)/A"):
        assert results[source] and not counts(source, "outcome", "result"), source


def _overflows(entries: list[Entry], ids: set[str] | None = None) -> list[Entry]:
    """The journal's overflow steps taken (by the calls `ids`, or all)."""
    return [e for e in entries if e.kind == "overflow" and (ids is None or e.call_id in ids)]


def _service_level(records: list[reports.CallRecord]) -> float:
    row = reports.summarise("", records)
    assert row.service_level is not None
    return row.service_level


def _abandon_rate(records: list[reports.CallRecord]) -> float:
    row = reports.summarise("", records)
    assert row.abandon_rate is not None
    return row.abandon_rate


def _within_buckets(
    result: list[Sample],
    q: float,
    seconds: dict[str, list[float]],
    bounds: tuple[float, ...] = QUEUE_WAIT_BUCKETS,
) -> None:
    """Each queue's estimated quantile lies in the bucket of the journal's quantile."""
    estimates = {k: v for (k,), v in expect.keyed(result, "queue").items() if not math.isnan(v)}
    assert estimates and set(estimates) <= set(seconds), (estimates, seconds)
    for queue, estimate in estimates.items():
        truth = expect.rank_quantile(q, seconds[queue])
        lower, upper = expect.bucket_of(truth, bounds)
        slack = 0.01 * (upper - lower if math.isfinite(upper) else lower)
        assert lower - slack <= estimate <= upper + slack, (q, queue, estimate, seconds[queue])


def _check_rules(groups: list[dict[str, Any]]) -> None:
    """Every rule evaluates cleanly, and the alerts see the bad service the calls had."""
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) >= 10
    assert all(rule["health"] == "ok" for rule in rules), [r for r in rules if r["health"] != "ok"]
    alerting = {
        alert["labels"]["alertname"]
        for rule in rules
        for alert in rule.get("alerts", [])
        if alert["labels"].get("queue") == "sales"
    }
    assert {"IvrAbandonRateHigh", "IvrServiceLevelLow"} <= alerting


def _check_report_and_forecast(
    config: Path, records: list[reports.CallRecord], raw: dict[str, list[Sample]]
) -> None:
    """`ivr report` and `ivr forecast` on the run's journal count the same calls."""
    first = datetime.fromtimestamp(min(r.arrived for r in records), UTC).date()
    window = ["--from", str(first), "--to", str(datetime.now(UTC).date() + timedelta(days=1))]
    report = _ivr("report", "--config", str(config), "--format", "json", *window)
    queues = {row["group"]: row for row in report["queues"]}
    answered = expect.keyed(raw["ivr_queue_answered_total"], "queue")
    abandoned = expect.keyed(raw["ivr_queue_abandoned_total"], "queue")
    for queue in {r.queue for r in records}:
        row = queues[queue]
        assert row["answered"] == answered.get((queue,), 0), queue
        assert row["abandoned"] == abandoned.get((queue,), 0), queue
        assert row["calls"] == sum(1 for r in records if r.queue == queue)
    assert queues["total"]["calls"] == CALLS
    forecast = _ivr("forecast", "--config", str(config), "--format", "json", *window)
    assert forecast["calls"] == CALLS
    assert forecast["abandoned"] == sum(abandoned.values())
    assert forecast["model"] == "erlang_a"  # callers hung up: patience counts
    assert sum(cell["calls"] for cell in forecast["cells"]) == CALLS


def _ivr(*argv: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "ivr", *argv], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
