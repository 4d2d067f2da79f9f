"""`ivr simulate --traffic journal`: a journal written by the production core (a fortnight of
known callers played through it) is learned back: calls per number, weekday and hour in the
shop's time, the keys pressed at the language choice and the menu, patience and talk time."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.cli.main import main
from ivr.simulate.arrivals import Arrival, outlines, replay
from ivr.simulate.learn import learn
from ivr.simulate.prompt_times import PromptTimes
from ivr.simulate.traffic import Traffic
from ivr.site_load import LoadedSite, check_site
from ivr.store.port import Entry
from ivr.store.sqlite import SqliteJournal

MOSCOW = ZoneInfo("Europe/Moscow")
START, DAYS = date(2026, 11, 2), 14  # from a Monday, two whole weeks
PATIENCE = 60.0
TALK = {"1": 240.0, "2": 120.0}  # returns talk longer than sales
PLAN = """
name: learnshop
numbers: ["100", "200"]
timezone: Europe/Moscow
prompts:
  menu: {en: sound:menu, ru: sound:ru-menu}
  again: {en: sound:again, ru: sound:ru-again}
queues:
  returns: {skills: {returns: 5}, wrapup: 0}
  sales: {skills: {sales: 5}, wrapup: 0}
nodes:
  start:
    type: language
    prompt: [sound:hello]
    options: {"1": en, "2": ru}
    timeout: 3
    no_input: again
    next: main
  main:
    type: menu
    prompt: menu
    timeout: 3
    no_input: again
    options: {"1": returns, "2": sales}
  returns: {type: queue, queue: returns}
  sales: {type: queue, queue: sales}
"""
ROSTER = """
teams:
  shop: {kind: in-house}
agents:
  - {id: a1, name: Anna, endpoint: PJSIP/a1, team: shop, skills: {returns: 5}}
  - {id: a2, name: Boris, endpoint: PJSIP/a2, team: shop, skills: {sales: 5}}
"""


def _site() -> LoadedSite:
    return check_site([("learnshop.yaml", PLAN.encode())], [("roster.yaml", ROSTER.encode())])


def _callers(seed: int = 3) -> list[Arrival]:
    """Poisson callers at 14 an hour on weekdays 09-18 and 5 an hour on Saturdays 10-14, and
    one at 02:30 every Monday (Sunday 23:30 UTC): Moscow's weekdays and hours, not UTC's."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 2, tzinfo=MOSCOW).timestamp()
    calls: list[Arrival] = []
    for n in range(DAYS):
        day = START + timedelta(days=n)
        if day.weekday() < 5:
            busy = [(hour, 14.0) for hour in range(9, 18)]
        elif day.weekday() == 5:
            busy = [(hour, 5.0) for hour in range(10, 14)]
        else:
            busy = []
        for hour, rate in busy:
            begin = datetime(day.year, day.month, day.day, hour, tzinfo=MOSCOW).timestamp()
            moment = begin + rng.expovariate(rate / 3600)
            while moment < begin + 3600:
                calls.append(_caller(rng, moment - start, len(calls)))
                moment += rng.expovariate(rate / 3600)
        if day.weekday() == 0:
            night = datetime(day.year, day.month, day.day, 2, 30, tzinfo=MOSCOW).timestamp()
            calls.append(_caller(rng, night - start, len(calls)))
    return calls


def _caller(rng: random.Random, at: float, index: int) -> Arrival:
    language = rng.choices(["1", "2", ""], [20, 70, 10])[0]
    menu = rng.choices(["1", "2", ""], [55, 35, 10])[0]
    number = "100" if rng.random() < 0.8 else "200"
    talk = rng.expovariate(1 / TALK.get(menu, 60.0))
    patience = rng.expovariate(1 / PATIENCE)
    return Arrival(at, number, f"+7999{index:07d}", keys=(language, menu), talk=talk,
                   patience=patience)  # fmt: skip


def _journal(calls: list[Arrival]) -> list[Entry]:
    start = datetime(2026, 11, 2, tzinfo=MOSCOW).timestamp()
    traffic = Traffic(timezone="Europe/Moscow", rates={}, ring=2.0)
    return replay(_site(), calls, start, traffic, prompts=PromptTimes(default=2.0))


@pytest.fixture(scope="module")
def fortnight() -> tuple[list[Arrival], list[Entry]]:
    calls = _callers()
    return calls, _journal(calls)


def test_calls_are_learned_per_number_weekday_and_hour_of_the_shops_clock(
    fortnight: tuple[list[Arrival], list[Entry]],
) -> None:
    calls, entries = fortnight
    plans = _site().plans
    traffic = learn(entries, START, START + timedelta(days=DAYS), "Europe/Moscow", plans)
    start = datetime(2026, 11, 2, tzinfo=MOSCOW).timestamp()
    counted: Counter[tuple[str, int, int]] = Counter()
    for call in calls:
        moment = datetime.fromtimestamp(start + call.at, MOSCOW)
        counted[call.number, moment.weekday(), moment.hour] += 1
    assert sorted(traffic.rates) == ["100", "200"]
    for number, table in traffic.rates.items():
        for weekday in range(7):
            for hour in range(24):
                # Two of each weekday in a fortnight: calls per hour is half the count.
                expected = counted[number, weekday, hour] / 2
                assert table[weekday][hour] == pytest.approx(expected), (number, weekday, hour)
    # The night calls count on Monday at 02:00 in Moscow (Sunday 23:00 in UTC).
    assert traffic.rates["100"][0][2] + traffic.rates["200"][0][2] == 1.0
    assert sum(traffic.rates["100"][6]) == 0.0
    # Over the fortnight: about 14 an hour on weekdays in the day, 5 on Saturday mornings.
    weekday_day = sum(traffic.rates[n][d][h] for n in ("100", "200")
                      for d in range(5) for h in range(9, 18)) / 45  # fmt: skip
    assert weekday_day == pytest.approx(14, rel=0.1)


def test_the_keys_callers_pressed_are_learned_with_those_who_said_nothing(
    fortnight: tuple[list[Arrival], list[Entry]],
) -> None:
    calls, entries = fortnight
    plans = _site().plans
    traffic = learn(entries, START, START + timedelta(days=DAYS), "Europe/Moscow", plans)
    language = Counter(call.keys[0] for call in calls)
    menu = Counter(call.keys[1] for call in calls)
    assert traffic.keys["start"] == {k: float(n) for k, n in language.items()}
    assert traffic.keys["main"] == {k: float(n) for k, n in menu.items()}


def test_patience_and_talk_are_learned_from_abandons_and_answered_calls(
    fortnight: tuple[list[Arrival], list[Entry]],
) -> None:
    calls, entries = fortnight
    plans = _site().plans
    traffic = learn(entries, START, START + timedelta(days=DAYS), "Europe/Moscow", plans)
    done = outlines(entries)
    abandoned = sum(1 for call in done.values() if call.outcome == "abandoned")
    assert abandoned >= 150  # enough for the estimate to mean something
    assert traffic.patience == pytest.approx(PATIENCE, rel=0.15)
    by_caller = {call.caller: call for call in calls}
    for queue, key in (("returns", "1"), ("sales", "2")):
        talks = [by_caller[c].talk for c, o in done.items() if o.agent and o.queues == [queue]]
        assert talks and all(by_caller[c].keys[1] == key for c, o in done.items()
                             if o.agent and o.queues == [queue])  # fmt: skip
        # Talk is noted to a tenth of a second.
        assert traffic.talk[queue] == pytest.approx(sum(talks) / len(talks), abs=0.05)
    assert traffic.talk["returns"] == pytest.approx(TALK["1"], rel=0.15)
    assert traffic.talk["sales"] == pytest.approx(TALK["2"], rel=0.15)


def test_ivr_simulate_learns_from_the_journal_store_and_brings_as_many_calls(
    fortnight: tuple[list[Arrival], list[Entry]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls, entries = fortnight
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "learnshop.yaml").write_text(PLAN)
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "roster.yaml").write_text(ROSTER)
    store = SqliteJournal(tmp_path / "journal.sqlite3")
    # 500 calls on the day before the period: not learned.
    before = datetime(2026, 11, 1, 12, tzinfo=MOSCOW).timestamp()
    for n in range(500):
        store.append(f"early{n}", "arrived", {"number": "100", "plan": "learnshop"}, before + n)
    for entry in entries:
        store.append(entry.call_id, entry.kind, entry.fields, entry.at)
    store.close()
    config = tmp_path / "ivr.yaml"
    config.write_text(f"dialplans: {tmp_path / 'plans'}\nagents: {tmp_path / 'agents'}\n"
                      f"store: {{sqlite: {tmp_path / 'journal.sqlite3'}}}\n")  # fmt: skip
    code = main(["simulate", "--config", str(config), "--traffic", "journal",
                 "--learn-from", "2026-11-02", "--learn-to", "2026-11-16",
                 "--from", "2026-11-16", "--days", "14", "--seed", "5",
                 "--format", "json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    [variant] = json.loads(out)["variants"]
    total = variant["total"]
    # The same fortnight again: as many calls, give or take Poisson's spread (3 sigma); none
    # of the 500 from before the period.
    assert abs(total["calls"] - len(calls)) <= 3 * math.sqrt(len(calls)), total
    # And about as many callers give up as in the journal.
    done = outlines(entries).values()
    queued = [call for call in done if call.queues]
    lost = sum(1 for call in queued if call.outcome == "abandoned") / len(queued)
    assert abs(total["abandon_rate"] - lost) <= 0.05, (total["abandon_rate"], lost)
