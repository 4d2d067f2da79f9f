"""Big plans get the same verdicts as small ones: long goto chains, big rings, thousands of
wrong names (bench/plan_check.py measures the time; these check the answers)."""

from __future__ import annotations

import pytest

from ivr.plan.errors import PlanError
from ivr.plan.load import parse_plan

HEAD = 'name: big\nnumbers: ["100"]\nnodes:\n'


def test_five_thousand_chained_gotos_make_a_good_plan() -> None:
    chain = "".join(f"  g{i}: {{type: goto, target: g{i + 1}}}\n" for i in range(5000))
    plan, _ = parse_plan(
        HEAD + "  start: {type: goto, target: g0}\n" + chain + "  g5000: {type: hangup}\n", "x"
    )
    assert len(plan.spec.nodes) == 5002


def test_every_node_of_a_big_ring_without_a_way_out_is_named() -> None:
    ring = "".join(
        f"  p{i}: {{type: play, prompt: sound:beep, next: p{(i + 1) % 3000}}}\n"
        for i in range(3000)
    )
    with pytest.raises(PlanError) as refused:
        parse_plan(HEAD + "  start: {type: play, prompt: sound:hello, next: p0}\n" + ring, "x")
    stuck = [p for p in refused.value.problems if "go round in a loop that never ends" in p.message]
    assert len(stuck) == 3001
    assert (stuck[0].line, stuck[-1].line) == (4, 3004)


def test_a_ring_that_passes_callers_round_at_once_is_found_however_long() -> None:
    # Each `when` has a way out (a caller from 101 leaves), the rest go round saying nothing.
    ring = "".join(
        f'  w{i}: {{type: when, cases: [{{var: number, equals: "101", then: bye}}], '
        f"else: w{(i + 1) % 2000}}}\n"
        for i in range(2000)
    )
    menu = '  start: {type: menu, prompt: sound:hello, options: {"1": w0}}\n'
    with pytest.raises(PlanError) as refused:
        parse_plan(HEAD + menu + ring + "  bye: {type: hangup}\n", "x")
    instant = [p for p in refused.value.problems if "at once, hearing nothing" in p.message]
    assert len(instant) == 1 and "'w0' -> 'w1' -> 'w2'" in instant[0].message
    assert instant[0].message.count("->") == 2000


def test_thousands_of_wrong_names_are_each_told_with_a_short_fix() -> None:
    wrong = "".join(
        f"  n{i}: {{type: play, prompt: sound:beep, next: nn{i}}}\n" for i in range(3000)
    )
    with pytest.raises(PlanError) as refused:
        parse_plan(HEAD + "  start: {type: hangup}\n" + wrong, "x")
    missing = [p for p in refused.value.problems if "no such node" in p.message]
    assert len(missing) == 3000
    assert missing[0].fix == "did you mean 'n0'?"
    # Past the first hundred looks, the known names are listed, at most twenty of them.
    assert missing[-1].fix.startswith("known nodes: n0, n1, n10, ")
    assert missing[-1].fix.endswith(" and 2981 more")
