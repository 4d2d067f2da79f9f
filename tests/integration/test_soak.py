"""The soak, two minutes of it: SIPp callers at 5 calls/s through a menu into a queue of 40
SIPp agents (a tenth give up while waiting), on a real Asterisk. The same code as
`bench/soak.py --minutes 30` (docs/soak.md), with its criteria as asserts."""

from __future__ import annotations

from pathlib import Path

from bench.soak import SoakSettings, run_soak
from ivr.lab.paths import LabPaths


def test_two_minutes_at_five_calls_a_second_lose_no_call_and_leak_nothing(
    lab_paths: LabPaths, credentials: dict[str, str], tmp_path: Path
) -> None:
    report = run_soak(lab_paths, credentials, SoakSettings(minutes=2, rate=5), tmp_path)
    print(report.text())
    counts = report.counts
    # A soak that placed nothing would pass every other criterion: the load itself first.
    assert counts["desk"].created + counts["abandon"].created == 600, report.text()
    assert counts["abandon"].successful > 0, report.text()
    assert report.passed, "\n".join(report.failures()) + "\n\n" + report.text()
