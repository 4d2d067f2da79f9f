"""Reports over a hand-made journal of six calls, and `ivr report` on SQLite files: those six
calls, and the generated month of calls the staffing forecast uses."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ivr.cli.main import main
from ivr.reports import report as reports
from ivr.store.port import Entry
from ivr.store.sqlite import SqliteJournal
from tests.unit.reports import test_staffing as generated

MON = datetime(2026, 11, 2, tzinfo=UTC).timestamp()  # a Monday
TUE = MON + 86400
H = 3600.0


def _call(call_id: str, at: float, *notes: tuple[float, str, dict[str, str]]) -> list[Entry]:
    entries = [Entry(at, call_id, "arrived", {"plan": "shop", "caller_number": "79001234567"})]
    return entries + [Entry(at + after, call_id, kind, fields) for after, kind, fields in notes]


def _journal() -> list[Entry]:
    """Two days: answered in and out of sla, abandoned, self-service, overflow, callback."""
    entries = [
        *_call("c1", MON + 9 * H,
               (5, "tag", {"plan": "shop", "tag": "orders"}),
               (6, "queue_join", {"queue": "sales", "priority": "0"}),
               (16, "answered", {"queue": "sales", "agent": "a1", "wait": "10.0", "sla": "20",
                                 "topic": "orders"}),
               (136, "agent_hung_up", {"queue": "sales", "agent": "a1", "talk": "120.0"}),
               (136, "ended", {"outcome": "answered", "plan": "shop", "seconds": "136"})),
        *_call("c2", MON + 9.5 * H,
               (4, "tag", {"plan": "shop", "tag": "returns"}),
               (5, "queue_join", {"queue": "support", "priority": "0"}),
               (45, "answered", {"queue": "support", "agent": "a2", "wait": "40.0", "sla": "30"}),
               (345, "caller_hung_up", {"queue": "support", "agent": "a2", "talk": "300.0"}),
               (345, "ended", {"outcome": "answered", "plan": "shop", "seconds": "345"})),
        *_call("c3", MON + 9.75 * H,
               (3, "tag", {"plan": "shop", "tag": "orders"}),
               (4, "queue_join", {"queue": "sales", "priority": "0"}),
               (29, "queue_abandoned", {"queue": "sales", "wait": "25.0", "sla": "20"}),
               (29, "ended", {"outcome": "abandoned", "plan": "shop", "seconds": "29"})),
        *_call("c4", MON + 10 * H + 600,
               (3, "menu_choice", {"plan": "shop", "node": "main", "option": "3"}),
               (40, "ended", {"outcome": "completed", "plan": "shop", "seconds": "40"})),
        Entry(MON + 11 * H, "", "agent_request", {"agent": "a1", "action": "pause"}),
        *_call("c5", TUE + 14 * H,
               (2, "tag", {"plan": "shop", "tag": "returns"}),
               (3, "queue_join", {"queue": "support", "priority": "0"}),
               (63, "queue_exit", {"queue": "support", "reason": "timeout", "wait": "60.0",
                                   "sla": "30"}),
               (63, "queue_join", {"queue": "sales", "priority": "0"}),
               (68, "ring_failed", {"queue": "sales", "agent": "a2", "cause": "busy"}),
               (68, "answered", {"queue": "sales", "agent": "a1", "wait": "5.0", "sla": "20"}),
               (128, "agent_hung_up", {"queue": "sales", "agent": "a1", "talk": "60.0"}),
               (128, "ended", {"outcome": "answered", "plan": "shop", "seconds": "128"})),
        *_call("c6", TUE + 14 * H + 1200,
               (2, "tag", {"plan": "shop", "tag": "orders"}),
               (3, "queue_join", {"queue": "sales", "priority": "0"}),
               (93, "queue_callback", {"queue": "sales", "wait": "90.0", "sla": "20"}),
               (95, "ended", {"outcome": "callback", "plan": "shop", "seconds": "95"})),
    ]  # fmt: skip
    return sorted(entries, key=lambda e: e.at)


def _row(group: str, *figures: float | None) -> reports.Row:
    return reports.Row(group, *figures)  # type: ignore[arg-type]


def test_each_call_is_reconstructed_from_its_notes() -> None:
    records = {r.call_id: r for r in reports.calls(_journal())}

    assert list(records) == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert records["c5"] == reports.CallRecord(
        "c5", TUE + 14 * H, plan="shop", queue="sales", topic="returns", answered=True,
        wait=5.0, sla=20.0, talk=60.0, outcome="answered",
    )  # fmt: skip
    assert records["c3"].abandoned and records["c3"].missed and records["c3"].wait == 25.0
    assert records["c6"].missed and not records["c6"].abandoned
    assert not records["c4"].queue and not records["c4"].missed


def test_a_call_seen_from_its_middle_starts_at_its_first_note() -> None:
    late = [e for e in _journal() if e.call_id == "c1" and e.kind != "arrived"]

    (record,) = reports.calls(late)

    assert record.arrived == MON + 9 * H + 5
    assert record.answered and record.talk == 120.0


def test_figures_by_day() -> None:
    report = reports.build(_journal(), "day")

    assert report.periods == [
        _row("2026-11-02", 4, 2, 1, 1 / 3, 25.0, 1 / 3, 210.0),
        _row("2026-11-03", 2, 1, 0, 0.0, 5.0, 1.0, 60.0),
        _row("total", 6, 3, 1, 0.25, 55 / 3, 0.5, 160.0),
    ]


def test_figures_by_queue_and_by_topic() -> None:
    report = reports.build(_journal(), "day")

    assert report.queues == [
        _row("sales", 4, 2, 1, 1 / 3, 7.5, 2 / 3, 90.0),
        _row("support", 1, 1, 0, 0.0, 40.0, 0.0, 300.0),
        _row("total", 5, 3, 1, 0.25, 55 / 3, 0.5, 160.0),
    ]
    assert report.topics == [
        _row("-", 1, 0, 0, None, None, None, None),
        _row("orders", 3, 1, 1, 0.5, 10.0, 0.5, 120.0),
        _row("returns", 2, 2, 0, 0.0, 22.5, 0.5, 180.0),
        _row("total", 6, 3, 1, 0.25, 55 / 3, 0.5, 160.0),
    ]


def test_groups_by_hour_and_weekday_and_missed_calls_per_hour() -> None:
    by_hour = reports.build(_journal(), "hour")
    by_weekday = reports.build(_journal(), "weekday")

    assert [(r.group, r.calls) for r in by_hour.periods] == [
        ("2026-11-02 09:00", 3), ("2026-11-02 10:00", 1), ("2026-11-03 14:00", 2), ("total", 6),
    ]  # fmt: skip
    assert [(r.group, r.calls) for r in by_weekday.periods] == [
        ("1 Mon", 4), ("2 Tue", 2), ("total", 6),
    ]  # fmt: skip
    assert {h: n for h, n in by_hour.missed_by_hour.items() if n} == {"09": 1, "14": 1}
    assert len(by_hour.missed_by_hour) == 24


def test_an_empty_journal_gives_a_total_of_nothing() -> None:
    report = reports.build([], "day")

    assert report.periods == [_row("total", 0, 0, 0, None, None, None, None)]
    assert "missed calls by hour\nnone" in reports.as_table(report)


def _config_with(tmp_path: Path, entries: list[Entry]) -> Path:
    """A config whose store is a SQLite file holding `entries`."""
    journal = SqliteJournal(tmp_path / "var" / "ivr.sqlite3", batch=5000)
    for entry in entries:
        journal.append(entry.call_id, entry.kind, entry.fields, entry.at)
    journal.close()
    path = tmp_path / "config" / "ivr.yaml"
    path.parent.mkdir()
    path.write_text("store:\n  sqlite: ../var/ivr.sqlite3\n")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config whose store is a SQLite file holding the journal."""
    return _config_with(tmp_path, _journal())


def _report(capsys: pytest.CaptureFixture[str], config: Path, *options: str) -> str:
    argv = ["report", "--from", "2026-11-01", "--to", "2026-12-01", "--config", str(config)]
    assert main([*argv, *options]) == 0
    return capsys.readouterr().out


def test_cli_report_as_table(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _report(capsys, config)

    assert out.splitlines()[:4] == [
        "day         calls  answered  abandoned  abandon_rate   asa  service_level    aht",
        "2026-11-02      4         2          1         33.3%  25.0          33.3%  210.0",
        "2026-11-03      2         1          0          0.0%   5.0         100.0%   60.0",
        "total           6         3          1         25.0%  18.3          50.0%  160.0",
    ]
    assert (
        "\n-            1         0          0             -     -              -      -\n" in out
    )
    assert out.endswith("missed calls by hour\n09  1\n14  1\n")


def test_cli_report_as_csv(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = list(
        csv.reader(io.StringIO(_report(capsys, config, "--by", "weekday", "--format", "csv")))
    )

    assert rows[0] == ["section", "group", *reports.COLUMNS]
    assert rows[1] == ["weekday", "1 Mon", "4", "2", "1", "0.3333", "25.0", "0.3333", "210.0"]
    assert ["queue", "sales", "4", "2", "1", "0.3333", "7.5", "0.6667", "90.0"] in rows
    assert ["topic", "-", "1", "0", "0", "", "", "", ""] in rows
    assert ["missed_by_hour", "14", "1", "", "", "", "", "", ""] in rows


def test_cli_report_as_json_within_the_window(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", "--from", "2026-11-03", "--to", "2026-11-04", "--format", "json"]
    assert main([*argv, "--by", "hour", "--config", str(config)]) == 0
    data = json.loads(capsys.readouterr().out)

    assert data["by"] == "hour"
    assert data["periods"][0] == {
        "group": "2026-11-03 14:00", "calls": 2, "answered": 1, "abandoned": 0,
        "abandon_rate": 0.0, "asa": 5.0, "service_level": 1.0, "aht": 60.0,
    }  # fmt: skip
    assert [q["group"] for q in data["queues"]] == ["sales", "total"]
    assert data["missed_by_hour"]["14"] == 1


def test_cli_report_says_when_there_is_no_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config" / "ivr.yaml"
    config.parent.mkdir()
    config.write_text("{}\n")

    assert (
        main(["report", "--from", "2026-11-01", "--to", "2026-12-01", "--config", str(config)]) == 1
    )
    assert "no journal at" in capsys.readouterr().err
    assert not (tmp_path / "var").exists()  # no empty database was made


def test_cli_report_by_weekday_over_a_generated_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config_with(tmp_path, generated.month(with_abandons=True))
    window = ["--from", str(generated.START), "--to", str(generated.END), "--tz", generated.TZ]
    argv = ["report", *window, "--by", "weekday", "--format", "json", "--config", str(config)]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)

    # What the generator made, per weekday over its four weeks (Moscow time); every answer
    # came within the 20 s target, so service level is the share answered.
    weeks = generated.WEEKS
    assert generated.ANSWER_WAIT <= 20
    expected: list[dict[str, Any]] = []
    for weekday, name in enumerate(reports.WEEKDAYS):
        queued = [(h, i) for h in range(24) for i in range(generated.per_hour(weekday, h))]
        abandoned = weeks * sum(1 for _, i in queued if generated.abandons(i, True))
        answered = weeks * len(queued) - abandoned
        expected.append({
            "group": f"{weekday + 1} {name}",
            "calls": weeks * (len(queued) + 1),  # and one self-service call every night
            "answered": answered,
            "abandoned": abandoned,
            "abandon_rate": pytest.approx(abandoned / (answered + abandoned), abs=1e-4),
            "asa": generated.ANSWER_WAIT,
            "service_level": pytest.approx(answered / (answered + abandoned), abs=1e-4),
            "aht": generated.talk(weekday),
        })  # fmt: skip
    assert data["periods"][:7] == expected
    total = data["periods"][7]
    assert total["group"] == "total"
    assert total["calls"] == sum(row["calls"] for row in expected)
    assert total["answered"] == sum(row["answered"] for row in expected)
    assert total["abandoned"] == sum(row["abandoned"] for row in expected)
    (sales, _) = data["queues"]
    assert sales["group"] == "sales" and sales["calls"] == total["calls"] - 7 * weeks
    # Every abandon is a missed call, in the hour it arrived.
    for hour, missed in data["missed_by_hour"].items():
        assert missed == weeks * sum(
            1
            for weekday in range(7)
            for i in range(generated.per_hour(weekday, int(hour)))
            if generated.abandons(i, True)
        ), hour
