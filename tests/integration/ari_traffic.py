"""The ARI traffic of calls on the lab, counted: REST requests and events per call.

The daemon talks to Asterisk through a pass-through proxy (`record_ari.RecordingProxy`, run in
a thread of its own so that the lab's blocking helpers can be used beside it), which keeps
every request and every event it forwards. Calls are placed in batches of one kind each, on
the benchmark's path (menu -> key 1 -> queue with music -> one agent answers -> bridged ->
talk -> the agent or the caller hangs up) and as abandons (key 2 -> a queue whose agents are
on a break, announcements every 2 s -> the caller gives up); a batch's figures are what
crossed the proxy from its first call until its last channel was gone, divided by its calls.
`bench/ari_requests.py` prints them; `tests/integration/test_ari_requests.py` asserts them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ivr.lab import agent_pool, sipp
from ivr.lab.caller_load import CallerLoad, RunningLoad
from ivr.lab.load_plan import menu_queue_plan
from ivr.lab.paths import LabPaths
from ivr.lab.softphones.agent import LabAgent
from tests.integration.lab import ARI, DaemonProcess
from tests.unit.pbx.record_ari import RecordingProxy

NUMBER = "500"  # the sample dialplan sends 5xx to the Stasis app
AGENTS = 4
BREAK_AGENT = AGENTS + 1  # the orders queue's only agent, on a break all along
RING_SECONDS = 1.0
TALK_SECONDS = 4.0
PLAN = menu_queue_plan(
    "traffic", NUMBER,
    "The ARI traffic count's shop (tests/integration/ari_traffic.py): the benchmark's path.",
)  # fmt: skip
# What the callers of each kind of batch do (after the answer: 2 s, then their key).
SCRIPTS = {
    # The agent hangs up after TALK_SECONDS.
    "agent_hangs_up": sipp.CallScript(NUMBER, keys="1", wait_for_bye=30.0),
    # The caller hangs up about 1.5 s into the talk, well before the agent would.
    "caller_hangs_up": sipp.CallScript(NUMBER, keys="1", hang_up_after=RING_SECONDS + 1.5),
    # Nobody can answer: the caller hears music and announcements, and gives up after 5 s.
    "abandoned": sipp.CallScript(NUMBER, keys="2", hang_up_after=5.0),
}
PREFIXES = {"agent_hangs_up": "7957", "caller_hangs_up": "7958", "abandoned": "7959"}
# Channel ids (1733000000.12), with what the daemon appends to them (-a1 legs, -p3 playbacks).
_ID = re.compile(r"\d+\.\d+(-[a-z]+)?\d*")


def shape(path: str) -> str:
    """A request path with its ids generalised: /ari/channels/{id}/play/{id}-p."""
    return _ID.sub(lambda m: "{id}" + (m.group(1) or ""), path)


@dataclass
class Batch:
    """What one batch of calls of one kind sent and received over ARI."""

    kind: str
    calls: int
    answered: int
    failed: int
    requests: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    status: Counter[int] = field(default_factory=Counter)
    cpu_seconds: float = 0.0
    warnings: Counter[str] = field(default_factory=Counter)

    def per_call(self, counts: Counter[str]) -> float:
        return sum(counts.values()) / self.calls if self.calls else 0.0

    def text(self) -> str:
        lines = [
            f"{self.kind}: {self.calls} calls ({self.answered} answered by agents, "
            f"{self.failed} failed); {self.per_call(self.requests):.2f} requests and "
            f"{self.per_call(self.events):.2f} events per call; daemon "
            f"{1000 * self.cpu_seconds / max(1, self.calls):.1f} ms CPU per call; "
            f"statuses {dict(sorted(self.status.items()))}; warnings {dict(self.warnings)}",
            "  requests per call:",
        ]
        lines += [f"    {n / self.calls:5.2f} {r}" for r, n in self.requests.most_common()]
        lines.append("  events per call:")
        lines += [f"    {n / self.calls:5.2f} {e}" for e, n in self.events.most_common()]
        return "\n".join(lines)


class ProxyThread:
    """`RecordingProxy` in front of the lab's ARI, on an event loop in its own thread."""

    def __init__(self, upstream: str = ARI) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._upstream = upstream
        self.proxy: RecordingProxy | None = None

    def start(self) -> ProxyThread:
        self._thread.start()
        started = RecordingProxy(self._upstream).start()
        self.proxy = asyncio.run_coroutine_threadsafe(started, self._loop).result(10)
        return self

    @property
    def url(self) -> str:
        assert self.proxy is not None
        return self.proxy.url

    def mark(self) -> int:
        assert self.proxy is not None
        return len(self.proxy.timeline)

    def since(self, mark: int) -> list[dict[str, object]]:
        assert self.proxy is not None
        return list(self.proxy.timeline[mark:])

    def quiet(self, seconds: float = 1.0, timeout: float = 15.0) -> None:
        """Until nothing crossed the proxy for `seconds` (events trail a call's end)."""
        deadline = time.monotonic() + timeout
        last, since = self.mark(), time.monotonic()
        while time.monotonic() - since < seconds:
            assert time.monotonic() < deadline, f"ARI traffic went on for {timeout} s"
            time.sleep(0.1)
            if (now := self.mark()) != last:
                last, since = now, time.monotonic()

    def stop(self) -> None:
        if self.proxy is not None:
            asyncio.run_coroutine_threadsafe(self.proxy.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TrafficLab:
    """The pool's endpoints and softphones, the proxy and a daemon behind it, on a lab that is
    up; `run()` places one batch and counts its traffic."""

    def __init__(
        self, paths: LabPaths, credentials: dict[str, str], workdir: Path, proxy: bool = True
    ) -> None:
        self.paths = paths
        self.credentials = credentials
        self.workdir = workdir
        self.proxy = ProxyThread() if proxy else None
        self.softphones: list[LabAgent] = []
        self.daemon: DaemonProcess | None = None

    def __enter__(self) -> TrafficLab:
        plans, agents = self.workdir / "plans", self.workdir / "agents"
        plans.mkdir(parents=True, exist_ok=True)
        agents.mkdir(exist_ok=True)
        (plans / "traffic.yaml").write_text(PLAN)
        desk = agent_pool.roster_lines(AGENTS, "shop", "{sales: 5}")
        brk = agent_pool.name(BREAK_AGENT)
        away = f"  - {{id: {brk}, name: Away, endpoint: PJSIP/{brk}, team: shop, "
        away += "skills: {orders: 5}}\n"
        (agents / "roster.yaml").write_text(
            "teams:\n  shop: {kind: in-house}\nagents:\n" + desk + away
        )
        agent_pool.install_endpoints(self.paths, self.credentials, BREAK_AGENT)
        try:
            self.softphones = agent_pool.softphones(
                self.paths, AGENTS, ring_seconds=RING_SECONDS, talk_seconds=TALK_SECONDS,
                audio="none",
            )  # fmt: skip
            credentials = dict(self.credentials)
            if self.proxy is not None:
                credentials["IVR_ARI_URL"] = self.proxy.start().url
            self.daemon = DaemonProcess(credentials, self.workdir, plans, agents).start()
            self.daemon.wait_health(200, timeout=30)
            for i in range(1, BREAK_AGENT + 1):
                status, body = self.daemon.api("POST", f"/api/agents/{agent_pool.name(i)}/sign-in")
                assert status == 200, body
            status, body = self.daemon.api("POST", f"/api/agents/{brk}/pause", {"reason": "x"})
            assert status == 200, body
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.daemon is not None:
            self.daemon.stop()
        for phone in self.softphones:
            phone.stop()
        if self.proxy is not None:
            self.proxy.stop()
        agent_pool.remove_endpoints(self.paths, self.credentials)

    @property
    def pid(self) -> int:
        assert self.daemon is not None and self.daemon.process is not None
        return self.daemon.process.pid

    def run(self, kind: str, calls: int, rate: float = 1.0) -> Batch:
        """Place `calls` calls of `kind` (a key of SCRIPTS) at `rate` a second, wait until
        every channel is gone, and count what crossed ARI meanwhile."""
        assert self.daemon is not None
        script = SCRIPTS[kind]
        load = CallerLoad(kind, script, rate, calls, PREFIXES[kind], (36000, 39999))
        mark = self.proxy.mark() if self.proxy is not None else 0
        lines = len(self.daemon.lines)
        answered = sum(phone.answered_count() for phone in self.softphones)
        cpu = cpu_seconds(self.pid)
        running = RunningLoad(self.paths, load).start()
        code = running.wait(timeout=calls / rate + 90)
        counts = running.counts()
        assert code == 0 and counts.successful == calls, running.errors()
        _wait_no_channels(self.credentials)
        if self.proxy is not None:
            self.proxy.quiet()
        batch = Batch(
            kind,
            calls,
            sum(phone.answered_count() for phone in self.softphones) - answered,
            counts.failed,
            cpu_seconds=cpu_seconds(self.pid) - cpu,
        )
        for line in self.daemon.lines[lines:]:
            if " level=warning " in line or " level=error " in line:
                batch.warnings[re.sub(r".* event=(\S+).*", r"\1", line)] += 1
        if self.proxy is not None:
            for entry in self.proxy.since(mark):
                if "request" in entry:
                    request = entry["request"]
                    assert isinstance(request, dict)
                    batch.requests[f"{request['method']} {shape(str(request['path']))}"] += 1
                    response = entry.get("response")
                    if isinstance(response, dict):
                        batch.status[int(response["status"])] += 1
                elif "event" in entry:
                    event = entry["event"]
                    assert isinstance(event, dict)
                    batch.events[str(event.get("type"))] += 1
        return batch


def _wait_no_channels(credentials: dict[str, str], timeout: float = 30.0) -> None:
    """Until Asterisk has no channel left (the batch's callers and agents' legs are gone)."""
    token = f"{credentials['IVR_ARI_USER']}:{credentials['IVR_ARI_PASSWORD']}"
    request = urllib.request.Request(
        f"{ARI}/ari/channels",
        headers={"Authorization": "Basic " + base64.b64encode(token.encode()).decode()},
    )
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(request, timeout=5) as response:
            left = json.loads(response.read())
        if not left:
            return
        assert time.monotonic() < deadline, f"channels left after {timeout} s: {left}"
        time.sleep(0.2)
