"""`ivr erase --number N`: a caller's number out of the journal, the callback tasks, voicemail
and recordings (audio and sidecars), with what went, place by place.

What a number is found by: the journal's `caller_number` fields (arrival, answer, voicemail),
the callback tasks' numbers and the sidecars' `caller_number`, all compared as number_key()
spells them. Every note of a call from that number goes (its keys, variables and topic are
about that caller too), and every note of its callback tasks; recordings and survey comments
go by their call, voicemail by its number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.callbacks.numbers import DEFAULT_COUNTRY, number_key
from ivr.calls.ports import CallbackStore
from ivr.ops import files
from ivr.store.port import Entry, JournalStore

NUMBER_FIELD = "caller_number"
EVER = 1e11  # seconds since the epoch, far past any note (a finite end for every store)


@dataclass
class Erased:
    """What an erasure removed, place by place."""

    number: str
    calls: int = 0  # distinct calls of the number found
    journal_entries: int = 0
    callback_tasks: int = 0
    files: dict[str, list[Path]] = field(default_factory=dict)  # place -> files deleted

    @property
    def found(self) -> bool:
        """Whether anything of the number was there."""
        return bool(self.journal_entries or self.callback_tasks or any(self.files.values()))

    def lines(self) -> list[str]:
        """What went, for people: counts per place, then each file."""
        out = [
            f"journal: {self.journal_entries} entries ({self.calls} calls)",
            f"callbacks: {self.callback_tasks} tasks",
        ]
        out += [f"{place}: {len(paths)} files" for place, paths in self.files.items()]
        out += [f"removed {path}" for paths in self.files.values() for path in paths]
        return out


def erase_number(
    number: str,
    journal: JournalStore,
    callbacks: CallbackStore,
    folders: Sequence[tuple[str, Path]],
    country: str = DEFAULT_COUNTRY,
) -> Erased:
    """Remove `number` from the journal, the callback tasks and the `folders` (place, root).

    Found first everywhere, then removed: a recording's call is known by its sidecar even
    when the journal no longer names the number (masked by retention)."""
    key = number_key(number, country)
    erased = Erased(key)
    if not key:
        return erased

    def ours(value: object) -> bool:
        return isinstance(value, str) and bool(value) and number_key(value, country) == key

    tasks = [t for t in callbacks.load(since=0.0) if ours(t.get("number"))]
    task_ids = {str(t["id"]) for t in tasks}
    entries = journal.read(0.0, EVER)
    call_ids = {e.call_id for e in entries if ours(e.fields.get(NUMBER_FIELD))}
    for _, root in folders:
        sidecars = files.sidecars(root)
        call_ids |= {str(m.get("call_id", "")) for _, m in sidecars if ours(m.get(NUMBER_FIELD))}
    call_ids.discard("")
    erased.calls = len(call_ids)

    def doomed_entry(entry: Entry) -> bool:
        return (
            entry.call_id in call_ids
            or entry.fields.get("task") in task_ids
            or ours(entry.fields.get(NUMBER_FIELD))
        )

    def doomed_file(meta: dict[str, Any]) -> bool:
        return (
            ours(meta.get(NUMBER_FIELD))
            or str(meta.get("call_id", "")) in call_ids
            or str(meta.get("task", "")) in task_ids
        )

    erased.journal_entries = journal.erase(doomed_entry)
    erased.callback_tasks = callbacks.delete(task_ids)
    for place, root in folders:
        erased.files[place] = files.remove(root, doomed_file)
    return erased
