"""AMI events per call and Asterisk's CPU, with and without the daemon's AMI event filter.

    sudo .venv/bin/python bench/ami_events.py                 # on the default lab
    IVR_LAB_DIR=/var/tmp/ivr-lab-ami ip netns exec ami .venv/bin/python bench/ami_events.py

SIPp callers dial a menu, press 1, wait in a queue for one of a pool of SIPp agents, who
answers after a ring, talks and hangs up: the issue-14 call shape. The same load runs once
per mode, on the same lab:

- `baseline`: the daemon and manager.conf of git revision `--baseline` (before the filter):
  the session logs in with `Events: on` and reads all (`read = all`);
- `refused`: today's daemon, but a manager.conf that still reads all and gives no `system`
  in write=, so Asterisk refuses the daemon's Filter (it logs that once) and only the
  login's event classes (system,call) narrow what comes;
- `filtered`: today's daemon and manager.conf: `read = system,call` and the Filter;
- `noami`: no AMI session on Asterisk at all (the relay answers the daemon's login and
  actions itself; presence is then blind): the floor, as Asterisk builds no AMI event
  while no session is connected;
- `quiet` (not by default): `filtered` plus `disabledevents = Newexten,VarSet`, which
  stops Asterisk from building those events at all (for every AMI user). A `manager
  reload` does not undo it: the bench restarts Asterisk after this mode.

A relay between the daemon and Asterisk's AMI port counts every event Asterisk sends the
daemon's session (answers to its own actions, which carry its ActionID, apart). Asterisk's
and the daemon's CPU come from /proc/PID/stat (utime + stime) over the load: from the first
call to the last one's end. The figures printed are per answered call.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ivr.lab import agent_pool, asterisk, lab, sipp
from ivr.lab.caller_load import CallerLoad, RunningLoad
from ivr.lab.load_plan import menu_queue_plan
from ivr.lab.paths import REPO, LabPaths

sys.path.insert(0, str(REPO))
from tests.integration.lab import DaemonProcess

AMI_PORT = 5038
NUMBER = "500"
BASELINE = "b80f978"  # the last commit before the filter (issue 14)
MODES = ("baseline", "refused", "filtered", "noami", "quiet")
TICKS = os.sysconf("SC_CLK_TCK")
PLAN = menu_queue_plan(
    "amibench", NUMBER,
    "bench/ami_events.py: menu -> key 1 -> queue -> agent, as in issue 14.", orders=False,
)  # fmt: skip


class EventRelay:
    """A TCP relay in front of Asterisk's AMI port that counts the events Asterisk sends
    through it, by name; messages with an ActionID (answers to actions) are counted apart.
    It runs its own event loop in a thread, so the bench's blocking waits never delay it."""

    def __init__(self, upstream: bool = True) -> None:
        self.upstream = upstream  # False: answer the daemon here, Asterisk sees no session
        self.events: Counter[str] = Counter()
        self.answers = 0
        self.port = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> EventRelay:
        self._thread.start()
        serving = asyncio.start_server(self._accept, "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(serving, self._loop).result(5)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def close(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def take(self) -> tuple[Counter[str], int]:
        """The counts so far, and start counting afresh."""
        with self._lock:
            events, answers = self.events, self.answers
            self.events, self.answers = Counter(), 0
        return events, answers

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.upstream:
            await self._answer_here(reader, writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", AMI_PORT)
        except OSError:
            writer.close()
            return
        pumps = [
            asyncio.ensure_future(self._pump(reader, up_writer, count=False)),
            asyncio.ensure_future(self._pump(up_reader, writer, count=True)),
        ]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for each in (writer, up_writer):
            each.close()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: bool
    ) -> None:
        rest = b""
        while data := await reader.read(65536):
            writer.write(data)
            if count:
                *messages, rest = (rest + data).split(b"\r\n\r\n")
                self._count(messages)
            await writer.drain()

    async def _answer_here(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Speak AMI to the daemon as an Asterisk with no device would: every action succeeds."""
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        rest = b""
        while data := await reader.read(65536):
            *actions, rest = (rest + data).split(b"\r\n\r\n")
            for text in actions:
                headers = dict(
                    line.split(b": ", 1) for line in text.split(b"\r\n") if b": " in line
                )
                action_id = headers.get(b"ActionID", b"")
                name = headers.get(b"Action", b"").lower()
                answer = b"Response: Success\r\nActionID: " + action_id + b"\r\n"
                if name == b"devicestatelist":
                    answer += (
                        b"EventList: start\r\n\r\nEvent: DeviceStateListComplete\r\n"
                        b"ActionID: " + action_id + b"\r\nEventList: Complete\r\n"
                    )
                writer.write(answer + b"\r\n")
        writer.close()

    def _count(self, messages: list[bytes]) -> None:
        with self._lock:
            for message in messages:
                headers = dict(
                    line.split(b": ", 1) for line in message.split(b"\r\n") if b": " in line
                )
                name = headers.get(b"Event")
                if name is None:
                    continue
                if b"ActionID" in headers:
                    self.answers += 1
                else:
                    self.events[name.decode(errors="replace")] += 1


@dataclass
class ModeResult:
    """One mode's run: calls, events the daemon's session got, CPU seconds."""

    mode: str
    placed: int
    answered: int
    failed: int
    seconds: float
    events: Counter[str] = field(default_factory=Counter)
    answers: int = 0
    asterisk_cpu: float = 0.0
    daemon_cpu: float = 0.0
    metric: dict[str, float] = field(default_factory=dict)

    def per_call(self, value: float) -> float:
        return value / self.answered if self.answered else float("nan")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def manager_conf(mode: str, baseline_tree: Path) -> str:
    """manager.conf's text for a mode (secrets still CHANGE_ME)."""
    if mode == "baseline":
        return (baseline_tree / "config" / "asterisk" / "manager.conf").read_text()
    text = (REPO / "config" / "asterisk" / "manager.conf").read_text()
    if mode == "refused":
        ours = text.split("[ivr]", 1)[1].split("\n[", 1)[0]
        wider = ours.replace("read = system,call", "read = all").replace(
            "write = system,call,user", "write = call,user"
        )
        assert wider != ours, "manager.conf's [ivr] lines changed: update bench/ami_events.py"
        text = text.replace(ours, wider)
    if mode == "quiet":
        text = text.replace(";disabledevents = Newexten,VarSet", "disabledevents = Newexten,VarSet")
        assert "\ndisabledevents" in text
    return text


def install_manager_conf(paths: LabPaths, credentials: dict[str, str], text: str) -> None:
    target = paths.inside("/etc/asterisk/manager.conf")
    target.write_text(text.replace("CHANGE_ME", credentials["IVR_AMI_SECRET"]))
    os.chmod(target, 0o640)
    asterisk.cli(paths, "manager reload")


class TreeDaemon(DaemonProcess):
    """`ivr run` from another source tree (a git revision unpacked): `python -m ivr` finds the
    package in its working directory before the editable install."""

    def __init__(self, tree: Path, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.tree = tree

    def start(self) -> DaemonProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ivr", "run", "--config", str(self.config)],
            env=self.env,
            cwd=self.tree,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self


def unpack(revision: str, folder: Path) -> Path:
    """The source tree of `revision` (git archive: the repository is only read)."""
    tree = folder / f"tree-{revision}"
    if not tree.exists():
        tree.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", revision], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def run_mode(
    mode: str,
    paths: LabPaths,
    credentials: dict[str, str],
    args: argparse.Namespace,
    tree: Path,
    workdir: Path,
) -> ModeResult:
    """One load through the daemon with the mode's manager.conf and code."""
    install_manager_conf(paths, credentials, manager_conf(mode, tree))
    folder = workdir / mode
    (folder / "plans").mkdir(parents=True)
    (folder / "agents").mkdir()
    (folder / "plans" / "amibench.yaml").write_text(PLAN)
    roster = agent_pool.roster_lines(args.agents, "shop", "{sales: 5}")
    (folder / "agents" / "roster.yaml").write_text(
        "teams:\n  shop: {kind: in-house}\nagents:\n" + roster
    )
    relay = EventRelay(upstream=mode != "noami").start()
    credentials = {**credentials, "IVR_AMI_PORT": str(relay.port)}
    plans, agents = folder / "plans", folder / "agents"
    daemon: DaemonProcess = (
        TreeDaemon(tree, credentials, folder, plans, agents)
        if mode == "baseline"
        else DaemonProcess(credentials, folder, plans, agents)
    )
    load: RunningLoad | None = None
    try:
        daemon.start()
        daemon.wait_health(200, timeout=30)
        for i in range(1, args.agents + 1):
            status, body = daemon.api("POST", f"/api/agents/{agent_pool.name(i)}/sign-in")
            assert status == 200, f"sign-in of {agent_pool.name(i)}: {status} {body}"
        time.sleep(1)  # the sign-ins' own traffic settles
        assert daemon.process is not None
        ast_pid = asterisk.pid(paths)
        assert ast_pid is not None
        relay.take()
        script = sipp.CallScript(
            NUMBER, keys="1", first_key_after=2.0, wait_for_bye=60 + args.talk + 1
        )
        calls = CallerLoad("ami", script, args.rate, args.calls, "7957", (20000, 29999))
        ast0, daemon0, started = cpu_seconds(ast_pid), cpu_seconds(daemon.process.pid), time.time()
        load = RunningLoad(paths, calls).start()
        load.wait(timeout=args.calls / args.rate + args.talk + 120)
        ast1, daemon1 = cpu_seconds(ast_pid), cpu_seconds(daemon.process.pid)
        seconds = time.time() - started
        events, answers = relay.take()
        counts = load.counts()
        metric = {
            line.split('"')[1]: float(line.rsplit(" ", 1)[1])
            for line in daemon.metrics().splitlines()
            if line.startswith("ivr_ami_events_total{")
        }
        return ModeResult(
            mode, counts.created, counts.successful, counts.failed, seconds, events, answers,
            ast1 - ast0, daemon1 - daemon0, metric,
        )  # fmt: skip
    finally:
        if load is not None:
            load.stop()
        with contextlib.suppress(Exception):
            daemon.stop()
        relay.close()
        refusals = [line for line in daemon.lines if "ami.filter_refused" in line]
        if mode == "refused" and refusals:
            print(f"  (refused: the daemon said once: {refusals[0][:160]}...)")
        if mode == "quiet":
            # disabledevents outlives a manager reload: a fresh Asterisk for the next mode.
            asterisk.stop(paths)
            lab.up(paths, say=False)
            agent_pool.install_endpoints(paths, credentials, args.agents)


def report(results: list[ModeResult], args: argparse.Namespace) -> str:
    lines = [
        f"ami_events: {args.calls} calls at {args.rate:g}/s, menu -> key 1 -> queue -> one of "
        f"{args.agents} SIPp agents (1 s ring, {args.talk:g} s talk); per answered call:",
        f"{'mode':<9} {'answered':>8} {'events':>7} {'answers':>7} {'ast ms':>7} "
        f"{'daemon ms':>9}  top events",
    ]
    for r in results:
        events = sum(r.events.values())
        top = ", ".join(f"{n} {r.per_call(c):.1f}" for n, c in r.events.most_common(4))
        lines.append(
            f"{r.mode:<9} {r.answered:>4}/{r.placed:<3} {r.per_call(events):>7.1f} "
            f"{r.per_call(r.answers):>7.2f} {r.per_call(r.asterisk_cpu) * 1000:>7.1f} "
            f"{r.per_call(r.daemon_cpu) * 1000:>9.1f}  {top or '-'}"
        )
    for r in results:
        if r.metric:
            shown = ", ".join(f"{k} {v:g}" for k, v in r.metric.items())
            lines.append(f"{r.mode}: ivr_ami_events_total (whole run): {shown}")
    # Means over the rounds: the machine's other work moves one run's CPU by a few percent.
    means: dict[str, tuple[float, float, float]] = {}
    for mode in dict.fromkeys(r.mode for r in results):
        runs = [r for r in results if r.mode == mode]
        means[mode] = (
            statistics.fmean(r.per_call(sum(r.events.values())) for r in runs),
            statistics.fmean(r.per_call(r.asterisk_cpu) * 1000 for r in runs),
            statistics.fmean(r.per_call(r.daemon_cpu) * 1000 for r in runs),
        )
        got, ast, daemon = means[mode]
        lines.append(
            f"mean of {len(runs)}: {mode:<9} {got:6.1f} events/call, "
            f"asterisk {ast:5.1f} ms/call, daemon {daemon:5.1f} ms/call"
        )
    if "baseline" in means and "filtered" in means:
        ratio = means["filtered"][1] / means["baseline"][1]
        lines.append(f"asterisk CPU per call, filtered / baseline: {ratio:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--rate", type=float, default=3.0, help="calls a second")
    parser.add_argument("--agents", type=int, default=30)
    parser.add_argument("--talk", type=float, default=4.5, help="seconds of talk")
    parser.add_argument("--baseline", default=BASELINE, help="git revision before the filter")
    parser.add_argument("--modes", default="baseline,refused,filtered")
    parser.add_argument("--rounds", type=int, default=1, help="run the modes this many times")
    args = parser.parse_args(argv)
    modes = args.modes.split(",")
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown modes {sorted(unknown)}; choose from {', '.join(MODES)}")

    paths = LabPaths.default()
    credentials = lab.up(paths, say=False)
    results: list[ModeResult] = []
    with tempfile.TemporaryDirectory(prefix="ivr-ami-bench-") as temp:
        workdir = Path(temp)
        tree = unpack(args.baseline, workdir)
        agent_pool.install_endpoints(paths, credentials, args.agents)
        softphones = agent_pool.softphones(
            paths, args.agents, ring_seconds=1.0, talk_seconds=args.talk
        )
        try:
            for round_ in range(args.rounds):
                for mode in modes:
                    print(f"round {round_ + 1}: {mode} ...", flush=True)
                    results.append(
                        run_mode(mode, paths, credentials, args, tree, workdir / str(round_))
                    )
        finally:
            for phone in softphones:
                phone.stop()
            agent_pool.remove_endpoints(paths, credentials)  # the sample config, manager.conf too
            asterisk.cli(paths, "manager reload")
    print(report(results, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
