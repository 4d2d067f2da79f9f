"""The callback store contract, on SQLite and on a real redis-server: what a restart finds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.callbacks.task import CallbackTask
from ivr.calls.ports import CallbackStore
from ivr.store.redis import RedisCallbacks
from ivr.store.sqlite import SqliteCallbacks


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CallbackStore]:
    if request.param == "sqlite":
        sqlite = SqliteCallbacks(tmp_path / "ivr.sqlite3")
        yield sqlite
        sqlite.close()
        return
    redis_store = RedisCallbacks.from_url(request.getfixturevalue("redis_url"))
    redis_store.client.flushdb()
    yield redis_store
    redis_store.close()


def task(task_id: str, requested_at: float, status: str = "pending") -> CallbackTask:
    made = CallbackTask(task_id, "+79991234567", "returns", "web", requested_at, requested_at)
    made.status = status  # type: ignore[assignment]
    return made


def test_a_saved_task_comes_back_as_it_was_last_saved(store: CallbackStore) -> None:
    first = task("a", 1000.0)
    store.save(first.to_json())
    first.attempts, first.history = 1, [{"at": "1100", "outcome": "no-answer"}]
    store.save(first.to_json())
    [back] = store.load(since=5000.0)
    assert CallbackTask.from_json(back) == first


def test_pending_tasks_always_load_finished_ones_only_when_recent(store: CallbackStore) -> None:
    store.save(task("old-pending", 10.0).to_json())
    store.save(task("old-done", 20.0, "done").to_json())
    store.save(task("new-done", 2000.0, "done").to_json())
    ids = [t["id"] for t in store.load(since=1000.0)]
    assert ids == ["old-pending", "new-done"]


def test_a_new_connection_finds_what_an_earlier_one_saved(
    store: CallbackStore, tmp_path: Path
) -> None:
    store.save(task("kept", 10.0).to_json())
    again: CallbackStore
    if isinstance(store, SqliteCallbacks):
        again = SqliteCallbacks(tmp_path / "ivr.sqlite3")
    else:
        assert isinstance(store, RedisCallbacks)
        again = RedisCallbacks(store.client)
    assert [t["id"] for t in again.load(since=0)] == ["kept"]
