"""Store fixtures: a SQLite file in tmp_path and a real redis-server on a free port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from ivr.store.port import JournalStore
from ivr.store.redis import RedisJournal
from ivr.store.sqlite import SqliteJournal


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server (no persistence) for the session; never port 6379."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is missing: apt-get install redis-server")
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "no",
         "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {port}")
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def redis_journal(redis_url: str) -> Iterator[RedisJournal]:
    """A RedisJournal on an empty database."""
    journal = RedisJournal.from_url(redis_url)
    journal.client.flushdb()
    yield journal
    journal.close()


@pytest.fixture
def sqlite_journal(tmp_path: Path) -> Iterator[SqliteJournal]:
    """A SqliteJournal in a fresh file."""
    journal = SqliteJournal(tmp_path / "var" / "ivr.sqlite3", batch=3)
    yield journal
    journal.close()


@pytest.fixture(params=["sqlite", "redis"])
def journal(request: pytest.FixtureRequest) -> JournalStore:
    """Each adapter in turn, for the contract tests."""
    store: JournalStore = request.getfixturevalue(f"{request.param}_journal")
    return store
