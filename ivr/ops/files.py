"""Recordings, voicemail and survey comments on disk (`YYYY/MM/DD/<name>.wav` + sidecar) that
belong to a caller, found by their sidecars."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ivr.recordings.files import day_folders, read_sidecar


def sidecars(root: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every readable sidecar under `root`'s day folders, with its path."""
    for day in day_folders(root):
        for sidecar in sorted(day.glob("*.json")):
            if sidecar.is_symlink() or not sidecar.is_file():
                continue
            try:
                yield sidecar, read_sidecar(sidecar)
            except (OSError, ValueError):
                continue


def remove(root: Path, doomed: Callable[[dict[str, Any]], bool]) -> list[Path]:
    """Delete each recording (audio, then sidecar) whose sidecar `doomed` says yes to; the
    files deleted."""
    gone: list[Path] = []
    for sidecar, meta in list(sidecars(root)):
        if not doomed(meta):
            continue
        # The audio first: a crash in between leaves the sidecar, found again next time.
        for path in (sidecar.with_suffix(".wav"), sidecar):
            if path.exists() or path.is_symlink():
                path.unlink()
                gone.append(path)
    return gone
