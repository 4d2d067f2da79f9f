"""The when node: schedules at given moments (as `ivr try --at` sets them), VIP, withheld
and prefixed callers, variables, dates and weekdays; first match wins, else `else`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.calls.events import Caller
from tests.unit.conftest import book, make_world

MOSCOW = ZoneInfo("Europe/Moscow")
HOURS = """
name: shop
numbers: ["100"]
timezone: Europe/Moscow
schedules:
  shop-hours:
    timezone: Europe/Moscow
    weekly: {mon-fri: "09:00-21:00", sat: "10:00-18:00"}
    holidays: {country: RU}
nodes:
  start:
    type: when
    cases:
      - {schedule: shop-hours, is: holiday, then: holiday}
      - {schedule: shop-hours, is: closed, then: closed}
    else: open
  open: {type: hangup, prompt: sound:open}
  closed: {type: hangup, prompt: sound:closed}
  holiday: {type: hangup, prompt: sound:holiday}
"""


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=MOSCOW).timestamp()


def heard_at(moment: str, text: str = HOURS, caller: Caller | None = None) -> str:
    world = make_world(book(text), start=at(moment))
    sim = world.call(caller=caller)
    world.wait(10)
    return sim.heard[0]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-12-30 12:00", "sound:open"),  # a Wednesday afternoon
        ("2026-12-30 08:59", "sound:closed"),
        ("2026-12-30 21:00", "sound:closed"),  # ranges are half-open
        ("2026-12-29 22:30", "sound:closed"),  # a Tuesday, late
        ("2026-12-31 12:00", "sound:holiday"),  # New Year's Eve is a day off in 2026
        ("2027-01-01 12:00", "sound:holiday"),  # a Friday, but a public holiday in Russia
        ("2027-01-02 12:00", "sound:holiday"),  # a Saturday inside the New Year holidays
        ("2026-12-27 12:00", "sound:closed"),  # a Sunday: no hours, not a holiday
        ("2026-12-26 17:59", "sound:open"),  # Saturday hours
    ],
)
def test_schedule_state_at_a_moment(moment: str, expected: str) -> None:
    assert heard_at(moment) == expected


CALLERS = """
name: shop
numbers: ["100"]
callers:
  vip: ["+79001234567", "79161112233"]
nodes:
  start:
    type: when
    cases:
      - {caller_in: vip, then: vip}
      - {caller_withheld: true, then: hidden}
      - {caller_prefix: ["+7495", "+7499"], then: moscow}
    else: other
  vip: {type: hangup, prompt: sound:vip}
  hidden: {type: hangup, prompt: sound:hidden}
  moscow: {type: hangup, prompt: sound:moscow}
  other: {type: hangup, prompt: sound:other}
"""


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+79001234567", "sound:vip"),
        ("79001234567", "sound:vip"),  # with or without the plus
        ("+79161112233", "sound:vip"),
        ("", "sound:hidden"),  # withheld: the network sent no number
        ("+74951234567", "sound:moscow"),
        ("74991234567", "sound:moscow"),
        ("+78121234567", "sound:other"),
    ],
)
def test_callers(number: str, expected: str) -> None:
    assert heard_at("2026-12-30 12:00", CALLERS, Caller(number)) == expected


VARS = """
name: shop
numbers: ["100"]
nodes:
  start:
    type: collect
    prompt: sound:enter
    no_input: sound:please-try-again
    var: code
    next: branch
  branch:
    type: when
    cases:
      - {var: code, equals: 42, then: answer}
      - {var: code, in: ["1", "2", "3"], then: small}
      - {var: code, matches: '^9[0-9]*$', then: nines}
    else: other
  answer: {type: hangup, prompt: sound:answer}
  small: {type: hangup, prompt: sound:small}
  nines: {type: hangup, prompt: sound:nines}
  other: {type: hangup, prompt: sound:other}
"""


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("42#", "sound:answer"),
        ("2#", "sound:small"),
        ("9123#", "sound:nines"),
        ("8#", "sound:other"),
    ],
)
def test_variables(keys: str, expected: str) -> None:
    world = make_world(book(VARS))
    sim = world.call()
    world.pbx.press(sim.call_id, keys)
    world.wait(10)
    assert sim.heard[-1] == expected
    note = world.notes.of(sim.call_id, "when")[0]
    assert note.fields["target"] == expected.removeprefix("sound:")


DAYS = """
name: shop
numbers: ["100"]
timezone: Asia/Vladivostok
nodes:
  start:
    type: when
    cases:
      - {date: [2026-12-31], then: eve}
      - {weekday: [sat, sun], then: weekend}
    else: weekday
  eve: {type: hangup, prompt: sound:eve}
  weekend: {type: hangup, prompt: sound:weekend}
  weekday: {type: hangup, prompt: sound:weekday}
"""


def test_dates_and_weekdays_are_the_plans_time_zone() -> None:
    vladivostok = ZoneInfo("Asia/Vladivostok")

    def local(text: str) -> float:
        return datetime.fromisoformat(text).replace(tzinfo=vladivostok).timestamp()

    def heard(moment: float) -> str:
        world = make_world(book(DAYS), start=moment)
        sim = world.call()
        world.wait(10)
        return sim.heard[0]

    assert heard(local("2026-12-31 00:30")) == "sound:eve"  # still the 30th in Moscow
    assert heard(local("2026-12-26 12:00")) == "sound:weekend"
    assert heard(local("2026-12-30 12:00")) == "sound:weekday"


def test_every_test_of_a_case_must_hold_and_the_first_case_wins() -> None:
    text = """
name: shop
numbers: ["100"]
callers: {vip: ["+79001234567"]}
nodes:
  start:
    type: when
    cases:
      - {caller_in: vip, weekday: sun, then: vip_sunday}
      - {caller_prefix: "+7", then: russia}
      - {caller_in: vip, then: vip}
    else: other
  vip_sunday: {type: hangup, prompt: sound:vip-sunday}
  russia: {type: hangup, prompt: sound:russia}
  vip: {type: hangup, prompt: sound:vip}
  other: {type: hangup, prompt: sound:other}
"""
    world = make_world(book(text), start=at("2026-12-30 12:00"))  # a Wednesday
    sim = world.call(caller=Caller("+79001234567"))
    world.wait(10)
    assert sim.heard == ["sound:russia"]
    assert world.notes.of(sim.call_id, "when")[0].fields == {
        "node": "start",
        "case": "2",
        "target": "russia",
    }
