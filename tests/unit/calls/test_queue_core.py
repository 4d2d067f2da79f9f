"""The queue node in the core, on virtual time: exits, the call-back key, abandons."""

from __future__ import annotations

from ivr.calls.events import AgentRequest
from ivr.calls.legs import RingAgent
from ivr.routing.desk import Desk
from ivr.routing.roster import parse_roster
from tests.unit.conftest import World, book, make_world

PLAN = """
name: shop
numbers: ["100"]
queues:
  returns: {skills: {returns: 3}, max_wait: 60, exit: sorry, announce_every: 20}
nodes:
  start: {type: queue, queue: returns, callback: later}
  later: {type: callback, queue: returns}
  sorry: {type: hangup, prompt: sound:sorry}
"""
ROSTER = """
teams: {shop: {kind: in-house}}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {returns: 5}}
"""


def world() -> World:
    plans = book(PLAN)
    shop = make_world(plans)
    shop.switchboard.desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
    return shop


def rings(shop: World) -> list[RingAgent]:
    return [c for c in shop.pbx.sent if isinstance(c, RingAgent)]


def test_a_caller_nobody_answers_leaves_for_the_exit_after_max_wait() -> None:
    shop = world()
    call = shop.call()
    shop.wait(59)
    assert call.ended_by == ""
    shop.wait(10)
    assert shop.notes.of(call.call_id, "queue_exit")[0].fields["reason"] == "max-wait"
    assert call.heard[-1] == "sound:sorry" and call.ended_by == "ivr"


def test_announcements_offer_a_call_back_and_the_key_takes_it() -> None:
    shop = world()
    call = shop.call()
    shop.wait(21)
    assert call.heard[-1] == "sound:vm-tocallback"
    shop.pbx.press(call.call_id, "1")
    shop.wait(1)
    assert "queue_callback" in shop.notes.kinds(call.call_id)
    # The caller sent no number: the callback node asks for one.
    assert call.heard[-2:] == ["sound:vm-enter-num-to-call", "sound:vm-then-pound"]


def test_signing_in_rings_the_agent_and_a_hang_up_stops_the_ringing() -> None:
    shop = world()
    call = shop.call()
    shop.driver.feed(AgentRequest("agent1", "sign-in"))
    [ring] = rings(shop)
    assert ring.endpoint == "PJSIP/agent1" and ring.timeout == 15
    shop.pbx.hang_up(call.call_id)
    shop.wait(1)
    assert shop.notes.of(call.call_id, "queue_abandoned")
    assert any(getattr(c, "leg_id", "") == ring.leg_id for c in shop.pbx.sent[-3:])
