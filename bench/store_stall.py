"""What a journal note costs the event loop while the store is healthy, stalled or locked.

    .venv/bin/python bench/store_stall.py [--notes 2000]

Appends notes through the daemon's path (JournalSink -> BufferedJournal -> the writer
thread) to a real redis-server, healthy then SIGSTOPped, and to SQLite, healthy then locked
by another connection; prints the append latency on the calling thread and how long the
waiting notes took to land once the store came back. Figures, no asserts.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.calls.commands import Note
from ivr.journal.store_sink import JournalSink
from ivr.store.buffered import BufferedJournal
from ivr.store.redis_writes import RedisBackend
from ivr.store.sqlite_writes import SqliteBackend
from ivr.store.writer import StoreWriter
from tests.integration.pair import RedisServer

STALL_SECONDS = 3.0


def appends(sink: JournalSink, notes: int) -> list[float]:
    """Seconds each append held the caller, one note every 0.2 s of note time."""
    start, held = time.time(), []
    for n in range(notes):
        began = time.perf_counter()
        sink.record(Note("bench", "ring", {"n": str(n)}), start + n * 0.2)
        held.append(time.perf_counter() - began)
    return held


def figures(held: list[float]) -> str:
    held = sorted(held)
    p99 = held[max(0, int(len(held) * 0.99) - 1)]
    return (f"median {statistics.median(held) * 1e6:.0f} us, p99 {p99 * 1e6:.0f} us, "
            f"max {held[-1] * 1e3:.2f} ms over {len(held)} notes")  # fmt: skip


def landed(writer: StoreWriter, timeout: float = 30.0) -> tuple[float, int]:
    """Seconds until nothing waits for the store, and what still waits then."""
    began = time.monotonic()
    while sum(writer.pending().values()) and time.monotonic() - began < timeout:
        time.sleep(0.01)
    return time.monotonic() - began, sum(writer.pending().values())


def redis(folder: Path, notes: int) -> None:
    server = RedisServer(folder / "redis").start()
    writer = StoreWriter(lambda: RedisBackend(server.url, 2.0, "bench"), slow_seconds=2.0)
    sink = JournalSink(BufferedJournal(writer.start()))
    try:
        print(f"redis healthy:    {figures(appends(sink, notes))}")
        landed(writer)
        server.pause()
        print(f"redis SIGSTOPped: {figures(appends(sink, notes))}")
        time.sleep(STALL_SECONDS)
        waiting = sum(writer.pending().values())
        server.resume()
        seconds, left = landed(writer)
        print(f"  {waiting} writes waited {STALL_SECONDS:.0f} s; after SIGCONT all landed in "
              f"{seconds:.2f} s ({left} left)")  # fmt: skip
    finally:
        writer.close(5)
        server.stop()


def sqlite(folder: Path, notes: int) -> None:
    journal = folder / "journal.sqlite3"
    writer = StoreWriter(
        lambda: SqliteBackend(journal, folder / "callbacks.sqlite3", 2.0), slow_seconds=2.0
    )
    sink = JournalSink(BufferedJournal(writer.start()))
    try:
        print(f"sqlite healthy:   {figures(appends(sink, notes))}")
        landed(writer)
        other = sqlite3.connect(journal, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        print(f"sqlite locked:    {figures(appends(sink, notes))}")
        time.sleep(STALL_SECONDS)
        waiting = sum(writer.pending().values())
        other.execute("ROLLBACK")
        seconds, left = landed(writer)
        print(f"  {waiting} writes waited {STALL_SECONDS:.0f} s; after the lock went all landed "
              f"in {seconds:.2f} s ({left} left)")  # fmt: skip
    finally:
        writer.close(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        redis(Path(folder), args.notes)
        sqlite(Path(folder), args.notes)


if __name__ == "__main__":
    main()
