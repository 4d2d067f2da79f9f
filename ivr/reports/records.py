"""Calls as the journal tells them: each call's notes folded into one record, as they stream.

The notes of one call lie close together in time, so a report need not hold the whole period:
`finished` keeps only the calls still under way and hands each record on once no note of its
call can come any more (its `ended` note, or a long silence, lies behind the stream).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ivr.calls.notes import NoteKind
from ivr.store.port import Entry

LINGER = 900.0
"""Seconds a call's record stays open after its `ended` note, for notes written just after."""
IDLE = 86400.0
"""Seconds of silence after which a call without an `ended` note is taken as over (a callback
dial, a call the daemon lost); far longer than any wait or talk between two notes of a call."""


@dataclass(slots=True)
class CallRecord:
    """One call as the journal tells it; `queue` is the last queue it waited in."""

    call_id: str
    arrived: float
    plan: str = ""
    queue: str = ""
    topic: str = ""
    answered: bool = False
    abandoned: bool = False
    wait: float | None = None
    sla: float | None = None
    talk: float | None = None
    outcome: str = ""
    disposition: str = ""  # what the (last) agent said came of it, in wrap-up

    @property
    def missed(self) -> bool:
        """Queued and never reached an agent (abandoned, overflowed or sent to a callback)."""
        return bool(self.queue) and not self.answered


def calls(entries: Iterable[Entry]) -> list[CallRecord]:
    """Every call's record, in order of arrival (all in memory: for tests and small journals)."""
    return sorted(finished(entries), key=lambda r: (r.arrived, r.call_id))


def finished(
    entries: Iterable[Entry], linger: float = LINGER, idle: float = IDLE
) -> Iterator[CallRecord]:
    """Each call's record, once complete, from `entries` oldest first (as stores read them).

    A call that arrived before the entries start begins at its first note seen; one still
    under way when they stop is handed on at the end as far as it got. Memory holds the calls
    under way and, for at most twice as long again, those ended in the last `linger` seconds
    and those silent for under `idle`.
    """
    # In order of `placed`, oldest first; an OrderedDict lets go of its first items in O(1),
    # where a dict would scan past every slot already let go of.
    held: OrderedDict[str, _Open] = OrderedDict()
    folds = _FOLDS
    now = sweep_at = float("-inf")
    for entry in entries:
        call_id = entry.call_id
        if not call_id:
            continue  # desk notes (agents, API) belong to no call
        if entry.at > now:
            now = entry.at  # a note filed a little out of order never moves time back
        call = held.get(call_id)
        if call is None:
            # A call that arrived before the window starts at its first note we see.
            call = held[call_id] = _Open(CallRecord(call_id, entry.at), now)
        call.last = now
        fold = folds.get(entry.kind)
        if fold is not None:
            fold(call.record, entry)
            call.ended = call.ended or fold is _ended
        if now >= sweep_at:
            sweep_at = now + 60.0  # a minute of stream between sweeps: cheaper, as exact
            yield from _sweep(held, now, linger, idle)
    for call in held.values():
        yield call.record


class _Open:
    """A call's record, when it was put at the end of the calls held, its latest note's time
    and whether it has ended."""

    __slots__ = ("ended", "last", "placed", "record")

    def __init__(self, record: CallRecord, now: float) -> None:
        self.record = record
        self.placed = self.last = now
        self.ended = False


def _sweep(
    held: OrderedDict[str, _Open], now: float, linger: float, idle: float
) -> Iterator[CallRecord]:
    """Hand on the calls that are over; look again later at those placed long ago but not over.

    A call's latest note is never older than its placing: the calls placed in the last
    `linger` seconds cannot be over yet, so the sweep stops at the first of them. Notes only
    change `last`, never the order (moving a call to the end on every note costs more)."""
    recent = now - linger
    while held:
        call_id = next(iter(held))
        call = held[call_id]
        if call.placed >= recent:
            return
        if call.last < (recent if call.ended else now - idle):
            del held[call_id]
            yield call.record
        else:
            call.placed = now
            held.move_to_end(call_id)


def apply(record: CallRecord, entry: Entry) -> None:
    """Fold one note of the record's call into it (a kind no record reads changes nothing)."""
    fold = _FOLDS.get(entry.kind)
    if fold is not None:
        fold(record, entry)


def _arrived(record: CallRecord, entry: Entry) -> None:
    record.arrived, record.plan = entry.at, entry.fields.get("plan", "")


def _tag(record: CallRecord, entry: Entry) -> None:
    record.topic = entry.fields.get("tag", "")


def _queue_join(record: CallRecord, entry: Entry) -> None:
    # An overflow joins a new queue: only the last attempt counts.
    record.queue, record.wait, record.sla = entry.fields.get("queue", ""), None, None
    record.answered = record.abandoned = False


def _queue_left(record: CallRecord, entry: Entry) -> None:
    """Answered, abandoned, sent on (exit, overflow) or to a callback."""
    fields = entry.fields
    record.queue = fields.get("queue", record.queue)
    record.wait, record.sla = _number(fields.get("wait")), _number(fields.get("sla"))
    record.answered = entry.kind == NoteKind.ANSWERED
    record.abandoned = entry.kind == NoteKind.QUEUE_ABANDONED
    if record.answered and fields.get("topic") and not record.topic:
        record.topic = fields["topic"]


def _hung_up(record: CallRecord, entry: Entry) -> None:
    record.talk = _number(entry.fields.get("talk"))


def _disposition(record: CallRecord, entry: Entry) -> None:
    # Given in wrap-up, after the call's end: within LINGER it still finds the record.
    record.disposition = entry.fields.get("disposition", "")


def _ended(record: CallRecord, entry: Entry) -> None:
    fields = entry.fields
    record.outcome = fields.get("outcome", "")
    record.plan = record.plan or fields.get("plan", "")


_FOLDS: dict[str, Callable[[CallRecord, Entry], None]] = {
    NoteKind.ARRIVED: _arrived,
    NoteKind.TAG: _tag,
    NoteKind.QUEUE_JOIN: _queue_join,
    NoteKind.ANSWERED: _queue_left,
    NoteKind.QUEUE_ABANDONED: _queue_left,
    NoteKind.QUEUE_EXIT: _queue_left,
    NoteKind.QUEUE_CALLBACK: _queue_left,
    NoteKind.AGENT_HUNG_UP: _hung_up,
    NoteKind.CALLER_HUNG_UP: _hung_up,
    NoteKind.ENDED: _ended,
    NoteKind.DISPOSITION: _disposition,
}
"""What each kind a record reads does to it; of other notes only the time and the call count."""
FOLDED = frozenset(_FOLDS)
"""The kinds of note a record reads."""


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None  # a hand-edited or foreign note must not stop the report
