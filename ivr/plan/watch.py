"""Noticing edits in the dial-plan folder: a cheap fingerprint of its files, compared over time."""

from __future__ import annotations

from pathlib import Path

Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(folder: Path) -> Fingerprint:
    """Name, size and modification time of every plan file in `folder`."""
    entries = []
    for path in sorted(folder.glob("*.y*ml")):
        try:
            stat = path.stat()
        except OSError:
            continue  # removed while we looked: the next look will tell
        entries.append((path.name, stat.st_size, stat.st_mtime_ns))
    return tuple(entries)
