"""Copying stored recordings out of Asterisk over ARI."""

from __future__ import annotations

import stat
from pathlib import Path

import aiohttp
import pytest

from ivr.recordings.fetch import FetchError, fetch_stored
from tests.unit.recordings.conftest import PASSWORD, USER, FakeAri

AUDIO = b"RIFF" + bytes(range(256)) * 4000  # about 1 MB


async def test_a_stored_recording_is_copied_privately_then_deleted_from_asterisk(
    ari: FakeAri, tmp_path: Path
) -> None:
    ari.stored["1700000000.42"] = AUDIO
    dest = tmp_path / "2026" / "05" / "01" / "1700000000.42.wav"

    async with aiohttp.ClientSession() as session:
        size = await fetch_stored(session, ari.url, USER, PASSWORD, "1700000000.42", dest)

    assert size == len(AUDIO) and dest.read_bytes() == AUDIO
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert stat.S_IMODE(dest.parent.stat().st_mode) == 0o700
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]  # no temporary file left
    assert ari.requests == [
        ("GET", "/ari/recordings/stored/1700000000.42/file"),
        ("DELETE", "/ari/recordings/stored/1700000000.42"),
    ]
    assert ari.stored == {}


async def test_a_name_with_a_subfolder_travels_as_one_quoted_segment(
    ari: FakeAri, tmp_path: Path
) -> None:
    ari.stored["qa/c1"] = b"RIFF"
    async with aiohttp.ClientSession() as session:
        await fetch_stored(session, ari.url, USER, PASSWORD, "qa/c1", tmp_path / "c1.wav")
    assert ari.requests[0] == ("GET", "/ari/recordings/stored/qa%2Fc1/file")


@pytest.mark.parametrize(
    ("prepare", "password", "status", "reason"),
    [
        (None, PASSWORD, 404, "no such recording"),
        (None, "wrong-password", 401, "refused the user and password"),
        (500, PASSWORD, 500, "HTTP 500"),
    ],
)
async def test_a_failed_download_says_why_leaves_nothing_and_keeps_asterisks_copy(
    ari: FakeAri,
    tmp_path: Path,
    prepare: int | None,
    password: str,
    status: int,
    reason: str,
) -> None:
    if status != 404:
        ari.stored["c1"] = AUDIO
    ari.fail_with = prepare
    dest = tmp_path / "c1.wav"

    async with aiohttp.ClientSession() as session:
        with pytest.raises(FetchError, match=reason) as error:
            await fetch_stored(session, ari.url, USER, password, "c1", dest)

    assert error.value.status == status and error.value.name == "c1"
    assert PASSWORD not in str(error.value) and password not in str(error.value)
    assert list(tmp_path.iterdir()) == []
    assert all(method == "GET" for method, _ in ari.requests)


async def test_an_unreachable_ari_is_a_fetch_error_without_the_password(tmp_path: Path) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(FetchError, match="download failed") as error:
            await fetch_stored(session, "http://127.0.0.1:9", USER, PASSWORD, "c1",
                               tmp_path / "c1.wav")  # fmt: skip
    assert PASSWORD not in str(error.value) and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name", ["", "..", "../etc/passwd", "/abs", "a//b", "a/../b", "a b", "x?y"]
)
async def test_a_name_that_could_leave_asterisks_folder_is_never_asked_for(
    ari: FakeAri, tmp_path: Path, name: str
) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(FetchError, match="not a stored recording name"):
            await fetch_stored(session, ari.url, USER, PASSWORD, name, tmp_path / "c1.wav")
    assert ari.requests == []
