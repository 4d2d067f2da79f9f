"""What systemd is told about the daemon: ready once it can serve, its status, reloads, stops."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ivr import logs
from ivr.service.notify import Notifier
from ivr.service.state import ServiceState, status_line
from tests.unit.service.notify_listener import Notice, NotifyListener


class Daemon:
    """The daemon's health and call count as ServiceState reads them."""

    def __init__(self, role: str = "single") -> None:
        self.state: dict[str, Any] = {"ok": False, "role": role, "ari": False, "ami": False}
        self.calls = 0

    def health(self) -> dict[str, Any]:
        return dict(self.state)


@pytest.fixture
async def listener() -> AsyncIterator[NotifyListener]:
    with NotifyListener() as listening:
        yield listening


def service(listener: NotifyListener, daemon: Daemon) -> ServiceState:
    return ServiceState(Notifier(listener.address), daemon.health, lambda: daemon.calls)


async def seen(listener: NotifyListener, key: str, value: str | None = None) -> tuple[int, Notice]:
    return await asyncio.to_thread(listener.wait_field, key, value, 10)


def readies(listener: NotifyListener) -> list[Notice]:
    return [n for n in listener.snapshot() if n.fields.get("READY") == "1"]


async def test_ready_comes_once_both_links_are_up_and_the_status_follows_the_daemon(
    listener: NotifyListener,
) -> None:
    daemon = Daemon()
    state = service(listener, daemon)
    state.start()
    await seen(listener, "STATUS", "starting: waiting for ari, ami")
    daemon.state["ari"] = True
    await seen(listener, "STATUS", "starting: waiting for ami")
    assert readies(listener) == []
    daemon.state.update(ami=True, ok=True)
    _, ready = await seen(listener, "READY", "1")
    assert ready.fields["STATUS"] == "active: 0 calls, ari up, ami up"
    daemon.calls = 3
    await seen(listener, "STATUS", "active: 3 calls, ari up, ami up")
    daemon.state.update(ari=False, ok=False)  # a link lost later: said, but ready stays
    await seen(listener, "STATUS", "active: 3 calls, ari down, ami up")
    await state.close()
    assert len(readies(listener)) == 1


async def test_a_standby_is_ready_as_the_standby(listener: NotifyListener) -> None:
    daemon = Daemon(role="standby")
    state = service(listener, daemon)
    state.start()
    state.standby()
    _, ready = await seen(listener, "READY", "1")
    assert ready.fields["STATUS"] == "standby: waiting for the lease"
    daemon.state.update(role="active", ari=True, ami=True, ok=True)  # it took the lease over
    await seen(listener, "STATUS", "active: 0 calls, ari up, ami up")
    await state.close()
    assert len(readies(listener)) == 1


async def test_a_reload_is_framed_by_reloading_and_ready_once_its_task_is_done(
    listener: NotifyListener,
) -> None:
    daemon = Daemon()
    daemon.state.update(ari=True, ami=True, ok=True)
    state = service(listener, daemon)
    reloads: list[asyncio.Future[bool]] = []

    def reload() -> asyncio.Future[bool]:
        reloads.append(asyncio.get_running_loop().create_future())
        return reloads[-1]

    sighup = state.reloading(reload)
    sighup()  # before READY=1: the reload runs, and nothing claims the start is done
    reloads[-1].set_result(True)
    state.start()
    first, _ = await seen(listener, "READY", "1")
    sighup()
    reloading, notice = await seen(listener, "RELOADING", "1")
    assert int(notice.fields["MONOTONIC_USEC"]) > 0
    assert len(readies(listener)) == 1  # the reload is still running
    reloads[-1].set_result(True)
    again, ready = await asyncio.to_thread(listener.wait_field, "READY", "1", 10, reloading)
    assert first < reloading < again
    assert ready.fields["STATUS"] == "active: 0 calls, ari up, ami up"
    assert len(reloads) == 2
    await state.close()


async def test_stop_says_stopping_once_with_the_calls_left(listener: NotifyListener) -> None:
    daemon = Daemon()
    daemon.calls = 2
    state = service(listener, daemon)
    state.start()
    state.stop()
    state.stop()
    daemon.calls = 1
    await seen(listener, "STATUS", "stopping: draining 1 call")
    await state.close()
    stopping = [n for n in listener.snapshot() if "STOPPING" in n.fields]
    assert [n.fields for n in stopping] == [
        {"STOPPING": "1", "STATUS": "stopping: draining 2 calls"}
    ]


def test_status_lines() -> None:
    up = {"role": "active", "ari": True, "ami": True}
    assert status_line(up, 1, started=True) == "active: 1 call, ari up, ami up"
    assert status_line({**up, "ami": False}, 0, started=False) == "starting: waiting for ami"
    assert status_line({"role": "standby"}, 0, started=True) == "standby: waiting for the lease"


async def test_a_notice_comes_after_the_log_lines_written_before_it(
    listener: NotifyListener,
) -> None:
    # The log holds info lines on the event loop for a moment; `systemctl reload` returns at
    # READY=1, and ops then read the journal for plan.reloaded.
    said: list[str] = []

    class Said(io.StringIO):
        def write(self, text: str) -> int:
            said.extend(line.split(" event=")[1].split()[0] for line in text.splitlines())
            return len(text)

    class Telling(Notifier):
        def send(self, **fields: str) -> bool:
            sent = super().send(**fields)
            said.extend(f"{key}=1" for key in ("READY", "STOPPING") if key in fields)
            return sent

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.setup("info")
    root.handlers[0].setStream(Said())  # type: ignore[attr-defined]
    try:
        daemon = Daemon()
        daemon.state.update(ari=True, ami=True, ok=True)
        state = ServiceState(Telling(listener.address), daemon.health, lambda: daemon.calls)
        state.start()
        first, _ = await seen(listener, "READY", "1")

        async def reload() -> None:
            logs.event(logging.getLogger("ivr.reload"), "plan.reloaded", plans="shop@1")

        state.reloading(lambda: asyncio.get_running_loop().create_task(reload()))()
        await asyncio.to_thread(listener.wait_field, "READY", "1", 10, first)
        logs.event(logging.getLogger("ivr.service"), "drain.started", calls=0)
        state.stop()
        await state.close()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert said == ["READY=1", "plan.reloaded", "READY=1", "drain.started", "STOPPING=1"]
