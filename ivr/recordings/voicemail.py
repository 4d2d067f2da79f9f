"""Voicemail messages on disk: fetched from Asterisk once recorded, kept with a JSON sidecar
(caller, queue, topic, callback task), and listed for the API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ivr.calls.commands import Note
from ivr.calls.notes import NoteKind
from ivr.logs import event
from ivr.recordings.fetch import fetch_patiently
from ivr.recordings.files import path_for, read_sidecar, write_sidecar

log = logging.getLogger("ivr.voicemail")
RETRY_DELAYS = (1.0, 3.0, 10.0)  # the recording may still be closing when the note arrives

Fetch = Callable[[str, Path], Awaitable[int]]


class VoicemailKeeper:
    """A journal sink: each `voicemail` note's recording (or another `kind` of note naming a
    recording, such as a survey's spoken comment) is copied from the PBX to `folder`."""

    def __init__(
        self,
        folder: Path,
        fetch: Fetch,
        kind: str = NoteKind.VOICEMAIL,
        keep_days: int | None = None,
    ) -> None:
        self.folder = folder
        self.fetch = fetch
        self.kind = kind
        self.keep_days = keep_days  # set: `ivr recordings prune` deletes them after this
        self._tasks: set[asyncio.Task[None]] = set()
        self._tasks_by_call: dict[str, str] = {}  # call id -> its callback task id

    def record(self, note: Note, at: float) -> None:
        if note.kind == NoteKind.CALLBACK_REQUESTED and note.fields.get("source") == "voicemail":
            self._tasks_by_call[note.call_id] = note.fields["task"]
        if note.kind != self.kind:
            return
        when = datetime.fromtimestamp(at, UTC).isoformat()
        meta: dict[str, Any] = {"call_id": note.call_id, "at": when, "end": when, **note.fields}
        if self.keep_days is not None:
            meta["retention_days"] = self.keep_days
        task = asyncio.ensure_future(self._keep(meta, at))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _keep(self, meta: dict[str, Any], at: float) -> None:
        # The callback note follows the voicemail note within the same batch of commands.
        await asyncio.sleep(0)
        meta["task"] = self._tasks_by_call.pop(meta["call_id"], "")
        wav = path_for(self.folder, meta["name"], datetime.fromtimestamp(at, UTC))
        size, error = await fetch_patiently(self.fetch, meta["name"], wav, RETRY_DELAYS)
        if size is not None:
            write_sidecar(wav, meta)
            event(log, f"{self.kind}.kept", call=meta["call_id"], path=str(wav), bytes=size)
            return
        event(log, f"{self.kind}.fetch_failed", logging.ERROR, call=meta["call_id"],
              name=meta["name"], error=error)  # fmt: skip

    async def close(self, timeout: float | None = None) -> None:
        """Wait for copies in flight."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)


def list_voicemails(folder: Path, limit: int = 200) -> list[dict[str, Any]]:
    """The newest messages first, each its sidecar (file name relative to `folder`)."""
    found = []
    if folder.is_dir():
        for sidecar in sorted(folder.glob("[0-9]*/[0-9]*/[0-9]*/*.json"), reverse=True):
            try:
                meta = read_sidecar(sidecar)
            except (OSError, ValueError):
                continue
            found.append({**meta, "file": str(sidecar.with_suffix(".wav").relative_to(folder))})
            if len(found) >= limit:
                break
    return sorted(found, key=lambda m: str(m.get("at", "")), reverse=True)
