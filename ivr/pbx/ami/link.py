"""The AMI link (panoramisk): logged in and kept alive, with every header value made safe.

panoramisk writes header values to the socket as they are, so a CR/LF in a value injects
headers of the attacker's choosing (checked on the lab PBX: a Setvar set another variable).
Every value that leaves through this module is cleaned by `header_value` first.
panoramisk also retries a lost connection at a fixed interval; the subclass below makes that
a capped exponential backoff and reports the link's state.

The session asks for only the events it reads (`USED_EVENTS`): the login's event classes,
then an AMI `Filter` per event on every login (filters live as long as the session). Read
unfiltered, AMI sent 70 events per call through menu -> queue -> agent on the lab, each one
parsed here, for the three device states the daemon uses (bench/ami_events.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
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


# The events the daemon reads: device states for presence, FullyBooted for health, Shutdown
# (panoramisk drops the link on it). Their classes are `call` and `system`.
USED_EVENTS = ("DeviceStateChange", "FullyBooted", "Shutdown")
EVENT_CLASSES = "system,call"
OTHER = "other"  # the metric's name for any event outside USED_EVENTS
FILTER_FIX = (
    "give the AMI user `system` in its write= line in /etc/asterisk/manager.conf and run "
    "`manager reload` in the Asterisk CLI, or put the eventfilter lines of "
    "config/asterisk/manager.conf in the user's section (docs/service.md, AMI)"
)
EventSink = Callable[[str], None]


def event_filter(name: str) -> dict[str, str]:
    """The `Filter` action that lets event `name` through to this session.

    `name()` is matched by hash on Asterisk 22; the regex is what an older Asterisk, which
    ignores MatchCriteria, applies instead, so both let through the same events."""
    return action(
        "Filter",
        {
            "Operation": "Add",
            "MatchCriteria": f"action(include),name({name}),method(regex)",
            "Filter": f"Event: {name}",
        },
    )


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager with our backoff in place of its fixed reconnect interval."""

    def __init__(self, backoff: Backoff, on_event: EventSink, **config: Any) -> None:
        super().__init__(**config)
        self.backoff = backoff
        self.on_event = on_event
        self.closing = False

    def dispatch(self, message: Any) -> Any:
        # Every event that is not part of an action's response passes here.
        self.on_event(str(message.get("Event", "")))
        return super().dispatch(message)

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
    """One AMI session: `connected` is true while logged in; device states feed presence;
    `on_event` hears each event's name (USED_EVENTS, or OTHER for any other)."""

    def __init__(
        self,
        settings: AmiSettings,
        reconnect: ReconnectSettings,
        on_status: Callable[[bool], None],
        on_presence: PresenceSink | None = None,
        on_event: EventSink | None = None,
    ) -> None:
        self.settings = settings
        self.on_status = on_status
        self.on_presence = on_presence
        self.on_event = on_event
        self.connected = False
        self.filtered = False  # Asterisk accepted this session's filters
        self._filter_refusal_logged = False
        self._logins = 0
        # Devices whose state changed since the login's DeviceStateList was asked for: the
        # list, read at its end, would be older news for them.
        self._changed_since_list: set[str] | None = None
        self._settling: set[asyncio.Task[None]] = set()
        self._manager = _Manager(
            Backoff(reconnect.initial, reconnect.maximum),
            self._count,
            host=settings.host,
            port=settings.port,
            username=settings.user,
            secret=settings.secret.get_secret_value(),
            ping_delay=settings.ping_interval,
            ping_interval=settings.ping_interval,
            events=EVENT_CLASSES,
            # Sent again on every login: a copy left over from a lost session would be a
            # duplicate (panoramisk resends unanswered actions after a reconnect).
            forgetable_actions=("ping", "login", "filter", "devicestatelist"),
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
        for task in list(self._settling):
            task.cancel()
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
        self._logins += 1
        self.filtered = False
        self._set_status(True)
        # Filters first: on the wire they precede everything else this session asks for.
        filters = [self._manager.send_action(event_filter(name)) for name in USED_EVENTS]
        listing = None
        if self.on_presence is not None:
            # Every device's state now; changes follow as DeviceStateChange events.
            self._changed_since_list = set()
            listing = self._manager.send_action(action("DeviceStateList", {}))
        task = asyncio.ensure_future(self._settle(filters, listing))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def _settle(self, filters: list[Awaitable[Any]], listing: Awaitable[Any] | None) -> None:
        """Read the answers to the login's actions (lost with the session if it drops)."""
        login, wait = self._logins, max(5.0, self.settings.ping_interval)
        try:
            answers = [await asyncio.wait_for(f, wait) for f in filters]
            self._filters_answered(answers)
            if listing is not None:
                self._device_list(await asyncio.wait_for(listing, wait))
        except TimeoutError:
            # A session lost meanwhile takes its answers with it; the next login asks again.
            if login == self._logins and self.connected:
                event(log, "ami.login_unanswered", logging.WARNING, seconds=f"{wait:g}")

    def _filters_answered(self, answers: list[Any]) -> None:
        refused = next((a for a in answers if not getattr(a, "success", False)), None)
        if refused is None:
            self.filtered = True
            event(log, "ami.filtered", events=",".join(USED_EVENTS))
        elif not self._filter_refusal_logged:
            # Once per process: every reconnect would be refused again for the same reason.
            self._filter_refusal_logged = True
            event(
                log,
                "ami.filter_refused",
                logging.WARNING,
                user=self.settings.user,
                reason=str(refused.get("Message", "") or refused),
                effect="Asterisk sends this session every event (more CPU on both sides)",
                fix=FILTER_FIX,
            )

    def _device_list(self, answer: Any) -> None:
        # DeviceStateList answers with DeviceStateChange messages that carry its ActionID:
        # panoramisk hands them to the action, not to the event handlers.
        messages = answer if isinstance(answer, list) else [answer]
        newer, self._changed_since_list = self._changed_since_list or set(), None
        for message in messages:
            device = str(message.get("Device", ""))
            if message.get("Event") == "DeviceStateChange" and device not in newer:
                self._presence(device, str(message.get("State", "")))

    def _device_state(self, manager: Manager, message: Any) -> None:
        device = str(message.get("Device", ""))
        if self._changed_since_list is not None:
            self._changed_since_list.add(device)
        self._presence(device, str(message.get("State", "")))

    def _presence(self, device: str, state: str) -> None:
        if self.on_presence is not None and device and state:
            reachable, busy = presence(state)
            self.on_presence(device, reachable, busy)

    def _count(self, name: str) -> None:
        if self.on_event is not None:
            self.on_event(name if name in USED_EVENTS else OTHER)

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
