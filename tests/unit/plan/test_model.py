"""The plan model: node kinds listed once, queue settings read once while the plan loads."""

from __future__ import annotations

from typing import get_args

import pytest

from ivr.plan.errors import PlanError
from ivr.plan.graph import SHAPES
from ivr.plan.handoffs import HANDOFFS
from ivr.plan.load import parse_plan
from ivr.plan.nodes import NODE_KINDS
from ivr.plan.plan import PlanBook
from ivr.plan.queues import QueueSpec

PLAN = """
name: shop
numbers: ["100"]
queues:
  sales: {skills: {sales: 2}, strategy: ring-all, recording: 10%}
nodes:
  start: {type: queue, queue: sales}
"""


def test_node_kinds_are_known_by_their_type() -> None:
    for kind, model in NODE_KINDS.items():
        assert get_args(model.model_fields["type"].annotation) == (kind,)


def test_every_node_kind_is_drawn_as_a_shape_or_as_a_handoff() -> None:
    handoffs = {kind for kind, model in NODE_KINDS.items() if model in HANDOFFS}
    assert not handoffs & set(SHAPES)
    assert handoffs | set(SHAPES) == set(NODE_KINDS)


def test_queue_settings_are_read_once_and_named_by_their_key() -> None:
    plan, _ = parse_plan(PLAN, "shop.yaml")
    sales = plan.spec.queues["sales"]
    assert isinstance(sales, QueueSpec)
    assert (sales.name, sales.strategy, sales.skills) == ("sales", "ring-all", {"sales": 2})
    assert sales.recording is not None and sales.recording.sample_percent == 10
    [served] = PlanBook((plan,)).queue_specs()
    assert served is sales


def test_queue_mistakes_come_with_the_plans_other_schema_mistakes() -> None:
    text = PLAN.replace("ring-all", "fastest").replace("nodes:", "nmbers: []\nnodes:")
    with pytest.raises(PlanError) as caught:
        parse_plan(text, "shop.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "shop.yaml:5:31: error: queue 'sales': strategy: Input should be 'longest-idle', "
        "'most-skilled', 'round-robin' or 'ring-all'; see the queue settings in "
        "ivr/plan/queues.py (skills, strategy, ring_timeout, wrapup, max_wait, max_callers, "
        "exit, sla_seconds, teams, announce_every, max_misses, overflow, callback_after_abandon)",
        "shop.yaml:6:1: error: nmbers: unknown field; did you mean 'numbers'?",
    ]


def test_a_queue_that_is_not_a_mapping_is_told_like_any_other() -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(
            PLAN.replace("{skills: {sales: 2}, strategy: ring-all, recording: 10%}", "5"),
            "shop.yaml",
        )
    assert [str(p) for p in caught.value.problems] == [
        "shop.yaml:5:3: error: queues.sales: Input should be a valid dictionary",
    ]
