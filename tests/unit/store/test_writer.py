"""The store's writer against a real redis-server stopped (SIGSTOP) and a SQLite file another
connection keeps locked: writes return at once, wait in memory (the metrics say so), and land
in order, once each, when the store answers again."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis

from ivr.journal.metrics import Metrics
from ivr.journal.store_sink import StoreMetrics
from ivr.store.buffered import BufferedCallbacks, BufferedJournal, BufferedLive
from ivr.store.history import CallerHistory, HistoryQuery
from ivr.store.port import Entry
from ivr.store.redis import LIVE, RedisJournal
from ivr.store.redis_writes import RedisBackend
from ivr.store.sqlite import SqliteJournal, SqliteLive
from ivr.store.sqlite_writes import SqliteBackend
from ivr.store.writer import StoreWriter
from ivr.store.writes import Backend, NoteWrite, Pending, PruneWrite, RecordWrite, Write
from tests.integration.pair import RedisServer

T0 = 1_795_000_000.0
TIMEOUT = 0.5  # the stores' timeout in these tests: a stopped Redis is found out quickly


def until(what: Callable[[], bool], timeout: float = 10.0, why: str = "") -> None:
    """Wait (polling) until `what` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, why or "gave up waiting"
        time.sleep(0.02)


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def logged(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    """The fields of every `name` event the store logged."""
    return [
        dict(getattr(r, "fields", {}))
        for r in caplog.records
        if r.name == "ivr.store" and r.getMessage() == name
    ]


@pytest.fixture(autouse=True)
def store_log(caplog: pytest.LogCaptureFixture) -> None:
    """Every event the store logs, `store.recovered` (info) included."""
    caplog.set_level(logging.INFO, logger="ivr.store")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, which it may stop and resume."""
    own = RedisServer(tmp_path / "redis").start()
    yield own
    own.stop()


class Stores:
    """A writer and its three stores, with metrics."""

    def __init__(self, backend: Callable[[], Backend], max_notes: int = 100_000) -> None:
        self.metrics = Metrics()
        self.writer = StoreWriter(backend, max_notes=max_notes, slow_seconds=TIMEOUT,
                                  watch=StoreMetrics(self.metrics)).start()  # fmt: skip
        self.journal = BufferedJournal(self.writer)
        self.live = BufferedLive(self.writer, load_timeout=5)
        self.callbacks = BufferedCallbacks(self.writer, load_timeout=5)

    def pending(self, store: str) -> float:
        return sample(self.metrics, "ivr_store_pending", store=store)


def redis_stores(server: RedisServer, **options: Any) -> Stores:
    return Stores(lambda: RedisBackend(server.url, TIMEOUT, "test"), **options)


def timed(write: Callable[[], None]) -> float:
    began = time.perf_counter()
    write()
    return time.perf_counter() - began


def timed_note(stores: Stores, n: int) -> float:
    """Seconds one journal note held its caller."""
    return timed(lambda: stores.journal.append(f"c{n}", "ring", {"n": str(n)}, T0 + n))


def task(task_id: str, status: str = "pending") -> dict[str, Any]:
    return {"id": task_id, "requested_at": T0, "status": status, "number": "+79991234567"}


def test_while_redis_is_stopped_writes_return_at_once_and_land_in_order_once_after(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    stores = redis_stores(server)
    stores.journal.append("c0", "arrived", {}, T0)
    until(lambda: stores.pending("journal") == 0, why="a healthy Redis took no note")
    server.pause()
    try:
        took = [timed_note(stores, n) for n in range(1, 201)]
        took.append(timed(lambda: stores.live.put("call", "c1", {"v": 1, "node": "line"})))
        took.append(timed(lambda: stores.callbacks.save(task("t1"))))
        # Long enough for several attempts, each given up after TIMEOUT and sent again.
        until(lambda: sample(stores.metrics, "ivr_store_write_failures_total",
                             store="journal") >= 3, why="no attempt failed")  # fmt: skip
        assert stores.pending("journal") == 200
        assert stores.pending("live") == stores.pending("callbacks") == 1
        assert sample(stores.metrics, "ivr_store_up") == 0
        [slow] = logged(caplog, "store.slow")
        assert slow["journal"] == 200 and "Timeout" in slow["error"], slow
    finally:
        server.resume()
    until(lambda: sum(stores.writer.pending().values()) == 0, why="nothing landed after SIGCONT")
    assert max(took) < 0.05, f"a write held its caller {max(took):.3f} s"
    # Every note once (the attempts Redis read while stopped ran, later, but skipped them),
    # in the order written.
    assert [call for call, kind, _ in server.journal()] == [f"c{n}" for n in range(201)]
    assert server.live("call") == {"c1": {"v": 1, "node": "line"}}
    assert [t["id"] for t in stores.callbacks.load(since=0)] == ["t1"]
    until(lambda: bool(logged(caplog, "store.recovered")))
    assert sample(stores.metrics, "ivr_store_up") == 1
    [recovered] = logged(caplog, "store.recovered")
    assert recovered["pending_max"] == 202 and recovered["landed"] == 202, recovered
    assert stores.writer.close(5) == 0


def test_a_record_written_many_times_while_stopped_waits_once_and_lands_last(
    server: RedisServer,
) -> None:
    stores = redis_stores(server)
    server.pause()
    try:
        stores.live.put("agent", "agent1", {"v": 1, "step": 0})
        until(lambda: sample(stores.metrics, "ivr_store_write_failures_total", store="live") > 0)
        for step in range(1, 1000):
            stores.live.put("agent", "agent1", {"v": 1, "step": step})
        stores.live.put("call", "c1", {"v": 1})
        stores.live.drop("call", "c1")
        # The first write, under way, and one of each key behind it.
        assert stores.pending("live") == 3
    finally:
        server.resume()
    until(lambda: stores.pending("live") == 0)
    assert server.live("agent") == {"agent1": {"v": 1, "step": 999}}
    assert server.live("call") == {}
    stores.writer.close(5)


def test_past_the_buffer_new_notes_are_dropped_and_counted(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    stores = redis_stores(server, max_notes=100)
    server.pause()
    try:
        for n in range(150):
            stores.journal.append(f"c{n}", "ring", {}, T0 + n)
        for n in range(20):  # records are never dropped, however many notes wait
            stores.live.put("call", f"c{n}", {"v": 1})
        assert stores.pending("journal") == 100
        assert stores.pending("live") == 20
        assert sample(stores.metrics, "ivr_store_dropped_total", store="journal") == 50
        [dropping] = logged(caplog, "store.dropping")
        assert dropping["limit"] == 100
    finally:
        server.resume()
    until(lambda: sum(stores.writer.pending().values()) == 0)
    assert [call for call, _, _ in server.journal()] == [f"c{n}" for n in range(100)]
    assert len(server.live("call")) == 20
    stores.writer.close(5)


def test_closing_lands_what_waits_and_gives_up_in_time_when_redis_does_not_answer(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    stores = redis_stores(server)
    server.pause()
    stores.journal.append("c1", "arrived", {}, T0)
    began = time.monotonic()
    assert stores.writer.close(1.0) == 1
    assert time.monotonic() - began < 1.0 + TIMEOUT + 1.5
    assert logged(caplog, "store.closed")[0]["journal"] == 1
    server.resume()

    again = redis_stores(server)
    again.journal.append("c2", "arrived", {}, T0 + 1)
    again.live.put("call", "c2", {"v": 1})
    assert again.writer.close(5) == 0
    assert [call for call, _, _ in server.journal()] == ["c2"]


class Passing:
    """A backend handing everything to `inner`: the doubles below change only what they must."""

    inner: Backend

    def group(self, write: Write) -> str:
        return self.inner.group(write)

    def apply(self, writes: Sequence[Pending]) -> list[Pending]:
        return self.inner.apply(writes)

    def load_records(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.inner.load_records(kind)

    def load_tasks(self, since: float) -> list[dict[str, Any]]:
        return self.inner.load_tasks(since)

    def read_journal(self, start: float, end: float) -> Iterator[Entry]:
        return self.inner.read_journal(start, end)

    def caller_history(self, query: HistoryQuery) -> CallerHistory:
        return self.inner.caller_history(query)

    def index_history(self) -> bool:
        return self.inner.index_history()

    def close(self) -> None:
        self.inner.close()


class Gate(Passing):
    """A backend that lands nothing until opened: a writer late with its writes."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.open = threading.Event()

    def apply(self, writes: Sequence[Pending]) -> list[Pending]:
        self.open.wait(10)
        return self.inner.apply(writes)


def test_a_write_made_before_the_lease_was_lost_never_lands_after_the_new_active_s(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    fence = "ivr:lease:ivr:fence"
    client = server.client()
    client.set(fence, 1)
    gate = Gate(RedisBackend(server.url, TIMEOUT, "old"))
    old = Stores(lambda: gate)
    old.live.fence = (fence, lambda: 1)
    old.live.put("call", "c1", {"v": 1, "node": "start"})  # waits: the old active is late
    client.incr(fence)  # the standby took the lease...
    new = redis_stores(server)
    new.live.fence = (fence, lambda: 2)
    new.live.put("call", "c1", {"v": 1, "node": "line"})  # ...and wrote its record
    until(lambda: new.pending("live") == 0)
    gate.open.set()
    until(lambda: old.pending("live") == 0)
    assert server.live("call") == {"c1": {"v": 1, "node": "line"}}
    assert sample(old.metrics, "ivr_store_dropped_total", store="live") == 1
    assert logged(caplog, "store.fenced") == [
        {"store": "live", "why": "another daemon holds the lease: this daemon's write is refused"}
    ]
    old.writer.close(5)
    new.writer.close(5)
    client.close()


def test_a_note_stamped_before_the_stream_s_last_entry_is_kept(server: RedisServer) -> None:
    stores = redis_stores(server)
    stores.journal.append("late", "arrived", {}, T0 + 5)
    stores.journal.append("early", "arrived", {}, T0 + 4)  # a clock step back
    stores.writer.close(5)
    reader = RedisJournal.from_url(server.url)
    assert {e.call_id for e in reader.read(T0 + 4, T0 + 4.5)} == {"early"}
    reader.close()


# --- SQLite ---


def sqlite_stores(tmp_path: Path) -> Stores:
    journal, callbacks = tmp_path / "ivr.sqlite3", tmp_path / "ivr.callbacks.sqlite3"
    return Stores(lambda: SqliteBackend(journal, callbacks, TIMEOUT))


def committed(path: Path) -> list[str]:
    """The journal's calls as another process (`ivr report`) reads them."""
    reader = SqliteJournal(path)
    calls = [e.call_id for e in reader.read(0, T0 * 2)]
    reader.close()
    return calls


def test_while_another_connection_locks_the_sqlite_file_writes_wait_then_land_in_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stores = sqlite_stores(tmp_path)
    stores.journal.append("c0", "arrived", {}, T0)
    until(lambda: stores.pending("journal") == 0)
    locker = sqlite3.connect(tmp_path / "ivr.sqlite3", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # a write lock, held (a long `ivr erase`, say)
    try:
        took = [timed_note(stores, n) for n in range(1, 101)]
        took.append(timed(lambda: stores.live.put("call", "c1", {"v": 1, "node": "line"})))
        until(lambda: sample(stores.metrics, "ivr_store_write_failures_total",
                             store="journal") >= 2, why="the lock failed no attempt")  # fmt: skip
        assert stores.pending("journal") == 100 and stores.pending("live") == 1
        assert sample(stores.metrics, "ivr_store_up") == 0
        assert "locked" in logged(caplog, "store.slow")[0]["error"]
        # A callback task is in a file of its own, but waits its turn: order holds.
        stores.callbacks.save(task("t1"))
        assert stores.pending("callbacks") == 1
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    until(lambda: sum(stores.writer.pending().values()) == 0)
    assert max(took) < 0.05, f"a write held its caller {max(took):.3f} s"
    assert committed(tmp_path / "ivr.sqlite3") == [f"c{n}" for n in range(101)]
    assert stores.live.load("call") == {"c1": {"v": 1, "node": "line"}}
    assert [t["id"] for t in stores.callbacks.load(since=0)] == ["t1"]
    until(lambda: bool(logged(caplog, "store.recovered")))
    assert logged(caplog, "store.recovered")[0]["landed"] == 102
    stores.writer.close(5)
    # What the writer committed, a new connection finds (a restart).
    again = SqliteLive(tmp_path / "ivr.sqlite3")
    assert again.load("call") == {"c1": {"v": 1, "node": "line"}}
    again.close()


def test_a_load_is_answered_while_writes_wait_for_a_locked_file(tmp_path: Path) -> None:
    stores = sqlite_stores(tmp_path)
    stores.live.put("agent", "agent1", {"v": 1})
    until(lambda: stores.pending("live") == 0)
    locker = sqlite3.connect(tmp_path / "ivr.sqlite3", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        stores.live.put("agent", "agent2", {"v": 1})
        until(lambda: sample(stores.metrics, "ivr_store_write_failures_total", store="live") >= 1)
        began = time.monotonic()
        assert stores.live.load("agent") == {"agent1": {"v": 1}}  # WAL: readers never wait
        assert time.monotonic() - began < 2 * TIMEOUT + 0.5
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    until(lambda: stores.pending("live") == 0)
    assert stores.live.load("agent") == {"agent1": {"v": 1}, "agent2": {"v": 1}}
    stores.writer.close(5)


def test_a_store_that_cannot_be_opened_says_so_at_start(tmp_path: Path) -> None:
    (tmp_path / "var").write_text("a file where the folder should be")
    with pytest.raises(OSError):
        sqlite_stores(tmp_path / "var")


def test_a_read_gives_up_after_its_timeout_when_redis_does_not_answer(
    server: RedisServer,
) -> None:
    stores = redis_stores(server)
    server.pause()
    try:
        began = time.monotonic()
        with pytest.raises((TimeoutError, redis.TimeoutError)):
            stores.live.load("call")
        assert time.monotonic() - began < 5 + 0.5
    finally:
        server.resume()
    assert stores.live.load("call") == {}
    stores.writer.close(5)


def test_redis_keys_are_the_daemon_s(server: RedisServer) -> None:
    stores = redis_stores(server)
    stores.live.put("call", "c1", {"v": 1})
    stores.writer.close(5)
    with server.client() as client:
        assert client.hgetall(LIVE + "call") == {"c1": '{"v": 1}'}


def test_a_batch_s_writes_land_in_the_order_made_runs_of_one_statement_and_all(
    tmp_path: Path,
) -> None:
    backend = SqliteBackend(tmp_path / "ivr.sqlite3", tmp_path / "ivr.callbacks.sqlite3", 5)
    writes: list[Write] = [
        NoteWrite("c1", "arrived", "{}", T0, 86400),
        NoteWrite("c1", "node", '{"node": "start"}', T0 + 1, 86400),
        RecordWrite("call", "c1", '{"v": 1, "node": "start"}'),
        NoteWrite("c1", "ring", "{}", T0 + 2, 86400),
        RecordWrite("call", "c1", None),  # forgotten...
        RecordWrite("call", "c1", '{"v": 1, "node": "line"}'),  # ...and written again
        RecordWrite("agent", "a1", '{"v": 1}'),
        NoteWrite("c1", "ended", "{}", T0 + 3, 86400),
        PruneWrite(T0 + 1),  # after every note above: the first goes
    ]
    assert backend.apply([Pending(seq, write) for seq, write in enumerate(writes, 1)]) == []
    backend.close()
    assert committed(tmp_path / "ivr.sqlite3") == ["c1", "c1", "c1"]
    reader = SqliteJournal(tmp_path / "ivr.sqlite3")
    assert [e.kind for e in reader.read(0, T0 * 2)] == ["node", "ring", "ended"]
    reader.close()
    live = SqliteLive(tmp_path / "ivr.sqlite3")
    assert live.load("call") == {"c1": {"v": 1, "node": "line"}}
    assert live.load("agent") == {"a1": {"v": 1}}
    live.close()


class Counted(Passing):
    """A SQLite backend that keeps the notes of each step it was given; its connections are
    made in the writer's thread (open), which alone may use them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.steps: list[list[str]] = []
        self.landed = threading.Event()

    def open(self) -> Counted:
        self.inner = SqliteBackend(self.folder / "ivr.sqlite3", self.folder / "cb.sqlite3", 5)
        return self

    def apply(self, writes: Sequence[Pending]) -> list[Pending]:
        refused = self.inner.apply(writes)
        self.steps.append([w.write.call_id for w in writes if isinstance(w.write, NoteWrite)])
        self.landed.set()
        return refused


def test_a_gathering_writer_lands_the_first_write_at_once_and_the_next_ones_together(
    tmp_path: Path,
) -> None:
    counted = Counted(tmp_path)
    # Far longer than the test: whatever lands before close() was not waiting for it.
    writer = StoreWriter(counted.open, gather_seconds=60).start()
    journal, live = BufferedJournal(writer), BufferedLive(writer, load_timeout=5)
    journal.append("c0", "arrived", {}, T0)
    assert counted.landed.wait(5), "the idle writer's first write did not land at once"
    for n in range(1, 4):
        journal.append(f"c{n}", "arrived", {}, T0 + n)
    live.put("call", "c3", {"v": 1})
    assert writer.pending() == {"journal": 3, "live": 1, "callbacks": 0}
    assert live.load("call") == {}  # a read is answered while the writes gather
    began = time.monotonic()
    assert writer.close(5) == 0  # closing lands them at once, in one step
    assert time.monotonic() - began < 5
    assert counted.steps == [["c0"], ["c1", "c2", "c3"]]
    assert committed(tmp_path / "ivr.sqlite3") == ["c0", "c1", "c2", "c3"]


def test_the_daemon_s_writer_does_not_gather(tmp_path: Path) -> None:
    counted = Counted(tmp_path)
    writer = StoreWriter(counted.open).start()
    journal = BufferedJournal(writer)
    for n in range(3):
        counted.landed.clear()
        journal.append(f"c{n}", "arrived", {}, T0 + n)
        assert counted.landed.wait(5), f"note {n} did not land at once"
    writer.close(5)
    assert counted.steps == [["c0"], ["c1"], ["c2"]]
