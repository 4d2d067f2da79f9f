"""The recordings folder layout, safe names, private modes and atomic sidecars."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.recordings.files import path_for, read_sidecar, sidecar_path, write_sidecar

MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would leave files world-readable: the modes must not depend on it."""
    old = os.umask(0)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_recording_lives_under_its_day_in_the_time_zone_it_started_in(tmp_path: Path) -> None:
    late = datetime(2026, 5, 1, 22, 30, tzinfo=UTC)  # already 2 May in Moscow
    assert path_for(tmp_path, "1700000000.42", late) == tmp_path / "2026/05/01/1700000000.42.wav"
    moscow = late.astimezone(MOSCOW)
    assert path_for(tmp_path, "1700000000.42", moscow) == tmp_path / "2026/05/02/1700000000.42.wav"


UNSAFE_IDS = [
    "",
    ".",
    "..",
    ".hidden",
    "../x",
    "a/b",
    "/etc/passwd",
    "a\\b",
    "a b",
    "a\x00b",
    "звонок",
    "a\nb",
    "*",
    "~root",
]


@pytest.mark.parametrize("call_id", [*UNSAFE_IDS, "x" * 101])
def test_a_call_id_that_is_not_a_plain_name_never_becomes_a_path(
    tmp_path: Path, call_id: str
) -> None:
    with pytest.raises(ValueError, match="cannot name a recording file"):
        path_for(tmp_path, call_id, datetime(2026, 5, 1, tzinfo=UTC))


@given(st.text(max_size=120))
def test_whatever_the_call_id_the_file_stays_in_its_day_folder(call_id: str) -> None:
    root = Path("/srv/recordings")
    try:
        path = path_for(root, call_id, datetime(2026, 5, 1, tzinfo=UTC))
    except ValueError:
        return
    assert path.parent == root / "2026/05/01" and not path.name.startswith(".")
    assert os.path.normpath(path) == str(path)


@pytest.mark.usefixtures("open_umask")
def test_sidecars_and_their_folders_are_private(tmp_path: Path) -> None:
    wav = path_for(tmp_path / "recordings", "c1", datetime(2026, 5, 1, tzinfo=UTC))

    written = write_sidecar(wav, {"call_id": "c1", "survey": {"csat": 5}})

    assert written == sidecar_path(wav) == wav.with_name("c1.json")
    assert mode(written) == 0o600
    day, month, year = wav.parent, wav.parent.parent, wav.parent.parent.parent
    for folder in (day, month, year, tmp_path / "recordings"):
        assert mode(folder) == 0o700, folder
    assert read_sidecar(wav) == {"call_id": "c1", "survey": {"csat": 5}}


def test_rewriting_a_sidecar_replaces_it_whole_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    wav = path_for(tmp_path, "c1", datetime(2026, 5, 1, tzinfo=UTC))
    write_sidecar(wav, {"call_id": "c1", "pauses": list(range(1000))})
    write_sidecar(wav, {"call_id": "c1", "survey": {"nps": 9}})

    assert read_sidecar(wav.with_suffix(".json")) == {"call_id": "c1", "survey": {"nps": 9}}
    assert [p.name for p in wav.parent.iterdir()] == ["c1.json"]


def test_an_unreadable_sidecar_is_an_error_not_a_guess(tmp_path: Path) -> None:
    wav = tmp_path / "c1.wav"
    wav.with_suffix(".json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        read_sidecar(wav)
    wav.with_suffix(".json").write_text("{half")
    with pytest.raises(ValueError):
        read_sidecar(wav)
