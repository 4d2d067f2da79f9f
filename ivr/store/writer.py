"""The store's writer: a thread that owns the store's connections and lands the daemon's
writes in the order they were made, so that a slow or unreachable store never holds the
event loop.

Writes wait in memory until they land. A live record or a callback task replaces the write
of the same key still waiting (the store only ever needs the last one), so those are bounded
by the calls, agents and tasks there are; journal notes are bounded by `max_notes`, past
which new notes are dropped and counted. A write that fails is tried again, with backoff,
until it lands; the ones behind it wait, so the order holds across stores.

Writes land together, in steps (one SQLite commit, one Redis script): what comes while a
step lands goes in the next. An idle writer lands the first write (and what came with it)
at once; with `gather_seconds`, it then gathers what comes in that long for its next step,
and so on until a spell brings nothing. A step costs the writer's thread a wake-up and a
commit, more than the few notes of one event (bench/journal.py: at the lab's 5 calls a
second, 0.3 s halves what landing costs), but a crash then loses up to that long of
writes, not milliseconds: the daemon does not gather.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from typing import Protocol, TypeVar

from ivr.logs import event
from ivr.store.writes import (
    STORES,
    Backend,
    NoteWrite,
    Pending,
    StoreName,
    Write,
    store_of,
)

log = logging.getLogger("ivr.store")
T = TypeVar("T")
BATCH = 500  # writes landed in one step (one SQLite commit, one Redis script)
FIRST_RETRY = 0.05  # seconds before a failed write is tried again, doubling...
LAST_RETRY = 2.0  # ...up to this


class StoreWatch(Protocol):
    """Where the writer reports how it fares (the daemon's Prometheus metrics)."""

    def counting(self, pending: Callable[[], dict[StoreName, int]]) -> None:
        """How to know the writes not landed yet, by store, when asked (a scrape): counted
        there, not reported on each write."""
        ...

    def dropped(self, store: StoreName, count: int) -> None:
        """Writes given up for good: notes past the buffer, fenced records."""
        ...

    def failed(self, store: StoreName) -> None:
        """One attempt to land writes of `store` failed."""
        ...

    def up(self, up: bool) -> None:
        """False from `store.slow` until `store.recovered`."""
        ...


class StoreWriter:
    """Writes in, in order, landed by a thread of its own; `call` runs a read there."""

    def __init__(
        self,
        open_backend: Callable[[], Backend],
        *,
        max_notes: int = 100_000,
        slow_seconds: float = 2.0,
        watch: StoreWatch | None = None,
        name: str = "store",
        clock: Callable[[], float] = time.monotonic,
        gather_seconds: float = 0.0,
    ) -> None:
        self._open = open_backend
        self.max_notes = max_notes
        self.slow_seconds = slow_seconds
        self.gather_seconds = gather_seconds
        self.watch = watch
        self.name = name
        self.clock = clock
        self._cond = threading.Condition()
        self._queue: OrderedDict[Hashable, Pending] = OrderedDict()
        self._inflight: list[Pending] = []
        self._reads: deque[Callable[[Backend], None]] = deque()
        self._seq = 0
        self._counts: dict[StoreName, int] = dict.fromkeys(STORES, 0)
        self._total = 0  # the sum of _counts
        self._notes = 0
        self._due: float | None = None  # when the next step may land; None: idle
        self._gathering = False  # the thread waits out `_due`: writes need not wake it
        self._closing_at: float | None = None  # the flush's deadline once close() began
        self._thread: threading.Thread | None = None
        # One slow episode: from the first write found late (or failing) to an empty buffer.
        self._slow_since: float | None = None
        self._peak = 0
        self._landed = 0
        self._dropped = 0
        self._failures = 0
        if watch is not None:
            watch.counting(self.pending)

    # --- on the event loop ---

    def start(self, timeout: float = 10.0) -> StoreWriter:
        """Open the store in the writer's thread; raises what opening raised, or TimeoutError."""
        opened: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, args=(opened,), name=self.name,
                                        daemon=True)  # fmt: skip
        self._thread.start()
        opened.result(timeout)
        return self

    def write(self, key: Hashable | None, write: Write) -> None:
        """Queue `write`; with a `key`, replacing the write of that key still waiting. Never
        blocks, never raises for the store's sake."""
        store = store_of(write)
        with self._cond:
            if self._closing_at is not None:
                self._drop(store, "closed")
                return
            if isinstance(write, NoteWrite):
                if self._notes >= self.max_notes:
                    self._drop(store, "full")
                    return
                self._notes += 1
            else:
                replaced = self._queue.pop(("k", key), None)
                if replaced is not None:
                    self._count(store, -1)
            self._seq += 1
            now = self.clock()
            self._queue[("n", self._seq) if key is None else ("k", key)] = Pending(
                self._seq, write, now
            )
            self._count(store, +1)
            late = self._late(now)
            if not self._gathering or len(self._queue) >= BATCH:
                self._cond.notify()
        if late:
            self._went_slow(late, None)

    def call(self, read: Callable[[Backend], T], timeout: float) -> T:
        """Run `read` on the writer's thread, ahead of the writes waiting; TimeoutError when
        it has no answer within `timeout`."""
        answer = self.submit(read)
        try:
            return answer.result(timeout)
        except TimeoutError:
            answer.cancel()
            raise TimeoutError(f"{self.name}: no answer from the store in {timeout} s") from None

    def submit(self, read: Callable[[Backend], T]) -> Future[T]:
        """Run `read` on the writer's thread, ahead of the writes waiting, without waiting for
        it: the answer comes in the future (cancel it to give up; the event loop wraps it)."""
        answer: Future[T] = Future()

        def run(backend: Backend) -> None:
            if answer.set_running_or_notify_cancel():
                try:
                    answer.set_result(read(backend))
                except BaseException as exc:
                    answer.set_exception(exc)

        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                raise RuntimeError(f"{self.name}: the writer is not running")
            self._reads.append(run)
            self._cond.notify()
        return answer

    def pending(self) -> dict[StoreName, int]:
        """Writes not landed yet, by store."""
        with self._cond:
            return dict(self._counts)

    def close(self, timeout: float) -> int:
        """Land what waits, for at most `timeout` seconds, then let go of the store; returns
        how many writes were left (logged as `store.closed` when any)."""
        with self._cond:
            if self._closing_at is None:
                self._closing_at = self.clock() + timeout
            self._cond.notify_all()
        if self._thread is not None:
            # A write under way may take its own timeout after the deadline.
            self._thread.join(timeout + self.slow_seconds + 1.0)
        left = self.pending()
        if any(left.values()):
            event(log, "store.closed", logging.ERROR, writer=self.name, **left,
                  why=f"the store took no writes in the {timeout} s given to flush")  # fmt: skip
        return sum(left.values())

    # --- in the writer's thread ---

    def _run(self, opened: Future[None]) -> None:
        try:
            backend = self._open()
        except BaseException as exc:
            opened.set_exception(exc)
            return
        opened.set_result(None)
        try:
            while (batch := self._next(backend)) is not None:
                self._land(backend, batch)
        finally:
            try:
                backend.close()
            except Exception as exc:
                event(log, "store.close_failed", logging.ERROR, writer=self.name, error=str(exc))

    def _next(self, backend: Backend) -> list[Pending] | None:
        """The next writes to land (one group, in order), serving reads meanwhile; None once
        closing and empty or past the flush's deadline. After a step, what comes within
        `gather_seconds` lands in the next; a writer that found nothing then is idle, and
        the next write wakes it to land at once."""
        while True:
            with self._cond:
                while not self._reads:
                    if self._closing_at is not None:
                        if not self._queue or self._past_deadline():
                            return None
                        return self._take(backend)
                    now = self.clock()
                    if self._due is not None and now >= self._due and not self._queue:
                        self._due = None  # a quiet spell: idle until the next write
                    if self._queue and (
                        self._due is None or now >= self._due or len(self._queue) >= BATCH
                    ):
                        self._due = now + self.gather_seconds
                        return self._take(backend)
                    if self._due is None:
                        self._cond.wait()
                    else:
                        # Writes made meanwhile do not wake the thread (see write()).
                        self._gathering = True
                        self._cond.wait(self._due - now)
                        self._gathering = False
                read = self._reads.popleft()
            read(backend)

    def _take(self, backend: Backend) -> list[Pending]:
        """Move the first writes of one group into flight (the lock is held)."""
        group = backend.group(next(iter(self._queue.values())).write)
        batch: list[Pending] = []
        while self._queue and len(batch) < BATCH:
            key, first = next(iter(self._queue.items()))
            if backend.group(first.write) != group:
                break
            del self._queue[key]
            batch.append(first)
        self._inflight = batch
        return batch

    def _land(self, backend: Backend, batch: list[Pending]) -> None:
        """Apply `batch` until it lands (or the flush's deadline passes)."""
        delay = FIRST_RETRY
        while True:
            try:
                refused = backend.apply(batch)
            except Exception as exc:
                self._attempt_failed(batch, exc)
                if not self._pause(backend, delay):
                    return
                delay = min(delay * 2, LAST_RETRY)
                continue
            self._done(batch, refused)
            return

    def _attempt_failed(self, batch: Sequence[Pending], exc: Exception) -> None:
        store = store_of(batch[0].write)
        with self._cond:
            self._failures += 1
        if self.watch is not None:
            self.watch.failed(store)
        self._went_slow(self.clock() - batch[0].made, f"{type(exc).__name__}: {exc}"[:300])

    def _pause(self, backend: Backend, seconds: float) -> bool:
        """Wait before trying again, serving reads meanwhile; False once past the deadline."""
        until = self.clock() + seconds
        while True:
            with self._cond:
                if self._past_deadline():
                    return False
                left = until - self.clock()
                if left <= 0:
                    return True
                if not self._reads:
                    self._cond.wait(left)
                read = self._reads.popleft() if self._reads else None
            if read is not None:
                read(backend)

    def _done(self, batch: list[Pending], refused: list[Pending]) -> None:
        recovered: dict[str, object] | None = None
        landed = dict.fromkeys(STORES, 0)
        notes = 0
        for each in batch:
            landed[store_of(each.write)] += 1
            notes += isinstance(each.write, NoteWrite)
        with self._cond:
            self._inflight = []
            for store, count in landed.items():
                if count:
                    self._count(store, -count)
            self._notes -= notes
            self._landed += len(batch) - len(refused)
            for each in refused:
                self._dropped += 1
                if self.watch is not None:
                    self.watch.dropped(store_of(each.write), 1)
            if self._slow_since is not None and not self._queue:
                recovered = {
                    "pending_max": self._peak,
                    "landed": self._landed,
                    "dropped": self._dropped,
                    "failed_attempts": self._failures,
                    "seconds": round(self.clock() - self._slow_since, 3),
                }
                self._slow_since = None
        for each in refused:
            event(log, "store.fenced", logging.ERROR, store=store_of(each.write),
                  why="another daemon holds the lease: this daemon's write is refused")  # fmt: skip
        if recovered is not None:
            if self.watch is not None:
                self.watch.up(True)
            event(log, "store.recovered", writer=self.name, **recovered)

    # --- either thread ---

    def _went_slow(self, waited: float, error: str | None) -> None:
        """Log `store.slow` once per episode: a write waited too long, or failed."""
        with self._cond:
            if self._slow_since is not None:
                return
            self._slow_since = self.clock()
            self._peak = self._total
            self._landed = self._dropped = self._failures = 0
            pending = {str(store): count for store, count in self._counts.items()}
        if self.watch is not None:
            self.watch.up(False)
        fields: dict[str, object] = {"writer": self.name, "waited": round(waited, 3), **pending}
        if error is not None:
            fields["error"] = error
        event(log, "store.slow", logging.WARNING, **fields,
              why="writes wait in memory and land when the store answers; calls go on")  # fmt: skip

    # --- with the lock held ---

    def _late(self, now: float) -> float:
        """How long the oldest waiting write has waited, when past `slow_seconds` (else 0)."""
        if self._slow_since is not None:
            return 0.0
        oldest = self._inflight[0] if self._inflight else next(iter(self._queue.values()))
        waited = now - oldest.made
        return waited if waited > self.slow_seconds else 0.0

    def _count(self, store: StoreName, change: int) -> None:
        self._counts[store] += change
        self._total += change
        if self._total > self._peak:
            self._peak = self._total

    def _drop(self, store: StoreName, why: str) -> None:
        self._dropped += 1
        if self.watch is not None:
            self.watch.dropped(store, 1)
        if self._dropped == 1 or self._dropped % 10_000 == 0:
            # Logged under the lock, rarely: the first drop of an episode, then every 10,000.
            event(log, "store.dropping", logging.ERROR, writer=self.name, store=store, why=why,
                  dropped=self._dropped, limit=self.max_notes)  # fmt: skip

    def _past_deadline(self) -> bool:
        return self._closing_at is not None and self.clock() >= self._closing_at
