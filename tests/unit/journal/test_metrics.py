"""The daemon's metrics: names, labels, exposition and observe_wait's bookkeeping."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from ivr.journal.metrics import QUEUE_WAIT_BUCKETS, WAIT_OUTCOMES, Metrics

# attribute -> (sample name as exposed, label names)
EXPECTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "calls": ("ivr_calls_total", ("plan", "outcome")),
    "queue_wait": ("ivr_queue_wait_seconds_bucket", ("queue", "outcome", "le")),
    "queue_abandoned": ("ivr_queue_abandoned_total", ("queue",)),
    "queue_answered": ("ivr_queue_answered_total", ("queue",)),
    "queue_answered_within_sla": ("ivr_queue_answered_within_sla_total", ("queue",)),
    "queue_callers": ("ivr_queue_callers", ("queue",)),
    "queue_longest_wait": ("ivr_queue_longest_wait_seconds", ("queue",)),
    "queue_open": ("ivr_queue_open", ("queue",)),
    "agents": ("ivr_agents", ("team", "state")),
    "overflow": ("ivr_overflow_total", ("queue", "step")),
    "callbacks_pending": ("ivr_callbacks_pending", ()),
    "callbacks": ("ivr_callbacks_total", ("outcome",)),
    "menu_selections": ("ivr_menu_selections_total", ("plan", "node", "option")),
    "calls_by_topic": ("ivr_calls_by_topic_total", ("plan", "topic")),
    "survey_score": ("ivr_survey_score_bucket", ("kind", "le")),
    "talk": ("ivr_talk_seconds_bucket", ("queue", "le")),
    "pbx_connected": ("ivr_pbx_connected", ("interface",)),
    "plan_reloads": ("ivr_plan_reloads_total", ("result",)),
    "active_calls": ("ivr_active_calls", ()),
}


def _touch_all(m: Metrics) -> None:
    m.calls.labels(plan="main", outcome="hungup_in_menu").inc()
    m.observe_wait("sales", "answered", 12.0, 20.0)
    m.init_queue("sales")
    m.queue_callers.labels(queue="sales").set(3)
    m.queue_longest_wait.labels(queue="sales").set(41)
    m.queue_open.labels(queue="sales").set(1)
    m.agents.labels(team="inhouse", state="available").set(4)
    m.overflow.labels(queue="sales", step="2").inc()
    m.callbacks_pending.set(2)
    m.callbacks.labels(outcome="requested").inc()
    m.menu_selections.labels(plan="main", node="root", option="1").inc()
    m.calls_by_topic.labels(plan="main", topic="orders").inc()
    m.survey_score.labels(kind="csat").observe(4)
    m.survey_score.labels(kind="nps").observe(9)
    m.talk.labels(queue="sales").observe(200)
    m.pbx_connected.labels(interface="ari").set(1)
    m.plan_reloads.labels(result="ok").inc()
    m.active_calls.set(5)


def _samples(m: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, _ = m.render()
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def _value(m: Metrics, name: str, **labels: str) -> float:
    return _samples(m).get((name, frozenset(labels.items())), 0.0)


def test_every_metric_renders_with_its_name_and_labels() -> None:
    m = Metrics()
    _touch_all(m)
    body, content_type = m.render()
    assert content_type.startswith("text/plain")
    assert "version=0.0.4" in content_type
    samples = _samples(m)
    for attr, (name, labels) in EXPECTED.items():
        assert hasattr(m, attr), attr
        found = [ls for (n, ls) in samples if n == name]
        assert found, f"{name} (Metrics.{attr}) missing from:\n{body.decode()}"
        assert any({k for k, _ in ls} == set(labels) for ls in found), (name, found)


def test_wait_histogram_uses_phone_buckets() -> None:
    m = Metrics()
    m.observe_wait("sales", "abandoned", 7.0, 20.0)
    les = sorted(
        float(dict(ls)["le"]) for (n, ls) in _samples(m) if n == "ivr_queue_wait_seconds_bucket"
    )
    assert les[:-1] == [float(b) for b in QUEUE_WAIT_BUCKETS]
    assert math.isinf(les[-1])


def test_fixed_label_sets_start_at_zero() -> None:
    m = Metrics()
    assert _value(m, "ivr_pbx_connected", interface="ari") == 0.0
    assert ("ivr_pbx_connected", frozenset({("interface", "ami")})) in _samples(m)
    assert ("ivr_plan_reloads_total", frozenset({("result", "failed")})) in _samples(m)
    m.init_queue("support")
    assert ("ivr_queue_answered_total", frozenset({("queue", "support")})) in _samples(m)


def test_each_instance_has_its_own_registry() -> None:
    a, b = Metrics(), Metrics()
    a.active_calls.set(3)
    assert _value(a, "ivr_active_calls") == 3.0
    assert _value(b, "ivr_active_calls") == 0.0
    assert a.registry is not REGISTRY
    assert REGISTRY.get_sample_value("ivr_active_calls") is None
    given_registry = CollectorRegistry()
    assert Metrics(given_registry).registry is given_registry


def test_observe_wait_answered_within_and_outside_sla() -> None:
    m = Metrics()
    m.observe_wait("sales", "answered", 20.0, 20.0)  # on the target counts as within
    m.observe_wait("sales", "answered", 20.5, 20.0)
    m.observe_wait("sales", "abandoned", 3.0, 20.0)
    m.observe_wait("sales", "callback", 95.0, 20.0)
    assert _value(m, "ivr_queue_answered_total", queue="sales") == 2
    assert _value(m, "ivr_queue_answered_within_sla_total", queue="sales") == 1
    assert _value(m, "ivr_queue_abandoned_total", queue="sales") == 1
    assert _value(m, "ivr_queue_wait_seconds_count", queue="sales", outcome="answered") == 2
    assert _value(m, "ivr_queue_wait_seconds_count", queue="sales", outcome="callback") == 1
    assert _value(m, "ivr_queue_wait_seconds_sum", queue="sales", outcome="answered") == 40.5


@pytest.mark.parametrize("seconds", [-1.0, math.nan])
def test_observe_wait_rejects_bad_waits(seconds: float) -> None:
    with pytest.raises(ValueError):
        Metrics().observe_wait("sales", "answered", seconds, 20.0)


def test_observe_wait_rejects_unknown_outcome() -> None:
    with pytest.raises(ValueError, match="unknown wait outcome"):
        Metrics().observe_wait("sales", "+15551234567", 1.0, 20.0)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["sales", "support"]),
            st.sampled_from(WAIT_OUTCOMES),
            st.floats(min_value=0, max_value=3600, allow_nan=False),
        ),
        max_size=40,
    )
)
def test_observe_wait_counters_stay_consistent(
    waits: list[tuple[str, str, float]],
) -> None:
    m = Metrics()
    sla = 20.0
    for queue, outcome, seconds in waits:
        m.observe_wait(queue, outcome, seconds, sla)
    for queue in ("sales", "support"):
        answered = _value(m, "ivr_queue_answered_total", queue=queue)
        within = _value(m, "ivr_queue_answered_within_sla_total", queue=queue)
        abandoned = _value(m, "ivr_queue_abandoned_total", queue=queue)
        assert answered == _value(
            m, "ivr_queue_wait_seconds_count", queue=queue, outcome="answered"
        )
        assert abandoned == _value(
            m, "ivr_queue_wait_seconds_count", queue=queue, outcome="abandoned"
        )
        assert within <= answered
        assert within == sum(1 for q, o, s in waits if q == queue and o == "answered" and s <= sla)
        # within-SLA equals the answered histogram's cumulative count at the 20 s bucket
        assert within == _value(
            m, "ivr_queue_wait_seconds_bucket", queue=queue, outcome="answered", le="20.0"
        )


def test_series_names_lists_what_promql_selects() -> None:
    names = Metrics().series_names()
    for attr, (name, _) in EXPECTED.items():
        assert name in names, attr
    assert {"ivr_queue_wait_seconds_sum", "ivr_queue_wait_seconds_count"} <= names
    assert "ivr_calls" not in names
    assert all(n.startswith("ivr_") for n in names)
