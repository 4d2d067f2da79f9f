"""The roster's `dispositions:`: what agents may say came of a call (a metric label)."""

from __future__ import annotations

import pytest

from ivr.routing.roster import RosterError, parse_roster

TEAMS = "teams: {shop: {kind: in-house}}\n"


def test_the_default_list_and_a_roster_of_its_own() -> None:
    assert parse_roster((TEAMS, "r.yaml")).dispositions == (
        "resolved",
        "follow-up",
        "order-placed",
        "complaint",
    )
    own = parse_roster((TEAMS + "dispositions: [resolved, sold, sold]\n", "r.yaml"))
    assert own.dispositions == ("resolved", "sold")


@pytest.mark.parametrize("bad", ["[Resolved Now]", "['a{b}']", f"[{', '.join(['x'] * 21)}]"])
def test_a_disposition_that_could_not_be_a_metric_label_is_refused_with_its_line(bad: str) -> None:
    with pytest.raises(RosterError) as refused:
        parse_roster((TEAMS + f"dispositions: {bad}\n", "r.yaml"))
    assert "r.yaml:2:" in str(refused.value) and "dispositions" in str(refused.value)
