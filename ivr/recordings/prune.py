"""Retention: recordings go once their own `retention_days` have passed since the call ended."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from pathlib import Path

from ivr.logs import event
from ivr.recordings.files import day_folders, read_sidecar, sidecar_path

STALE_TEMP = timedelta(days=1)


def expires(sidecar: dict[str, object], default_days: int | None = None) -> datetime:
    """When a recording may be deleted: its end (or start) plus its retention days (the
    sidecar's own, else `default_days`: voicemail left before it had a retention)."""
    stamp = sidecar.get("end") or sidecar.get("start")
    days = sidecar.get("retention_days", default_days)
    if not isinstance(stamp, str) or not isinstance(days, int) or isinstance(days, bool):
        raise ValueError("the sidecar needs end (or start) and retention_days")
    ended = datetime.fromisoformat(stamp)
    if ended.tzinfo is None:
        raise ValueError("the sidecar's end has no UTC offset")
    return ended + timedelta(days=days)


def prune(
    root: Path,
    now: datetime,
    log: logging.Logger,
    dry_run: bool = False,
    default_days: int | None = None,
) -> list[Path]:
    """Delete every recording (wav and sidecar) past its retention; the files deleted.

    A recording without a readable sidecar is kept: nobody can say how long it must be kept.
    """
    deleted: list[Path] = []
    orphans: list[Path] = []
    for day in day_folders(root):
        deleted += _stale_temps(day, now, log, dry_run)
        for wav in sorted(day.glob("*.wav")):
            if not sidecar_path(wav).exists():
                orphans.append(wav)
        for sidecar in sorted(day.glob("*.json")):
            if sidecar.is_symlink() or not sidecar.is_file():
                continue
            try:
                due = expires(read_sidecar(sidecar), default_days)
            except (OSError, ValueError) as exc:
                event(log, "recording.sidecar_unreadable", logging.WARNING, path=str(sidecar),
                      error=str(exc)[:200])  # fmt: skip
                continue
            if due > now:
                continue
            # The audio first: a crash in between leaves a sidecar, which the next run retries.
            for path in (sidecar.with_suffix(".wav"), sidecar):
                if path.exists() or path.is_symlink():
                    if not dry_run:
                        path.unlink()
                    deleted.append(path)
            event(log, "recording.deleted" if not dry_run else "recording.would_delete",
                  call=sidecar.stem, path=str(sidecar.with_suffix(".wav")),
                  expired=due.isoformat())  # fmt: skip
        if not dry_run:
            _remove_if_empty(day, root)
    if orphans:
        # One line per run, not per file: a folder of strays must not flood the log daily.
        event(log, "recording.kept_without_sidecar", logging.WARNING, count=len(orphans),
              first=str(orphans[0]))  # fmt: skip
    return deleted


def _stale_temps(day: Path, now: datetime, log: logging.Logger, dry_run: bool) -> list[Path]:
    """Half-written files a crash left behind (a day old: never one still being written)."""
    stale = []
    for temp in sorted(day.glob(".*.tmp")):
        try:
            modified = temp.lstat().st_mtime
        except OSError:
            continue
        if modified < (now - STALE_TEMP).timestamp():
            if not dry_run:
                temp.unlink(missing_ok=True)
            stale.append(temp)
            event(log, "recording.temp_removed", path=str(temp))
    return stale


def _remove_if_empty(day: Path, root: Path) -> None:
    """Remove the day folder when empty, then its month and year when they are empty too."""
    folder = day
    while folder != root and root in folder.parents:
        try:
            os.rmdir(folder)
        except OSError:
            return  # not empty (or gone): the folders above are not empty either
        folder = folder.parent
