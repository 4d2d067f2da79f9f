"""The agent roster: the shop's file loads, and bad rosters say what is wrong and how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ivr.plan.queues import QueueSpec
from ivr.routing import RosterError, load_roster, parse_roster

ROOT = Path(__file__).resolve().parents[3]

TEAMS = """\
teams:
  shop: {kind: in-house}
  nightdesk:
    kind: outsourced
    trunk: {dial: "PJSIP/200@partner", max_concurrent: 2}
"""
F = "agents/roster.yaml"


def problems(text: str) -> list[str]:
    with pytest.raises(RosterError) as caught:
        parse_roster((text, F))
    return [str(p) for p in caught.value.problems]


def test_the_shop_roster_loads() -> None:
    roster = load_roster([ROOT / "agents"])
    assert [a.id for a in roster.agents] == ["agent1", "agent2", "agent3", "agent4"]
    assert [a.endpoint for a in roster.agents] == [f"PJSIP/agent{i}" for i in range(1, 5)]
    assert roster.in_house_teams() == ("shop",)
    assert roster.teams["callpoint"].kind == "outsourced"
    assert roster.teams["callpoint"].trunk is None
    trunk = roster.teams["nightdesk"].trunk
    assert trunk is not None and trunk.max_concurrent == 2 and trunk.dial == "PJSIP/200@partner"
    assert roster.agents[3].team == "callpoint"
    skills = {s for a in roster.agents for s in a.skills}
    assert skills == {"order_status", "returns", "sales", "lang:en", "lang:ru"}
    assert all(a.max_concurrent == 1 for a in roster.agents)


def test_files_are_checked_together(tmp_path: Path) -> None:
    (tmp_path / "a-teams.yaml").write_text(TEAMS)
    (tmp_path / "b-people.yaml").write_text(
        "agents:\n  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop}\n"
    )
    (tmp_path / "c-more.yaml").write_text(
        "agents:\n  - {id: agent1, name: Boris, endpoint: PJSIP/agent2, team: shop}\n"
    )
    with pytest.raises(RosterError) as caught:
        load_roster([tmp_path])
    assert str(caught.value) == (
        f"{tmp_path}/c-more.yaml:2:6: error: agent 'agent1' is defined twice "
        f"(also at {tmp_path}/b-people.yaml, line 2); give each agent their own id"
    )


BAD = {
    "unknown team": (
        TEAMS + "agents:\n  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shopp}\n",
        [
            f"{F}:7:54: error: agent 'agent1': team 'shopp' is not defined; did you mean "
            "'shop'? define it under teams:, or use one of: nightdesk, shop"
        ],
    ),
    "duplicate id": (
        TEAMS
        + "agents:\n"
        + "  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop}\n"
        + "  - {id: agent1, name: Boris, endpoint: PJSIP/agent2, team: shop}\n",
        [
            f"{F}:8:6: error: agent 'agent1' is defined twice (also at line 7); "
            "give each agent their own id"
        ],
    ),
    "duplicate endpoint": (
        TEAMS
        + "agents:\n"
        + "  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop}\n"
        + "  - {id: agent2, name: Boris, endpoint: PJSIP/agent1, team: shop}\n",
        [
            f"{F}:8:31: error: agent 'agent2': endpoint PJSIP/agent1 is already used by "
            "agent 'agent1'; give each agent their own SIP endpoint"
        ],
    ),
    "agents in a trunk team": (
        TEAMS + "agents:\n  - {id: agent5, name: Eve, endpoint: PJSIP/agent5, team: nightdesk}\n",
        [
            f"{F}:7:53: error: agent 'agent5': team 'nightdesk' is a trunk to a partner PBX "
            "and cannot have agents; move the agent to another team, or make a separate "
            "outsourced team without a trunk for the partner's agents"
        ],
    ),
    "level out of range": (
        TEAMS + "agents:\n  - id: agent3\n    name: Clara\n    endpoint: PJSIP/agent3\n"
        "    team: shop\n    skills: {returns: 11}\n",
        [
            f"{F}:11:14: error: agent 'agent3': skill 'returns' has level 11; "
            "use a whole number from 1 to 10"
        ],
    ),
    "level not a number": (
        TEAMS + "agents:\n  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop,"
        " skills: {returns: yes}}\n",
        [
            f"{F}:7:75: error: agent 'agent1': skill 'returns' has level True; "
            "use a whole number from 1 to 10"
        ],
    ),
    "bad skill name": (
        TEAMS + "agents:\n  - id: agent3\n    name: Clara\n    endpoint: PJSIP/agent3\n"
        "    team: shop\n    skills: {Lang-RU: 5}\n",
        [
            f"{F}:11:14: error: agent 'agent3': skill name 'Lang-RU' is not valid; use "
            "lower-case words, with an optional ':' qualifier, e.g. returns or lang:ru"
        ],
    ),
    "unknown field": (
        TEAMS + "agents:\n  - id: agent1\n    name: Anna\n    endpoint: PJSIP/agent1\n"
        "    team: shop\n    skill: {returns: 5}\n",
        [f"{F}:11:5: error: agent 'agent1': unknown field 'skill'; did you mean 'skills'?"],
    ),
    "missing endpoint": (
        TEAMS + "agents:\n  - id: agent1\n    name: Anna\n    team: shop\n",
        [
            f"{F}:7:5: error: agent 'agent1': 'endpoint' is missing; "
            "add it, e.g. endpoint: PJSIP/agent1"
        ],
    ),
    "missing id": (
        TEAMS + "agents:\n  - {name: Anna, endpoint: PJSIP/agent1, team: shop}\n",
        [f"{F}:7:5: error: agents[0] (no id): 'id' is missing; add it, e.g. id: agent1"],
    ),
    "unknown kind": (
        "teams:\n  callpoint: {kind: partner}\n",
        [
            f"{F}:2:15: error: team 'callpoint': kind 'partner' is not known; "
            "use kind: in-house or kind: outsourced"
        ],
    ),
    "trunk on an in-house team": (
        "teams:\n  shop:\n    kind: in-house\n"
        '    trunk: {dial: "PJSIP/200@partner", max_concurrent: 2}\n',
        [
            f"{F}:4:5: error: team 'shop': only an outsourced team can have a trunk; "
            "set kind: outsourced, or remove the trunk"
        ],
    ),
    "YAML syntax (agents: forgotten)": (
        TEAMS + '  - {id: agent1, name: Anna, endpoint: "PJSIP/agent1,t", team: shop}\n',
        [
            f"{F}:6:3: error: YAML syntax: expected <block end>, but found '-'; "
            "check the indentation and quoting on this line and the one before"
        ],
    ),
    "endpoint injection": (
        TEAMS + 'agents:\n  - {id: agent1, name: Anna, endpoint: "PJSIP/agent1,t", team: shop}\n',
        [
            f"{F}:7:30: error: agent 'agent1': endpoint 'PJSIP/agent1,t' is not a SIP "
            "endpoint; write it as TECH/NAME, e.g. PJSIP/agent1"
        ],
    ),
    "trunk dial and cap": (
        "teams:\n  nightdesk:\n    kind: outsourced\n"
        '    trunk: {dial: "PJSIP/200@partner & PJSIP/x", max_concurrent: 0}\n',
        [
            f"{F}:4:13: error: team 'nightdesk': dial 'PJSIP/200@partner & PJSIP/x' is not a "
            "dial string; write it as TECH/RESOURCE without spaces or commas, "
            "e.g. PJSIP/200@partner",
            f"{F}:4:50: error: team 'nightdesk': max_concurrent 0 is not allowed; "
            "use a whole number from 1 to 1000",
        ],
    ),
    "agent max_concurrent": (
        TEAMS + "agents:\n  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop,"
        " max_concurrent: 0}\n",
        [
            f"{F}:7:66: error: agent 'agent1': max_concurrent 0 is not allowed; "
            "use a whole number from 1 to 10"
        ],
    ),
    "team listed twice": (
        "teams:\n  shop: {kind: in-house}\n  shop: {kind: outsourced}\n",
        [
            f"{F}:3:3: error: 'shop' is listed twice in the same block; "
            "keep one of them: YAML would silently use the last"
        ],
    ),
    "agents as a mapping": (
        TEAMS + "agents:\n  agent1: {name: Anna}\n",
        [
            f"{F}:6:1: error: the roster: 'agents' must be a list; "
            "check the indentation and the '-' before list items"
        ],
    ),
    "not a mapping": (
        "- agent1\n- agent2\n",
        [f"{F}:1:1: error: a roster file must be a mapping; start it with teams: or agents:"],
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_roster_says_what_and_how_to_fix(case: str) -> None:
    text, expected = BAD[case]
    assert problems(text) == expected


def test_every_problem_is_reported_at_once() -> None:
    text = TEAMS + (
        "agents:\n"
        "  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {sales: 0}}\n"
        "  - {id: agent2, name: Boris, endpoint: PJSIP/agent2, team: shop, colour: red}\n"
    )
    assert len(problems(text)) == 2


def queue_problem(**fields: object) -> str:
    with pytest.raises(ValidationError) as caught:
        QueueSpec.model_validate({"name": "returns", **fields})
    return str(caught.value.errors()[0]["msg"])


def test_queue_spec_defaults_and_checks() -> None:
    spec = QueueSpec.model_validate({"name": "returns", "skills": {"returns": 3, "lang:ru": 1}})
    assert (spec.strategy, spec.ring_timeout, spec.wrapup, spec.sla_seconds) == (
        "longest-idle",
        15.0,
        10.0,
        20.0,
    )
    assert (spec.max_misses, spec.teams, spec.max_wait, spec.exit) == (3, None, None, None)
    assert queue_problem(max_wait=60) == (
        "Value error, queue 'returns' has max_wait or max_callers but no exit; name the node "
        "callers go to when they leave the queue (exit: NODE)"
    )
    assert queue_problem(exit="voicemail") == (
        "Value error, queue 'returns' has an exit but neither max_wait nor max_callers; "
        "set one of them, or remove exit"
    )
    assert "Input should be" in queue_problem(strategy="random")
    assert "Extra inputs" in queue_problem(skils={"returns": 1})
