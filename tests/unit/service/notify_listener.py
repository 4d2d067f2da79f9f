"""A NOTIFY_SOCKET of a test's own: what systemd would receive from the daemon, when and from
which process, for tests of readiness, status, reload, stop and watchdog pings."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

UCRED = struct.Struct("3i")  # pid, uid, gid of the sender (SO_PASSCRED)


@dataclass(frozen=True)
class Notice:
    """One datagram: its fields, its arrival (time.monotonic()), and its sender."""

    at: float
    fields: dict[str, str]
    pid: int
    uid: int


class NotifyListener:
    """A unix datagram socket in the abstract namespace (`@shop-ivr-test-...`), read by a
    thread that keeps every notice."""

    def __init__(self) -> None:
        self.address = f"@shop-ivr-test-{os.urandom(6).hex()}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind("\0" + self.address[1:])
        self.sock.settimeout(0.1)
        self.notices: list[Notice] = []
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closed = True
        self._thread.join(2)
        self.sock.close()

    def __enter__(self) -> NotifyListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self) -> None:
        while not self._closed:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(UCRED.size))
            except TimeoutError:
                continue
            at = time.monotonic()
            pid = uid = -1
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid, uid, _ = UCRED.unpack(payload[: UCRED.size])
            fields = dict(line.partition("=")[::2] for line in data.decode().split("\n") if line)
            with self._changed:
                self.notices.append(Notice(at, fields, pid, uid))
                self._changed.notify_all()

    def snapshot(self) -> list[Notice]:
        with self._changed:
            return list(self.notices)

    def wait_for(
        self, predicate: Callable[[Notice], bool], timeout: float, what: str, after: int = 0
    ) -> tuple[int, Notice]:
        """The first notice (from index `after`) for which `predicate` holds, and its index;
        fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index, notice in enumerate(self.notices[after:], after):
                    if predicate(notice):
                        return index, notice
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [n.fields for n in self.notices[-10:]]
                    raise AssertionError(f"no {what} within {timeout} s; last notices: {seen}")
                self._changed.wait(left)

    def wait_field(
        self, key: str, value: str | None = None, timeout: float = 20.0, after: int = 0
    ) -> tuple[int, Notice]:
        """The first notice carrying `key` (with `value`, when given)."""
        return self.wait_for(
            lambda n: key in n.fields and (value is None or n.fields[key] == value),
            timeout,
            f"{key}={value if value is not None else '...'}",
            after,
        )

    def pings(self, since: float = 0.0) -> list[float]:
        """Arrival times of the WATCHDOG=1 pings after `since` (time.monotonic())."""
        return [n.at for n in self.snapshot() if n.fields.get("WATCHDOG") == "1" and n.at > since]
