"""The caller books a callback from the queue with the keypad: the number they type is read
as the website's are (the shop's country, any spelling), and a caller ID that is no number
the shop may call is not booked but the caller is asked for one."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.callbacks.book import CallbackBook, CallbackRules
from ivr.calls.events import Caller
from ivr.routing.desk import Desk
from ivr.routing.roster import parse_roster
from tests.unit.conftest import World, book, make_world

TUESDAY_NOON = datetime(2026, 11, 3, 12, 0, tzinfo=ZoneInfo("Europe/Moscow")).timestamp()
PLAN = """
name: shop
numbers: ["100"]
timezone: Europe/Moscow
queues:
  returns: {skills: {returns: 5}, ring_timeout: 10, wrapup: 0}
nodes:
  start: {type: queue, queue: returns, callback: later}
  later: {type: callback, queue: returns}
"""
ROSTER = """
teams:
  shop: {kind: in-house}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {returns: 7}}
"""


def shop() -> tuple[World, CallbackBook]:
    plans = book(PLAN)
    desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
    callbacks = CallbackBook(CallbackRules())
    return make_world(plans, start=TUESDAY_NOON, desk=desk, callback_book=callbacks), callbacks


def test_a_number_typed_in_the_national_spelling_is_booked_in_e164() -> None:
    world, callbacks = shop()
    call = world.call("100", Caller("+79991234567", "Ivan"))
    world.wait(3)
    world.pbx.press(call.call_id, "1")  # call me back
    world.wait(1)
    world.pbx.press(call.call_id, "2")  # not this number: another
    world.pbx.press(call.call_id, "89001234567#")
    world.wait(10)
    [task] = callbacks.tasks.values()
    assert (task.number, task.source) == ("+79001234567", "caller")
    assert call.ended_by == "ivr"


def test_a_caller_id_that_is_no_number_we_may_call_is_not_booked_but_the_caller_asked() -> None:
    world, callbacks = shop()
    call = world.call("100", Caller("12345678", "Ivan"))  # digits, but no such number
    world.wait(3)
    world.pbx.press(call.call_id, "1")
    world.wait(1)
    assert "digits:12345678" in call.heard  # read back: it looked like a number
    world.pbx.press(call.call_id, "1")  # yes, this number
    world.wait(1)
    assert callbacks.tasks == {}
    assert world.notes.of(call.call_id, "callback_number_invalid")
    assert "sound:check-number-dial-again" in call.heard and not call.ended_by
    world.pbx.press(call.call_id, "9001234567#")
    world.wait(10)
    [task] = callbacks.tasks.values()
    assert task.number == "+79001234567"


def test_a_caller_refused_by_a_cap_hears_why_before_the_line_closes() -> None:
    world, callbacks = shop()
    callbacks.rules = CallbackRules(max_open_per_queue=1)
    first = world.call("100", Caller("+79991234567", "Ivan"))
    world.wait(3)
    world.pbx.press(first.call_id, "1")
    world.wait(1)
    world.pbx.press(first.call_id, "1")  # this number
    world.wait(10)
    assert len(callbacks.tasks) == 1
    again = world.call("100", Caller("+79997654321", "Olga"))
    world.wait(3)
    world.pbx.press(again.call_id, "1")
    world.wait(1)
    world.pbx.press(again.call_id, "1")
    world.wait(1)
    assert world.notes.of(again.call_id, "callback_refused")
    assert again.ended_by in ("",)  # still told why (not "ivr" yet)
    world.wait(10)
    assert "sound:im-sorry" in again.heard and "sound:please-try-call-later" in again.heard
    assert again.ended_by == "ivr" and len(callbacks.tasks) == 1


def test_a_caller_who_books_hears_how_many_callbacks_are_ahead_of_them() -> None:
    world, callbacks = shop()
    heard: list[list[str]] = []
    for number in ("+79001234567", "+79007654321"):
        call = world.call("100", Caller(number, "Ivan"))
        world.wait(3)
        world.pbx.press(call.call_id, "1")  # call me back
        world.wait(1)
        world.pbx.press(call.call_id, "1")  # on this number
        world.wait(10)
        heard.append(call.heard)
    assert len(callbacks.pending()) == 2
    assert "sound:queue-thereare" not in heard[0]  # nobody ahead: nothing to say
    said = heard[1]
    at = said.index("sound:queue-thereare")
    assert said[at : at + 3] == ["sound:queue-thereare", "number:1", "sound:queue-callswaiting"]
