"""What one ARI REST request costs the daemon and Asterisk, by the way it is sent.

    sudo .venv/bin/python bench/ari_http.py [--requests 3000]

Brings the lab up (IVR_LAB_DIR, as the lab tests do) and sends the same request (music on a
channel that does not exist: Asterisk looks it up and answers 404, as cheap as ARI gets) one
after another: through an aiohttp session as the daemon did before, through
`ivr.pbx.ari.http.HttpConnections` as it does now, and as a RESTRequest over the app's event
WebSocket (Asterisk 22.4+). Prints the CPU of this process and of Asterisk per request.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import resource
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from ivr.lab import asterisk, lab
from ivr.lab.paths import LabPaths
from ivr.pbx.ari.http import HttpConnections

TARGET = "/ari/channels/bench-no-such-channel/moh?mohClass=default"


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 10 ms


async def measure(
    name: str, requests: int, pbx: int, send: Callable[[int], Awaitable[int]]
) -> None:
    for i in range(50):  # connections opened, caches warm
        await send(i)
    ours, theirs = own_cpu(), process_cpu(pbx)
    for i in range(requests):
        status = await send(i)
    ours, theirs = own_cpu() - ours, process_cpu(pbx) - theirs
    print(
        f"  {name:34s} {ours / requests * 1e6:6.0f} us here, "
        f"{theirs / requests * 1e6:5.0f} us Asterisk (last status {status})"
    )


async def run(credentials: dict[str, str], pbx: int, requests: int) -> None:
    token = f"{credentials['IVR_ARI_USER']}:{credentials['IVR_ARI_PASSWORD']}".encode()
    auth = {"Authorization": "Basic " + base64.b64encode(token).decode()}
    base = "http://127.0.0.1:8088"
    print(f"one ARI request ({requests} in a row, CPU per request):")
    async with aiohttp.ClientSession(headers=auth) as session:
        timeout = aiohttp.ClientTimeout(total=10)

        async def through_aiohttp(i: int) -> int:
            async with session.post(base + TARGET, timeout=timeout) as reply:
                await reply.read()
                return reply.status

        await measure("aiohttp ClientSession (before)", requests, pbx, through_aiohttp)

        connections = HttpConnections("127.0.0.1", 8088, auth)

        async def through_ours(i: int) -> int:
            return (await connections.request("POST", TARGET)).status

        await measure("HttpConnections (now)", requests, pbx, through_ours)
        connections.close()

        socket = await session.ws_connect(base + "/ari/events", params={"app": "bench-http"})

        async def over_the_socket(i: int) -> int:
            request = {"type": "RESTRequest", "request_id": str(i), "method": "POST",
                       "uri": TARGET.removeprefix("/ari/")}  # fmt: skip
            await socket.send_str(json.dumps(request))
            while True:
                answer = json.loads((await socket.receive()).data)
                if answer.get("request_id") == str(i):
                    return int(answer["status_code"])

        await measure("RESTRequest on the event socket", requests, pbx, over_the_socket)
        await socket.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    options = parser.parse_args(argv)
    paths = LabPaths.default()
    credentials = lab.up(paths)
    pbx = asterisk.pid(paths)
    assert pbx is not None, "the lab's Asterisk is not running"
    asyncio.run(run(credentials, pbx, options.requests))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
