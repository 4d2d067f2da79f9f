"""`ivr check --coverage`: the windows in which callers reach a queue that no team on shift
could answer, in words, at the queue's line; warnings, errors with --strict."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from ivr.cli.main import main
from ivr.routing.coverage_check import coverage_problems
from ivr.site_load import check_site

ROOT = Path(__file__).resolve().parents[3]
START = date(2026, 12, 1)


def windows(plan: str, roster: str, *more_plans: str, start: date = START) -> list[str]:
    """The coverage warnings' windows: "<when>: <queue> has no team on shift"."""
    plans = [("plan.yaml", plan.encode())]
    plans += [(f"plan{n}.yaml", text.encode()) for n, text in enumerate(more_plans, 2)]
    site = check_site(plans, [("roster.yaml", roster.encode())])
    assert site.roster is not None
    return [p.message for p in coverage_problems(site.plans, site.roster, start)]


def plan(nodes: str, queues: str, schedules: str = "") -> str:
    return (
        "name: shop\nnumbers: ['100']\ntimezone: Europe/Moscow\n"
        f"schedules:\n{schedules or '  unused: {timezone: UTC}'}\n"
        f"queues:\n{queues}\nnodes:\n{nodes}"
    )


# Open Monday to Saturday 09:00-21:00; closed callers hear goodbye.
LINE = """\
  start:
    type: when
    cases: [{schedule: hours, is: open, then: returns}]
    else: bye
  returns: {type: queue, queue: returns}
  bye: {type: hangup}
"""
HOURS = "  hours: {timezone: Europe/Moscow, weekly: {mon-sat: '09:00-21:00'}, holidays: none}\n"
RETURNS = "  returns: {skills: {returns: 3}}\n"


def roster(shifts: str, teams: str, agents: str) -> str:
    return f"schedules:\n{shifts}teams:\n{teams}agents:\n{agents}"


SHOP_SHIFT = (
    "  shop-shift: {timezone: Europe/Moscow, "
    "weekly: {mon-fri: '09:00-21:00', sat: '09:00-18:00'}, holidays: none}\n"
)
SHOP = "  shop: {kind: in-house, shift: shop-shift}\n"
ANNA = "  - {id: a1, name: Anna, endpoint: PJSIP/a1, team: shop, skills: {returns: 7}}\n"


def test_a_saturday_evening_without_a_team_is_one_readable_window() -> None:
    found = windows(plan(LINE, RETURNS, HOURS), roster(SHOP_SHIFT, SHOP, ANNA))
    assert found == ["Saturday 18:00-21:00: returns has no team on shift"]


def test_a_partner_on_shift_then_covers_it_only_with_the_skills_and_the_overflow_step() -> None:
    partner_shift = (
        "  evenings: {timezone: Europe/Moscow, weekly: {sat: '17:00-22:00'}, holidays: none}\n"
    )
    teams = SHOP + "  callpoint: {kind: outsourced, shift: evenings}\n"
    dmitry = (
        "  - {id: a4, name: Dmitry, endpoint: PJSIP/a4, team: callpoint, skills: {returns: 5}}\n"
    )
    with_step = "  returns: {skills: {returns: 3}, overflow: [{waited: 60, add_team: callpoint}]}\n"
    covered = roster(SHOP_SHIFT + partner_shift, teams, ANNA + dmitry)
    assert windows(plan(LINE, with_step, HOURS), covered) == []
    # The same partner is no cover for a queue that never lets it answer...
    gap = ["Saturday 18:00-21:00: returns has no team on shift"]
    assert windows(plan(LINE, RETURNS, HOURS), covered) == gap
    # ...nor when its agents lack the skill.
    unskilled = roster(SHOP_SHIFT + partner_shift, teams, ANNA + dmitry.replace("returns", "sales"))
    assert windows(plan(LINE, with_step, HOURS), unskilled) == gap


def test_a_partner_trunk_that_sorts_calls_itself_covers_any_queue() -> None:
    trunk = "  nightdesk: {kind: outsourced, trunk: {dial: PJSIP/200@partner, max_concurrent: 2}}\n"
    queue = (
        "  returns: {skills: {returns: 3}, "
        "overflow: [{outside_hours: true, add_team: nightdesk}]}\n"
    )
    assert windows(plan(LINE, queue, HOURS), roster(SHOP_SHIFT, SHOP + trunk, ANNA)) == []


def test_shifts_across_midnight_and_gaps_across_midnight_and_weekends() -> None:
    always = "  start: {type: queue, queue: returns}\n"
    shifts = (
        "  days: {timezone: Europe/Moscow, weekly: {mon-fri: '06:00-23:00'}, holidays: none}\n"
        "  nights: {timezone: Europe/Moscow, weekly: {mon-fri: '01:00-06:00'}, holidays: none}\n"
    )
    teams = "  shop: {kind: in-house, shift: days}\n  night: {kind: in-house, shift: nights}\n"
    boris = "  - {id: a2, name: Boris, endpoint: PJSIP/a2, team: night, skills: {returns: 4}}\n"
    assert windows(plan(always, RETURNS), roster(shifts, teams, ANNA + boris)) == [
        "Monday-Thursday 23:00-01:00 (overnight): returns has no team on shift",
        "Friday 23:00 to Monday 01:00: returns has no team on shift",
    ]
    # A night shift written across midnight belongs to the evening it starts on: Sunday's
    # runs into Monday morning.
    late = shifts.replace("mon-fri: '01:00-06:00'", "sun-thu: '23:00-06:00'")
    assert windows(plan(always, RETURNS), roster(late, teams, ANNA + boris)) == [
        "Friday 23:00 to Sunday 23:00: returns has no team on shift",
    ]
    weekend = late.replace("sun-thu", "mon-sun").replace(
        "mon-fri: '06:00-23:00'", "sat: '06:00-23:00'"
    )
    assert windows(plan(always, RETURNS), roster(weekend, teams, ANNA + boris)) == [
        "Sunday-Friday 06:00-23:00: returns has no team on shift",
    ]


def test_a_shift_kept_in_a_zone_with_summer_time_names_the_weeks_it_misses() -> None:
    # London 06:00-22:00 is 09:00-01:00 in Moscow in winter, 08:00-24:00 in summer.
    hours = "  hours: {timezone: Europe/Moscow, weekly: {mon-sun: '08:30-23:30'}, holidays: none}\n"
    london = (
        "  shop-shift: {timezone: Europe/London, weekly: {mon-sun: '06:00-22:00'}, "
        "holidays: none}\n"
    )
    assert windows(plan(LINE, RETURNS, hours), roster(london, SHOP, ANNA)) == [
        "every day 08:30-09:00 (2026-12-01 to 2027-03-27, 2027-10-31 to 2027-11-30): "
        "returns has no team on shift"
    ]


def test_holidays_that_send_the_team_home_but_not_the_callers_are_listed_by_date() -> None:
    shift = "  shop-shift: {timezone: Europe/Moscow, weekly: {mon-sat: '09:00-21:00'}}\n"
    found = windows(plan(LINE, RETURNS, HOURS), roster(shift, SHOP, ANNA))
    assert (
        "2027-03-08 (International Women's Day) 09:00-21:00: returns has no team on shift" in found
    )
    assert (
        "2027-01-04 to 2027-01-08 (New Year Holidays; Christmas Day) 09:00-21:00: "
        "returns has no team on shift"
    ) in found
    assert all(line.startswith(("2026-", "2027-")) for line in found), found
    # A line that closes on holidays too strands nobody then.
    closes = HOURS.replace("holidays: none", "holidays: {country: RU}")
    assert windows(plan(LINE, RETURNS, closes), roster(shift, SHOP, ANNA)) == []


def test_a_queue_reached_only_when_closed_is_checked_in_those_hours() -> None:
    nodes = """\
  start:
    type: when
    cases:
      - {caller_in: vip, then: vip}
      - {schedule: hours, is: closed, then: night}
    else: day
  vip: {type: queue, queue: operator}
  night: {type: queue, queue: night}
  day: {type: queue, queue: returns}
"""
    queues = RETURNS + "  night: {teams: [callpoint]}\n  operator: {}\n"
    evenings = (
        "  evenings: {timezone: Europe/Moscow, weekly: {mon-sun: '21:00-02:00'}, holidays: none}\n"
    )
    teams = SHOP + "  callpoint: {kind: outsourced, shift: evenings}\n"
    dmitry = "  - {id: a4, name: Dmitry, endpoint: PJSIP/a4, team: callpoint}\n"
    text = plan(nodes, queues, HOURS).replace(
        "queues:", "callers: {vip: ['+79001112233']}\nqueues:"
    )
    assert windows(text, roster(SHOP_SHIFT + evenings, teams, ANNA + dmitry)) == [
        "Saturday 18:00-21:00: returns has no team on shift",
        # Closed on Sundays: callpoint comes at 21:00.
        "Monday-Saturday 02:00-09:00: night has no team on shift",
        "Sunday 02:00-21:00: night has no team on shift",
        # Only a test of the caller leads to the operators: both ways count, at every hour.
        "Monday-Friday 21:00-09:00 (overnight): operator has no team on shift",
        "Saturday 18:00 to Monday 09:00: operator has no team on shift",
    ]


def test_a_queue_that_sends_callers_on_when_nobody_can_answer_strands_nobody() -> None:
    nodes = LINE + "  vm: {type: voicemail, mailbox: shop@default}\n"
    queue = "  returns: {skills: {returns: 3}, overflow: [{no_agents: true, goto: vm}]}\n"
    assert windows(plan(nodes, queue, HOURS), roster(SHOP_SHIFT, SHOP, ANNA)) == []


def test_a_queue_reached_through_another_plan_counts_in_that_plans_time() -> None:
    first = plan(LINE.replace("then: returns", "then: away"), RETURNS, HOURS)
    first = first.replace("  bye:", "  away: {type: goto, target: desk:help}\n  bye:")
    # Plan desk's own callers never reach its queue: only the shop's, while it is open.
    second = (
        "name: desk\nnumbers: ['200']\ntimezone: UTC\nqueues:\n  desk: {}\nnodes:\n"
        "  start: {type: hangup}\n  help: {type: queue, queue: desk}\n"
    )
    assert windows(first, roster(SHOP_SHIFT, SHOP, ANNA), second) == [
        "Saturday 15:00-18:00: desk has no team on shift"
    ]


def test_the_example_shop_is_covered_and_a_shorter_shift_is_named_at_the_queues_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plans, agents = ROOT / "dialplans", ROOT / "agents"
    argv = ["check", str(plans), "--roster", str(agents), "--coverage", "--from", "2026-12-01"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out == "ok: 1 plan(s), 0 warning(s); roster: 4 agent(s)\n"

    shorter = tmp_path / "agents"
    shorter.mkdir()
    text = (agents / "roster.yaml").read_text(encoding="utf-8")
    assert 'mon-fri: "09:00-21:00"' in text
    (shorter / "roster.yaml").write_text(
        text.replace('mon-fri: "09:00-21:00"', 'mon-fri: "09:00-18:00"')
    )
    shutil.copy(plans / "shop.yaml", tmp_path / "shop.yaml")
    argv = ["check", str(tmp_path / "shop.yaml"), "--roster", str(shorter), "--coverage"]
    assert main([*argv, "--from", "2026-12-01"]) == 0
    rows = capsys.readouterr().out.splitlines()
    plan_lines = (tmp_path / "shop.yaml").read_text(encoding="utf-8").splitlines()
    order_line = next(n for n, row in enumerate(plan_lines, 1) if row.startswith("  order_status:"))
    assert rows[0] == (
        f"{tmp_path / 'shop.yaml'}:{order_line}:3: warning: Monday-Friday 18:00-21:00: "
        "order_status has no team on shift; times in Europe/Moscow; teams that could answer it: "
        "shop (shift shop-shift); widen a shift (the roster's schedules:), add an overflow step "
        "that adds a team on shift then (add_team:), or keep callers out of the queue then "
        "(a when: case with schedule:)"
    )
    assert [row.split(": warning: ")[1].split(";")[0] for row in rows[1:-1]] == [
        "Monday-Friday 18:00-21:00: sales has no team on shift",
        "Monday-Friday 18:00-21:00: operator has no team on shift",
    ]
    assert rows[-1] == "ok: 1 plan(s), 3 warning(s); roster: 4 agent(s)"
    assert main([*argv, "--from", "2026-12-01", "--strict"]) == 1
    capsys.readouterr()


def test_coverage_needs_a_roster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(ROOT / "dialplans" / "shop.yaml", tmp_path / "shop.yaml")
    argv = ["check", str(tmp_path / "shop.yaml"), "--roster", str(tmp_path / "none"), "--coverage"]
    assert main(argv) == 2
    assert "no roster in" in capsys.readouterr().err
