"""The AMI link (panoramisk): logged in and kept alive, with every header value made safe.

panoramisk writes header values to the socket as they are, so a CR/LF in a value injects
headers of the attacker's choosing (checked on the lab PBX: a Setvar set another variable).
Every value that leaves through this module is cleaned by `header_value` first.
panoramisk also retries a lost connection at a fixed interval; the subclass below makes that
a capped exponential backoff and reports the link's state.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from panoramisk import Manager

from ivr.config import AmiSettings, ReconnectSettings
from ivr.logs import event
from ivr.pbx.backoff import Backoff

log = logging.getLogger("ivr.ami")

HEADER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
VALUE_LIMIT = 256
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def header_value(value: object) -> str:
    """A value safe to put after 'Header: ' in AMI: no CR, LF or other control characters."""
    return _UNSAFE.sub(" ", str(value))[:VALUE_LIMIT]


def action(name: str, headers: Mapping[str, object]) -> dict[str, str]:
    """An AMI action with checked header names and cleaned values."""
    message = {"Action": header_value(name)}
    for key, value in headers.items():
        if not HEADER_NAME.fullmatch(key):
            raise ValueError(f"not an AMI header name: {key!r}")
        message[key] = header_value(value)
    return message


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager with our backoff in place of its fixed reconnect interval."""

    def __init__(self, backoff: Backoff, **config: Any) -> None:
        super().__init__(**config)
        self.backoff = backoff
        self.closing = False

    def connection_made(self, future: asyncio.Future[Any]) -> None:
        if future.exception() is not None:
            self._retry()
            return
        super().connection_made(future)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False
        self.authenticated = False
        pinger = getattr(self, "pinger", None)
        if pinger is not None:
            pinger.cancel()
            self.pinger = None
        self.loop.call_soon(self.on_disconnect, self, exc)
        self._retry()

    def login(self, future: asyncio.Future[Any]) -> bool:
        ok = bool(super().login(future))
        if not ok:
            # A wrong secret, or an Asterisk still starting or stopping: say so, drop the
            # session and try again later. Closing it ourselves silences panoramisk's own
            # connection_lost, so the retry is scheduled here.
            event(log, "ami.login_failed", logging.ERROR, user=self.config.get("username", ""))
            self.protocol.close()
            self._retry()
        return ok

    def _retry(self) -> None:
        if not self.closing:
            delay = self.backoff.next_delay()
            event(log, "ami.reconnect", seconds=f"{delay:.2f}")
            self.loop.call_later(delay, self.connect)


# Device states (AMI DeviceStateChange) in which a softphone cannot take a call from us.
UNREACHABLE = frozenset({"UNAVAILABLE", "INVALID", "UNKNOWN"})
BUSY = frozenset({"INUSE", "BUSY", "RINGINUSE", "ONHOLD", "RINGING"})

PresenceSink = Callable[[str, bool, bool], None]


def presence(state: str) -> tuple[bool, bool]:
    """(reachable, busy) for an Asterisk device state such as NOT_INUSE or UNAVAILABLE."""
    state = state.upper()
    return state not in UNREACHABLE, state in BUSY


class AmiLink:
    """One AMI session: `connected` is true while logged in; device states feed presence."""

    def __init__(
        self,
        settings: AmiSettings,
        reconnect: ReconnectSettings,
        on_status: Callable[[bool], None],
        on_presence: PresenceSink | None = None,
    ) -> None:
        self.settings = settings
        self.on_status = on_status
        self.on_presence = on_presence
        self.connected = False
        self._manager = _Manager(
            Backoff(reconnect.initial, reconnect.maximum),
            host=settings.host,
            port=settings.port,
            username=settings.user,
            secret=settings.secret.get_secret_value(),
            ping_delay=settings.ping_interval,
            ping_interval=settings.ping_interval,
            on_login=self._logged_in,
            on_disconnect=self._lost,
            log=logging.getLogger("panoramisk"),
        )

    async def start(self) -> None:
        """Start connecting; returns at once, the link comes up (and back) on its own."""
        self._manager.loop = asyncio.get_running_loop()
        self._manager.register_event("FullyBooted", self._booted)
        self._manager.register_event("DeviceStateChange", self._device_state)
        self._manager.connect()

    async def close(self) -> None:
        """Log off and stop reconnecting."""
        self._manager.closing = True
        self._manager.close()
        self._set_status(False)

    def user_event(self, name: str, fields: Mapping[str, object]) -> None:
        """Publish a UserEvent for wallboards and CRM connectors listening on AMI."""
        if not self.connected:
            return
        message = action("UserEvent", {"UserEvent": name, **fields})
        self._manager.send_action(message)

    async def send(self, name: str, headers: Mapping[str, object]) -> Any:
        """Send an action and wait for its response."""
        return await self._manager.send_action(action(name, headers))

    def _logged_in(self, manager: Manager) -> None:
        self._manager.backoff.reset()
        self._set_status(True)
        if self.on_presence is not None:
            # Every device's state now, as DeviceStateChange events; changes follow by themselves.
            self._manager.send_action(action("DeviceStateList", {}))

    def _device_state(self, manager: Manager, message: Any) -> None:
        device, state = str(message.get("Device", "")), str(message.get("State", ""))
        if self.on_presence is not None and device and state:
            reachable, busy = presence(state)
            self.on_presence(device, reachable, busy)

    def _lost(self, manager: Manager, exc: Exception | None) -> None:
        self._set_status(False)

    def _booted(self, manager: Manager, message: Any) -> None:
        if manager.authenticated:
            self._set_status(True)

    def _set_status(self, up: bool) -> None:
        if up != self.connected:
            self.connected = up
            event(log, "ami.connected" if up else "ami.disconnected", host=self.settings.host)
            self.on_status(up)
