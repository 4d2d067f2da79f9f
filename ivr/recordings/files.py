"""Where recordings live: `<root>/YYYY/MM/DD/<call-id>.wav` with a JSON sidecar beside it.

Recordings hold customers' voices: folders are 0o700, files 0o600, and a call id never
becomes a path unless it is a plain file name.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

CALL_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$")
FOLDER_MODE = 0o700
FILE_MODE = 0o600
SIDECAR_FIELDS = (
    "call_id", "start", "end", "duration_seconds", "queue", "team", "agent", "topic",
    "caller_number", "pauses", "retention_days", "survey",
)  # fmt: skip


def check_call_id(call_id: str) -> str:
    """The call id when it is a safe file name (letters, digits, `._-`, no leading dot)."""
    if not CALL_ID.fullmatch(call_id):
        raise ValueError(f"call id {call_id!r} cannot name a recording file")
    return call_id


def day_folder(root: Path, started: datetime) -> Path:
    """`root/YYYY/MM/DD` for the day the recording started, in `started`'s own time zone."""
    return root / f"{started.year:04d}" / f"{started.month:02d}" / f"{started.day:02d}"


def path_for(root: Path, call_id: str, started: datetime) -> Path:
    """`root/YYYY/MM/DD/<call_id>.wav`; ValueError for a call id that is not a plain name."""
    return day_folder(root, started) / f"{check_call_id(call_id)}.wav"


def sidecar_path(wav_path: Path) -> Path:
    """The sidecar beside a recording: `<call-id>.json`."""
    return wav_path.with_suffix(".json")


def make_private_folder(folder: Path) -> None:
    """Create `folder` and any missing parents, each one it creates with mode 0o700."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another writer made it meanwhile
            path.mkdir(mode=FOLDER_MODE)
            os.chmod(path, FOLDER_MODE)  # mkdir's mode is masked by the umask


def private_temp(dest: Path) -> tuple[int, Path]:
    """An open 0o600 temporary file beside `dest`, to be renamed over it when complete."""
    make_private_folder(dest.parent)
    # A leading dot keeps half-written files out of every `*.wav` / `*.json` listing.
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.fchmod(fd, FILE_MODE)
    return fd, Path(name)


def write_sidecar(wav_path: Path, metadata: dict[str, Any]) -> Path:
    """Write the sidecar of `wav_path` atomically (0o600); readers never see half a file."""
    dest = sidecar_path(wav_path)
    fd, temp = private_temp(dest)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(metadata, out, ensure_ascii=False, indent=2, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, dest)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return dest


def read_sidecar(wav_path: Path) -> dict[str, Any]:
    """The sidecar of a recording (given its .wav or .json path); OSError/ValueError if unusable."""
    data = json.loads(sidecar_path(wav_path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{sidecar_path(wav_path)}: a sidecar must be a JSON object")
    return data


def day_folders(root: Path) -> Iterator[Path]:
    """Every `YYYY/MM/DD` folder under `root`, oldest first; nothing else is looked into."""
    for year in _numbered(root, 4):
        for month in _numbered(year, 2):
            yield from _numbered(month, 2)


def _numbered(folder: Path, width: int) -> list[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(
        Path(e.path)
        for e in entries
        if len(e.name) == width and e.name.isdigit() and e.is_dir(follow_symlinks=False)
    )
