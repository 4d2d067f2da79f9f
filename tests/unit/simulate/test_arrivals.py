"""`ivr simulate --calls`: a fixed list of callers (when they dial, their keys, talk and
patience) through the production core, one row per call: who answered, when, which overflow
steps fired. The lab plays such a list through the daemon too (test_simulate_lab.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivr.cli.main import main
from ivr.simulate.arrivals import Arrival, ArrivalsError, load_arrivals, outlines, replay
from ivr.simulate.prompt_times import PromptTimes
from ivr.simulate.traffic import Traffic
from ivr.site_load import LoadedSite, check_site

START = 1_796_000_000.0
PLAN = """
name: desk
numbers: ["100"]
timezone: UTC
queues:
  returns:
    skills: {returns: 5}
    wrapup: 0
    overflow: [{name: partner, waited: 20, add_team: callpoint}]
  sales: {skills: {sales: 5}, wrapup: 0}
nodes:
  start:
    type: menu
    prompt: [sound:menu]
    no_input: [sound:again]
    timeout: 3
    options: {"1": returns, "2": sales}
  returns: {type: queue, queue: returns}
  sales: {type: queue, queue: sales}
"""
ROSTER = """
teams:
  shop: {kind: in-house}
  callpoint: {kind: outsourced}
agents:
  - {id: anna, name: Anna, endpoint: PJSIP/anna, team: shop, skills: {returns: 5}}
  - {id: boris, name: Boris, endpoint: PJSIP/boris, team: shop, skills: {sales: 5}}
  - {id: dmitry, name: Dmitry, endpoint: PJSIP/dmitry, team: callpoint, skills: {returns: 5}}
"""
CALLS = [
    Arrival(0, "100", "79000000001", keys=("1",), talk=60),
    Arrival(10, "100", "79000000002", keys=("1",), talk=30),  # Anna busy: 20 s on, Dmitry
    Arrival(20, "100", "79000000003", keys=("2",), talk=45.5),  # Boris
    Arrival(25, "100", "79000000004", keys=("1",), talk=30, patience=8),  # gives up
]


def _site() -> LoadedSite:
    return check_site([("desk.yaml", PLAN.encode())], [("roster.yaml", ROSTER.encode())])


def test_each_caller_presses_their_keys_talks_their_time_and_waits_their_patience() -> None:
    traffic = Traffic(timezone="UTC", rates={}, ring=2.0)
    entries = replay(_site(), CALLS, START, traffic, prompts=PromptTimes(default=1.5))
    calls = outlines(entries)
    # The menu lasts 1.5 s and the caller presses 0.5 s after it; phones ring 2 s.
    first, second, third, fourth = (calls[c.caller] for c in CALLS)
    assert (first.queues, first.agent, first.team) == (["returns"], "anna", "shop")
    assert first.answered == pytest.approx(4.0)
    assert first.ended == pytest.approx(4.0 + 60)
    assert (second.agent, second.team) == ("dmitry", "callpoint")
    assert [(step, round(at, 6)) for step, at in second.overflows] == [("partner", 22.0)]
    assert second.answered == pytest.approx(24.0)
    assert (third.queues, third.agent) == (["sales"], "boris")
    assert third.ended - (third.answered or 0) == pytest.approx(45.5)
    assert (fourth.agent, fourth.outcome) == ("", "abandoned")
    assert fourth.ended == pytest.approx(2.0 + 8)


def test_a_calls_file_with_a_mistake_names_the_line_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "calls.yaml"
    path.write_text('- {at: 0, number: "100"}\n- {at: -5, number: "100", talk: 60}\n')
    with pytest.raises(ArrivalsError, match=r"calls.yaml:2: 1.at: .*greater than or equal"):
        load_arrivals(path)
    path.write_text("calls: {at: 0}\n")
    with pytest.raises(ArrivalsError, match=r"calls.yaml:1: a calls file is a list"):
        load_arrivals(path)
    path.write_text('- {at: 3, number: "100", keys: ["1", ""], patience: 30, voicemail: true}\n')
    [call] = load_arrivals(path)
    assert (call.keys, call.patience, call.voicemail, call.talk) == (("1", ""), 30.0, True, 300.0)


def test_ivr_simulate_calls_prints_each_call_beside_a_what_if(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder, name, text in (("plans", "desk.yaml", PLAN), ("agents", "roster.yaml", ROSTER)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_text(text)
    config = tmp_path / "ivr.yaml"
    config.write_text(f"dialplans: {tmp_path / 'plans'}\nagents: {tmp_path / 'agents'}\n")
    traffic = tmp_path / "traffic.yaml"
    traffic.write_text('timezone: UTC\nnumbers: {"100": {calls_per_month: 0}}\n'
                       "agents: {ring: 2}\nprompts: {default: 1.5}\n")  # fmt: skip
    calls = tmp_path / "calls.yaml"
    calls.write_text(
        "".join(
            f'- {{at: {c.at}, number: "100", caller: "{c.caller}", keys: {list(c.keys)}, '
            f"talk: {c.talk}{f', patience: {c.patience}' if c.patience else ''}}}\n"
            for c in CALLS
        )
    )
    argv = ["simulate", "--config", str(config), "--traffic", str(traffic), "--calls",
            str(calls), "--from", "2026-12-01", "--compare", "--without-team",
            "callpoint"]  # fmt: skip
    assert main([*argv, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    second = {row["variant"]: row for row in rows if row["caller"] == "79000000002"}
    assert second["as is"]["agent"] == "dmitry" and second["as is"]["answered_after"] == 24.0
    # Without the partner the caller waits for Anna, free once her 60 s call is over.
    assert second["what if"]["agent"] == "anna" and second["what if"]["answered_after"] == 56.0
    assert rows[0]["arrived"] == "2026-12-01 00:00:00"
    assert main(argv) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["variant", "caller", "arrived", "queues", "overflows", "agent",
                                "team", "answered_after", "ended_after", "outcome"]  # fmt: skip
    assert "partner@22s" in table[2] and "dmitry" in table[2]
