"""The journal's log lines and metrics, made cheaply (issue 14), say what they said before:
a line per note with the call first, each counted note in its metric, no other note in any."""

from __future__ import annotations

import ast
import inspect
import textwrap

import pytest

from ivr.calls.commands import Note
from ivr.calls.notes import NoteKind
from ivr.journal import metrics_sink
from ivr.journal.fanout import LogSink
from ivr.journal.metrics import Metrics
from ivr.journal.metrics_sink import COUNTED, MetricsSink

T0 = 1_795_000_000.0


def test_the_kinds_skipped_early_are_exactly_those_the_match_does_not_count() -> None:
    source = textwrap.dedent(inspect.getsource(metrics_sink.MetricsSink.record))
    matched: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.MatchValue) and isinstance(node.value, ast.Attribute):
            matched.add(node.value.attr)
    assert matched == {kind.name for kind in COUNTED}


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_each_counted_note_lands_in_its_metric_and_the_others_in_none() -> None:
    metrics = Metrics()
    sink = MetricsSink(metrics)
    queue = {"queue": "returns", "sla": "20"}
    notes = [
        Note("c1", NoteKind.ARRIVED, {"plan": "shop"}),
        Note("c1", NoteKind.NODE, {"node": "start"}),
        Note("c1", NoteKind.MENU_CHOICE, {"plan": "shop", "node": "start", "option": "1"}),
        Note("c1", NoteKind.TAG, {"plan": "shop", "node": "start", "tag": "orders"}),
        Note("c1", NoteKind.RING, {"queue": "returns", "agent": "a1"}),
        Note("c1", NoteKind.ANSWERED, {**queue, "wait": "12.5", "agent": "a1"}),
        Note("c1", NoteKind.CALLER_HUNG_UP, {"queue": "returns", "talk": "95"}),
        Note("c1", NoteKind.ENDED, {"plan": "shop", "outcome": "answered"}),
        Note("c2", NoteKind.ARRIVED, {"plan": "shop"}),
        Note("c2", NoteKind.OVERFLOW, {"queue": "returns", "step": "1"}),
        Note("c2", NoteKind.ANSWERED, {**queue, "wait": "31", "agent": "a2"}),
        Note("c2", NoteKind.AGENT_HUNG_UP, {"queue": "returns", "talk": "20"}),
        Note("c2", NoteKind.SURVEY_ANSWER, {"survey": "s", "kind": "csat", "score": "4"}),
        Note("c2", NoteKind.ENDED, {"plan": "shop", "outcome": "answered"}),
        Note("c3", NoteKind.ARRIVED, {"plan": "shop"}),
        Note("c3", NoteKind.QUEUE_ABANDONED, {**queue, "wait": "40"}),
        Note("c3", NoteKind.CALLBACK_REQUESTED, {"task": "t1"}),
        Note("c3", NoteKind.ENDED, {"plan": "shop", "outcome": "abandoned"}),
        Note("", NoteKind.CALLBACK_FINISHED, {"task": "t1", "outcome": "completed"}),
    ]
    for at, note in enumerate(notes):
        sink.record(note, T0 + at)
    # Twice over the same label sets: the children found once are the registry's own.
    assert sample(metrics, "ivr_calls_total", plan="shop", outcome="answered") == 2
    assert sample(metrics, "ivr_calls_total", plan="shop", outcome="abandoned") == 1
    assert sample(metrics, "ivr_active_calls") == 0
    selections = {"plan": "shop", "node": "start", "option": "1"}
    assert sample(metrics, "ivr_menu_selections_total", **selections) == 1
    assert sample(metrics, "ivr_calls_by_topic_total", plan="shop", topic="orders") == 1
    assert sample(metrics, "ivr_queue_answered_total", queue="returns") == 2
    assert sample(metrics, "ivr_queue_answered_within_sla_total", queue="returns") == 1
    assert sample(metrics, "ivr_queue_abandoned_total", queue="returns") == 1
    waits = {"queue": "returns", "outcome": "answered"}
    assert sample(metrics, "ivr_queue_wait_seconds_sum", **waits) == 43.5
    assert sample(metrics, "ivr_queue_wait_seconds_bucket", **waits, le="15.0") == 1
    assert sample(metrics, "ivr_overflow_total", queue="returns", step="1") == 1
    assert sample(metrics, "ivr_talk_seconds_count", queue="returns") == 2
    assert sample(metrics, "ivr_talk_seconds_sum", queue="returns") == 115
    assert sample(metrics, "ivr_survey_score_sum", kind="csat") == 4
    assert sample(metrics, "ivr_callbacks_total", outcome="requested") == 1
    assert sample(metrics, "ivr_callbacks_total", outcome="completed") == 1

    before = metrics.render()[0]
    for kind in NoteKind:
        if kind not in COUNTED:  # whatever fields they carry
            sink.record(Note("c9", kind, {"plan": "shop", "queue": "returns"}), T0)
    assert metrics.render()[0] == before


def test_a_note_is_one_line_with_the_call_first_and_a_desk_note_has_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="ivr.call")
    sink = LogSink()
    sink.record(Note("1700.1", NoteKind.QUEUE_JOIN, {"queue": "returns", "position": "1"}), T0)
    sink.record(Note("1700.2", NoteKind.QUEUE_JOIN, {"queue": "sales", "position": "4"}), T0)
    sink.record(Note("", "signed_in", {"agent": "a1"}), T0)
    lines = [(r.getMessage(), list(r.__dict__["fields"].items())) for r in caplog.records]
    assert lines == [
        ("call.queue_join", [("call", "1700.1"), ("queue", "returns"), ("position", "1")]),
        ("call.queue_join", [("call", "1700.2"), ("queue", "sales"), ("position", "4")]),
        ("desk.signed_in", [("agent", "a1")]),
    ]


def test_no_line_is_made_below_the_log_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="ivr.call")
    LogSink().record(Note("1700.1", NoteKind.NODE, {"node": "start"}), T0)
    assert caplog.records == []
