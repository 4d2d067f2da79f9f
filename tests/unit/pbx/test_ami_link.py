"""The AMI link asks for only the events it reads, on every login, and copes with a refusal.

A small AMI server stands in for Asterisk: it answers Login, Filter, DeviceStateList and
Ping as Asterisk 22 does (checked on the lab) and notes every action it receives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from pydantic import SecretStr

from ivr.config import AmiSettings, ReconnectSettings
from ivr.journal.metrics import AMI_EVENTS, Metrics
from ivr.pbx.ami.link import EVENT_CLASSES, OTHER, USED_EVENTS, AmiLink

Action = dict[str, str]


@dataclass
class FakeAsterisk:
    """An AMI server: `refuse_filter` answers Filter as Asterisk does for a user without
    `system` in write=; `devices` is what DeviceStateList reports."""

    refuse_filter: bool = False
    devices: dict[str, str] = field(default_factory=dict)
    sessions: list[list[Action]] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    # Called when DeviceStateList arrives, before the list is written (to interleave events).
    on_list: Callable[[asyncio.StreamWriter], None] | None = None
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    port: int = 0

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        actions: list[Action] = []
        self.sessions.append(actions)
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        headers: Action = {}
        while line := await reader.readline():
            text = line.decode().rstrip("\r\n")
            if text:
                key, _, value = text.partition(": ")
                headers[key.lower()] = value
                continue
            if headers:
                actions.append(headers)
                self._answer(headers, writer)
                async with self.changed:
                    self.changed.notify_all()
            headers = {}

    def _answer(self, action: Action, writer: asyncio.StreamWriter) -> None:
        name, action_id = action.get("action", "").lower(), action.get("actionid", "")
        if name == "filter" and self.refuse_filter:
            writer.write(message(Response="Error", ActionID=action_id, Message="Permission denied"))
        elif name == "devicestatelist":
            writer.write(
                message(
                    Response="Success",
                    ActionID=action_id,
                    EventList="start",
                    Message="Device State Changes will follow",
                )
            )
            if self.on_list is not None:
                self.on_list(writer)
            for device, state in self.devices.items():
                writer.write(
                    message(
                        Event="DeviceStateChange", ActionID=action_id, Device=device, State=state
                    )
                )
            writer.write(
                message(
                    Event="DeviceStateListComplete",
                    ActionID=action_id,
                    EventList="Complete",
                    ListItems=str(len(self.devices)),
                )
            )
        elif name == "login":
            writer.write(
                message(Response="Success", ActionID=action_id, Message="Authentication accepted")
            )
        else:
            writer.write(message(Response="Success", ActionID=action_id, Message="Success"))

    def send(self, **headers: str) -> None:
        """An event to the latest session."""
        self.writers[-1].write(message(**headers))

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout), self.changed:
            await self.changed.wait_for(predicate)


def message(**headers: str) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()


@dataclass
class Heard:
    presence: list[tuple[str, bool, bool]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    status: list[bool] = field(default_factory=list)


@pytest.fixture
async def asterisk() -> AsyncIterator[FakeAsterisk]:
    fake = FakeAsterisk()
    server = await fake.start()
    yield fake
    for writer in fake.writers:
        writer.close()
    server.close()


async def linked(fake: FakeAsterisk, heard: Heard) -> AmiLink:
    settings = AmiSettings(host="127.0.0.1", port=fake.port, user="ivr", secret=SecretStr("s3"))
    link = AmiLink(
        settings,
        ReconnectSettings(initial=0.05, maximum=0.1),
        heard.status.append,
        on_presence=lambda device, ok, busy: heard.presence.append((device, ok, busy)),
        on_event=heard.events.append,
    )
    await link.start()
    return link


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def filters(actions: list[Action]) -> list[str]:
    return [a["matchcriteria"] for a in actions if a.get("action") == "Filter"]


async def test_every_login_asks_for_the_used_events_only_before_anything_else(
    asterisk: FakeAsterisk,
) -> None:
    heard = Heard()
    link = await linked(asterisk, heard)
    expected = [f"action(include),name({name}),method(regex)" for name in USED_EVENTS]
    await asterisk.wait_for(
        lambda: len(asterisk.sessions) == 1 and len(filters(asterisk.sessions[0])) == 3
    )
    first = asterisk.sessions[0]
    assert first[0]["action"] == "Login" and first[0]["events"] == EVENT_CLASSES == "system,call"
    assert filters(first) == expected
    assert [a["filter"] for a in first if a["action"] == "Filter"] == [
        f"Event: {name}" for name in USED_EVENTS
    ]
    # The filters come before the device list: nothing this session asks for is unfiltered.
    assert [a["action"] for a in first[1:5]] == ["Filter", "Filter", "Filter", "DeviceStateList"]
    await until(lambda: link.filtered)

    # Filters live as long as the session: after Asterisk drops it, the next login sets them
    # again, and only once (panoramisk would resend unanswered actions).
    asterisk.writers[0].close()
    await until(lambda: heard.status == [True, False, True])
    await asterisk.wait_for(
        lambda: len(asterisk.sessions) == 2 and len(filters(asterisk.sessions[1])) == 3
    )
    await until(lambda: link.filtered)
    assert filters(asterisk.sessions[1]) == expected
    await link.close()


async def test_a_refused_filter_is_logged_once_with_the_fix_and_the_link_keeps_working(
    asterisk: FakeAsterisk, caplog: pytest.LogCaptureFixture
) -> None:
    asterisk.refuse_filter = True
    heard = Heard()
    caplog.set_level(logging.INFO, logger="ivr.ami")
    link = await linked(asterisk, heard)
    await until(lambda: heard.status == [True])
    await until(lambda: any(r.msg == "ami.filter_refused" for r in caplog.records))
    asterisk.send(Event="Newchannel", Channel="PJSIP/trunk-00000001")
    asterisk.send(Event="DeviceStateChange", Device="PJSIP/agent1", State="INUSE")
    await until(lambda: ("PJSIP/agent1", True, True) in heard.presence)
    assert heard.events == [OTHER, "DeviceStateChange"]
    assert link.connected and not link.filtered

    asterisk.writers[0].close()
    await until(lambda: heard.status == [True, False, True])
    await asterisk.wait_for(lambda: len(filters(asterisk.sessions[-1])) == 3)
    await until(lambda: len(asterisk.sessions[-1]) >= 5)  # the device list was answered too
    refusals = [r for r in caplog.records if r.msg == "ami.filter_refused"]
    assert len(refusals) == 1
    fields = refusals[0].fields  # type: ignore[attr-defined]
    assert refusals[0].levelno == logging.WARNING
    assert fields["reason"] == "Permission denied" and fields["user"] == "ivr"
    assert "manager.conf" in fields["fix"] and "write=" in fields["fix"]
    assert "eventfilter" in fields["fix"]
    await link.close()


async def test_the_device_list_at_login_feeds_presence_and_a_newer_change_wins(
    asterisk: FakeAsterisk,
) -> None:
    asterisk.devices = {
        "PJSIP/agent1": "NOT_INUSE",
        "PJSIP/agent2": "UNAVAILABLE",
        "PJSIP/agent3": "INUSE",
    }
    # agent3 hangs up while the list is being written: its change event is newer news.
    asterisk.on_list = lambda writer: writer.write(
        message(Event="DeviceStateChange", Device="PJSIP/agent3", State="NOT_INUSE")
    )
    heard = Heard()
    link = await linked(asterisk, heard)
    await until(lambda: len(heard.presence) == 3)
    assert heard.presence == [
        ("PJSIP/agent3", True, False),
        ("PJSIP/agent1", True, False),
        ("PJSIP/agent2", False, False),
    ]
    # The list's own messages are answers, not events: only the change was counted.
    assert heard.events == ["DeviceStateChange"]
    await link.close()


def test_the_metric_names_each_used_event_and_the_rest_as_other() -> None:
    assert (*USED_EVENTS, OTHER) == AMI_EVENTS
    body = Metrics().render()[0].decode()
    for name in AMI_EVENTS:
        assert f'ivr_ami_events_total{{event="{name}"}} 0.0' in body
