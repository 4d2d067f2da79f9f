"""How long callers' numbers are kept: after `store.caller_number_days`, journal entries keep
the call (reports still count it) but not who made it, and finished callback tasks go.

Applied by the daemon at start and daily (as recordings are pruned), and by `ivr erase
--older-than DAYS`. Journal entries as a whole go after `store.journal_days` (the store's
own pruning); recordings after their own `retention_days`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.calls.ports import CallbackStore
from ivr.store.port import Entry, JournalStore

MASK = "masked"
PERSONAL_FIELDS = ("caller_number", "caller_name")  # arrival, answer, voicemail notes


@dataclass(frozen=True)
class Masked:
    """What one run of the retention changed."""

    journal_entries: int
    callback_tasks: int


def masked_fields(entry: Entry) -> dict[str, str] | None:
    """The entry's fields with the caller's number and name masked; None when none is there."""
    if not any(entry.fields.get(name, MASK) not in ("", MASK) for name in PERSONAL_FIELDS):
        return None
    return {k: MASK if k in PERSONAL_FIELDS and v else v for k, v in entry.fields.items()}


def forget_numbers(journal: JournalStore, callbacks: CallbackStore, before: float) -> Masked:
    """Mask callers' numbers in journal entries older than `before`; delete callback tasks
    finished (done, failed, expired) and requested before it."""
    entries = journal.rewrite(before, masked_fields)
    old = [
        str(task["id"])
        for task in callbacks.load(since=0.0)
        if task.get("status") != "pending" and float(task.get("requested_at", before)) < before
    ]
    return Masked(entries, callbacks.delete(old))
