"""The routing engine by example: strategies, misses, wrap-up, widening, estimates, exits."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.plan.queues import QueueSpec
from ivr.routing import (
    AgentState,
    CallState,
    Exit,
    Requirement,
    Roster,
    Router,
    RoutingError,
)
from ivr.routing.roster import AgentSpec, TeamSpec, TrunkSpec

TEAMS = {
    "shop": TeamSpec(kind="in-house"),
    "callpoint": TeamSpec(kind="outsourced"),
    "nightdesk": TeamSpec(
        kind="outsourced",
        trunk=TrunkSpec(dial="PJSIP/200@partner", max_concurrent=2, skills={"returns": 5}),
    ),
}


def agent(n: int, team: str = "shop", max_concurrent: int = 1, **skills: int) -> AgentSpec:
    return AgentSpec(
        id=f"agent{n}",
        name=f"Agent {n}",
        endpoint=f"PJSIP/agent{n}",
        team=team,
        skills={k.replace("lang_", "lang:"): v for k, v in skills.items()},
        max_concurrent=max_concurrent,
    )


def router(agents: list[AgentSpec], *queues: dict[str, Any], sign_in: bool = True) -> Router:
    specs = [QueueSpec.model_validate(q) for q in queues]
    r = Router(Roster(TEAMS, tuple(agents)), specs)
    if sign_in:
        for a in agents:
            r.sign_in(a.id, 0.0)
    return r


def rung(r: Router, now: float) -> list[tuple[str, tuple[str, ...]]]:
    return [(o.call_id, o.agent_ids) for o in r.dispatch(now)]


def serve(r: Router, call_id: str, agent_id: str, start: float, talk: float) -> None:
    """Answer a call that rings `agent_id` at `start` and end it `talk` seconds later."""
    assert r.ring_answered(call_id, agent_id, start).accepted
    assert r.call_ended(agent_id, start + talk)


ALL = [agent(1, returns=5), agent(2, returns=5), agent(3, returns=5)]


def test_longest_idle_picks_whoever_finished_a_call_longest_ago() -> None:
    r = router(ALL, {"name": "q", "skills": {"returns": 1}, "wrapup": 0})
    for n, call in enumerate(["a", "b", "c"]):
        r.enqueue(call, "q", 1.0 + n)
    assert rung(r, 5) == [("a", ("agent1",)), ("b", ("agent2",)), ("c", ("agent3",))]
    serve(r, "b", "agent2", 5, 10)  # agent2 idle since 15
    serve(r, "a", "agent1", 5, 20)  # agent1 idle since 25
    serve(r, "c", "agent3", 5, 15)  # agent3 idle since 20
    r.enqueue("d", "q", 30)
    r.enqueue("e", "q", 31)
    assert rung(r, 31) == [("d", ("agent2",)), ("e", ("agent3",))]


def test_most_skilled_picks_the_highest_levels_then_the_longest_idle() -> None:
    agents = [
        agent(1, returns=4, lang_ru=4),
        agent(2, returns=9, lang_ru=2),
        agent(3, returns=6, lang_ru=5),
    ]
    r = router(
        agents,
        {"name": "q", "skills": {"returns": 1, "lang:ru": 1}, "strategy": "most-skilled"},
        sign_in=False,
    )
    r.sign_in("agent3", 0)
    r.sign_in("agent2", 1)
    r.sign_in("agent1", 2)
    r.enqueue("a", "q", 3)
    assert rung(r, 3) == [("a", ("agent3",))]  # 6+5 ties 9+2; agent3 is idle since 0, agent2 1
    r.enqueue("b", "q", 4)
    assert rung(r, 4) == [("b", ("agent2",))]  # 11 beats 8
    r.enqueue("c", "q", 5)
    assert rung(r, 5) == [("c", ("agent1",))]


def test_most_skilled_breaks_ties_by_idle_time() -> None:
    agents = [agent(1, returns=7), agent(2, returns=7)]
    r = router(
        agents, {"name": "q", "skills": {"returns": 1}, "strategy": "most-skilled"}, sign_in=False
    )
    r.sign_in("agent2", 0)
    r.sign_in("agent1", 1)
    r.enqueue("a", "q", 2)
    assert rung(r, 2) == [("a", ("agent2",))]


def test_round_robin_rotates_through_the_roster() -> None:
    r = router(ALL, {"name": "q", "skills": {"returns": 1}, "strategy": "round-robin", "wrapup": 0})
    order = []
    for n in range(6):
        r.enqueue(f"c{n}", "q", 10.0 * n)
        [(call, (who,))] = rung(r, 10.0 * n)
        order.append(who)
        serve(r, call, who, 10.0 * n, 1)
    assert order == ["agent1", "agent2", "agent3", "agent1", "agent2", "agent3"]


def test_round_robin_skips_busy_agents_and_keeps_rotating() -> None:
    r = router(ALL, {"name": "q", "skills": {"returns": 1}, "strategy": "round-robin", "wrapup": 0})
    r.pause("agent2", "lunch")
    for n in range(4):
        r.enqueue(f"c{n}", "q", n)
    offers = rung(r, 4)
    assert offers == [("c0", ("agent1",)), ("c1", ("agent3",))]
    serve(r, "c0", "agent1", 5, 1)
    serve(r, "c1", "agent3", 5, 2)
    assert rung(r, 7) == [("c2", ("agent1",)), ("c3", ("agent3",))]


def test_ring_all_rings_every_eligible_agent_and_the_first_answer_wins() -> None:
    agents = [*ALL, agent(4, returns=1), agent(5, sales=9)]
    r = router(agents, {"name": "q", "skills": {"returns": 2}, "strategy": "ring-all"})
    r.pause("agent3", "lunch")
    r.enqueue("a", "q", 1)
    [offer] = r.dispatch(1)
    assert offer.agent_ids == ("agent1", "agent2")
    assert offer.endpoints == ("PJSIP/agent1", "PJSIP/agent2")
    assert offer.ring_timeout == 15.0
    answer = r.ring_answered("a", "agent2", 3)
    assert answer.accepted and answer.stop_ringing == ("agent1",)
    assert not r.ring_answered("a", "agent1", 3).accepted  # too late: hang agent1's leg up
    assert not r.ring_failed("a", "agent1", 3)  # the stopped leg reports: ignored, no miss
    assert r.agent("agent1").state is AgentState.AVAILABLE and r.agent("agent1").misses == 0
    assert r.call_state("a") is CallState.TALKING


def test_ring_all_caller_waits_again_only_when_every_leg_failed() -> None:
    r = router(ALL[:2], {"name": "q", "skills": {"returns": 1}, "strategy": "ring-all"})
    r.enqueue("a", "q", 1)
    assert rung(r, 1) == [("a", ("agent1", "agent2"))]
    assert r.ring_failed("a", "agent1", 16)
    assert r.call_state("a") is CallState.RINGING
    assert r.ring_failed("a", "agent2", 16)
    assert r.call_state("a") is CallState.WAITING


def test_misses_in_a_row_pause_the_agent_and_the_next_agent_is_tried_at_once() -> None:
    r = router(ALL[:2], {"name": "q", "skills": {"returns": 1}, "max_misses": 2})
    r.enqueue("vip", "q", 0, priority=1)
    r.enqueue("a", "q", 1)
    r.enqueue("b", "q", 2)
    assert rung(r, 2) == [("vip", ("agent1",)), ("a", ("agent2",))]
    assert r.ring_failed("vip", "agent1", 17, "no-answer")
    assert r.agent("agent1").misses == 1
    assert r.position("vip") == 1  # back in front: original place kept
    # agent1 is available again but has just missed this caller: b gets agent1, vip waits for
    # the next agent.
    assert rung(r, 17) == [("b", ("agent1",))]
    assert r.ring_failed("b", "agent1", 32, "busy")
    assert r.agent("agent1").state is AgentState.PAUSED
    assert r.agent("agent1").pause_reason == "no-answer"
    assert r.agents_by_state()[AgentState.PAUSED] == ["agent1"]
    serve(r, "a", "agent2", 33, 2)
    assert rung(r, 44.9) == []
    assert rung(r, 45) == [("vip", ("agent2",))]  # after agent2's wrap-up (35 + 10)
    assert r.resume("agent1") and r.agent("agent1").misses == 0
    assert rung(r, 46) == []  # agent1 missed b at 32: not again before 32 + 15
    assert rung(r, 47) == [("b", ("agent1",))]


def test_an_answer_resets_the_misses() -> None:
    r = router(ALL[:1], {"name": "q", "skills": {"returns": 1}, "ring_timeout": 5})
    r.enqueue("a", "q", 0)
    rung(r, 0)
    r.ring_failed("a", "agent1", 5)
    r.ring_failed("a", "agent1", 5)  # duplicate event: ignored
    assert r.agent("agent1").misses == 1
    assert rung(r, 9.9) == []  # the only agent missed this caller 4.9 s ago
    assert rung(r, 10) == [("a", ("agent1",))]  # after ring_timeout they may be tried again
    assert r.ring_answered("a", "agent1", 12).accepted
    assert r.agent("agent1").misses == 0


def test_wrap_up_keeps_offers_away_until_it_ends() -> None:
    r = router(ALL[:1], {"name": "q", "skills": {"returns": 1}, "wrapup": 30})
    r.enqueue("a", "q", 0)
    rung(r, 0)
    serve(r, "a", "agent1", 2, 60)
    assert r.agent("agent1").state is AgentState.WRAP_UP
    assert r.agent("agent1").wrap_until == 92
    assert r.call_state("a") is None
    r.enqueue("b", "q", 70)
    assert rung(r, 91.9) == []
    assert r.next_due() == 92
    assert rung(r, 92) == [("b", ("agent1",))]


def test_tick_ends_wrap_up_for_the_snapshot() -> None:
    r = router(ALL[:1], {"name": "q", "skills": {"returns": 1}, "wrapup": 5})
    r.enqueue("a", "q", 0)
    rung(r, 0)
    serve(r, "a", "agent1", 1, 1)
    assert r.tick(6.9) == []
    assert r.agent("agent1").state is AgentState.WRAP_UP
    r.tick(7)
    assert r.agent("agent1").state is AgentState.AVAILABLE


def test_widen_keeps_the_callers_place() -> None:
    agents = [agent(1, returns=5, lang_en=9), agent(4, "callpoint", returns=8, lang_ru=9)]
    r = router(agents, {"name": "q", "skills": {"returns": 3}})
    r.pause("agent1", "training")
    r.enqueue("ru", "q", 0, requirement=Requirement.of({"returns": 6, "lang:ru": 5}, ["shop"]))
    r.enqueue("en", "q", 10)
    assert rung(r, 10) == []
    assert (r.position("ru"), r.position("en")) == (1, 2)
    with pytest.raises(RoutingError, match="skill 'sales' is not required yet"):
        r.widen("ru", skills={"returns": 6, "lang:ru": 5, "sales": 1})
    with pytest.raises(RoutingError, match="would rise from level 6 to 7"):
        r.widen("ru", skills={"returns": 7})
    assert r.widen("ru", add_teams=["callpoint"])
    assert rung(r, 20) == [("ru", ("agent4",))]
    r.ring_failed("ru", "agent4", 35)
    r.resume("agent1")
    # agent1 lacks lang:ru and has returns 5 < 6: en gets agent1 although ru waited longer.
    assert rung(r, 35) == [("en", ("agent1",))]
    r.abandon("en", 36)
    assert r.widen("ru", skills={"returns": 6}, lower_levels=1)  # drop lang:ru, returns 5
    assert r.position("ru") == 1
    assert rung(r, 37) == [("ru", ("agent1",))]
    assert not r.widen("gone", lower_levels=1)


def test_widen_by_lowering_levels_puts_an_old_caller_ahead_of_later_ones() -> None:
    r = router([agent(1, returns=3)], {"name": "q", "skills": {"returns": 5}})
    r.pause("agent1", "lunch")
    r.enqueue("old", "q", 0)
    r.enqueue("new", "q", 5, requirement=Requirement.of({"returns": 2}, ["shop"]))
    assert r.widen("old", lower_levels=3)
    assert r.resume("agent1")
    assert rung(r, 6) == [("old", ("agent1",))]


def test_priority_jumps_ahead_of_normal_callers_but_not_of_earlier_vips() -> None:
    r = router(ALL[:1], {"name": "q", "skills": {"returns": 1}, "wrapup": 0})
    r.pause("agent1", "lunch")
    r.enqueue("n1", "q", 0)
    r.enqueue("v1", "q", 1, priority=5)
    r.enqueue("n2", "q", 2)
    r.enqueue("v2", "q", 3, priority=5)
    r.enqueue("v3", "q", 4, priority=9)
    assert [r.position(c) for c in ["v3", "v1", "v2", "n1", "n2"]] == [1, 2, 3, 4, 5]
    r.resume("agent1")
    served = []
    for t in range(5):
        [(call, _)] = rung(r, 10.0 * t)
        served.append(call)
        serve(r, call, "agent1", 10.0 * t, 1)
    assert served == ["v3", "v1", "v2", "n1", "n2"]


def test_order_is_shared_across_queues() -> None:
    r = router(
        [agent(1, returns=5, sales=5)],
        {"name": "returns", "skills": {"returns": 1}},
        {"name": "sales", "skills": {"sales": 1}},
    )
    r.pause("agent1", "lunch")
    r.enqueue("s", "sales", 0)
    r.enqueue("r", "returns", 1)
    r.resume("agent1")
    assert rung(r, 2) == [("s", ("agent1",))]


def test_estimated_wait_follows_recent_handle_times() -> None:
    spec = {"name": "q", "skills": {"returns": 1}, "wrapup": 10}
    r = Router(Roster(TEAMS, tuple(ALL[:2])), [QueueSpec.model_validate(spec)], handle_window=3)
    r.sign_in("agent1", 0)
    r.sign_in("agent2", 0)
    t = 0.0
    for n, talk in enumerate([500, 500, 50, 50, 50]):  # one call at a time, on agent1 or 2
        r.enqueue(f"c{n}", "q", t)
        [offer] = r.dispatch(t)
        assert r.estimated_wait(f"c{n}", t) == 0.0  # ringing now
        serve(r, offer.call_id, offer.agent_ids[0], t, talk)
        t += 1000
    r.pause("agent1", "lunch")
    r.pause("agent2", "lunch")
    for n in range(4):
        r.enqueue(f"w{n}", "q", t + n)
    assert r.estimated_wait("w3", t + 4) is None  # nobody staffed: no promise
    r.resume("agent1")
    r.resume("agent2")
    r.dispatch(t + 5)  # w0 and w1 ring
    # The window holds the last 3 handle times: 50 s talk + 10 s wrap-up = 60 s each (the
    # 500 s calls have dropped out). w3 is second in line, two agents serve the queue.
    assert r.position("w3") == 2
    assert r.queue_stats(t + 5)["q"].handle_time == 60
    assert r.estimated_wait("w3", t + 5) == pytest.approx(2 * 60 / 2)
    assert r.estimated_wait("nope", t) is None


def test_estimated_wait_is_unknown_before_any_call_ended() -> None:
    r = router(ALL[:1], {"name": "q", "skills": {"returns": 1}})
    r.pause("agent1", "x")
    r.enqueue("a", "q", 0)
    assert r.estimated_wait("a", 1) is None
    assert r.position("a") == 1


def test_max_wait_and_max_callers_send_callers_to_the_exit() -> None:
    r = router(
        ALL[:1],
        {"name": "q", "skills": {"returns": 1}, "max_wait": 60, "max_callers": 2, "exit": "vm"},
    )
    r.enqueue("a", "q", 0)
    r.enqueue("b", "q", 1)
    assert r.enqueue("c", "q", 2) == Exit("c", "q", "full", "vm")
    assert rung(r, 2) == [("a", ("agent1",))]
    assert r.enqueue("c", "q", 3) == Exit("c", "q", "full", "vm")  # ringing callers count
    assert r.tick(60.9) == []
    assert r.tick(61) == [Exit("b", "q", "max-wait", "vm")]
    assert r.call_state("b") is None
    assert r.tick(100) == []  # a is ringing: not pulled away from a ringing phone
    r.ring_failed("a", "agent1", 100)
    assert r.call_state("a") is CallState.WAITING
    assert r.tick(100) == [Exit("a", "q", "max-wait", "vm")]
    assert r.queue_stats(100)["q"].exited == 4  # c twice, b, a


def test_a_call_back_in_another_queue_keeps_only_the_new_queues_limits() -> None:
    r = router(
        ALL[:1],
        {"name": "a", "skills": {"returns": 1}, "max_wait": 60, "exit": "vm"},
        {"name": "b", "skills": {"returns": 1}, "max_wait": 300, "exit": "vm"},
    )
    r.enqueue("c", "a", 0)
    rung(r, 0)
    serve(r, "c", "agent1", 1, 9)  # the agent transfers the caller on to queue b
    r.pause("agent1", "x")
    assert r.enqueue("c", "b", 20) is None
    assert r.tick(61) == []
    assert r.tick(320) == [Exit("c", "b", "max-wait", "vm")]


def test_abandon_while_ringing_stops_the_ring_without_a_miss() -> None:
    r = router(ALL[:2], {"name": "q", "skills": {"returns": 1}, "strategy": "ring-all"})
    r.enqueue("a", "q", 0)
    rung(r, 0)
    assert r.abandon("a", 3) == ("agent1", "agent2")
    assert r.call_state("a") is None
    assert not r.ring_answered("a", "agent1", 4).accepted
    assert not r.ring_failed("a", "agent2", 4)
    assert r.agent("agent1").misses == 0
    assert r.agents_by_state()[AgentState.AVAILABLE] == ["agent1", "agent2", "trunk:nightdesk"]
    assert r.abandon("a", 5) == ()
    r.enqueue("b", "q", 6)
    r.pause("agent1", "x")
    r.pause("agent2", "x")
    assert r.abandon("b", 7) == ()
    assert r.queue_stats(7)["q"].abandoned == 2


def test_abandon_during_the_call_ends_it() -> None:
    r = router(ALL[:1], {"name": "q", "skills": {"returns": 1}})
    r.enqueue("a", "q", 0)
    rung(r, 0)
    r.ring_answered("a", "agent1", 1)
    assert r.abandon("a", 50) == ()
    assert r.agent("agent1").state is AgentState.WRAP_UP
    assert r.call_state("a") is None


def test_unreachable_or_busy_devices_get_no_offers() -> None:
    r = router(ALL[:1], {"name": "q", "skills": {"returns": 1}})
    assert r.set_presence("agent1", reachable=False, busy=False)
    r.enqueue("a", "q", 0)
    assert rung(r, 0) == []
    assert r.set_presence("agent1", reachable=True, busy=True)  # a private call
    assert rung(r, 1) == []
    assert not r.agent("agent1").device_ok
    assert r.set_presence("agent1", reachable=True, busy=False)
    assert rung(r, 2) == [("a", ("agent1",))]
    r.ring_answered("a", "agent1", 3)
    r.set_presence("agent1", reachable=True, busy=True)  # AMI sees our own call
    assert r.agent("agent1").device_ok


def test_outsourced_teams_serve_only_queues_that_name_them() -> None:
    agents = [agent(1, returns=5), agent(4, "callpoint", returns=9)]
    r = router(
        agents,
        {"name": "inhouse", "skills": {"returns": 1}},
        {"name": "partner", "skills": {"returns": 1}, "teams": ["callpoint"]},
    )
    r.pause("agent1", "x")
    r.enqueue("a", "inhouse", 0)
    r.enqueue("b", "partner", 1)
    assert rung(r, 1) == [("b", ("agent4",))]


def test_a_partner_trunk_takes_up_to_its_limit_without_wrap_up() -> None:
    r = router([], {"name": "night", "skills": {"returns": 2}, "teams": ["nightdesk"]})
    for n in range(3):
        r.enqueue(f"c{n}", "night", n)
    offers = r.dispatch(3)
    assert [(o.call_id, o.agent_ids, o.endpoints) for o in offers] == [
        ("c0", ("trunk:nightdesk",), ("PJSIP/200@partner",)),
        ("c1", ("trunk:nightdesk",), ("PJSIP/200@partner",)),
    ]
    r.ring_answered("c0", "trunk:nightdesk", 4)
    r.ring_answered("c1", "trunk:nightdesk", 4)
    with pytest.raises(RoutingError, match="has 2 calls; say which one ended"):
        r.call_ended("trunk:nightdesk", 5)
    assert r.call_ended("trunk:nightdesk", 50, call_id="c0")
    assert r.agent("trunk:nightdesk").state is AgentState.ON_CALL
    assert rung(r, 50) == [("c2", ("trunk:nightdesk",))]


def test_an_agent_with_two_lines_takes_a_second_call() -> None:
    r = router([agent(1, max_concurrent=2, returns=5)], {"name": "q", "skills": {"returns": 1}})
    for n in range(3):
        r.enqueue(f"c{n}", "q", n)
    assert rung(r, 3) == [("c0", ("agent1",))]  # one ring at a time
    r.ring_answered("c0", "agent1", 4)
    assert rung(r, 4) == [("c1", ("agent1",))]
    r.ring_answered("c1", "agent1", 5)
    assert rung(r, 5) == []
    assert r.call_ended("agent1", 9, call_id="c1")
    assert rung(r, 30) == [("c2", ("agent1",))]  # after wrap-up


def test_sign_out_and_pause_stop_new_offers_but_not_the_call_in_hand() -> None:
    r = router(ALL[:1], {"name": "q", "skills": {"returns": 1}})
    r.enqueue("a", "q", 0)
    rung(r, 0)
    assert r.sign_out("agent1")
    assert r.agent("agent1").state is AgentState.RINGING
    assert r.ring_answered("a", "agent1", 2).accepted
    assert r.call_ended("agent1", 10)
    r.tick(20)
    assert r.agent("agent1").state is AgentState.SIGNED_OUT
    assert not r.sign_out("agent1")
    assert not r.pause("agent1", "lunch")  # signed out: nothing to pause
    assert r.sign_in("agent1", 30) and not r.sign_in("agent1", 30)
    assert r.pause("agent1", "lunch") and not r.pause("agent1", "lunch")
    assert r.resume("agent1") and not r.resume("agent1")


def test_mistakes_raise_clear_errors() -> None:
    r = router(ALL[:1], {"name": "q", "skills": {"returns": 1}})
    with pytest.raises(RoutingError, match="agent 'bob' is not in the roster"):
        r.sign_in("bob", 0)
    with pytest.raises(RoutingError, match=r"queue 'x' is not defined \(queues: q\)"):
        r.enqueue("a", "x", 0)
    r.enqueue("a", "q", 0)
    with pytest.raises(RoutingError, match="call 'a' is already held"):
        r.enqueue("a", "q", 0)
    with pytest.raises(RoutingError, match="team 'ghosts' is not in the roster"):
        r.enqueue("b", "q", 0, requirement=Requirement.of({}, ["ghosts"]))
    with pytest.raises(RoutingError, match="team 'ghosts' is not in the roster"):
        router(ALL, {"name": "q", "teams": ["ghosts"]})
    with pytest.raises(RoutingError, match="allows no team, so nobody could answer"):
        r.enqueue("c", "q", 0, requirement=Requirement.of({"returns": 1}, []))
    with pytest.raises(RoutingError, match="a pause needs a reason"):
        r.pause("agent1", "")
    assert not r.call_ended("agent1", 1)


def test_snapshots_for_the_api() -> None:
    r = router(ALL, {"name": "q", "skills": {"returns": 1}, "sla_seconds": 5})
    r.pause("agent3", "lunch")
    for n in range(4):
        r.enqueue(f"c{n}", "q", n)
    rung(r, 4)
    r.ring_answered("c0", "agent1", 4)
    r.ring_answered("c1", "agent2", 8)
    stats = r.queue_stats(10)["q"]
    assert (stats.waiting, stats.ringing, stats.talking) == (2, 0, 2)
    assert stats.longest_wait == 8
    assert (stats.answered, stats.answered_in_sla) == (2, 1)
    assert (stats.agents_staffed, stats.agents_available) == (2, 0)
    by_state = r.agents_by_state()
    assert by_state[AgentState.ON_CALL] == ["agent1", "agent2"]
    assert by_state[AgentState.PAUSED] == ["agent3"]
    assert by_state[AgentState.AVAILABLE] == ["trunk:nightdesk"]
    assert r.agent("agent1").calls == ("c0",)
