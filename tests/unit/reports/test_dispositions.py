"""`ivr report` groups calls by what agents said came of them (dispositions, given in wrap-up
after the call's end); a journal without any keeps the report as it was."""

from __future__ import annotations

import json

from ivr.reports import report as reports
from ivr.store.port import Entry
from tests.unit.reports.test_report import MON, TUE, H, _journal, _row


def _with_dispositions() -> list[Entry]:
    given = [
        # c1 ended at MON 9h + 136 s; the agent chose in wrap-up, 20 s later.
        Entry(
            MON + 9 * H + 156,
            "c1",
            "disposition",
            {"agent": "a1", "queue": "sales", "disposition": "resolved"},
        ),
        Entry(
            TUE + 14 * H + 140,
            "c5",
            "disposition",
            {"agent": "a1", "queue": "sales", "disposition": "follow-up"},
        ),
    ]
    return sorted(_journal() + given, key=lambda e: e.at)


def test_calls_are_grouped_by_disposition() -> None:
    report = reports.build(_with_dispositions(), "day")
    assert report.dispositions == [
        _row("-", 4, 1, 1, 0.5, 40.0, 0.0, 300.0),
        _row("follow-up", 1, 1, 0, 0.0, 5.0, 1.0, 60.0),
        _row("resolved", 1, 1, 0, 0.0, 10.0, 1.0, 120.0),
        _row("total", 6, 3, 1, 0.25, 55 / 3, 0.5, 160.0),
    ]
    table = reports.as_table(report)
    assert "\ndisposition " in table and "\nresolved " in table
    assert [d["group"] for d in json.loads(reports.as_json(report))["dispositions"]] == [
        "-",
        "follow-up",
        "resolved",
        "total",
    ]
    assert "disposition,follow-up,1,1,0" in reports.as_csv(report)


def test_a_journal_without_dispositions_reports_as_before() -> None:
    report = reports.build(_journal(), "day")
    assert report.dispositions == []
    assert "disposition" not in reports.as_table(report)
    assert "dispositions" not in json.loads(reports.as_json(report))
