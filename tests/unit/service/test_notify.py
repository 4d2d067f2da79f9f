"""sd_notify as systemd receives it: datagrams to $NOTIFY_SOCKET, and watchdog pings that
stop when the event loop is stuck."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path

from ivr.service.notify import Notifier, feed_watchdog
from tests.unit.service.notify_listener import NotifyListener


def test_notices_reach_an_abstract_socket_from_this_process() -> None:
    with NotifyListener() as listener:
        notifier = Notifier.from_environ({"NOTIFY_SOCKET": listener.address})
        assert notifier.ready("active: 0 calls, ari up, ami up")
        _, notice = listener.wait_field("READY", "1", timeout=5)
    assert notice.fields == {"READY": "1", "STATUS": "active: 0 calls, ari up, ami up"}
    assert (notice.pid, notice.uid) == (os.getpid(), os.getuid())


def test_notices_reach_a_socket_on_a_path() -> None:
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:  # short: sun_path has 108 bytes
        path = Path(folder) / "notify"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
            server.bind(str(path))
            server.settimeout(5)
            assert Notifier(str(path)).stopping("stopping: draining 2 calls")
            assert server.recv(4096) == b"STOPPING=1\nSTATUS=stopping: draining 2 calls"


def test_a_newline_in_a_status_cannot_add_a_field() -> None:
    with NotifyListener() as listener:
        Notifier(listener.address).status("plan shop\nREADY=1")
        _, notice = listener.wait_field("STATUS", timeout=5)
    assert notice.fields == {"STATUS": "plan shop READY=1"}


def test_without_a_socket_nothing_is_sent_and_there_is_no_watchdog() -> None:
    notifier = Notifier.from_environ({"WATCHDOG_USEC": "10000000"})
    assert not notifier.enabled
    assert not notifier.ready("active")
    assert notifier.watchdog_period is None


def test_the_watchdog_is_fed_every_half_period_and_only_by_the_process_it_names() -> None:
    mine = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier.from_environ(mine).watchdog_period == 5.0
    another = {**mine, "WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier.from_environ(another).watchdog_period is None


def test_a_notice_to_a_socket_nobody_reads_is_dropped_not_raised() -> None:
    notifier = Notifier(f"@shop-ivr-test-gone-{os.urandom(4).hex()}")
    assert not notifier.ping()
    assert not notifier.ping()  # and again: still no exception


async def test_a_running_loop_pings_and_a_stuck_loop_misses_its_pings() -> None:
    timeout = 0.4  # WatchdogSec=: pings come every 0.2 s
    with NotifyListener() as listener:
        notifier = Notifier(listener.address, watchdog_usec=int(timeout * 1_000_000))
        feeding = asyncio.create_task(feed_watchdog(notifier))
        try:
            # A running loop: every gap between pings well inside the watchdog's timeout.
            started = time.monotonic()
            await asyncio.to_thread(
                listener.wait_for,
                lambda _: len(listener.pings(started)) >= 6,
                10,
                "six pings",
            )
            running = listener.pings(started)
            gaps = [b - a for a, b in itertools.pairwise(running)]
            assert 0.15 < statistics.median(gaps) < 0.3, gaps
            assert max(gaps) < timeout, gaps

            # A callback that blocks the loop (a synchronous call gone wrong): no ping while it
            # runs, and the gap exceeds the timeout, so systemd would restart the daemon.
            blocked_at = time.monotonic()
            time.sleep(1.0)
            unblocked_at = time.monotonic()
            await asyncio.to_thread(
                listener.wait_for,
                lambda n: n.fields.get("WATCHDOG") == "1" and n.at > unblocked_at,
                10,
                "a ping after the loop turned again",
            )
        finally:
            feeding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeding
    during = [at for at in listener.pings(blocked_at + 0.05) if at < unblocked_at]
    assert during == []
    before = max(at for at in listener.pings() if at <= blocked_at + 0.05)
    after = min(listener.pings(unblocked_at))
    assert after - before > timeout


async def test_no_watchdog_means_no_pings() -> None:
    # feed_watchdog returns at once: nothing to cancel, nothing sent.
    with NotifyListener() as listener:
        await asyncio.wait_for(feed_watchdog(Notifier(listener.address)), 1)
        assert listener.pings() == []
