"""Retention: exactly the recordings past their own retention go, and nothing else."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.cli.main import main
from ivr.recordings.files import path_for, write_sidecar
from ivr.recordings.prune import prune

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
log = logging.getLogger("test.prune")


def recording(
    root: Path, call_id: str, ended_days_ago: float, retention_days: int, now: datetime = NOW
) -> Path:
    end = now - timedelta(days=ended_days_ago)
    wav = path_for(root, call_id, end - timedelta(minutes=5))
    write_sidecar(wav, {"call_id": call_id, "start": (end - timedelta(minutes=5)).isoformat(),
                        "end": end.isoformat(), "retention_days": retention_days})  # fmt: skip
    wav.write_bytes(b"RIFF....WAVE")
    return wav


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, object]]:
    return [r.__dict__["fields"] for r in caplog.records if r.getMessage() == name]


def test_only_recordings_past_their_own_retention_are_deleted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    old = recording(tmp_path, "old", ended_days_ago=91, retention_days=90)
    young = recording(tmp_path, "young", ended_days_ago=10, retention_days=90)
    kept_long = recording(tmp_path, "kept-long", ended_days_ago=91, retention_days=365)
    short = recording(tmp_path, "short", ended_days_ago=8, retention_days=7)
    edge = recording(tmp_path, "edge", ended_days_ago=30 - 1 / 86400, retention_days=30)

    deleted = prune(tmp_path, NOW, log)

    assert sorted(deleted) == sorted(
        [old, old.with_suffix(".json"), short, short.with_suffix(".json")]
    )
    for gone in deleted:
        assert not gone.exists()
    for kept in (young, kept_long, edge):
        assert kept.exists() and kept.with_suffix(".json").exists()
    logged = {str(e["call"]) for e in events(caplog, "recording.deleted")}
    assert logged == {"old", "short"}


def test_a_recording_without_a_sidecar_is_kept_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    strays = [tmp_path / "2020/01/01" / f"stray{i}.wav" for i in range(3)]
    strays[0].parent.mkdir(parents=True)
    for stray in strays:
        stray.write_bytes(b"RIFF")
    broken = recording(tmp_path, "broken", ended_days_ago=400, retention_days=1)
    broken.with_suffix(".json").write_text("{not json")

    assert prune(tmp_path, NOW, log) == []

    assert all(s.exists() for s in strays) and broken.exists()
    warnings = events(caplog, "recording.kept_without_sidecar")
    assert len(warnings) == 1 and warnings[0]["count"] == 3
    assert len(events(caplog, "recording.sidecar_unreadable")) == 1


def test_emptied_day_folders_go_and_others_stay(tmp_path: Path) -> None:
    alone = recording(tmp_path, "alone", ended_days_ago=200, retention_days=90)
    gone_day = alone.parent
    old = recording(tmp_path, "old", ended_days_ago=100, retention_days=90)
    recording(tmp_path, "neighbour", ended_days_ago=100, retention_days=365)
    if alone.parent == old.parent:
        pytest.fail("the test wants two days")

    prune(tmp_path, NOW, log)

    assert not gone_day.exists() and not gone_day.parent.exists()  # day and emptied month
    assert old.parent.exists() and tmp_path.exists()
    assert sorted(os.listdir(old.parent)) == ["neighbour.json", "neighbour.wav"]


def test_a_dry_run_names_what_would_go_and_deletes_nothing(tmp_path: Path) -> None:
    old = recording(tmp_path, "old", ended_days_ago=91, retention_days=90)
    assert prune(tmp_path, NOW, log, dry_run=True) == [old, old.with_suffix(".json")]
    assert old.exists() and old.with_suffix(".json").exists()


def test_half_written_files_left_by_a_crash_go_after_a_day(tmp_path: Path) -> None:
    young = recording(tmp_path, "young", ended_days_ago=1, retention_days=90)
    stale, fresh = young.parent / ".x.wav.abc.tmp", young.parent / ".y.wav.def.tmp"
    for temp in (stale, fresh):
        temp.write_bytes(b"half")
    two_days_ago = (NOW - timedelta(days=2)).timestamp()
    os.utime(stale, (two_days_ago, two_days_ago))
    os.utime(fresh, (NOW.timestamp(), NOW.timestamp()))

    assert prune(tmp_path, NOW, log) == [stale]
    assert fresh.exists() and young.exists()


@pytest.fixture
def root_logger() -> Iterator[None]:
    """`ivr` sets up logging for the process; put the test run's logging back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("root_logger")
def test_ivr_recordings_prune_prints_what_it_deleted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "recordings"
    config = tmp_path / "config" / "ivr.yaml"
    config.parent.mkdir()
    config.write_text("recordings: {folder: ../recordings}\nlog: {level: warning}\n")
    # `ivr recordings prune` goes by the real clock, not the other tests' NOW.
    today = datetime.now(UTC)
    old = recording(folder, "old", ended_days_ago=10_000, retention_days=90, now=today)
    young = recording(folder, "young", ended_days_ago=1, retention_days=90, now=today)

    assert main(["recordings", "prune", "--config", str(config), "--dry-run"]) == 0
    assert old.exists()
    assert main(["recordings", "prune", "--config", str(config)]) == 0

    out, err = capsys.readouterr()
    assert out.splitlines() == [str(old), str(old.with_suffix(".json"))] * 2
    assert "deleted 2 file(s)" in err and "would delete 2 file(s)" in err
    assert not old.exists() and young.exists()


@pytest.mark.usefixtures("root_logger")
def test_ivr_recordings_prune_says_when_there_is_no_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "ivr.yaml"
    config.write_text("recordings: {folder: nowhere}\n")
    assert main(["recordings", "prune", "--config", str(config)]) == 1
    assert "no recordings folder at" in capsys.readouterr().err


def test_voicemail_left_before_it_had_a_retention_goes_after_the_default(tmp_path: Path) -> None:
    # Voicemail sidecars written before callbacks.voicemail_days existed carry no retention.
    left = NOW - timedelta(days=31)
    old = path_for(tmp_path, "vm-old", left)
    write_sidecar(old, {"call_id": "a", "at": left.isoformat(), "end": left.isoformat()})
    old.write_bytes(b"RIFF....WAVE")
    recent = path_for(tmp_path, "vm-recent", NOW - timedelta(days=29))
    stamp = (NOW - timedelta(days=29)).isoformat()
    write_sidecar(recent, {"call_id": "b", "at": stamp, "end": stamp})
    recent.write_bytes(b"RIFF....WAVE")
    own = recording(tmp_path, "vm-own", ended_days_ago=31, retention_days=60)

    assert prune(tmp_path, NOW, log) == []  # recordings without a retention are kept
    deleted = prune(tmp_path, NOW, log, default_days=30)

    assert sorted(deleted) == sorted([old, old.with_suffix(".json")])
    assert recent.exists() and own.exists()
