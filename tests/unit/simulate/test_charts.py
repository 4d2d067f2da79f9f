"""The simulator's charts: the plotted numbers are the rows' figures recombined by counts,
and the PNG files are real, deterministic, and change when the figures do."""

from __future__ import annotations

import struct
from datetime import date
from pathlib import Path

import pytest

from ivr.simulate.chart_series import chart_series
from ivr.simulate.charts import draw
from ivr.simulate.figures import HourRow

MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
PNG = b"\x89PNG\r\n\x1a\n"


def row(variant: str = "now", day: date = MONDAY, hour: int = 10, **figures: object) -> HourRow:
    values: dict[str, object] = {
        "calls": 0,
        "answered": 0,
        "abandoned": 0,
        "abandon_rate": None,
        "service_level": None,
        "asa": None,
        "mean_wait": None,
        "answered_in_house": 0,
        "answered_partner_agents": 0,
        "answered_partner_trunk": 0,
        "partner_cost": 0.0,
        "callbacks": 0,
        "voicemail": 0,
        "missed_closed": 0,
    }
    values.update(figures)
    return HourRow(variant=variant, day=day, hour=hour, **values)  # type: ignore[arg-type]


def test_rates_by_hour_weigh_each_day_by_its_calls() -> None:
    rows = [
        # Monday 10:00: 8 answered (6 in time), 2 abandoned; Tuesday 10:00: 1 answered late.
        row(answered=8, abandoned=2, service_level=0.6, abandon_rate=0.2),
        row(day=TUESDAY, answered=1, abandoned=0, service_level=0.0, abandon_rate=0.0),
        row(hour=3, calls=4, missed_closed=4),  # a closed hour: nothing decided
    ]
    by_hour = chart_series(rows).by_hour[0]
    assert by_hour.variant == "now"
    assert by_hour.service_level[10] == pytest.approx(6 / 11)  # not (0.6 + 0) / 2
    assert by_hour.abandon_rate[10] == pytest.approx(2 / 11)
    assert by_hour.decided[10] == 11
    assert by_hour.service_level[3] is None and by_hour.abandon_rate[3] is None
    assert len(by_hour.service_level) == 24


def test_who_answered_is_summed_per_day_and_variant_in_the_order_rows_come() -> None:
    rows = [
        row("with partner", TUESDAY, 9, answered_in_house=3, answered_partner_trunk=1),
        row("now", MONDAY, 9, answered_in_house=5),
        row("with partner", MONDAY, 22, answered_partner_agents=2),
        row("with partner", TUESDAY, 23, answered_partner_agents=4, answered_partner_trunk=2),
    ]
    series = chart_series(rows)
    assert series.variants == ("with partner", "now")
    partner, now = series.answered
    assert partner.days == (MONDAY, TUESDAY)
    assert partner.in_house == (0, 3)
    assert partner.partner_agents == (2, 4)
    assert partner.partner_trunk == (0, 3)
    # The same days for every variant, so that their panels line up.
    assert (now.days, now.in_house, now.partner_agents) == ((MONDAY, TUESDAY), (5, 0), (0, 0))


def test_the_wait_map_is_a_mean_over_callers_by_weekday_and_hour() -> None:
    rows = [
        row(day=MONDAY, hour=10, answered=3, abandoned=1, mean_wait=40.0),
        row(day=date(2026, 12, 14), hour=10, answered=1, mean_wait=0.0),  # next Monday
        row(day=TUESDAY, hour=18, answered=2, mean_wait=15.0),
    ]
    waits = chart_series(rows).waits[0].mean_wait
    assert waits[0][10] == pytest.approx((40.0 * 4 + 0.0 * 1) / 5)
    assert waits[1][18] == pytest.approx(15.0)
    assert waits[0][11] is None and waits[6][10] is None
    assert (len(waits), len(waits[0])) == (7, 24)


def month(variant: str, busy: float) -> list[HourRow]:
    """A fortnight of rows; `busy` scales the waits, abandons and the partner's share."""
    rows = []
    for offset in range(14):
        day = date(2026, 12, 1 + offset)
        for hour in range(8, 22):
            answered = 10 + hour % 5
            abandoned = int(busy * (hour % 3))
            rows.append(
                row(
                    variant,
                    day,
                    hour,
                    calls=answered + abandoned,
                    answered=answered,
                    abandoned=abandoned,
                    service_level=max(0.0, 0.95 - busy * 0.1 * (hour % 4)),
                    abandon_rate=abandoned / (answered + abandoned),
                    mean_wait=busy * (hour % 7) * 10.0,
                    answered_in_house=answered - int(busy) * 2,
                    answered_partner_agents=int(busy),
                    answered_partner_trunk=int(busy),
                )
            )
    return rows


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return draw(month("now", 1.0), tmp_path_factory.mktemp("base"))


def test_the_charts_are_pngs_of_a_sensible_size_and_the_same_rows_give_the_same_bytes(
    base: list[Path], tmp_path: Path
) -> None:
    assert [f.name for f in base] == ["service_by_hour.png", "who_answered.png", "wait_heatmap.png"]
    for path in base:
        width, height = png_size(path)
        assert 600 <= width <= 2000 and 200 <= height <= 1500, (path.name, width, height)
        assert path.stat().st_size > 10_000  # drawn, not blank
        assert b"matplotlib" not in path.read_bytes()  # no version stamped in
    again = draw(month("now", 1.0), tmp_path)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in base]


def test_other_figures_and_a_second_variant_give_other_images(
    base: list[Path], tmp_path: Path
) -> None:
    busier = draw(month("now", 3.0), tmp_path / "busier")
    assert all(a.read_bytes() != b.read_bytes() for a, b in zip(base, busier, strict=True))
    both = draw(month("now", 1.0) + month("with partner", 3.0), tmp_path / "both")
    # Compared side by side: a panel per variant, so those charts grow; the lines overlay.
    assert png_size(both[1])[1] > png_size(base[1])[1]
    assert png_size(both[2])[1] > png_size(base[2])[1]
    assert both[0].read_bytes() != base[0].read_bytes()


def test_no_rows_draw_nothing(tmp_path: Path) -> None:
    assert draw([], tmp_path / "none") == []
    assert not (tmp_path / "none").exists()
