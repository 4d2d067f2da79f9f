"""Agents needed per weekday and hour over a generated month of calls, and `ivr forecast`.

`python -m tests.unit.reports.test_staffing docs/staffing.png` draws the README's heat map from
the same month.
"""

from __future__ import annotations

import csv
import io
import json
import struct
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.cli.main import main
from ivr.reports import erlang as forecast
from ivr.reports import staffing
from ivr.store.port import Entry
from ivr.store.sqlite import SqliteJournal

TZ = "Europe/Moscow"
START, END = date(2026, 11, 2), date(2026, 11, 30)  # Monday to Monday: four whole weeks
WEEKS = 4
ANSWER_WAIT, ABANDON_WAIT = 10.0, 40.0


def per_hour(weekday: int, hour: int) -> int:
    """Queued calls in that hour of every such day: afternoons busy, Saturday busier."""
    if weekday < 5:
        return 8 if 9 <= hour <= 12 else 24 if 13 <= hour <= 17 else 6 if 18 <= hour <= 20 else 0
    if weekday == 5:
        return 36 if 10 <= hour <= 19 else 0
    return 4 if 11 <= hour <= 16 else 0


def talk(weekday: int) -> float:
    return 240.0 if weekday == 5 else 180.0


def abandons(index: int, with_abandons: bool) -> bool:
    return with_abandons and index % 6 == 5


def month(with_abandons: bool = False) -> list[Entry]:
    """Four identical weeks in Moscow time; one self-service call at 03:00 every night."""
    zone = ZoneInfo(TZ)
    entries: list[Entry] = []
    day = START
    while day < END:
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()
        night = f"{day}-menu"
        entries += [
            Entry(midnight + 3 * 3600, night, "arrived", {"plan": "shop"}),
            Entry(midnight + 3 * 3600 + 30, night, "ended", {"outcome": "completed"}),
        ]
        for hour in range(24):
            n = per_hour(day.weekday(), hour)
            for i in range(n):
                at = midnight + hour * 3600 + (i + 0.5) * 3600 / n
                call = f"{day}-{hour:02d}-{i}"
                q = {"queue": "sales"}
                entries += [
                    Entry(at, call, "arrived", {"plan": "shop"}),
                    Entry(at + 2, call, "queue_join", {**q, "priority": "0"}),
                ]
                if abandons(i, with_abandons):
                    wait = {"wait": str(ABANDON_WAIT), "sla": "20"}
                    entries.append(Entry(at + 2 + ABANDON_WAIT, call, "queue_abandoned", q | wait))
                    continue
                wait = {"wait": str(ANSWER_WAIT), "sla": "20", "agent": "a1"}
                done = at + 2 + ANSWER_WAIT + talk(day.weekday())
                entries += [
                    Entry(at + 2 + ANSWER_WAIT, call, "answered", q | wait),
                    Entry(done, call, "agent_hung_up", q | {"talk": str(talk(day.weekday()))}),
                    Entry(done, call, "ended", {"outcome": "answered"}),
                ]
        day += timedelta(days=1)
    return sorted(entries, key=lambda e: e.at)


def _expected_aht_and_patience(with_abandons: bool) -> tuple[float, float | None]:
    talks = waits = 0.0
    answered = abandoned = 0
    for weekday in range(7):
        for hour in range(24):
            for i in range(per_hour(weekday, hour)):
                if abandons(i, with_abandons):
                    abandoned += 1
                    waits += ABANDON_WAIT
                else:
                    answered += 1
                    talks += talk(weekday)
                    waits += ANSWER_WAIT
    return talks / answered, (waits / abandoned if abandoned else None)


def test_erlang_c_per_cell_when_nobody_hangs_up() -> None:
    result = staffing.build(month(), START, END, TZ)
    aht, _ = _expected_aht_and_patience(False)

    assert result.model == "erlang_c" and result.mean_patience is None
    assert result.days == (WEEKS,) * 7
    assert result.calls == WEEKS * sum(per_hour(w, h) for w in range(7) for h in range(24))
    assert result.aht == pytest.approx(aht)
    monday = result.cell(0, 14)
    assert (monday.calls, monday.arrivals_per_hour, monday.aht, monday.aht_from) == (
        96,
        24.0,
        180.0,
        "cell",
    )
    assert monday.agents == forecast.agents_needed(24, 180, 20, 0.8) == 3
    saturday = result.cell(5, 14)
    assert (saturday.aht, saturday.aht_from) == (240.0, "cell")
    assert saturday.agents == forecast.agents_needed(36, 240, 20, 0.8) == 5
    sunday = result.cell(6, 12)  # 16 calls: too few for its own handle time
    assert (sunday.arrivals_per_hour, sunday.aht_from) == (4.0, "overall")
    assert sunday.agents == forecast.agents_needed(4, aht, 20, 0.8) == 2
    assert result.cell(2, 3).calls == 0 and result.cell(2, 3).agents == 0  # self-service only
    assert result.hours == list(range(9, 21))


def test_erlang_a_with_patience_from_the_waits_when_callers_hang_up() -> None:
    result = staffing.build(month(with_abandons=True), START, END, TZ, 0.9, 15)
    aht, patience = _expected_aht_and_patience(True)

    assert result.model == "erlang_a"
    assert patience is not None and result.mean_patience == pytest.approx(patience)
    assert result.abandoned == WEEKS * sum(
        1 for w in range(7) for h in range(24) for i in range(per_hour(w, h)) if abandons(i, True)
    )
    for weekday, hour, cell_aht in ((0, 14, 180.0), (5, 14, 240.0), (6, 12, aht)):
        cell = result.cell(weekday, hour)
        assert cell.aht == pytest.approx(cell_aht)
        assert cell.agents == forecast.agents_needed_with_abandonment(
            per_hour(weekday, hour), cell_aht, 15, 0.9, patience
        )
    assert "Erlang A" in result.method and "Erlang A" in staffing.as_table(result)


def test_the_table_has_weekday_rows_and_busy_hour_columns() -> None:
    table = staffing.as_table(staffing.build(month(), START, END, TZ))
    lines = table.splitlines()

    assert lines[0] == "Agents needed per hour (80% answered within 20 s)"
    assert lines[1].startswith("Erlang C: no queued caller hung up; handle time 198 s;")
    assert lines[3].split() == [f"{h:02d}" for h in range(9, 21)]
    assert lines[4].split() == ["Mon", *["2"] * 4, *["3"] * 5, *["2"] * 3]
    assert lines[9].split() == ["Sat", "0", *["5"] * 10, "0"]
    assert lines[10].split() == ["Sun", "0", "0", *["2"] * 6, "0", "0", "0", "0"]


def test_csv_and_json_hold_all_cells() -> None:
    result = staffing.build(month(), START, END, TZ)
    rows = list(csv.DictReader(io.StringIO(staffing.as_csv(result))))
    data = json.loads(staffing.as_json(result))

    assert len(rows) == 168
    assert rows[14] == {"weekday": "Mon", "hour": "14", "calls": "96", "arrivals_per_hour": "24.0",
                        "aht": "180.0", "aht_from": "cell", "agents": "3"}  # fmt: skip
    assert data["model"] == "erlang_c" and data["mean_patience"] is None
    assert data["title"] == "Agents needed per hour (80% answered within 20 s)"
    assert data["hours"] == list(range(9, 21))
    assert data["cells"][5 * 24 + 14]["agents"] == 5
    assert data["cells"][5 * 24 + 14]["weekday"] == "Sat"


def test_an_empty_window_needs_nobody() -> None:
    result = staffing.build([], START, END, TZ)

    assert result.calls == 0 and all(c.agents == 0 for c in result.cells)
    assert staffing.as_table(result).endswith("no queued calls in the window\n")


def test_queued_calls_without_any_answer_cannot_be_staffed() -> None:
    entries = [Entry(1e9, "c1", "arrived", {}), Entry(1e9 + 1, "c1", "queue_join", {"queue": "q"})]
    with pytest.raises(ValueError, match="no handle time"):
        staffing.build(entries, date(2001, 9, 1), date(2001, 9, 15), "UTC")


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_the_heat_map_is_a_png_of_the_expected_size(tmp_path: Path) -> None:
    path = tmp_path / "staffing.png"
    staffing.write_png(staffing.build(month(with_abandons=True), START, END, TZ), path)

    assert _png_size(path) == staffing.PNG_SIZE == (1200, 500)
    assert path.stat().st_size > 20_000


def test_cli_forecast_as_json_with_a_heat_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = SqliteJournal(tmp_path / "var" / "ivr.sqlite3", batch=5000)
    for entry in month():
        journal.append(entry.call_id, entry.kind, entry.fields, entry.at)
    journal.close()
    config = tmp_path / "config" / "ivr.yaml"
    config.parent.mkdir()
    config.write_text("store:\n  sqlite: ../var/ivr.sqlite3\n")
    png = tmp_path / "out.png"

    argv = ["forecast", "--from", "2026-11-02", "--to", "2026-11-30", "--tz", TZ,
            "--config", str(config), "--format", "json", "--png", str(png)]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cells"][14]["agents"] == 3 and data["tz"] == TZ
    assert _png_size(png) == (1200, 500)

    assert main([*argv[:-4], "--format", "table"]) == 0
    assert capsys.readouterr().out.startswith("Agents needed per hour (80% answered within 20 s)")


def test_cli_forecast_says_when_there_is_no_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config" / "ivr.yaml"
    config.parent.mkdir()
    config.write_text("{}\n")
    assert main(["forecast", "--config", str(config)]) == 1
    assert "no journal" in capsys.readouterr().err


if __name__ == "__main__":  # python -m tests.unit.reports.test_staffing docs/staffing.png
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/staffing.png")
    staffing.write_png(staffing.build(month(with_abandons=True), START, END, TZ), out)
    print(f"wrote {out}")
