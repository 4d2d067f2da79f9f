"""The redis-py pin (pyproject.toml) and the stores' timeouts, against a server that accepts
connections and never answers (a hung host; a stopped Redis looks the same): every request
gives up after the store's timeout, once, and the writer's callers never wait at all.

Measured with redis-py 5.0.8, 5.3.1, 6.4.0, 7.0.1, 7.4.1, 8.0.0 and 8.1.0: each honours an
explicit socket_timeout; before 8.0 there is none by default (a request waits forever), and
redis-py's default Retry tries a timeout again (8.1: 9.2 s for one request at 1 s with the
stores' old retry settings)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aredis

from ivr.journal.metrics import Metrics
from ivr.journal.store_sink import StoreMetrics
from ivr.store.buffered import BufferedJournal
from ivr.store.redis import RedisJournal, connect
from ivr.store.redis_writes import RedisBackend
from ivr.store.writer import StoreWriter
from ivr.store.writes import NoteWrite, Pending

TIMEOUT = 0.5
SLACK = 0.4  # scheduling on a busy machine


@pytest.fixture
def silent_url() -> Iterator[str]:
    """redis:// of a socket that accepts every connection and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not done.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    done.set()
    thread.join(2)
    for each in held:
        each.close()
    server.close()


def seconds(request: Callable[[], Any]) -> float:
    """How long `request` took to give up (it must raise a timeout)."""
    began = time.monotonic()
    with pytest.raises((redis.TimeoutError, TimeoutError)):
        request()
    return time.monotonic() - began


def test_the_installed_redis_py_is_the_pinned_one() -> None:
    major = int(redis.__version__.split(".")[0])
    assert major == 8, f"redis-py {redis.__version__}: pyproject.toml pins >=8.0,<9"


def test_every_store_request_gives_up_after_one_timeout(silent_url: str) -> None:
    client = connect(silent_url, TIMEOUT)
    journal = RedisJournal(client)
    took = {
        "XADD": seconds(lambda: journal.append("c1", "arrived", {}, 1_795_000_000.0)),
        "XRANGE": seconds(lambda: list(journal.read(0, 1))),
        "HSET": seconds(lambda: client.hset("h", "k", "v")),
        "EVAL": seconds(lambda: client.eval("return 1", 0)),
    }
    backend = RedisBackend(silent_url, TIMEOUT, "pin")
    note = NoteWrite("c1", "arrived", "{}", 1_795_000_000.0, 86400)
    took["writer's batch"] = seconds(lambda: backend.apply([Pending(1, note)]))
    took["load at start"] = seconds(lambda: backend.load_records("call"))
    backend.close()
    client.close()
    assert max(took.values()) < TIMEOUT + SLACK, took


def test_the_lease_s_asyncio_client_gives_up_too(silent_url: str) -> None:
    async def ping() -> float:
        client = aredis.Redis.from_url(silent_url, socket_timeout=TIMEOUT,
                                       socket_connect_timeout=TIMEOUT)  # fmt: skip
        began = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            await client.ping()
        await client.aclose()
        return time.monotonic() - began

    # redis-py's default Retry (3 tries) applies here: at most four timeouts.
    assert asyncio.run(ping()) < 4 * TIMEOUT + SLACK


def test_notes_for_a_silent_redis_return_at_once_and_wait(silent_url: str) -> None:
    metrics = Metrics()
    writer = StoreWriter(lambda: RedisBackend(silent_url, TIMEOUT, "pin"),
                         slow_seconds=TIMEOUT, watch=StoreMetrics(metrics)).start()  # fmt: skip
    journal = BufferedJournal(writer)
    began = time.monotonic()
    for n in range(1000):
        journal.append(f"c{n}", "ring", {}, 1_795_000_000.0 + n)
    assert time.monotonic() - began < 0.5
    deadline = time.monotonic() + 10
    while not metrics.registry.get_sample_value("ivr_store_write_failures_total",
                                                {"store": "journal"}):  # fmt: skip
        assert time.monotonic() < deadline, "no attempt failed"
        time.sleep(0.02)
    assert metrics.registry.get_sample_value("ivr_store_pending", {"store": "journal"}) == 1000
    assert metrics.registry.get_sample_value("ivr_store_up") == 0
    assert writer.close(0.5) == 1000
