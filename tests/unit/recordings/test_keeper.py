"""The recording keeper: a recorded call's audio and sidecar end up in the folder."""

from __future__ import annotations

import asyncio
import functools
import logging
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from ivr.calls.commands import Note
from ivr.recordings.fetch import fetch_stored
from ivr.recordings.files import private_temp, read_sidecar
from ivr.recordings.keeper import RecordingKeeper
from ivr.recordings.prune import prune
from tests.unit.recordings.conftest import PASSWORD, USER, FakeAri

Fields = dict[str, str]
MOSCOW = ZoneInfo("Europe/Moscow")
T0 = datetime(2026, 5, 1, 23, 50, tzinfo=MOSCOW).timestamp()  # the day folder is Moscow's
AUDIO = b"RIFF....WAVEfmt " + b"\x00" * 4000
ANSWERED = {"queue": "sales", "agent": "agent1", "topic": "returns",
            "caller_number": "79001234567", "language": "ru", "wait": "8.0"}  # fmt: skip
STARTED = {"name": "rec-c1", "queue": "sales", "agent": "agent1", "team": "callpoint",
           "retention_days": "30"}  # fmt: skip


@dataclass
class Spool:
    """Asterisk's stored recordings, as the keeper's fetch sees them."""

    stored: dict[str, bytes] = field(default_factory=dict)
    failures: int = 0
    calls: list[str] = field(default_factory=list)
    gate: asyncio.Event | None = None

    async def fetch(self, name: str, dest: Path) -> int:
        self.calls.append(name)
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise ConnectionError("ARI is restarting")
        body = self.stored.pop(name)
        fd, temp = private_temp(dest)
        with open(fd, "wb") as out:
            out.write(body)
        temp.replace(dest)
        return len(body)


def feed(keeper: RecordingKeeper, call: str, notes: Sequence[tuple[float, str, Fields]]) -> None:
    for offset, kind, fields in notes:
        keeper.record(Note(call, kind, fields), T0 + offset)


RECORDED_CALL = [
    (0, "arrived", {"caller_number": "79001234567"}),
    (20, "answered", ANSWERED),
    (21, "recording_started", STARTED),
    (60, "recording_paused", {"name": "rec-c1"}),
    (75, "recording_resumed", {"name": "rec-c1"}),
    (201, "recording_finished", {"name": "rec-c1"}),
    (230, "survey_answer", {"kind": "csat", "score": "4"}),
    (240, "ended", {"outcome": "answered"}),
]


async def test_a_recorded_call_is_kept_with_a_sidecar_saying_whose_it_was(tmp_path: Path) -> None:
    spool = Spool({"rec-c1": AUDIO})
    keeper = RecordingKeeper(tmp_path, spool.fetch, MOSCOW, retry_delays=())

    feed(keeper, "1700000000.42", RECORDED_CALL)
    await keeper.close()

    wav = tmp_path / "2026" / "05" / "01" / "1700000000.42.wav"
    assert wav.read_bytes() == AUDIO and stat.S_IMODE(wav.stat().st_mode) == 0o600
    assert read_sidecar(wav) == {
        "call_id": "1700000000.42",
        "recording": "rec-c1",
        "start": "2026-05-01T23:50:21+03:00",
        "end": "2026-05-01T23:53:21+03:00",
        "duration_seconds": 180.0,
        "paused_seconds": 15.0,
        "queue": "sales",
        "team": "callpoint",
        "agent": "agent1",
        "agents": ["agent1"],
        "topic": "returns",
        "caller_number": "79001234567",
        "pauses": [
            {
                "start": 39.0,
                "end": 54.0,
                "seconds": 15.0,
                "start_at": "2026-05-01T23:51:00+03:00",
                "end_at": "2026-05-01T23:51:15+03:00",
            }
        ],
        "retention_days": 30,
        "survey": {"csat": 4},
    }


async def test_calls_that_were_not_recorded_fetch_nothing(tmp_path: Path) -> None:
    spool = Spool()
    keeper = RecordingKeeper(tmp_path, spool.fetch, MOSCOW)
    feed(keeper, "c2", [(0, "answered", ANSWERED), (9, "recording_paused", {"name": "x"}),
                        (10, "ended", {"outcome": "answered"})])  # fmt: skip
    await keeper.close()
    assert spool.calls == [] and list(tmp_path.iterdir()) == []


async def test_survey_answers_after_the_call_or_during_the_copy_reach_the_sidecar(
    tmp_path: Path,
) -> None:
    spool = Spool({"rec-c1": AUDIO}, gate=asyncio.Event())
    keeper = RecordingKeeper(tmp_path, spool.fetch, MOSCOW, retry_delays=())
    feed(keeper, "c1", [n for n in RECORDED_CALL if n[1] != "survey_answer"])
    await asyncio.sleep(0)
    feed(keeper, "c1", [(250, "survey_answer", {"kind": "csat", "score": "1"})])  # copying
    spool.gate.set()  # type: ignore[union-attr]
    await keeper.close()
    feed(keeper, "c1", [(900, "survey_answer", {"kind": "nps", "score": "3"})])  # written

    wav = next(tmp_path.rglob("c1.wav"))
    assert read_sidecar(wav)["survey"] == {"csat": 1, "nps": 3}


async def test_a_hang_up_mid_pause_closes_the_pause_and_the_recording(tmp_path: Path) -> None:
    spool = Spool({"rec-c1": AUDIO})
    keeper = RecordingKeeper(tmp_path, spool.fetch, MOSCOW, retry_delays=())
    feed(keeper, "c1", [(0, "recording_started", STARTED), (30, "recording_paused", {}),
                        (50, "ended", {"outcome": "caller_hung_up"})])  # fmt: skip
    await keeper.close()

    sidecar = read_sidecar(next(tmp_path.rglob("c1.wav")))
    assert sidecar["duration_seconds"] == 50.0
    assert [(p["start"], p["end"]) for p in sidecar["pauses"]] == [(30.0, 50.0)]
    assert sidecar["agent"] == "agent1" and sidecar["topic"] == ""


async def test_a_failed_copy_is_retried_then_given_up_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool({"rec-c1": AUDIO, "rec-c2": AUDIO}, failures=1)
    keeper = RecordingKeeper(tmp_path, spool.fetch, MOSCOW, retry_delays=(0.01,))
    feed(keeper, "c1", RECORDED_CALL)
    await keeper.close()
    assert next(tmp_path.rglob("c1.wav")).read_bytes() == AUDIO

    spool.failures = 5
    feed(keeper, "c2", [(0, "recording_started", {**STARTED, "name": "rec-c2"}),
                        (9, "ended", {"outcome": "answered"})])  # fmt: skip
    await keeper.close()
    assert list(tmp_path.rglob("c2.*")) == []
    [failed] = [r for r in caplog.records if r.getMessage() == "recording.fetch_failed"]
    assert failed.levelno == logging.ERROR and failed.__dict__["fields"]["name"] == "rec-c2"


async def test_an_unsafe_call_id_writes_nothing_anywhere(tmp_path: Path) -> None:
    spool = Spool({"rec-c1": AUDIO})
    folder = tmp_path / "recordings"
    keeper = RecordingKeeper(folder, spool.fetch, MOSCOW)
    feed(keeper, "../../escape", RECORDED_CALL)
    await keeper.close()
    assert spool.calls == [] and list(tmp_path.iterdir()) == []


async def test_with_the_real_fetch_a_kept_recording_expires_on_its_own_retention(
    ari: FakeAri, tmp_path: Path
) -> None:
    ari.stored["rec-c1"] = AUDIO
    async with aiohttp.ClientSession() as session:
        fetch = functools.partial(fetch_stored, session, ari.url, USER, PASSWORD)
        keeper = RecordingKeeper(tmp_path, fetch, MOSCOW, retry_delays=())
        feed(keeper, "c1", RECORDED_CALL)
        await keeper.close()
    wav = next(tmp_path.rglob("c1.wav"))
    assert wav.read_bytes() == AUDIO and ari.stored == {}

    log = logging.getLogger("test")
    ended = datetime.fromisoformat(read_sidecar(wav)["end"])
    assert prune(tmp_path, ended.replace(day=30), log) == []  # 29 days later
    assert prune(tmp_path, ended.replace(day=31), log) == [wav, wav.with_suffix(".json")]
