"""A restart on virtual time: the store keeps calls and agents, a new core serves them on.

The first core writes through the driver into an in-memory store; the second starts from
that store, as the daemon does, and the simulated PBX reports the calls still in the app.
"""

from __future__ import annotations

from ivr.calls.commands import Play, StopPlayback
from ivr.calls.events import AgentRequest, Caller, CallHungUp
from ivr.calls.legs import AgentAnswered, AgentLegEnded, Bridge, DropLeg, RingAgent, StartMusic
from ivr.pbx.sim.pbx import SimCall
from ivr.plan.plan import PlanBook
from ivr.routing.desk import Desk, snapshot
from ivr.routing.roster import parse_roster
from ivr.store.memory import MemoryLive
from ivr.switchboard import checkpoints
from tests.unit.conftest import World, book, make_world

PLAN = """
name: shop
numbers: ["100"]
queues:
  returns: {skills: {returns: 3}, wrapup: 0}
nodes:
  start:
    type: menu
    prompt: sound:press-1
    options: {"1": line}
    timeout: 5
    retries: 2
  line: {type: queue, queue: returns}
"""
ROSTER = """
teams: {shop: {kind: in-house}}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {returns: 5}}
  - {id: agent2, name: Boris, endpoint: PJSIP/agent2, team: shop, skills: {returns: 5}}
"""
START = 1_790_000_000.0


def daemon(plans: PlanBook, store: MemoryLive, start: float = START) -> World:
    """A core wired as the daemon wires it: the desk and calls recovered from `store`."""
    desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
    world = make_world(plans, start=start, desk=desk)
    world.driver.live = store
    desk.restore_agents(store.load(checkpoints.AGENT), start)
    world.switchboard.recover(store.load(checkpoints.CALL))
    return world


def restart(before: World, store: MemoryLive, after_seconds: float = 2.0) -> World:
    """The daemon dies (nothing of it survives but the store); a new one starts and the PBX
    reports every call still in the app, with the agents' legs still up."""
    now = before.clock.now() + after_seconds
    after = daemon(before.switchboard.plans, store, now)
    legs = []
    for call in before.pbx.calls.values():
        if call.ended_by:
            continue
        after.pbx.adopt(SimCall(call.call_id, call.number, answered=True))
        legs += [
            c.leg_id for c in before.pbx.sent if isinstance(c, Bridge) and c.call_id == call.call_id
        ]
    after.pbx.synced(tuple(legs))
    after.clock.advance(0)
    return after


def sign_in(world: World, agent: str) -> None:
    world.driver.feed(AgentRequest(agent, "sign-in"))


def answer(world: World, call_id: str) -> str:
    """The agent rung for `call_id` answers; their leg."""
    ring = next(c for c in world.pbx.sent if isinstance(c, RingAgent) and c.call_id == call_id)
    world.driver.feed(AgentAnswered(call_id, ring.leg_id))
    return ring.leg_id


def test_waiting_callers_keep_their_place_and_their_wait_through_a_restart() -> None:
    store = MemoryLive()
    first = daemon(book(PLAN), store)
    callers = []
    for _ in range(3):
        call = first.call()
        first.pbx.press(call.call_id, "1")
        callers.append(call.call_id)
        first.wait(10)

    second = restart(first, store)

    for call_id in callers:
        recovered = second.notes.of(call_id, "recovered")[0].fields
        assert recovered["node"] == "line" and recovered["queue"] == "returns"
        # Nobody hears the plan's start again: they are back on hold music.
        assert second.notes.of(call_id, "node") == []
        assert StartMusic(call_id, "default") in second.pbx.sent
    sign_in(second, "agent1")
    answered: list[str] = []
    for _ in callers:
        ringing = [c for c in second.pbx.sent if isinstance(c, RingAgent)][len(answered)]
        second.driver.feed(AgentAnswered(ringing.call_id, ringing.leg_id))
        answered.append(ringing.call_id)
        second.wait(5)
        second.pbx.hang_up(ringing.call_id)
        second.wait(1)
    # Served in the order they called, each wait counted from before the restart.
    assert answered == callers
    first_wait = float(second.notes.of(callers[0], "answered")[0].fields["wait"])
    assert first_wait >= 30 + 2


def test_a_caller_in_a_menu_hears_that_menu_again_not_the_plan_s_start_twice() -> None:
    plans = book(
        PLAN.replace('options: {"1": line}', 'options: {"1": more}')
        + """
  more:
    type: menu
    prompt: sound:press-2
    options: {"2": line}
    timeout: 5
    retries: 2
"""
    )
    store = MemoryLive()
    first = daemon(plans, store)
    call = first.call()
    first.pbx.press(call.call_id, "1")
    first.wait(1)

    second = restart(first, store)

    assert second.notes.of(call.call_id, "recovered")[0].fields["node"] == "more"
    assert second.pbx.calls[call.call_id].heard == ["sound:press-2"]
    second.pbx.press(call.call_id, "2")
    second.wait(1)
    assert "queue_join" in second.notes.kinds(call.call_id)


def test_a_talk_goes_on_through_a_restart_and_ends_as_answered_with_its_talk_time() -> None:
    store = MemoryLive()
    first = daemon(book(PLAN), store)
    sign_in(first, "agent1")
    call = first.call()
    first.pbx.press(call.call_id, "1")
    first.wait(1)
    leg = answer(first, call.call_id)
    first.wait(20)

    second = restart(first, store)
    # agent1 is still on that call: a second caller goes to nobody until agent2 signs in.
    assert snapshot(second.switchboard.desk, second.clock.now())["agents"][0]["state"] == "on_call"
    second.wait(10)
    second.pbx.hang_up(call.call_id)
    second.wait(1)

    ended = second.notes.of(call.call_id, "ended")[0].fields
    assert ended["outcome"] == "answered"
    # The talk was not interrupted: no music, no new ring; the bridge is only made sure of
    # (a crash between the answer and the bridge would have left them apart).
    after = [c for c in second.pbx.sent if getattr(c, "call_id", "") == call.call_id]
    assert not any(isinstance(c, StartMusic | RingAgent) for c in after)
    assert [c for c in after if isinstance(c, Bridge)] == [Bridge(call.call_id, leg)]
    assert DropLeg(call.call_id, leg) in after
    assert second.notes.of(call.call_id, "node") == []


def test_a_talk_whose_agent_left_during_the_restart_ends_for_the_caller() -> None:
    store = MemoryLive()
    first = daemon(book(PLAN), store)
    sign_in(first, "agent1")
    call = first.call()
    first.pbx.press(call.call_id, "1")
    first.wait(1)
    answer(first, call.call_id)
    first.wait(20)
    now = first.clock.now() + 2

    second = daemon(first.switchboard.plans, store, now)
    second.pbx.adopt(SimCall(call.call_id, call.number, answered=True))
    second.pbx.synced()  # the agent's leg is not among the channels any more
    second.clock.advance(1)

    talk = float(second.notes.of(call.call_id, "agent_hung_up")[0].fields["talk"])
    assert talk >= 20
    assert second.pbx.calls[call.call_id].ended_by == "ivr"


def test_agents_come_back_signed_in_and_paused_as_they_were() -> None:
    store = MemoryLive()
    first = daemon(book(PLAN), store)
    sign_in(first, "agent1")
    sign_in(first, "agent2")
    first.driver.feed(AgentRequest("agent2", "pause", "lunch"))

    second = restart(first, store)

    agents = snapshot(second.switchboard.desk, second.clock.now())["agents"]
    assert [(a["id"], a["state"], a["pause_reason"]) for a in agents] == [
        ("agent1", "available", None),
        ("agent2", "paused", "lunch"),
    ]


def test_a_record_whose_caller_is_gone_is_closed_as_lost_not_answered_nor_abandoned() -> None:
    store = MemoryLive()
    first = daemon(book(PLAN), store)
    call = first.call()
    first.pbx.press(call.call_id, "1")
    first.wait(5)
    first.pbx.calls[call.call_id].ended_by = "caller"  # hung up while no daemon ran

    second = restart(first, store)

    assert second.notes.of(call.call_id, "ended")[0].fields["outcome"] == "lost"
    assert store.load(checkpoints.CALL) == {}


def test_a_record_of_a_layout_this_daemon_does_not_know_is_refused_and_the_call_starts_anew() -> (
    None
):
    store = MemoryLive()
    store.put(checkpoints.CALL, "sim-9", {"v": 99, "plan": "shop", "node": "line"})
    second = daemon(book(PLAN), store)
    second.pbx.adopt(SimCall("sim-9", "100"), Caller("79001234567"))
    second.pbx.synced()
    second.clock.advance(0)

    recovered = second.notes.of("sim-9", "recovered")[0].fields
    assert "v99" in recovered["why"]
    assert second.pbx.calls["sim-9"].heard == ["sound:press-1"]


def test_what_a_restart_needs_is_stored_before_the_commands_that_follow_from_it() -> None:
    store = MemoryLive()
    world = daemon(book(PLAN), store)
    sign_in(world, "agent1")
    call = world.call()
    world.pbx.press(call.call_id, "1")
    world.wait(1)
    # The ring follows from the queue join: by then the record says the caller is queued.
    record = store.load(checkpoints.CALL)[call.call_id]
    assert record["node"] == "line" and record["queue"]["name"] == "returns"
    answer(world, call.call_id)
    assert store.load(checkpoints.CALL)[call.call_id]["queue"]["agent"] == "agent1"
    world.pbx.hang_up(call.call_id)
    world.wait(1)
    assert store.load(checkpoints.CALL) == {}


def test_callers_the_pbx_lost_while_the_daemon_was_away_are_lost_not_abandoned() -> None:
    store = MemoryLive()
    world = daemon(book(PLAN), store)
    call = world.call()
    world.pbx.press(call.call_id, "1")
    world.wait(30)
    # The link comes back and the caller is not in the channel list (Asterisk restarted).
    world.driver.feed(CallHungUp(call.call_id, lost=True))

    assert world.notes.of(call.call_id, "queue_abandoned") == []
    assert world.notes.of(call.call_id, "queue_exit")[0].fields["reason"] == "lost"
    assert world.notes.of(call.call_id, "ended")[0].fields["outcome"] == "lost"
    stats = world.switchboard.desk.router.queue_stats(world.clock.now())["returns"]
    assert stats.abandoned == 0 and stats.waiting == 0


def test_no_agent_is_offered_before_every_call_of_the_records_is_back() -> None:
    store = MemoryLive()
    first = daemon(book(PLAN), store)
    sign_in(first, "agent1")
    talking = first.call()
    first.pbx.press(talking.call_id, "1")
    first.wait(1)
    leg = answer(first, talking.call_id)
    waiting = first.call()
    first.pbx.press(waiting.call_id, "1")
    first.wait(5)

    second = daemon(first.switchboard.plans, store, first.clock.now() + 2)
    # ARI lists the waiting caller first: agent1 must not look free to them meanwhile.
    for call in (waiting, talking):
        second.pbx.adopt(SimCall(call.call_id, call.number, answered=True))
    second.clock.advance(0)
    assert [c for c in second.pbx.sent if isinstance(c, RingAgent)] == []
    second.pbx.synced((leg,))
    second.clock.advance(1)

    agents = snapshot(second.switchboard.desk, second.clock.now())["agents"]
    assert agents[0]["state"] == "on_call"
    assert [c for c in second.pbx.sent if isinstance(c, RingAgent)] == []


def test_the_prompt_the_dead_daemon_started_is_stopped_and_new_ids_do_not_repeat_old_ones() -> None:
    store = MemoryLive()
    first = daemon(book(PLAN), store)
    call = first.call()
    first.wait(0.5)  # the menu's prompt is playing
    playing = first.switchboard.calls[call.call_id].playback
    assert playing is not None

    second = restart(first, store)

    sent = [c for c in second.pbx.sent if getattr(c, "call_id", "") == call.call_id]
    assert sent[0] == StopPlayback(call.call_id, playing)
    plays = [c.playback_id for c in sent if isinstance(c, Play)]
    assert plays and playing not in plays


def test_an_agent_s_missed_offers_count_on_through_a_restart() -> None:
    store = MemoryLive()
    first = daemon(book(PLAN), store)
    sign_in(first, "agent1")
    call = first.call()
    first.pbx.press(call.call_id, "1")
    first.wait(1)
    ring = next(c for c in first.pbx.sent if isinstance(c, RingAgent))
    first.driver.feed(AgentLegEnded(call.call_id, ring.leg_id, "no-answer"))
    assert first.switchboard.desk.router.agent("agent1").misses == 1

    second = restart(first, store)

    assert second.switchboard.desk.router.agent("agent1").misses == 1
