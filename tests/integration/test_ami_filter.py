"""The daemon's AMI session gets only the events it reads, also after a reconnect, and
presence still works: real Asterisk, SIPp caller, SIPp agents.

A relay between the daemon and Asterisk's AMI port keeps every message Asterisk sent the
daemon, so the test sees the session from Asterisk's side, not from the daemon's word."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from ivr.lab.softphones.agent import LabAgent
from ivr.pbx.ami.link import USED_EVENTS
from tests.integration.lab import AmiListen, AriWatch, DaemonProcess, sip_call

AMI_PORT = 5038
# What the session may carry: the events the daemon reads, and the device list that answers
# its own DeviceStateList at each login.
ALLOWED = {*USED_EVENTS, "DeviceStateListComplete"}


@dataclass(frozen=True)
class Received:
    """One message Asterisk sent the daemon: its session (1, 2... per connection) and headers."""

    session: int
    headers: dict[str, str]

    @property
    def event(self) -> str:
        return self.headers.get("Event", "")


class AmiRelay:
    """A TCP relay from the daemon to Asterisk's AMI that keeps what Asterisk sent and can
    cut the connection, as an Asterisk restart or a network fault would. Its own event loop
    runs in a thread: the test's blocking waits never hold the daemon's traffic."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.port = 0
        self._sessions = 0
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    def start(self) -> AmiRelay:
        self._thread.start()
        serving = asyncio.start_server(self._accept, "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(serving, self._loop).result(5)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def cut(self) -> None:
        """Drop every connection through the relay (the daemon then connects again)."""

        async def drop() -> None:
            for writer in self._writers:
                writer.close()

        asyncio.run_coroutine_threadsafe(drop(), self._loop).result(5)

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 20.0) -> Received:
        """The first message received (so far or to come) for which `predicate` holds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((m for m in self.received if predicate(m)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    last = [m.headers for m in self.received[-5:]]
                    raise AssertionError(f"no such AMI message in {timeout} s; last {last}")
                self._changed.wait(left)

    def events(self, session: int | None = None) -> list[Received]:
        with self._changed:
            return [
                m for m in self.received if m.event and (session is None or m.session == session)
            ]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._sessions += 1
        session = self._sessions
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", AMI_PORT)
        self._writers += [writer, up_writer]
        pumps = [
            asyncio.ensure_future(self._pump(reader, up_writer, None)),
            asyncio.ensure_future(self._pump(up_reader, writer, session)),
        ]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for each in (writer, up_writer):
            each.close()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, session: int | None
    ) -> None:
        rest = b""
        while data := await reader.read(65536):
            writer.write(data)
            if session is not None:
                *messages, rest = (rest + data).split(b"\r\n\r\n")
                self._keep(session, messages)
            await writer.drain()

    def _keep(self, session: int, messages: list[bytes]) -> None:
        with self._changed:
            for message in messages:
                lines = message.decode(errors="replace").split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines if ": " in line)
                self.received.append(Received(session, headers))
            self._changed.notify_all()


@pytest.fixture
def relay() -> Iterator[AmiRelay]:
    tap = AmiRelay().start()
    yield tap
    tap.close()


@pytest.fixture
def shop(credentials: dict[str, str], tmp_path: Path, relay: AmiRelay) -> Iterator[DaemonProcess]:
    plans, roster = REPO / "tests" / "dialplans" / "queues", REPO / "tests" / "agents"
    relayed = {**credentials, "IVR_AMI_PORT": str(relay.port)}
    process = DaemonProcess(relayed, tmp_path, plans, roster).start()
    process.wait_health(200, timeout=20)
    for agent in ("agent1", "agent2", "agent3", "agent4"):
        status, body = process.api("POST", f"/api/agents/{agent}/sign-in")
        assert status == 200 and body["state"] == "available", body
    yield process
    process.stop()


def state_of(device: str, state: str, session: int) -> Callable[[Received], bool]:
    return lambda m: (
        m.session == session
        and m.event == "DeviceStateChange"
        and "ActionID" not in m.headers
        and m.headers.get("Device") == device
        and m.headers.get("State") == state
    )


def outside(relay: AmiRelay, session: int) -> list[dict[str, str]]:
    """Events outside ALLOWED that reached the session once its filters were in place: from
    the answer to DeviceStateList on, which the daemon asks for after its filters."""
    messages = [m for m in relay.received if m.session == session]
    start = next(i for i, m in enumerate(messages) if m.headers.get("EventList") == "start")
    return [m.headers for m in messages[start:] if m.event and m.event not in ALLOWED]


async def test_a_busy_agent_is_not_rung_and_the_session_gets_only_what_the_daemon_reads(
    lab_paths: LabPaths,
    credentials: dict[str, str],
    shop: DaemonProcess,
    watch: AriWatch,
    relay: AmiRelay,
) -> None:
    async with AmiListen(credentials) as wallboard:
        with (
            LabAgent.named(lab_paths, "agent2", talk_seconds=30) as boris,
            LabAgent.named(lab_paths, "agent4", talk_seconds=2) as dmitry,
        ):
            await asyncio.to_thread(shop.wait_log, r"event=ami.filtered ")
            # Boris takes a call that is not ours (a colleague dials him directly): only AMI
            # says he is busy, through the filter.
            private = await watch.request(
                "POST", "/channels", endpoint="PJSIP/agent2", app="labwatch", callerId="colleague"
            )
            await asyncio.to_thread(boris.wait_for, "answered", 1, 20)
            await asyncio.to_thread(relay.wait_for, state_of("PJSIP/agent2", "INUSE", 1))
            sale = asyncio.create_task(
                sip_call(lab_paths, CallScript("200", "71000000130", keys="2"))
            )
            await asyncio.to_thread(dmitry.wait_for, "answered", 1, 20)
            assert await sale == 0
            assert len(boris.invites()) == 1  # only the colleague's call
            # The agent's phone going idle is the call's last news on AMI.
            await asyncio.to_thread(relay.wait_for, state_of("PJSIP/agent4", "NOT_INUSE", 1))
            channel = await watch.channel_of("71000000130")
            shop.wait_log(rf"event=call.ended call={channel}")
            # Wallboards still get the call's summary on their own AMI user.
            await wallboard.wait_for(
                lambda m: ("UserEvent", "IvrCallEnded") in m and ("Uniqueid", channel) in m
            )
            assert outside(relay, 1) == []
            assert {m.event for m in relay.events(1)} >= {"DeviceStateChange", "FullyBooted"}

            # The link drops (as when Asterisk restarts): filters are per session, and the
            # daemon sets them again on its next login.
            mark = len(shop.lines)
            relay.cut()
            await asyncio.to_thread(shop.wait_log, r"event=ami.disconnected", 20, mark)
            await asyncio.to_thread(shop.wait_log, r"event=ami.filtered ", 20, mark)
            second = asyncio.create_task(
                sip_call(lab_paths, CallScript("200", "71000000131", keys="2"))
            )
            await asyncio.to_thread(dmitry.wait_for, "answered", 2, 20)
            assert await second == 0
            assert len(boris.invites()) == 1  # Boris is still busy, and known to be
            await asyncio.to_thread(relay.wait_for, state_of("PJSIP/agent4", "NOT_INUSE", 2))
            await watch.request("DELETE", f"/channels/{private['id']}")
            await asyncio.to_thread(relay.wait_for, state_of("PJSIP/agent2", "NOT_INUSE", 2))
            assert outside(relay, 2) == []
            assert 'ivr_ami_events_total{event="other"} 0.0' in shop.metrics()
