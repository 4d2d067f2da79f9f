"""The live-state store contract, on SQLite, on a real redis-server, and the memory double:
what a restarted daemon finds of its calls and agents."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from ivr.calls.ports import LiveStore
from ivr.store.memory import MemoryLive
from ivr.store.redis import RedisLive
from ivr.store.sqlite import SqliteJournal, SqliteLive
from tests.unit.conftest import free_port


@pytest.fixture(params=["sqlite", "redis", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveStore]:
    if request.param == "sqlite":
        sqlite = SqliteLive(tmp_path / "ivr.live.sqlite3")
        yield sqlite
        sqlite.close()
        return
    if request.param == "memory":
        yield MemoryLive()
        return
    redis_store = RedisLive.from_url(request.getfixturevalue("redis_url"))
    redis_store.client.flushdb()
    yield redis_store
    redis_store.close()


def test_the_last_record_written_is_the_one_found(store: LiveStore) -> None:
    store.put("call", "c1", {"v": 1, "node": "start"})
    store.put("call", "c1", {"v": 1, "node": "line", "queue": {"joined_at": 1.5}})
    store.put("agent", "agent1", {"v": 1, "signed_in": True, "pause_reason": "lunch"})
    assert store.load("call") == {"c1": {"v": 1, "node": "line", "queue": {"joined_at": 1.5}}}
    assert store.load("agent") == {"agent1": {"v": 1, "signed_in": True, "pause_reason": "lunch"}}


def test_a_dropped_record_is_gone_and_dropping_twice_is_harmless(store: LiveStore) -> None:
    store.put("call", "c1", {"v": 1})
    store.put("call", "c2", {"v": 1, "caller": ["79001234567", "Иван"]})
    store.drop("call", "c1")
    store.drop("call", "c1")
    assert store.load("call") == {"c2": {"v": 1, "caller": ["79001234567", "Иван"]}}


def test_a_new_connection_finds_what_the_crashed_one_wrote(tmp_path: Path) -> None:
    path = tmp_path / "ivr.live.sqlite3"
    first = SqliteLive(path)
    first.put("agent", "agent2", {"v": 1, "signed_in": True})
    # No close(): a SIGKILL does not close files; every put is committed on return.
    second = SqliteLive(path)
    assert second.load("agent") == {"agent2": {"v": 1, "signed_in": True}}
    second.close()
    first.close()


def test_a_store_of_the_old_layout_keeps_its_records_when_a_new_daemon_opens_it(
    tmp_path: Path,
) -> None:
    # Live records were a rowid table with a separate key index until 2026-12-01: a store
    # of then, with a waiting caller and a signed-in agent in it, as that daemon left it.
    path = tmp_path / "ivr.sqlite3"
    old = sqlite3.connect(path)
    old.execute("PRAGMA journal_mode=WAL")
    old.execute(
        "CREATE TABLE live (kind TEXT NOT NULL, key TEXT NOT NULL, record TEXT NOT NULL,"
        " PRIMARY KEY (kind, key))"
    )
    old.execute("""INSERT INTO live VALUES ('call', 'c1', '{"v": 1, "node": "line"}')""")
    old.execute("""INSERT INTO live VALUES ('agent', 'agent1', '{"v": 1, "signed_in": true}')""")
    old.commit()
    old.close()

    live = SqliteLive(path)
    assert live.load("call") == {"c1": {"v": 1, "node": "line"}}
    assert live.load("agent") == {"agent1": {"v": 1, "signed_in": True}}
    live.put("call", "c1", {"v": 1, "node": "menu"})
    assert live.load("call") == {"c1": {"v": 1, "node": "menu"}}
    layout = live.db.execute("SELECT sql FROM sqlite_master WHERE name = 'live'").fetchone()[0]
    assert "WITHOUT ROWID" in layout
    live.close()
    again = SqliteLive(path)  # opened once more: nothing to rebuild, nothing lost
    assert again.load("agent") == {"agent1": {"v": 1, "signed_in": True}}
    again.close()


def test_sharing_the_journal_s_file_a_record_s_commit_keeps_the_notes_before_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ivr.sqlite3"
    journal = SqliteJournal(path)  # batches its notes: 50, or 5 s
    live = SqliteLive.sharing(journal)
    journal.append("c1", "arrived", {"number": "100"}, 10.0)
    journal.append("c1", "answered", {"queue": "returns"}, 11.0)
    live.put("call", "c1", {"v": 1, "node": "line"})
    journal.append("c1", "prompt", {"node": "line"}, 12.0)  # after the last change: may go

    # SIGKILL: nothing is closed; another process opens the file.
    reader = SqliteJournal(path)
    kinds = [entry.kind for entry in reader.read(0, 100)]
    assert kinds == ["arrived", "answered"]
    assert SqliteLive.sharing(reader).load("call") == {"c1": {"v": 1, "node": "line"}}
    reader.close()
    live.close()  # the journal's connection stays the journal's
    journal.close()


def test_a_redis_restart_while_records_are_written_loses_none(tmp_path: Path) -> None:
    port = free_port()

    def server() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip

    first = server()
    store = RedisLive.from_url(f"redis://127.0.0.1:{port}/0")
    deadline = time.monotonic() + 10
    while True:
        try:
            store.put("agent", "agent1", {"v": 1, "signed_in": True})
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    first.terminate()
    first.wait(10)
    # It comes back 0.3 s later, while the daemon writes the next record.
    later = threading.Timer(0.3, lambda: restarted.append(server()))
    restarted: list[subprocess.Popen[bytes]] = []
    later.start()
    try:
        store.put("call", "c1", {"v": 1, "node": "line"})
        assert store.load("agent") == {"agent1": {"v": 1, "signed_in": True}}
        assert store.load("call") == {"c1": {"v": 1, "node": "line"}}
    finally:
        later.join()
        store.close()
        for each in restarted:
            each.terminate()
            each.wait(10)
