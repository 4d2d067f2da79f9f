"""Each agent's time in their current state (the wallboard's): kept by the router as states
change, at the moment of the event that changed them, whether or not anybody watches; kept
across a restart (the agent's live record) and a reload; the daemon's start otherwise."""

from __future__ import annotations

from typing import Any

from ivr.plan.queues import QueueSpec
from ivr.routing.desk import Desk, snapshot
from ivr.routing.roster import AgentSpec, Roster, TeamSpec

QUEUE = QueueSpec.model_validate({"name": "q", "wrapup": 10, "ring_timeout": 10})


def desk() -> Desk:
    people = tuple(
        AgentSpec(id=f"agent{n}", name=f"Agent {n}", endpoint=f"PJSIP/agent{n}", team="shop")
        for n in (1, 2)
    )
    return Desk(Roster({"shop": TeamSpec(kind="in-house")}, people), [QUEUE])


def since(d: Desk) -> dict[str, tuple[str, float | None]]:
    """What GET /api/agents says: each agent's state and since when."""
    return {a["id"]: (a["state"], a["state_since"]) for a in snapshot(d, 0.0)["agents"]}


def test_every_change_of_state_restarts_the_clock_at_its_own_moment() -> None:
    d = desk()
    d.restore_agents({}, 50.0)  # the daemon starts: nothing kept
    assert since(d)["agent1"] == ("signed_out", 50.0)
    d.request("agent1", "sign-in", "", 100.0)
    router = d.router
    router.enqueue("c1", "q", 110.0)
    assert [o.agent_ids for o in router.dispatch(111.0)] == [("agent1",)]
    assert since(d)["agent1"] == ("ringing", 111.0)
    router.ring_answered("c1", "agent1", 115.0)
    assert since(d)["agent1"] == ("on_call", 115.0)
    router.call_ended("agent1", 175.0)
    assert since(d)["agent1"] == ("wrap_up", 175.0)
    router.tick(190.0)  # wrap-up (10 s) ended at 185; the router looks at 190
    assert since(d)["agent1"] == ("available", 190.0)
    # Presence alone is no state: the clock goes on; a pause is.
    d.presence("PJSIP/agent1", False, False, 200.0)
    assert since(d)["agent1"] == ("available", 190.0)
    d.request("agent1", "pause", "lunch", 300.0)
    assert since(d)["agent1"] == ("paused", 300.0)
    assert since(d)["agent2"] == ("signed_out", 50.0)


def test_a_restart_keeps_the_time_in_state_the_records_hold() -> None:
    before = desk()
    before.restore_agents({}, 50.0)
    before.request("agent1", "sign-in", "", 100.0)
    before.request("agent2", "sign-in", "", 100.0)
    before.request("agent2", "pause", "lunch", 120.0)
    records = before.changed_agents()
    assert records["agent2"]["state"] == "paused"
    # A ring writes no record: calls keep their own.
    before.router.enqueue("c1", "q", 130.0)
    before.router.dispatch(130.0)
    assert before.changed_agents() == {}
    kept: dict[str, dict[str, Any]] = {
        **records,
        # A record older than this daemon's layout knows no time: since the start.
        "agent1": {k: v for k, v in records["agent1"].items() if k != "state_since"},
    }

    after = desk()
    after.restore_agents(kept, 500.0)

    assert since(after) == {"agent1": ("available", 500.0), "agent2": ("paused", 120.0)}


def test_a_record_of_another_state_starts_the_clock_at_the_restart() -> None:
    d = desk()
    # Kept in wrap-up that is over by the restart: the agent comes back available.
    record = {"signed_in": True, "pause_reason": None, "wrap_until": 140.0, "misses": 0,
              "state": "wrap_up", "state_since": 130.0}  # fmt: skip
    d.restore_agents({"agent1": record}, 500.0)
    assert since(d)["agent1"] == ("available", 500.0)


def test_a_reload_keeps_the_time_in_state() -> None:
    d = desk()
    d.restore_agents({}, 50.0)
    d.request("agent1", "sign-in", "", 100.0)
    d.request("agent2", "sign-in", "", 100.0)
    d.request("agent2", "pause", "lunch", 120.0)

    reloaded = d.successor(d.roster, [QUEUE], 400.0)

    assert since(reloaded) == {"agent1": ("available", 100.0), "agent2": ("paused", 120.0)}
