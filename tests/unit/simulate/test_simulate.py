"""`ivr simulate`: the production core on virtual time agrees with queueing theory, repeats
itself for a seed, and answers what-if questions the way a shop would expect."""

from __future__ import annotations

import gc
from datetime import date
from pathlib import Path

import pytest

from ivr.cli.main import main
from ivr.config import CallbackSettings
from ivr.reports import erlang
from ivr.simulate.engine import COLLECT_EVERY, MAX_CALLS, Run, simulate
from ivr.simulate.output import RENDER, Result
from ivr.simulate.traffic import TrafficError, traffic_from
from ivr.simulate.whatif import WhatIf, WhatIfError
from ivr.site_load import check_site

ROOT = Path(__file__).resolve().parents[3]
AGENTS, TALK, PATIENCE, SLA, RATE = 10, 300.0, 120.0, 20.0, 100.0

ONE_QUEUE = f"""
name: one
numbers: ["100"]
timezone: UTC
queues:
  desk: {{skills: {{}}, wrapup: 0, ring_timeout: 30, sla_seconds: {SLA}}}
nodes:
  start: {{type: queue, queue: desk}}
""".encode()


def _roster(agents: int, team: str = "shop", extra: str = "") -> bytes:
    lines = "".join(
        f"  - {{id: a{i}, name: A{i}, endpoint: PJSIP/a{i}, team: {team}}}\n" for i in range(agents)
    )
    return f"currency: RUB\nteams:\n  {team}: {{kind: in-house{extra}}}\nagents:\n{lines}".encode()


def _stationary(patience: float | None) -> bytes:
    """Poisson arrivals at a constant rate, no ring time, exponential talk (and patience)."""
    given = "null" if patience is None else patience
    return f"""
timezone: UTC
numbers: {{"100": {{per_hour: {{mon-sun: {{"0-24": {RATE}}}}}}}}}
callers: {{patience: {given}}}
agents: {{ring: 0, talk: {{default: {TALK}}}}}
""".encode()


def _run(patience: float | None, seed: int) -> dict[str, float]:
    site = check_site([("one.yaml", ONE_QUEUE)], [("roster.yaml", _roster(AGENTS))])
    traffic = traffic_from(_stationary(patience), "traffic.yaml")
    # 9 days at 100 calls an hour: about 21,600 calls.
    figures = simulate(Run("stationary", site, traffic, date(2026, 12, 1), 9, seed))
    total = figures.total().figures()
    assert total["calls"] >= 20_000
    return total


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_callers_who_never_give_up_get_the_service_level_erlang_c_predicts(seed: int) -> None:
    total = _run(None, seed)
    expected = erlang.service_level(RATE, TALK, AGENTS, SLA)
    assert total["abandoned"] == 0
    assert abs(total["service_level"] - expected) <= 0.03, (total["service_level"], expected)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_impatient_callers_give_up_and_are_served_as_erlang_a_predicts(seed: int) -> None:
    total = _run(PATIENCE, seed)
    expected = erlang.erlang_a(RATE, TALK, AGENTS, SLA, PATIENCE)
    assert abs(total["abandon_rate"] - expected.abandon_probability) <= 0.03
    assert abs(total["service_level"] - expected.service_level) <= 0.03


def _shop(what_if: WhatIf, traffic: bytes, days: int = 7, seed: int = 7) -> Result:
    site = what_if.site(ROOT / "dialplans", ROOT / "agents")
    profile = traffic_from(traffic, "traffic.yaml")
    run = Run(what_if.name, site, what_if.traffic(profile), date(2026, 12, 5), days, seed,
              CallbackSettings())  # fmt: skip
    return Result(simulate(run), run.day_list)


WEEKEND = b"""
timezone: Europe/Moscow
numbers: {"100": {per_hour: {sat-sun: {"8-22": 6}}}}
keys:
  choose_language: {"2": 1}
  main_menu: {"2": 1}
callers: {patience: 90}
agents: {ring: 3, talk: {default: 240}}
"""


def test_the_same_seed_gives_the_same_figures_and_another_seed_other_callers() -> None:
    first = _shop(WhatIf(), WEEKEND, days=2)
    again = _shop(WhatIf(), WEEKEND, days=2)
    other = _shop(WhatIf(), WEEKEND, days=2, seed=8)
    text = RENDER["csv"]([first], "hour")
    assert text == RENDER["csv"]([again], "hour")
    assert text != RENDER["csv"]([other], "hour")


def test_a_run_collects_garbage_less_often_and_leaves_the_program_s_settings_as_it_found_them() -> (
    None
):
    site = check_site([("one.yaml", ONE_QUEUE)], [("roster.yaml", _roster(AGENTS))])
    traffic = traffic_from(_stationary(None), "traffic.yaml")
    during: list[int] = []
    before = gc.get_threshold()
    gc.set_threshold(321, 9, 8)
    try:
        run = Run("gc", site, traffic, date(2026, 12, 1), 2)
        simulate(run, progress=lambda days: during.append(gc.get_threshold()[0]))
        assert during == [COLLECT_EVERY, COLLECT_EVERY]
        assert gc.get_threshold() == (321, 9, 8)

        def fails(days: int) -> None:
            raise RuntimeError("the caller's progress bar broke")

        with pytest.raises(RuntimeError):
            simulate(run, progress=fails)
        assert gc.get_threshold() == (321, 9, 8)
    finally:
        gc.set_threshold(*before)


def test_without_the_partner_weekend_callers_are_lost_and_nothing_is_paid() -> None:
    covered = _shop(WhatIf("covered"), WEEKEND).figures.total().figures()
    alone = _shop(WhatIf("alone", without=("callpoint", "nightdesk")), WEEKEND)
    bare = alone.figures.total().figures()
    assert covered["answered_partner_agents"] > 50
    # callpoint bills 60 a call and 12 a minute (agents/roster.yaml).
    assert covered["partner_cost"] >= 60 * covered["answered_partner_agents"]
    assert bare["answered_partner_agents"] == bare["partner_cost"] == 0
    assert bare["abandoned"] > covered["abandoned"] + 50
    assert bare["answered"] < covered["answered"] - 50


def test_two_more_agents_answer_more_of_a_busy_saturday() -> None:
    busy = WEEKEND.replace(b'"8-22": 6', b'"10-18": 40')
    as_is = _shop(WhatIf("as is", without=("callpoint",)), busy, days=1).figures.total()
    more = _shop(WhatIf("+2", agents=(("shop", 2),), without=("callpoint",)), busy, days=1)
    assert more.figures.total().tally.answered > as_is.tally.answered + 20
    assert as_is.tally.abandoned > more.figures.total().tally.abandoned


def test_twice_the_arrivals_bring_about_twice_the_calls() -> None:
    once = _shop(WhatIf(), WEEKEND, days=2).figures.total().tally.calls
    twice = _shop(WhatIf("x2", arrivals=2.0), WEEKEND, days=2).figures.total().tally.calls
    assert 1.7 * once < twice < 2.3 * once


def test_a_traffic_file_with_a_mistake_names_the_line_and_the_fix() -> None:
    text = b'numbers:\n  "100":\n    calls_per_month: 750\n    weekday: {mon: 1}\n'
    with pytest.raises(TrafficError) as caught:
        traffic_from(text, "traffic.yaml")
    assert "traffic.yaml:4:" in str(caught.value) and "weekday" in str(caught.value)


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        ("calls_per_month: .inf", 3, "finite number"),
        ("calls_per_month: .nan", 3, "finite number"),
        ('calls_per_month: 750, hours: {"9-18": -2}', 3, "9-18 weighs -2"),
        ('calls_per_month: 750, hours: {"9-18": .inf}', 3, "9-18 weighs inf"),
    ],
)
def test_an_endless_or_negative_rate_is_refused_with_its_line(
    change: str, line: int, words: str
) -> None:
    text = f'timezone: UTC\nnumbers:\n  "100": {{{change}}}\n'.encode()
    with pytest.raises(TrafficError) as caught:
        traffic_from(text, "traffic.yaml")
    assert f"traffic.yaml:{line}:" in str(caught.value) and words in str(caught.value)


def test_a_time_zone_the_tz_database_does_not_know_is_refused_with_its_line() -> None:
    text = b'numbers:\n  "100": {calls_per_month: 750}\ntimezone: Europe/Moskva\n'
    with pytest.raises(TrafficError) as caught:
        traffic_from(text, "traffic.yaml")
    assert str(caught.value).startswith("traffic.yaml:3: 'Europe/Moskva' is not a known time zone")


@pytest.mark.parametrize(
    ("traffic", "options", "words"),
    [
        # A month's calls typed a million times too high: refused before it starts.
        ('{"100": {calls_per_month: 750000000000}}', [], f"a run makes at most {MAX_CALLS:,}"),
        ('{"100": {calls_per_month: 750}}', ["--arrivals", "x1e12"], "or --arrivals"),
        ('{"100": {calls_per_month: 750}}', ["--arrivals", "xinf"], "a finite number"),
        ('{"100": {calls_per_month: 750}}', ["--arrivals", "18-21=xnan"], "a finite number"),
    ],
)
def test_a_run_of_absurd_size_is_refused_at_once(
    traffic: str,
    options: list[str],
    words: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "one.yaml").write_bytes(ONE_QUEUE)
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "roster.yaml").write_bytes(_roster(AGENTS))
    (tmp_path / "traffic.yaml").write_text(f"timezone: UTC\nnumbers: {traffic}\n")
    config = tmp_path / "ivr.yaml"
    config.write_text(f"dialplans: {tmp_path / 'plans'}\nagents: {tmp_path / 'agents'}\n")
    code = main(["simulate", "--config", str(config), "--traffic", str(tmp_path / "traffic.yaml"),
                 "--from", "2026-12-01", "--days", "30", *options])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 1 and printed.out == ""
    assert printed.err.startswith("ivr simulate: ") and words in printed.err, printed.err


def test_hours_or_overflow_for_what_nobody_has_are_refused_not_ignored() -> None:
    # A misspelt schedule used to change nothing: the run looked like the what-if's.
    misspelt = WhatIf("later", hours=(("shop-shfit", "mon-sat 09:00-21:00"),))
    with pytest.raises(WhatIfError) as refused:
        misspelt.site(ROOT / "dialplans", ROOT / "agents")
    assert "no schedule 'shop-shfit'" in str(refused.value)
    assert "shop-shift" in str(refused.value)  # the names there are, to pick from
    later = WhatIf("later", hours=(("shop-shift", "mon-sat 09:00-21:00"),))
    assert later.site(ROOT / "dialplans", ROOT / "agents").roster is not None
    with pytest.raises(WhatIfError) as refused:
        WhatIf("sooner", overflow_after=(("retruns", 30.0),)).site(ROOT / "dialplans", None)
    assert "no queue 'retruns'" in str(refused.value) and "returns" in str(refused.value)


def test_a_typo_in_agents_or_days_is_refused_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(WhatIfError) as refused:
        WhatIf("more", agents=(("shop", 100_000_000),)).site(ROOT / "dialplans", ROOT / "agents")
    assert "at most +5,000 agents a team" in str(refused.value)
    assert main(["simulate", "--days", "100000"]) == 1
    assert "--days must be 1 to 3660" in capsys.readouterr().err
    # Days whose local midnight has no Unix time: a traceback, before.
    for first in ("0001-01-01", "9999-12-31"):
        assert main(["simulate", "--from", first, "--days", "2"]) == 1
        assert "the run must lie between 1971-01-01 and 9998-12-31" in capsys.readouterr().err


def test_the_example_traffic_file_runs_through_the_example_shop() -> None:
    profile = (ROOT / "config" / "traffic.yaml").read_bytes()
    result = _shop(WhatIf(), profile, days=3)
    total = result.figures.total().figures()
    assert total["calls"] > 40 and total["answered"] > 0
    assert len(result.figures.rows(result.days)) == 72
