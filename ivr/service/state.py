"""What systemd is told about the daemon: READY=1 once it can serve (links up, or a standby
waiting for the lease), a STATUS= line kept current, RELOADING=1 around a reload,
STOPPING=1 when it drains, and the watchdog fed from the event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from ivr.service.notify import Notifier, feed_watchdog

STATUS_EVERY = 0.5  # seconds between looks at the daemon's health (a dict, cheap)


def status_line(health: Mapping[str, Any], calls: int, started: bool) -> str:
    """`active: 3 calls, ari up, ami up`, `standby: waiting for the lease`, or (before it
    was ever ready) `starting: waiting for ari, ami`, from the daemon's /healthz answer."""
    if health.get("role") == "standby":
        return "standby: waiting for the lease"
    links = {name: bool(health.get(name)) for name in ("ari", "ami")}
    if not started and not all(links.values()):
        down = ", ".join(name for name, up in links.items() if not up)
        return f"starting: waiting for {down}"
    state = ", ".join(f"{name} {'up' if up else 'down'}" for name, up in links.items())
    return f"active: {plural(calls, 'call')}, {state}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class ServiceState:
    """The daemon as systemd sees it; every notice is a no-op outside systemd."""

    def __init__(
        self,
        notifier: Notifier,
        health: Callable[[], Mapping[str, Any]],
        calls: Callable[[], int],
    ) -> None:
        self.notifier = notifier
        self.health = health
        self.calls = calls
        self.ready = False
        self.stopping = False
        self._said = ""
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_environ(
        cls, health: Callable[[], Mapping[str, Any]], calls: Callable[[], int]
    ) -> ServiceState:
        return cls(Notifier.from_environ(), health, calls)

    def line(self) -> str:
        return status_line(self.health(), self.calls(), self.ready)

    def start(self) -> None:
        """Begin telling systemd (a task on the running loop, until `close`)."""
        if self.notifier.enabled and self._task is None:
            self._task = asyncio.create_task(self.run())

    async def close(self) -> None:
        """Stop the notices; STOPPING=1 if nobody said so yet (the lease was lost)."""
        self.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        """Feed the watchdog and keep STATUS= current; READY=1 once ARI and AMI are both up
        for the first time while active (a standby says so through `standby`)."""
        if not self.notifier.enabled:
            return
        watchdog = asyncio.create_task(feed_watchdog(self.notifier))
        try:
            while True:
                self._tell()
                await asyncio.sleep(STATUS_EVERY)
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog

    def _tell(self) -> None:
        if self.stopping:
            self._say(f"stopping: draining {plural(self.calls(), 'call')}")
            return
        health = self.health()
        serving = health.get("role") != "standby" and health.get("ari") and health.get("ami")
        if not self.ready and serving:
            self.ready = True
            self._said = self.line()
            self.notifier.ready(self._said)
            return
        self._say(status_line(health, self.calls(), self.ready))

    def _say(self, line: str) -> None:
        if line != self._said:
            self._said = line
            self.notifier.status(line)

    def standby(self) -> None:
        """The lease is another daemon's: this one is ready as the standby."""
        line = "standby: waiting for the lease"
        if not self.ready:
            self.ready = True
            self._said = line
            self.notifier.ready(line)

    def reloading(self, reload: Callable[[], object]) -> Callable[[], None]:
        """`reload` (the SIGHUP handler) between RELOADING=1 and READY=1, the latter once the
        task it returns (if any) is done; before the daemon was ever ready, just `reload` (a
        READY=1 then would claim a start not yet done)."""

        def around() -> None:
            if not self.ready or self.stopping:
                reload()
                return
            self.notifier.reloading()
            try:
                started = reload()
            except BaseException:
                self._reloaded()
                raise
            if isinstance(started, asyncio.Future):
                started.add_done_callback(lambda _: self._reloaded())
            else:
                self._reloaded()

        return around

    def _reloaded(self) -> None:
        self._said = self.line()
        self.notifier.ready(self._said)

    def stop(self) -> None:
        """STOPPING=1 once, as the drain begins; the status says how many calls remain."""
        if self.stopping:
            return
        self.stopping = True
        self._said = f"stopping: draining {plural(self.calls(), 'call')}"
        self.notifier.stopping(self._said)
