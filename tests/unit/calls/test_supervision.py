"""Supervisors in the core, on virtual time: who may be listened to, the sessions' journal,
and moving a waiting caller to another queue with their priority and wait."""

from __future__ import annotations

from ivr.calls.commands import EndSupervision, Supervise
from ivr.calls.events import (
    AgentRequest,
    Caller,
    MoveCaller,
    StopSupervising,
    SuperviseCall,
    SupervisionEnded,
)
from ivr.calls.legs import AgentAnswered, DropLeg, RingAgent
from ivr.calls.queue.wait import QueueWait
from ivr.routing.desk import Desk
from ivr.routing.roster import parse_roster
from tests.unit.conftest import World, book, make_world

PLAN = """
name: shop
numbers: ["100"]
queues:
  returns: {skills: {returns: 3}, sla_seconds: 30}
  sales: {skills: {sales: 3}, sla_seconds: 15, max_wait: 600, exit: sorry}
nodes:
  start:
    type: menu
    prompt: sound:menu
    options: {"1": returns, "2": sales, "3": vip}
  returns: {type: queue, queue: returns}
  sales: {type: queue, queue: sales}
  vip: {type: queue, queue: returns, priority: 5}
  sorry: {type: hangup, prompt: sound:sorry}
"""
ROSTER = """
teams: {shop: {kind: in-house}}
agents:
  - {id: anna, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {returns: 5}}
  - {id: boris, name: Boris, endpoint: PJSIP/agent2, team: shop, skills: {sales: 5}}
"""


def world() -> World:
    plans = book(PLAN)
    shop = make_world(plans)
    shop.switchboard.desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
    return shop


def queue_call(shop: World, key: str, number: str = "+79991234567") -> str:
    call_id = shop.call(caller=Caller(number, "Ivan")).call_id
    shop.pbx.press(call_id, key)
    shop.wait(0)
    return call_id


def rings(shop: World) -> list[RingAgent]:
    return [c for c in shop.pbx.sent if isinstance(c, RingAgent)]


def talking(shop: World) -> tuple[str, str]:
    """A caller talking to Anna: the call id and Anna's leg."""
    shop.driver.feed(AgentRequest("anna", "sign-in"))
    call_id = queue_call(shop, "1")
    [ring] = rings(shop)
    shop.driver.feed(AgentAnswered(call_id, ring.leg_id))
    return call_id, ring.leg_id


def sent(shop: World, kind: type) -> list:  # type: ignore[type-arg]
    return [c for c in shop.pbx.sent if isinstance(c, kind)]


def test_a_supervisor_listens_to_a_talk_and_the_journal_says_who_and_how_long() -> None:
    shop = world()
    call_id, leg = talking(shop)
    shop.driver.feed(SuperviseCall(call_id, "s1", "listen", "PJSIP/supervisor1", "olga"))
    [ask] = sent(shop, Supervise)
    assert (ask.mode, ask.phone, ask.agent_leg) == ("listen", "PJSIP/supervisor1", leg)
    assert "anna" in ask.caller_id
    [note] = shop.notes.of(call_id, "supervision")
    assert note.fields == {
        "session": "s1",
        "mode": "listen",
        "supervisor": "olga",
        "phone": "PJSIP/supervisor1",
        "agent": "anna",
        "queue": "returns",
    }
    assert [s.id for s in shop.switchboard.supervisions.of_call(call_id)] == ["s1"]
    shop.wait(42)
    shop.driver.feed(SupervisionEnded(call_id, "s1", "supervisor-hung-up"))
    [ended] = shop.notes.of(call_id, "supervision_ended")
    assert ended.fields == {
        "session": "s1",
        "mode": "listen",
        "supervisor": "olga",
        "reason": "supervisor-hung-up",
        "seconds": "42.0",
    }
    assert shop.switchboard.supervisions.of_call(call_id) == []
    # The talk itself never noticed.
    assert isinstance(shop.switchboard.calls[call_id].step, QueueWait)


def test_stopping_a_session_asks_the_pbx_and_the_note_names_who_stopped_it() -> None:
    shop = world()
    call_id, _ = talking(shop)
    shop.driver.feed(SuperviseCall(call_id, "s1", "whisper", "PJSIP/supervisor1", "olga"))
    shop.driver.feed(StopSupervising(call_id, "s1", "petr"))
    assert sent(shop, EndSupervision) == [EndSupervision(call_id, "s1")]
    shop.driver.feed(SupervisionEnded(call_id, "s1", "stopped"))
    [ended] = shop.notes.of(call_id, "supervision_ended")
    assert (ended.fields["reason"], ended.fields["by"]) == ("stopped", "petr")
    # A session already over, or of another call, stops nothing.
    shop.driver.feed(StopSupervising(call_id, "s1", "petr"))
    assert len(sent(shop, EndSupervision)) == 1


def test_only_a_talk_with_an_agent_can_be_supervised() -> None:
    shop = world()
    waiting = queue_call(shop, "1")
    shop.driver.feed(SuperviseCall(waiting, "s1", "listen", "PJSIP/supervisor1", "olga"))
    shop.driver.feed(SuperviseCall("nobody", "s2", "listen", "PJSIP/supervisor1", "olga"))
    assert sent(shop, Supervise) == []
    assert shop.notes.of(waiting, "supervision") == []


def test_a_session_that_ends_after_its_call_is_still_journalled() -> None:
    shop = world()
    call_id, _ = talking(shop)
    shop.driver.feed(SuperviseCall(call_id, "s1", "barge", "PJSIP/supervisor1", "olga"))
    shop.pbx.hang_up(call_id)
    shop.wait(1)
    assert shop.notes.of(call_id, "ended")
    shop.driver.feed(SupervisionEnded(call_id, "s1", "call-ended"))
    [ended] = shop.notes.of(call_id, "supervision_ended")
    assert ended.fields["reason"] == "call-ended"


def test_a_moved_caller_keeps_their_priority_and_their_time_waited() -> None:
    shop = world()
    early = queue_call(shop, "1")  # returns, joined first
    shop.wait(30)
    vip_later = queue_call(shop, "3", "+79990000003")  # returns, priority 5
    shop.wait(30)
    sales = queue_call(shop, "2", "+79990000002")  # sales, joined last, priority 0
    router = shop.switchboard.desk.router
    shop.driver.feed(MoveCaller(early, "sales", "olga"))
    assert router.position(early) == 1 and router.position(sales) == 2
    [moved] = shop.notes.of(early, "queue_moved")
    assert moved.fields == {"queue": "sales", "came_from": "returns", "by": "olga", "wait": "60.0"}
    shop.driver.feed(MoveCaller(vip_later, "sales", "olga"))
    assert [router.position(c) for c in (vip_later, early, sales)] == [1, 2, 3]
    wait = shop.switchboard.calls[early].step
    assert isinstance(wait, QueueWait)
    assert (wait.queue, wait.joined_at, wait.sla_seconds) == ("sales", shop.clock.now() - 60, 15)
    # Boris (sales) takes the longest waiting VIP first; the answer counts the whole wait.
    shop.driver.feed(AgentRequest("boris", "sign-in"))
    [ring] = rings(shop)
    assert (ring.call_id, ring.agent_id) == (vip_later, "boris")
    shop.driver.feed(AgentAnswered(vip_later, ring.leg_id))
    [answered] = shop.notes.of(vip_later, "answered")
    assert (answered.fields["queue"], answered.fields["wait"]) == ("sales", "30.0")


def test_moving_a_caller_who_is_being_rung_stops_the_ringing() -> None:
    shop = world()
    shop.driver.feed(AgentRequest("anna", "sign-in"))
    call_id = queue_call(shop, "1")
    [ring] = rings(shop)
    shop.driver.feed(MoveCaller(call_id, "sales", "olga"))
    assert DropLeg(call_id, ring.leg_id) in shop.pbx.sent
    # Anna answering too late is let go; the caller still waits in sales.
    shop.driver.feed(AgentAnswered(call_id, ring.leg_id))
    wait = shop.switchboard.calls[call_id].step
    assert isinstance(wait, QueueWait) and wait.agent_leg is None and wait.queue == "sales"


def test_a_moved_caller_leaves_by_the_new_queues_max_wait_counted_from_their_first_join() -> None:
    shop = world()
    call_id = queue_call(shop, "1")
    shop.wait(500)
    shop.driver.feed(MoveCaller(call_id, "sales", "olga"))
    shop.wait(99)
    assert shop.notes.of(call_id, "queue_exit") == []
    shop.wait(2)
    [gone] = shop.notes.of(call_id, "queue_exit")
    assert (gone.fields["queue"], gone.fields["reason"]) == ("sales", "max-wait")


def test_only_a_waiting_caller_moves_and_only_to_a_queue_that_exists() -> None:
    shop = world()
    call_id, _ = talking(shop)
    shop.driver.feed(MoveCaller(call_id, "sales", "olga"))
    assert shop.notes.of(call_id, "queue_moved") == []
    waiting = queue_call(shop, "1", "+79990000009")
    for queue in ("nowhere", "returns"):
        shop.driver.feed(MoveCaller(waiting, queue, "olga"))
    assert shop.notes.of(waiting, "queue_moved") == []


def test_a_shutdown_hangs_up_the_supervisors_but_not_the_talk() -> None:
    shop = world()
    call_id, _ = talking(shop)
    shop.driver.feed(SuperviseCall(call_id, "s1", "listen", "PJSIP/supervisor1", "olga"))
    before = len(shop.pbx.sent)
    shop.driver.run(shop.switchboard.hand_back_all())
    assert shop.pbx.sent[before:] == [EndSupervision(call_id, "s1")]
