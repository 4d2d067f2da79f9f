"""`ivr check` says when a queue of the plans can never be answered by the roster."""

from __future__ import annotations

from ivr.plan.queues import QueueSpec
from ivr.routing.coverage import unserved_queues
from ivr.routing.roster import parse_roster

ROSTER = """
teams:
  shop: {kind: in-house}
  nightdesk: {kind: outsourced, trunk: {dial: "PJSIP/200@partner", max_concurrent: 2,
              skills: {returns: 4}}}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {returns: 7}}
"""


def test_queues_the_roster_cannot_serve_are_named_with_the_fix() -> None:
    roster = parse_roster((ROSTER, "roster.yaml"))
    queues = [
        QueueSpec(name="returns", skills={"returns": 5}),
        QueueSpec(name="sales", skills={"sales": 1}),
        QueueSpec(name="night", skills={"returns": 3}, teams=["nightdesk"]),
        QueueSpec(name="ghost", teams=["callpoint"]),
    ]
    assert unserved_queues(roster, queues) == [
        "queue 'sales' can never be answered: no agent of team(s) shop has sales>=1; "
        "give an agent these skills or lower the levels",
        "queue 'ghost' names team(s) callpoint that the roster does not have; "
        "known teams: nightdesk, shop",
    ]
