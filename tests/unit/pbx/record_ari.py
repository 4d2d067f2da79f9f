"""Record ARI traffic between an ARI client and a real Asterisk, for `ari_replay.py`.

A recording proxy sits between the client (the daemon, or `AriPbx` driven by a scenario here)
and Asterisk's ARI, passes every request, response and event-socket message through, and
writes a cassette: `cassettes/NAME.json` with the timeline (requests with method, path, query
and body; responses with status and body; events in their order relative to the requests),
and the API docs once for all cassettes in `cassettes/api-docs.json`. The api_key and the
Authorization header are never written, and the password is scrubbed from anything else.

Re-recording the scenarios the tests replay (as root, from the checkout; needs the lab's
chroot built once, see docs/lab.md). Record in a lab of your own in a network
namespace, so that no other daemon holds the Stasis app `ivr` meanwhile:

    cp -a /var/tmp/ivr-lab /var/tmp/ivr-lab-rec
    rm -f /var/tmp/ivr-lab-rec/sid/run/asterisk/asterisk.{pid,ctl} /var/tmp/ivr-lab-rec/run/*.pid
    ip netns add ivrrec && ip netns exec ivrrec ip link set lo up
    export IVR_LAB_DIR=/var/tmp/ivr-lab-rec
    ip netns exec ivrrec .venv/bin/ivr lab up
    ip netns exec ivrrec .venv/bin/python -m tests.unit.pbx.record_ari scenario all
    ip netns exec ivrrec .venv/bin/ivr lab down
    ip netns del ivrrec && rm -rf /var/tmp/ivr-lab-rec
    .venv/bin/python -m pytest tests/unit/pbx -q

`scenario NAME` records one (see SCENARIOS). Each drives `AriPbx` through the proxy with the
commands the core would send, places real SIPp calls (RFC 4733 keys), runs SIPp softphones
for the agents, checks the core events that come back, and writes the ids it saw (channel
ids from Asterisk, playback and leg ids it chose) to the cassette's `ids`, which the tests
read: a re-recording needs no test edits unless the adapter's behaviour changed. A scenario
whose events differ from what it expects stops with an AssertionError and writes nothing.

To record a live daemon instead, point its `ari.url` at a proxy and stop it with Ctrl-C:

    python -m tests.unit.pbx.record_ari proxy --listen 127.0.0.1:8089 --out /tmp/live.json
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import WSMsgType, web
from yarl import URL

from ivr.calls.commands import Answer, HangUp, Play, StopPlayback
from ivr.calls.events import CallArrived, CallHungUp, CallResumed, DigitPressed, PromptFinished
from ivr.calls.legs import (
    AgentAnswered,
    AgentLegEnded,
    Bridge,
    DropLeg,
    LegEvent,
    RingAgent,
    StartMusic,
    StopMusic,
)
from ivr.lab import credentials as lab_credentials
from ivr.lab.paths import LabPaths
from ivr.lab.sipp import CallScript, popen_call
from ivr.lab.softphones.agent import LabAgent
from ivr.lab.softphones.script import AgentScript
from tests.unit.pbx.ari_replay import (
    API_DOCS,
    CASSETTES,
    DOCS_PREFIX,
    EVENTS_PATH,
    ORIGIN,
    SECRET_PARAMS,
    AdapterRun,
    Entry,
    Json,
    Request,
    body_of,
    dump_cassette,
)

# The headers a client's request needs upstream; Host is the proxy's own.
FORWARDED = ("Authorization", "Content-Type", "Accept")
SCRUBBED = "***"


class RecordingProxy:
    """A pass-through ARI proxy that keeps a timeline of what crossed it."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.timeline: list[Entry] = []
        self.docs: dict[str, Json] = {}
        self.secrets: set[str] = set()
        self._exchanges = 0
        self._connections = 0
        self._open = asyncio.Event()
        self._open.set()
        self._pairs: dict[int, tuple[web.WebSocketResponse, aiohttp.ClientWebSocketResponse]] = {}
        self._dropped: set[int] = set()
        self._changed = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._origin = ""

    @property
    def url(self) -> str:
        return self._origin

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> RecordingProxy:
        self._session = aiohttp.ClientSession(auto_decompress=True)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self._origin = f"http://{bound[0]}:{bound[1]}"
        return self

    async def close(self) -> None:
        for client, upstream in list(self._pairs.values()):
            await client.close()
            await upstream.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def note(self, text: str) -> None:
        """A mark in the timeline saying what the recorder did, for whoever reads the cassette."""
        self.timeline.append({"note": text})

    async def drop_sockets(self, hold: bool = True) -> None:
        """Cut the client's event sockets as a network blip would; with `hold`, new sockets wait
        for `release()` (the blip lasts until then)."""
        if hold:
            self._open.clear()
        for connection, (client, upstream) in list(self._pairs.items()):
            self._dropped.add(connection)
            self.timeline.append({"ws": "drop", "connection": connection})
            await upstream.close()
            await client.close()

    def release(self) -> None:
        self._open.set()

    async def wait_for_event(
        self, kind: str, channel_id: str | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Wait until Asterisk has pushed an event of `kind` (about `channel_id`)."""

        def found() -> dict[str, Any] | None:
            for entry in self.timeline:
                event = entry.get("event") or {}
                channel = (event.get("channel") or {}).get("id")
                if event.get("type") == kind and channel_id in (None, channel):
                    return dict(event)
            return None

        deadline = time.monotonic() + timeout
        while (event := found()) is None:
            self._changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind} for {channel_id} within {timeout} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return event

    def cassette(self, name: str, description: str, app: str, ids: dict[str, str]) -> str:
        """The cassette as text, secrets scrubbed."""
        data = {
            "name": name,
            "description": description,
            "recorded": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "app": app,
            "api_docs": API_DOCS,
            "ids": ids,
            "timeline": self.timeline,
        }
        return self.scrub(dump_cassette(data))

    def docs_text(self, known: dict[str, Json] | None = None) -> str:
        """The API docs seen, merged into `known` ones, as text, secrets scrubbed. They are kept
        whole (swagger clients insist on fields as plain as descriptions), once for all."""
        docs = {**(known or {}), **self.docs}
        return self.scrub(json.dumps(docs, sort_keys=True, separators=(",", ":")) + "\n")

    def scrub(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, SCRUBBED)
        for origin in (self._origin, self.upstream):
            if origin:
                text = text.replace(origin, ORIGIN)
        return text

    # The pass-through.

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self._learn_secrets(request)
        if request.path == EVENTS_PATH and request.headers.get("Upgrade", "").lower() == (
            "websocket"
        ):
            return await self._events(request)
        raw = await request.read()
        docs = request.path.startswith(DOCS_PREFIX)
        entry: Entry = {}
        if not docs:
            self._exchanges += 1
            number = self._exchanges
            seen = Request(request.method, request.path, _query(request), body_of(raw))
            entry = {"exchange": number, "request": seen.to_json()}
            self._append(entry)
        assert self._session is not None
        async with self._session.request(
            request.method,
            URL(self.upstream + request.raw_path, encoded=True),
            data=raw or None,
            headers=_forwarded(request),
        ) as upstream:
            body = await upstream.read()
            status = upstream.status
            content_type = upstream.headers.get("Content-Type", "")
        if docs:
            text = body.decode("utf-8")
            if status == 200:
                self.docs[request.path.removeprefix(DOCS_PREFIX)] = json.loads(
                    text.replace(self.upstream, ORIGIN)
                )
            # The docs' basePath names the host they were fetched from: keep the client here.
            body = text.replace(self.upstream, self._origin).encode("utf-8")
        else:
            entry["response"] = {"status": status, "body": body_of(body)}
            if content_type and not content_type.startswith("application/json"):
                entry["response"]["content_type"] = content_type.split(";")[0]
            self._append({"responded": entry["exchange"]})
        headers = {"Content-Type": content_type} if content_type else {}
        return web.Response(status=status, body=body or None, headers=headers)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        await self._open.wait()
        assert self._session is not None
        url = URL(self.upstream.replace("http", "ws", 1) + request.raw_path, encoded=True)
        try:
            upstream = await self._session.ws_connect(url, headers=_forwarded(request))
        except aiohttp.WSServerHandshakeError as exc:
            self.note(f"event socket refused upstream: HTTP {exc.status}")
            return web.Response(status=exc.status)
        self._connections += 1
        connection = self._connections
        self._append({"ws": "open", "connection": connection, "query": _query(request)})
        client = web.WebSocketResponse()
        await client.prepare(request)
        self._pairs[connection] = (client, upstream)
        down = asyncio.create_task(self._down(connection, client, upstream))
        async for message in client:
            if message.type == WSMsgType.TEXT:
                await upstream.send_str(message.data)
        if connection not in self._dropped and not upstream.closed:
            self._append({"ws": "closed", "connection": connection})
        await upstream.close()
        await down
        self._pairs.pop(connection, None)
        return client

    async def _down(
        self,
        connection: int,
        client: web.WebSocketResponse,
        upstream: aiohttp.ClientWebSocketResponse,
    ) -> None:
        async for message in upstream:
            if message.type != WSMsgType.TEXT:
                continue
            self._append({"event": json.loads(message.data), "connection": connection})
            await client.send_str(message.data)
        if connection not in self._dropped and not client.closed:
            # Asterisk went away (or restarted): the replay cuts the client off here too.
            self._dropped.add(connection)
            self._append({"ws": "drop", "connection": connection})
            await client.close()

    def _append(self, entry: Entry) -> None:
        self.timeline.append(entry)
        self._changed.set()

    def _learn_secrets(self, request: web.Request) -> None:
        for name in SECRET_PARAMS:
            if value := request.query.get(name):
                self._add_secret(value)
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            self.secrets.add(header[6:])
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                self._add_secret(base64.b64decode(header[6:]).decode())

    def _add_secret(self, user_password: str) -> None:
        self.secrets.add(user_password)
        password = user_password.partition(":")[2]
        if len(password) >= 4:
            self.secrets.add(password)
        self.secrets.add(base64.b64encode(user_password.encode()).decode())


def _query(request: web.Request) -> dict[str, str]:
    return {key: value for key, value in request.query.items() if key not in SECRET_PARAMS}


def _forwarded(request: web.Request) -> dict[str, str]:
    return {name: request.headers[name] for name in FORWARDED if name in request.headers}


# Scenarios: real calls through the proxy, the core's part played by the driver below.

E = TypeVar("E")


@dataclass
class Lab:
    """The lab this recording runs against: its chroot (for SIPp) and ARI's address."""

    paths: LabPaths
    ari: str
    user: str
    password: str
    app: str = "ivr"

    def call(self, script: CallScript) -> subprocess.Popen[str]:
        return popen_call(self.paths, script)

    def _auth(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def channels(self) -> list[dict[str, Any]]:
        """ARI's channel list asked directly (not through the proxy: it is not recorded)."""
        async with (
            aiohttp.ClientSession(headers=self._auth()) as session,
            session.get(f"{self.ari}/ari/channels") as response,
        ):
            channels: list[dict[str, Any]] = await response.json()
            return channels

    async def bridge_channels(self, bridge: str) -> set[str]:
        """The channels in a bridge, asked directly (the app's event filter keeps the bridge
        events off its socket)."""
        async with (
            aiohttp.ClientSession(headers=self._auth()) as session,
            session.get(f"{self.ari}/ari/bridges/{bridge}") as response,
        ):
            found = await response.json() if response.status == 200 else {}
            return set(found.get("channels") or [])

    @contextlib.asynccontextmanager
    async def events_socket(self) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        """An event socket of the app straight from Asterisk, as another client would hold it."""
        url = self.ari.replace("http", "ws", 1) + f"/ari/events?app={self.app}"
        async with (
            aiohttp.ClientSession(headers=self._auth()) as session,
            session.ws_connect(url) as socket,
        ):
            yield socket


async def expect(run: AdapterRun, kind: type[E], timeout: float = 15.0) -> E:
    event = await run.next_event(timeout)
    if not isinstance(event, kind):
        raise AssertionError(f"expected {kind.__name__}, got {event}")
    return event


async def exited(process: subprocess.Popen[str], timeout: float = 60.0) -> int:
    """SIPp's exit status once it ends by itself."""
    return await asyncio.to_thread(process.wait, timeout)


CALLER = CallScript(number="100", caller_number="+7900abc1234567", caller_name="Ivan\tPetrov")


async def call_barge_in(run: AdapterRun, proxy: RecordingProxy, lab: Lab) -> dict[str, str]:
    """A caller is answered and hears a long prompt, presses 1 in the middle of it (the prompt
    stops), hears a beep, and hangs up."""
    await run.start(timeout=10)
    script = replace(CALLER, keys="1", hang_up_after=2.5)
    caller = lab.call(script)
    call = (await expect(run, CallArrived)).call_id
    first, second = f"{call}-p1", f"{call}-p2"
    proxy.note("the core answers and plays a long prompt")
    run.pbx.send(Answer(call))
    run.pbx.send(Play(call, first, ("sound:demo-congrats",), "en"))
    await expect(run, DigitPressed)
    proxy.note("the core stops the prompt: barge-in")
    run.pbx.send(StopPlayback(call, first))
    assert await expect(run, PromptFinished) == PromptFinished(call, first)
    run.pbx.send(Play(call, second, ("sound:beep",), "en"))
    assert await expect(run, PromptFinished) == PromptFinished(call, second)
    proxy.note("the caller hangs up")
    await expect(run, CallHungUp)
    assert await exited(caller) == 0
    return {"call": call, "prompt": first, "after_key": second}


async def agent_answers(run: AdapterRun, proxy: RecordingProxy, lab: Lab) -> dict[str, str]:
    """A queued caller hears music while agent2 is rung (busy) and then agent1, who answers;
    the music stops, both are bridged; the caller hangs up and the agent's leg is dropped."""
    await run.start(timeout=10)
    busy = LabAgent(lab.paths, AgentScript.of("agent2", behaviour="busy", audio="none"))
    answering = LabAgent(
        lab.paths, AgentScript.of("agent1", ring_seconds=1.0, wait_for_bye=True, audio="none")
    )
    with busy, answering:
        script = CallScript(number="200", caller_number="79001234567", caller_name="Ivan",
                            hang_up_after=6.0)  # fmt: skip
        caller = lab.call(script)
        call = (await expect(run, CallArrived)).call_id
        shown = '"returns: Ivan" <79001234567>'
        first, second = f"{call}-a1", f"{call}-a2"
        proxy.note("the core answers, starts music on hold and rings agent2")
        run.pbx.send(Answer(call))
        run.pbx.send(StartMusic(call, "default"))
        run.pbx.send(RingAgent(call, first, "agent2", "PJSIP/agent2", shown, 15))
        ended: LegEvent = await expect(run, AgentLegEnded)
        assert ended == AgentLegEnded(call, first, "busy"), ended
        proxy.note("agent2 was busy: the core rings agent1")
        run.pbx.send(RingAgent(call, second, "agent1", "PJSIP/agent1", shown, 15))
        assert await expect(run, AgentAnswered) == AgentAnswered(call, second)
        proxy.note("agent1 answered: the core stops the music and bridges them")
        run.pbx.send(StopMusic(call))
        run.pbx.send(Bridge(call, second))
        await expect(run, CallHungUp)
        proxy.note("the caller hung up: the core drops the agent's leg")
        run.pbx.send(DropLeg(call, second))
        assert await expect(run, AgentLegEnded) == AgentLegEnded(call, second, "hangup")
        assert await exited(caller) == 0
        await asyncio.to_thread(answering.wait_for, "bye-received", 1, 10.0)
    return {"call": call, "busy_leg": first, "agent_leg": second}


async def gone_channel(run: AdapterRun, proxy: RecordingProxy, lab: Lab) -> dict[str, str]:
    """The caller hangs up right after the answer; a core that has not taken in the hang-up
    yet stops the music, plays a prompt and hangs up: Asterisk answers 404 to each."""
    await run.start(timeout=10)
    caller = lab.call(CallScript(number="100", caller_number="79005556677", hang_up_after=0.5))
    call = (await expect(run, CallArrived)).call_id
    run.pbx.send(Answer(call))
    assert await exited(caller) == 0
    await proxy.wait_for_event("StasisEnd", call)
    # Asterisk sends the caller's channel nothing after StasisEnd: ask it when it is gone.
    deadline = time.monotonic() + 10
    while call in {channel["id"] for channel in await lab.channels()}:
        assert time.monotonic() < deadline, f"{call} is still there"
        await asyncio.sleep(0.05)
    proxy.note("the caller is gone; the core has not taken in the hang-up yet")
    prompt = f"{call}-p1"
    run.pbx.send(StopMusic(call))
    run.pbx.send(Play(call, prompt, ("sound:hello-world",), "en"))
    run.pbx.send(HangUp(call))
    await run.pbx.flush()
    assert await expect(run, CallHungUp) == CallHungUp(call)
    assert await expect(run, PromptFinished) == PromptFinished(call, prompt)
    return {"call": call, "prompt": prompt}


async def reconnect_resync(run: AdapterRun, proxy: RecordingProxy, lab: Lab) -> dict[str, str]:
    """Two callers hear music; the event socket drops; while it is down one caller hangs up
    and another calls (Asterisk sends that one back to the dialplan: the app is not active);
    after the reconnect the adapter resyncs from the channel list."""
    await run.start(timeout=10)
    stays = lab.call(CallScript(number="100", caller_number="79001110001", hang_up_after=14.0))
    kept = (await expect(run, CallArrived)).call_id
    run.pbx.send(Answer(kept))
    run.pbx.send(StartMusic(kept, "default"))
    leaves = lab.call(CallScript(number="100", caller_number="79002220002", hang_up_after=3.0))
    gone = (await expect(run, CallArrived)).call_id
    run.pbx.send(Answer(gone))
    run.pbx.send(StartMusic(gone, "default"))
    await run.pbx.flush()
    proxy.note("the event socket drops; reconnecting waits until the recorder lets it")
    await proxy.drop_sockets(hold=True)
    await run.wait_link(up=False, timeout=10)
    before = {channel["id"] for channel in await lab.channels()}
    late = lab.call(CallScript(number="300", caller_number="79003330003", wait_for_bye=30.0))
    assert await exited(leaves) == 0
    deadline = time.monotonic() + 10
    while not (new := {channel["id"] for channel in await lab.channels()} - before - {gone}):
        assert time.monotonic() < deadline, "the late call never showed"
        await asyncio.sleep(0.1)
    proxy.note("link down: the second caller hung up, a third one called")
    proxy.release()
    await run.wait_link(up=True, count=2, timeout=10)
    resynced = [await run.next_event() for _ in range(2)]
    assert resynced == [CallHungUp(gone, lost=True), CallResumed(kept)], resynced
    proxy.note("the core gives the resumed caller the music again")
    run.pbx.send(StartMusic(kept, "default"))
    await exited(late)
    assert await expect(run, CallHungUp, timeout=20) == CallHungUp(kept)
    assert await exited(stays) == 0
    return {"kept": kept, "gone": gone, "late": new.pop()}


async def reconnect_agent_call(run: AdapterRun, proxy: RecordingProxy, lab: Lab) -> dict[str, str]:
    """A caller talks to agent1 in a bridge when the event socket drops for a moment; after the
    reconnect the caller hangs up and the core drops the agent's leg."""
    await run.start(timeout=10)
    agent = LabAgent(
        lab.paths, AgentScript.of("agent1", ring_seconds=0.5, wait_for_bye=True, audio="none")
    )
    with agent:
        caller = lab.call(CallScript(number="200", caller_number="79001234567", caller_name="Ivan",
                                     hang_up_after=6.0))  # fmt: skip
        call = (await expect(run, CallArrived)).call_id
        leg = f"{call}-a1"
        run.pbx.send(Answer(call))
        run.pbx.send(RingAgent(call, leg, "agent1", "PJSIP/agent1", "Ivan <79001234567>", 15))
        assert await expect(run, AgentAnswered) == AgentAnswered(call, leg)
        run.pbx.send(Bridge(call, leg))
        await run.pbx.flush()
        deadline = time.monotonic() + 10
        while await lab.bridge_channels(f"{call}-bridge") != {call, leg}:
            assert time.monotonic() < deadline, "the caller and the agent were never bridged"
            await asyncio.sleep(0.05)
        proxy.note("the event socket drops while they talk, and comes back at once")
        await proxy.drop_sockets(hold=False)
        await run.wait_link(up=True, count=2, timeout=10)
        resynced = []
        while (event := await run.next_event(timeout=15)) != CallHungUp(call):
            resynced.append(event)
        # Whatever else the resync said about the agent's leg is the test's business.
        assert CallResumed(call) in resynced, resynced
        proxy.note("the caller hung up: the core drops the agent's leg")
        run.pbx.send(DropLeg(call, leg))
        assert await expect(run, AgentLegEnded) == AgentLegEnded(call, leg, "hangup")
        assert await exited(caller) == 0
    return {"call": call, "agent_leg": leg}


async def adopt_on_start(run: AdapterRun, proxy: RecordingProxy, lab: Lab) -> dict[str, str]:
    """A call entered the app while another client held it (the daemon before a restart);
    the adapter connects, finds it in the channel list and serves it: a beep, then hang-up."""
    async with lab.events_socket() as old:
        caller = lab.call(replace(CALLER, number="400", wait_for_bye=30.0))
        async for message in old:
            event = json.loads(message.data)
            if event.get("type") == "StasisStart":
                call = str(event["channel"]["id"])
                break
    await run.start(timeout=10)
    arrived = await expect(run, CallArrived)
    assert arrived.call_id == call, arrived
    prompt = f"{call}-p1"
    proxy.note("the core answers the adopted caller, plays a beep and hangs up")
    run.pbx.send(Answer(call))
    run.pbx.send(Play(call, prompt, ("sound:beep",), "en"))
    assert await expect(run, PromptFinished) == PromptFinished(call, prompt)
    run.pbx.send(HangUp(call))
    assert await expect(run, CallHungUp) == CallHungUp(call)
    assert await exited(caller) == 0
    return {"call": call, "prompt": prompt}


Scenario = Callable[[AdapterRun, RecordingProxy, Lab], Awaitable[dict[str, str]]]
SCENARIOS: dict[str, Scenario] = {
    "call_barge_in": call_barge_in,
    "agent_answers": agent_answers,
    "gone_channel": gone_channel,
    "reconnect_resync": reconnect_resync,
    "adopt_on_start": adopt_on_start,
    "reconnect_agent_call": reconnect_agent_call,
}


async def record_scenario(name: str, lab: Lab, folder: Path) -> Path:
    """Run one scenario against the lab through a recording proxy; write its cassette."""
    proxy = await RecordingProxy(lab.ari).start()
    run = AdapterRun(proxy.url, lab.user, lab.password, lab.app)
    try:
        ids = await SCENARIOS[name](run, proxy, lab)
        await run.pbx.flush()
        left = run.pending()
        assert not left, f"{name}: events nobody expected: {left}"
    finally:
        await run.close()
        await proxy.close()
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}.json"
    doc = (SCENARIOS[name].__doc__ or "").split()
    out.write_text(proxy.cassette(name, " ".join(doc), lab.app, ids), encoding="utf-8")
    docs_file = folder / API_DOCS
    known = json.loads(docs_file.read_text()) if docs_file.exists() else {}
    docs_file.write_text(proxy.docs_text(known), encoding="utf-8")
    return out


async def record_live(upstream: str, listen: str, out: Path, app: str) -> None:
    """Proxy until SIGINT/SIGTERM, then write what went through as one cassette."""
    host, _, port = listen.rpartition(":")
    proxy = await RecordingProxy(upstream).start(host, int(port))
    print(f"record_ari: proxying {proxy.url} -> {upstream}; Ctrl-C writes {out}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await proxy.close()
    out.write_text(proxy.cassette(out.stem, "recorded live", app, {}), encoding="utf-8")
    docs_file = out.parent / API_DOCS
    known = json.loads(docs_file.read_text()) if docs_file.exists() else {}
    docs_file.write_text(proxy.docs_text(known), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.unit.pbx.record_ari",
        description="Record ARI traffic (HTTP and the event WebSocket) into replay cassettes.",
    )
    steps = parser.add_subparsers(dest="step", required=True)
    scenario = steps.add_parser("scenario", help="record a scenario against the lab PBX")
    scenario.add_argument("name", choices=[*SCENARIOS, "all"])
    scenario.add_argument("--ari", default="http://127.0.0.1:8088", help="Asterisk's ARI URL")
    scenario.add_argument("--out", type=Path, default=CASSETTES, help="cassette folder")
    live = steps.add_parser("proxy", help="proxy a live client until Ctrl-C")
    live.add_argument("--upstream", default="http://127.0.0.1:8088", help="Asterisk's ARI URL")
    live.add_argument("--listen", default="127.0.0.1:8089", help="HOST:PORT to listen on")
    live.add_argument("--app", default="ivr", help="the Stasis app, noted in the cassette")
    live.add_argument("--out", type=Path, required=True, help="the cassette to write")
    args = parser.parse_args(argv)
    if args.step == "proxy":
        asyncio.run(record_live(args.upstream, args.listen, args.out, args.app))
        return 0
    paths = LabPaths.default()
    secrets = lab_credentials.read(paths.credentials)
    lab = Lab(paths, args.ari, secrets["IVR_ARI_USER"], secrets["IVR_ARI_PASSWORD"])
    names = list(SCENARIOS) if args.name == "all" else [args.name]
    for name in names:
        out = asyncio.run(record_scenario(name, lab, args.out))
        print(f"record_ari: {name} -> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
