"""sd_notify(3): telling systemd (Type=notify) that the daemon is ready, what it is doing,
that it reloads or stops, and that its event loop still turns (WATCHDOG=1).

The protocol is one datagram of `KEY=VALUE` lines to the unix socket named in
`$NOTIFY_SOCKET` (in the abstract namespace when the name starts with `@`); that is a few
lines of `socket`, so no library: python-systemd needs libsystemd's headers and a compiler to
install into a virtualenv, and the small PyPI clones add a dependency for less than this file.
Without `$NOTIFY_SOCKET` (a terminal, the lab, a test) every notice is a no-op.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Mapping

from ivr import logs
from ivr.logs import event

log = logging.getLogger("ivr.service")


class Notifier:
    """Notices to the service manager's socket; silent when there is none."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self.address = address
        self.watchdog_usec = watchdog_usec
        self._failed = False  # a failed send is logged once, not every watchdog period

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """The socket and watchdog systemd gave this process (`NOTIFY_SOCKET`, `WATCHDOG_USEC`;
        a `WATCHDOG_PID` naming another process means the watchdog is not ours to feed)."""
        environ = os.environ if environ is None else environ
        usec: int | None = None
        pid = environ.get("WATCHDOG_PID", "")
        if environ.get("WATCHDOG_USEC", "").isdigit() and (not pid or pid == str(os.getpid())):
            usec = int(environ["WATCHDOG_USEC"]) or None
        return cls(environ.get("NOTIFY_SOCKET") or None, usec)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @property
    def watchdog_period(self) -> float | None:
        """Seconds between pings: half the watchdog's timeout, as sd_watchdog_enabled(3) asks;
        None without a watchdog."""
        if self.address is None or self.watchdog_usec is None:
            return None
        return self.watchdog_usec / 2_000_000

    def send(self, **fields: str) -> bool:
        """Send one notice (`READY="1"`, `STATUS="..."`); True when it left. Never blocks:
        a full socket queue drops the notice rather than stall the event loop."""
        if self.address is None:
            return False
        # A notice follows the log lines written before it: info lines wait on the event loop
        # for a moment (ivr.logs), and systemd's journal would show READY=1 after a reload
        # before the reload's own plan.reloaded, STOPPING=1 before the drain's reason.
        logs.flush()
        # A value ends at the line's end: a newline would start a field of its own.
        text = "\n".join(f"{key}={' '.join(str(v).splitlines())}" for key, v in fields.items())
        address = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.sendto(text.encode(), address)
        except OSError as exc:
            if not self._failed:
                event(log, "service.notify_failed", logging.WARNING, socket=self.address,
                      error=str(exc))  # fmt: skip
            self._failed = True
            return False
        self._failed = False
        return True

    def ready(self, status: str) -> bool:
        return self.send(READY="1", STATUS=status)

    def status(self, text: str) -> bool:
        return self.send(STATUS=text)

    def reloading(self) -> bool:
        # MONOTONIC_USEC lets systemd (Type=notify-reload, 253+) tell this reload from an
        # older one; systemd 252 ignores it.
        return self.send(RELOADING="1", MONOTONIC_USEC=str(time.monotonic_ns() // 1000))

    def stopping(self, status: str) -> bool:
        return self.send(STOPPING="1", STATUS=status)

    def ping(self) -> bool:
        return self.send(WATCHDOG="1")


async def feed_watchdog(notifier: Notifier) -> None:
    """Ping the watchdog every half period from the event loop itself: a loop stuck in a
    blocking call misses the pings, and systemd restarts the daemon. Returns at once when
    systemd set no watchdog."""
    period = notifier.watchdog_period
    if period is None:
        return
    while True:
        notifier.ping()
        await asyncio.sleep(period)
