"""Recording and the post-call survey in the core, on virtual time."""

from __future__ import annotations

import pytest

from ivr.calls.commands import MuteRecording, StartRecording
from ivr.calls.events import AgentRequest, Caller, RecordingControl
from ivr.calls.legs import AgentAnswered, AgentLegEnded, Bridge, RingAgent
from ivr.routing.desk import Desk
from ivr.routing.roster import parse_roster
from tests.unit.conftest import World, book, make_world

PLAN = """
name: shop
numbers: ["100"]
queues:
  returns:
    skills: {returns: 3}
    recording: {mode: all, announce: [sound:recorded], retention_days: 30}
  sales: {skills: {sales: 3}, teams: [callpoint], recording: none}
nodes:
  start:
    type: menu
    prompt: sound:menu
    options: {"1": returns, "2": sales}
  returns: {type: queue, queue: returns, survey: rate}
  sales: {type: queue, queue: sales, survey: rate}
  rate:
    type: survey
    survey: after_agent
    questions:
      - {kind: csat, prompt: sound:rate-csat}
      - {kind: nps, prompt: sound:rate-nps}
"""
ROSTER = """
teams:
  shop: {kind: in-house}
  callpoint: {kind: outsourced, recording: all}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {returns: 5}}
  - {id: agent2, name: Boris, endpoint: PJSIP/agent2, team: callpoint, skills: {sales: 5}}
"""


def shop() -> World:
    plans = book(PLAN)
    world = make_world(plans)
    world.switchboard.desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
    for agent in ("agent1", "agent2"):
        world.driver.feed(AgentRequest(agent, "sign-in"))
    return world


def answered(world: World, key: str) -> tuple[str, RingAgent]:
    call = world.call(caller=Caller("+79991234567"))
    world.pbx.press(call.call_id, key)
    world.wait(1)
    ring = [c for c in world.pbx.sent if isinstance(c, RingAgent)][-1]
    world.driver.feed(AgentAnswered(call.call_id, ring.leg_id))
    return call.call_id, ring


def sent(world: World, kind: type) -> list[object]:
    return [c for c in world.pbx.sent if isinstance(c, kind)]


def test_a_recorded_call_hears_the_announcement_then_both_sides_are_recorded() -> None:
    world = shop()
    call_id, ring = answered(world, "1")
    assert world.pbx.calls[call_id].heard[-1] == "sound:recorded"
    assert sent(world, Bridge) == []  # nobody is connected during the announcement
    world.wait(3)
    assert sent(world, Bridge) == [Bridge(call_id, ring.leg_id)]
    assert sent(world, StartRecording) == [StartRecording(call_id, call_id)]
    started = world.notes.of(call_id, "recording_started")[0].fields
    assert (started["team"], started["retention_days"], started["agent"]) == (
        "shop",
        "30",
        "agent1",
    )


def test_a_pause_mutes_the_recording_until_resumed_and_is_journaled() -> None:
    world = shop()
    call_id, _ = answered(world, "1")
    world.wait(3)
    world.driver.feed(RecordingControl(call_id, pause=True))
    world.driver.feed(RecordingControl(call_id, pause=True))  # twice: still one pause
    world.wait(4)
    world.driver.feed(RecordingControl(call_id, pause=False))
    assert sent(world, MuteRecording) == [
        MuteRecording(call_id, call_id, True),
        MuteRecording(call_id, call_id, False),
    ]
    kinds = world.notes.kinds(call_id)
    assert kinds.count("recording_paused") == 1 and kinds.count("recording_resumed") == 1


def test_a_team_that_records_all_wins_over_a_queue_that_records_nothing() -> None:
    world = shop()
    call_id, _ = answered(world, "2")  # sales says none, but Boris's team records all
    assert world.notes.of(call_id, "answered")[0].fields["team"] == "callpoint"
    world.wait(3)
    assert sent(world, StartRecording) == [StartRecording(call_id, call_id)]


def test_after_the_agent_hangs_up_the_caller_scores_the_call() -> None:
    world = shop()
    call_id, ring = answered(world, "1")
    world.wait(3)
    world.driver.feed(AgentLegEnded(call_id, ring.leg_id, "hangup"))
    assert world.notes.of(call_id, "recording_finished")
    world.wait(1)
    call = world.pbx.calls[call_id]
    assert call.heard[-1] == "sound:rate-csat" and call.ended_by == ""
    world.pbx.press(call_id, "4")
    world.pbx.press(call_id, "9")
    world.wait(10)
    answers = [
        (n.fields["kind"], n.fields["score"]) for n in world.notes.of(call_id, "survey_answer")
    ]
    assert answers == [("csat", "4"), ("nps", "9")]
    assert call.ended_by == "ivr"
    assert world.notes.of(call_id, "ended")[0].fields["outcome"] == "answered"


@pytest.mark.parametrize(("keys", "score"), [("10", "10"), ("*", "10"), ("1", "1"), ("0", "0")])
def test_nps_ten_is_one_then_zero_or_star(keys: str, score: str) -> None:
    world = shop()
    call_id, ring = answered(world, "2")
    world.wait(3)
    world.driver.feed(AgentLegEnded(call_id, ring.leg_id, "hangup"))
    world.wait(1)
    world.pbx.press(call_id, "5")
    world.pbx.press(call_id, keys)
    world.wait(5)
    nps = world.notes.of(call_id, "survey_answer")[-1].fields
    assert (nps["kind"], nps["score"]) == ("nps", score)


def test_silence_ends_the_survey_politely() -> None:
    world = shop()
    call_id, ring = answered(world, "2")
    world.wait(3)
    world.driver.feed(AgentLegEnded(call_id, ring.leg_id, "hangup"))
    world.wait(30)
    assert world.notes.of(call_id, "survey_unanswered")[0].fields["question"] == "1"
    assert world.pbx.calls[call_id].heard[-2:] == ["sound:auth-thankyou", "sound:goodbye"]
    assert world.pbx.calls[call_id].ended_by == "ivr"
