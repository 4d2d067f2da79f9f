"""Coverage in the core on virtual time: overflow steps, team shifts, callbacks, voicemail and
the spoken next opening time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr.callbacks.book import CallbackBook, CallbackRules, Refusal
from ivr.callbacks.task import CallbackTask
from ivr.calls.events import AgentRequest, Caller
from ivr.calls.legs import (
    AgentAnswered,
    AgentLegEnded,
    BridgeLegs,
    RingAgent,
)
from ivr.clock import VirtualClock
from ivr.pbx.sim.pbx import SimPbx
from ivr.routing.desk import Desk, snapshot
from ivr.routing.roster import parse_roster
from ivr.switchboard.driver import CallDriver
from ivr.switchboard.switchboard import Switchboard
from tests.unit.conftest import Notes, World, book

MOSCOW = ZoneInfo("Europe/Moscow")
# Tuesday 3 November 2026, 12:00 in Moscow: a working day, in-house hours.
TUESDAY_NOON = datetime(2026, 11, 3, 12, 0, tzinfo=MOSCOW).timestamp()
SATURDAY_NOON = datetime(2026, 11, 7, 12, 0, tzinfo=MOSCOW).timestamp()
CUSTOMER = Caller("+79991234567", "Ivan")

PLAN = """
name: shop
numbers: ["100"]
timezone: Europe/Moscow
schedules:
  shop_hours: {timezone: Europe/Moscow, weekly: {mon-fri: "09:00-18:00"}}
queues:
  returns:
    skills: {returns: 5}
    ring_timeout: 10
    wrapup: 0
    callback_after_abandon: 60
    overflow:
      - {name: partner, waited: 30, add_team: callpoint}
      - {name: night, outside_hours: true, add_team: nightdesk}
      - {name: full, callers_over: 1, goto: message}
nodes:
  start: {type: queue, queue: returns, callback: later}
  later: {type: callback, queue: returns}
  message: {type: voicemail, mailbox: shop, queue: returns}
  closed: {type: play, prompt: [sound:closed, "opening:shop_hours"], next: message}
"""
ROSTER = """
schedules:
  weekdays: {timezone: Europe/Moscow, weekly: {mon-fri: "09:00-18:00"}}
teams:
  shop: {kind: in-house, shift: weekdays}
  callpoint: {kind: outsourced}
  nightdesk: {kind: outsourced, trunk: {dial: "PJSIP/200@partner", max_concurrent: 1}}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {returns: 7}}
  - {id: agent5, name: Eva, endpoint: PJSIP/agent5, team: callpoint, skills: {returns: 5}}
"""


class Store:
    """The callback store port in memory: the last state saved of each task."""

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}

    def save(self, task: dict[str, Any]) -> None:
        self.tasks[task["id"]] = dict(task)

    def load(self, since: float) -> list[dict[str, Any]]:
        return list(self.tasks.values())

    def delete(self, task_ids: Iterable[str]) -> int:
        gone = [task_id for task_id in task_ids if self.tasks.pop(task_id, None) is not None]
        return len(gone)

    def close(self) -> None:
        pass


def shop(
    start: float = TUESDAY_NOON, store: Store | None = None, rules: CallbackRules | None = None
) -> tuple[World, Store]:
    plans = book(PLAN)
    clock = VirtualClock(start=start)
    pbx = SimPbx(clock)
    desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
    store = store if store is not None else Store()
    tasks = [CallbackTask.from_json(t) for t in store.load(0)]
    callback_book = CallbackBook(rules or CallbackRules(retry_delay=120), tasks)
    switchboard = Switchboard(plans, clock, desk, callback_book)
    notes = Notes()
    driver = CallDriver(switchboard, pbx, clock, notes, callbacks=store)
    pbx.on_event = driver.feed
    world = World(clock, pbx, switchboard, driver, notes, None)  # type: ignore[arg-type]
    driver.run(switchboard.review_callbacks())
    return world, store


def rings(world: World) -> list[RingAgent]:
    return [c for c in world.pbx.sent if isinstance(c, RingAgent)]


def test_a_caller_waiting_past_the_step_is_offered_to_the_partner_team() -> None:
    world, _ = shop()
    world.driver.feed(AgentRequest("agent5", "sign-in"))
    call = world.pbx.calls[world.pbx.dial("100", CUSTOMER)]
    world.wait(29)
    assert rings(world) == []  # callpoint is not one of the queue's teams yet
    world.wait(2)
    [ring] = rings(world)
    assert ring.agent_id == "agent5"
    step = world.notes.of(call.call_id, "overflow")[0].fields
    assert step == {"queue": "returns", "step": "partner", "action": "add_team",
                    "trigger": "waited"}  # fmt: skip


def test_outside_in_house_hours_the_partner_trunk_takes_the_caller_with_their_number() -> None:
    world, _ = shop(start=SATURDAY_NOON)
    call = world.pbx.calls[world.pbx.dial("100", CUSTOMER)]
    world.wait(1)
    [ring] = rings(world)
    assert ring.endpoint == "PJSIP/200@partner" and "<+79991234567>" in ring.caller_id
    world.driver.feed(AgentAnswered(call.call_id, ring.leg_id))
    world.wait(5)
    world.driver.feed(AgentLegEnded(call.call_id, ring.leg_id, "hangup"))
    world.wait(1)
    assert world.notes.of(call.call_id, "ended")[0].fields["outcome"] == "overflowed_external"


def test_the_shop_team_is_off_duty_at_the_weekend_and_back_on_monday_at_nine() -> None:
    world, _ = shop(start=SATURDAY_NOON)
    world.driver.feed(AgentRequest("agent1", "sign-in"))
    desk = world.switchboard.desk
    assert desk is not None
    states = {a["id"]: a["state"] for a in snapshot(desk, world.clock.now())["agents"]}
    assert states["agent1"] == "off_duty"
    monday_nine = datetime(2026, 11, 9, 9, 0, tzinfo=MOSCOW).timestamp()
    world.clock.run_until(monday_nine - 1)
    assert desk.router.agent("agent1").state == "off_duty"
    world.clock.run_until(monday_nine + 1)
    assert desk.router.agent("agent1").state == "available"


def test_more_callers_than_the_step_allows_go_to_voicemail_and_a_callback_is_booked() -> None:
    world, store = shop()
    first = world.pbx.dial("100", Caller("+79990000001"))
    second = world.pbx.dial("100", Caller("+79990000002"))
    third = world.pbx.calls[world.pbx.dial("100", CUSTOMER)]
    world.wait(29)
    # Two callers ahead is more than the step's one: only the third leaves the line.
    assert world.pbx.calls[first].ended_by == world.pbx.calls[second].ended_by == ""
    assert third.recorded == [f"vm-{third.call_id}"]
    assert third.heard[-2:] == ["sound:vm-msgsaved", "sound:goodbye"]
    [task] = store.tasks.values()
    assert task["number"] == "+79991234567" and task["voicemail"] == f"vm-{third.call_id}"
    assert task["source"] == "voicemail"
    assert world.notes.of(third.call_id, "ended")[0].fields["outcome"] == "voicemail"


def test_a_callback_rings_the_agent_first_then_the_customer_and_bridges_them() -> None:
    world, store = shop()
    call = world.pbx.calls[world.pbx.dial("100", CUSTOMER)]
    world.wait(3)
    world.pbx.press(call.call_id, "1")  # the call-back key
    world.wait(1)
    assert "digits:79991234567" in call.heard
    world.pbx.press(call.call_id, "1")  # yes, this number
    world.wait(10)
    assert call.ended_by == "ivr"
    [task] = store.tasks.values()
    assert task["status"] == "pending" and task["source"] == "caller"
    world.driver.feed(AgentRequest("agent1", "sign-in"))
    [agent_ring] = rings(world)
    assert agent_ring.agent_id == "agent1" and "Callback" in agent_ring.caller_id
    world.driver.feed(AgentAnswered(agent_ring.call_id, agent_ring.leg_id))
    customer_ring = rings(world)[-1]
    assert customer_ring.endpoint == "PJSIP/+79991234567@trunk"
    world.driver.feed(AgentAnswered(agent_ring.call_id, customer_ring.leg_id))
    bridge = [c for c in world.pbx.sent if isinstance(c, BridgeLegs)]
    assert bridge == [BridgeLegs(agent_ring.call_id, agent_ring.leg_id, customer_ring.leg_id)]
    assert store.tasks[task["id"]]["status"] == "done"


def test_a_callback_nobody_answers_is_retried_later_then_given_up() -> None:
    world, store = shop(rules=CallbackRules(retry_delay=120, max_attempts=2))
    world.driver.feed(AgentRequest("agent1", "sign-in"))
    task, commands = world.switchboard.request_callback(
        "+79991234567", "returns", "order", (None, None)
    )
    assert not isinstance(task, Refusal)
    world.driver.run(commands)
    for attempt in (1, 2):
        agent_ring = rings(world)[-1]
        world.driver.feed(AgentAnswered(agent_ring.call_id, agent_ring.leg_id))
        customer = rings(world)[-1]
        world.driver.feed(AgentLegEnded(agent_ring.call_id, customer.leg_id, "no-answer"))
        assert store.tasks[task.id]["attempts"] == attempt
        world.wait(119)
        assert len(rings(world)) == 2 * attempt  # nothing before the retry delay
        world.wait(2)
    assert store.tasks[task.id]["status"] == "failed"
    assert len(rings(world)) == 4


def test_pending_callbacks_survive_a_restart_and_none_is_made_twice() -> None:
    world, store = shop()
    done, _ = world.switchboard.request_callback("+79990000001", "returns", "", (None, None))
    waiting, _ = world.switchboard.request_callback("+79990000002", "returns", "", (None, None))
    assert isinstance(done, CallbackTask) and isinstance(waiting, CallbackTask)
    world.driver.run([*world.switchboard.review_callbacks()])
    store.save(done.to_json())
    store.save(waiting.to_json())
    store.tasks[done.id]["status"] = "done"
    # A new daemon: a new core built from the store alone.
    again, _ = shop(store=store)
    again.driver.feed(AgentRequest("agent1", "sign-in"))
    [ring] = rings(again)
    assert ring.call_id == f"cb-{waiting.id}-1"


def test_web_requests_are_checked_and_limited_per_number() -> None:
    world, _ = shop()
    refused, _ = world.switchboard.request_callback("12;DROP", "returns", "", (None, None))
    assert isinstance(refused, Refusal) and refused.reason == "invalid-number"
    unknown, _ = world.switchboard.request_callback("+79991234567", "nope", "", (None, None))
    assert isinstance(unknown, Refusal) and unknown.reason == "unknown-queue"
    first, _ = world.switchboard.request_callback("+79991234567", "returns", "", (None, None))
    second, _ = world.switchboard.request_callback("+79991234567", "returns", "", (None, None))
    assert isinstance(first, CallbackTask) and second is first  # one open task per number
    book_ = world.switchboard.callback_book
    for task in list(book_.tasks.values()):
        task.status = "done"
    for _ in range(2):
        made, _ = world.switchboard.request_callback("+79991234567", "returns", "", (None, None))
        assert isinstance(made, CallbackTask)
        made.status = "done"
    limited, _ = world.switchboard.request_callback("+79991234567", "returns", "", (None, None))
    assert isinstance(limited, Refusal) and limited.reason == "limit"


def test_a_caller_who_gives_up_after_a_long_wait_is_called_back() -> None:
    world, store = shop()
    call = world.pbx.calls[world.pbx.dial("100", CUSTOMER)]
    world.wait(61)
    world.pbx.hang_up(call.call_id)
    world.wait(1)
    [task] = store.tasks.values()
    assert task["source"] == "abandon" and task["number"] == CUSTOMER.number
    short = world.pbx.calls[world.pbx.dial("100", Caller("+79990000009"))]
    world.wait(10)
    world.pbx.hang_up(short.call_id)
    world.wait(1)
    assert len(store.tasks) == 1  # ten seconds is not a long wait


def test_the_closed_message_says_when_the_shop_opens_next() -> None:
    friday_evening = datetime(2026, 11, 6, 20, 0, tzinfo=MOSCOW).timestamp()
    plan = PLAN.replace(
        "start: {type: queue, queue: returns, callback: later}",
        "start: {type: goto, target: closed}",
    )
    world, _ = shop(start=friday_evening)
    world.switchboard.reload(book(plan))
    call = world.pbx.calls[world.pbx.dial("100", CUSTOMER)]
    world.wait(1)
    # Monday (day-1) at 9 o'clock.
    assert call.heard[:5] == [
        "sound:closed",
        "sound:digits/day-1",
        "sound:digits/at",
        "number:9",
        "sound:digits/oclock",
    ]
