"""The floor: the least a Python ARI driver can do for bench/live.py's queue path.

    .venv/bin/python bench/ari_floor.py --agents 40    # credentials from the environment

bench/live.py (`--floor`) runs it in place of the daemon to tell two costs apart: what any
driver of this call flow over ARI costs Asterisk and itself (the same requests, on the same
HTTP client, the same event filter, uvloop), and what the daemon adds on top (its plan, call
flow, routing, journal, store, metrics, logs, AMI). No plan, no queue rules but longest
idle, no state beyond memory, no logging: not a product, a yardstick.

Per call, like the daemon: answer, play `hello`; on key 1 music on hold and the longest-idle
agent's phone rung (originate into this app, the caller's number as caller ID); when the
agent answers: music off, a mixing bridge, both in; when either hangs up: the other one
hung up, the bridge destroyed. A caller who finds every agent busy waits in line. A key
while `hello` plays stops it first. On the menu-only number (bench/live.py's steps), key 1
plays the marker prompt and then hangs up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp
import uvloop
from pydantic import SecretStr

from ivr.config import AriSettings
from ivr.pbx.ari import http
from ivr.pbx.ari.client import AriClient, ignore_missing
from ivr.pbx.ari.events import AGENT_LEG, EVENTS


@dataclass
class Call:
    """A caller in the app, and the agent leg rung for it."""

    number: str
    menu_only: bool  # dialled the menu-only number: key 1 -> the marker prompt -> hang up
    greeting: bool = True  # `hello` still playing
    chosen: bool = False
    leg: str | None = None
    agent: str | None = None
    bridged: bool = False


class Floor:
    """Callers in, longest-idle agent rung, bridged; each request waited for in turn per call."""

    def __init__(self, client: AriClient, app: str, agents: list[str], menu_number: str) -> None:
        self.client = client
        self.app = app
        self.menu_number = menu_number
        self.idle: deque[str] = deque(agents)
        self.waiting: deque[str] = deque()
        self.calls: dict[str, Call] = {}
        self.legs: dict[str, str] = {}  # leg -> caller
        self.tails: dict[str, asyncio.Task[None]] = {}
        self.requests = self.failed = 0

    def later(self, key: str, *steps: Any) -> None:
        """Requests of one call run in order, each after the one before (as the daemon's)."""

        async def run(previous: asyncio.Task[None] | None) -> None:
            if previous is not None:
                await asyncio.wait([previous])
            for step in steps:
                self.requests += 1
                try:
                    await ignore_missing(step())
                except Exception:
                    self.failed += 1

        self.tails[key] = asyncio.ensure_future(run(self.tails.get(key)))

    def on_event(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        channel = data.get("channel") or {}
        channel_id = str(channel.get("id", ""))
        client = self.client
        if kind == "StasisStart":
            args = data.get("args") or []
            if args and args[0] == AGENT_LEG:
                caller = args[1]
                call = self.calls.get(caller)
                if call is None:
                    self.later(channel_id, lambda: client.hang_up(channel_id))
                    return
                call.bridged = True
                bridge = f"{caller}-bridge"
                self.later(
                    caller,
                    lambda: client.stop_music(caller),
                    lambda: client.create_bridge(bridge),
                    lambda: client.add_to_bridge(bridge, [caller, channel_id]),
                )
            else:
                number = str((channel.get("caller") or {}).get("number", ""))
                dialled = str((channel.get("dialplan") or {}).get("exten", ""))
                self.calls[channel_id] = Call(number, menu_only=dialled == self.menu_number)
                self.later(
                    channel_id,
                    lambda: client.answer(channel_id),
                    lambda: client.play(channel_id, f"{channel_id}-p", ["sound:hello"], "en"),
                )
        elif kind == "ChannelDtmfReceived":
            call = self.calls.get(channel_id)
            if call is not None and data.get("digit") == "1" and not call.chosen:
                self.chose(channel_id, call)
        elif kind == "PlaybackFinished":
            playback = str((data.get("playback") or {}).get("id", ""))
            caller, _, which = playback.rpartition("-")
            call = self.calls.get(caller)
            if call is not None and which == "p":
                call.greeting = False
            elif call is not None and which == "m":
                self.later(caller, lambda: client.hang_up(caller))
        elif kind == "StasisEnd":
            if channel_id in self.legs:
                self.leg_ended(channel_id)
            elif channel_id in self.calls:
                self.caller_left(channel_id)
            self.tails.pop(channel_id, None)

    def chose(self, caller: str, call: Call) -> None:
        """Key 1: the greeting cut short (barge-in), then the marker prompt or the queue."""
        call.chosen = True
        client = self.client
        steps: list[Any] = []
        if call.greeting:
            steps.append(lambda: client.stop_playback(f"{caller}-p"))
        if call.menu_only:
            marker = ["sound:ivr/bench-marker"]
            self.later(caller, *steps, lambda: client.play(caller, f"{caller}-m", marker, "en"))
            return
        self.later(caller, *steps, lambda: client.start_music(caller, "default"))
        self.waiting.append(caller)
        self.ring()

    def ring(self) -> None:
        while self.waiting and self.idle:
            caller = self.waiting.popleft()
            call = self.calls.get(caller)
            if call is None:
                continue
            agent = self.idle.popleft()
            leg = f"{caller}-a"
            call.leg, call.agent = leg, agent
            self.legs[leg] = caller
            client = self.client
            ring = partial(
                client.originate, leg, f"PJSIP/{agent}", self.app, f"{AGENT_LEG},{caller}",
                call.number, 15,
            )  # fmt: skip
            self.later(caller, ring)

    def leg_ended(self, leg: str) -> None:
        caller = self.legs.pop(leg)
        call = self.calls.get(caller)
        if call is None:
            return
        assert call.agent is not None
        self.idle.append(call.agent)
        client = self.client
        self.later(
            caller,
            lambda: client.hang_up(caller),
            lambda: client.destroy_bridge(f"{caller}-bridge"),
        )
        self.ring()

    def caller_left(self, caller: str) -> None:
        call = self.calls.pop(caller)
        client = self.client
        if call.leg is not None and call.leg in self.legs:
            leg = call.leg
            self.legs.pop(leg)
            assert call.agent is not None
            self.idle.append(call.agent)
            steps: list[Any] = [lambda: client.hang_up(leg)]
            if call.bridged:
                steps.append(lambda: client.destroy_bridge(f"{caller}-bridge"))
            self.later(caller, *steps)
            self.ring()


class TimedClient(AriClient):
    """The same client, timing each request from its call to its answer, by kind."""

    def __init__(self, settings: AriSettings) -> None:
        super().__init__(settings)
        self.times: dict[str, list[float]] = defaultdict(list)

    async def request(
        self,
        method: str,
        segments: Sequence[str],
        params: dict[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        kind = f"{method} {segments[0]}" + (f"/{segments[2]}" if len(segments) > 2 else "")
        started = time.perf_counter()
        try:
            return await super().request(method, segments, params, body)
        finally:
            self.times[kind].append(time.perf_counter() - started)

    def report(self) -> str:
        lines = []
        for kind, times in sorted(self.times.items()):
            ordered = sorted(times)
            p50, p99 = (ordered[int(share * (len(ordered) - 1))] * 1000 for share in (0.5, 0.99))
            lines.append(f"{kind} {len(times)}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        return "; ".join(lines)


async def serve(
    settings: AriSettings, agents: list[str], menu_number: str, burn: float = 0.0
) -> None:
    client = TimedClient(settings)
    try:
        ws = await client.events(settings.app)
        await client.allow_events(settings.app, EVENTS)
        floor = Floor(client, settings.app, agents, menu_number)
        # SIGTERM ends the run: the figures, then out.
        closing: list[asyncio.Task[bool]] = []
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGTERM, lambda: closing.append(asyncio.create_task(ws.close()))
        )
        print("floor: ready", flush=True)
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            floor.on_event(json.loads(message.data))
            if burn:
                # CPU and nothing else: does a busier driver on the same cores cost Asterisk more?
                until = time.thread_time() + burn
                while time.thread_time() < until:
                    pass
        print(f"floor: {floor.requests} requests, {floor.failed} failed; {client.report()}",
              flush=True)  # fmt: skip
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--app", default="ivr")
    parser.add_argument("--agents", type=int, default=40, help="pool01 .. poolNN")
    parser.add_argument("--menu-number", default="501", help="the menu-only path's number")
    parser.add_argument("--connections", type=int, default=http.CONNECTIONS,
                        help="keep-alive HTTP connections to ARI at most")  # fmt: skip
    parser.add_argument("--burn-ms", type=float, default=0.0,
                        help="CPU spent on nothing after each event (a busier driver)")  # fmt: skip
    options = parser.parse_args(argv)
    settings = AriSettings(
        url=options.url,
        user=os.environ["IVR_ARI_USER"],
        password=SecretStr(os.environ["IVR_ARI_PASSWORD"]),
        app=options.app,
    )
    agents = [f"pool{i:02d}" for i in range(1, options.agents + 1)]
    http.CONNECTIONS = options.connections
    uvloop.run(serve(settings, agents, options.menu_number, options.burn_ms / 1000))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
