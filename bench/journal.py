"""What the journal's outputs cost per call, beside the core that makes the notes.

    .venv/bin/python bench/journal.py [--calls 2000] [--paced-calls 100] [--rate 5]

Drives calls menu -> key 1 -> queue -> an agent answers -> 4.5 s of talk -> hang-up through
the real core on virtual time (40 agents), first with a null note sink (the core alone),
keeping the notes it made. Then replays those notes, as the daemon hands them over
(NoteFanout, one instant's notes per turn of an event loop), into each output alone and
prints its CPU per call: the log lines (LogSink, key=value and JSON, to a file as stderr is
under systemd), the metrics (MetricsSink), the screen pops, and the store (JournalSink ->
BufferedJournal -> the writer thread, with the daemon's StoreMetrics): CPU on the calling
thread (the event loop in the daemon) and on the writer's thread, for SQLite and a
redis-server of its own. These run as fast as the notes come, caches warm (the least of
`--repeat` runs: the machine is shared).

Then the same calls at the lab's pace, in real time on an event loop (a call arriving every
1/`--rate` s, its events a few ms apart from the plan's seconds): the core alone, and the
core with every output in one fanout, where each event comes alone to a cold cache and the
store's writer wakes for it; and once more with the writer gathering `--gather` seconds of
writes per step (not what the daemon does: a crash would lose that long of writes).

All of it first on `--baseline` (b80f978, before issue 14: its ivr/ from git archive, the
work tree untouched), then on the working tree. Figures, no asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# With --baseline, that revision's ivr/ comes first (tests/ still from the working tree).
sys.path.insert(0, os.environ.get("IVR_BENCH_CODE") or sys.path[0])

from ivr import logs
from ivr.calls.commands import Note
from ivr.calls.events import AgentRequest
from ivr.calls.legs import AgentAnswered, RingAgent
from ivr.calls.ports import NoteSink
from ivr.clock import VirtualClock
from ivr.journal.fanout import LogSink, NoteFanout
from ivr.journal.metrics import Metrics
from ivr.journal.metrics_sink import MetricsSink
from ivr.journal.screen_pop import ScreenPops
from ivr.journal.store_sink import JournalSink, StoreMetrics
from ivr.pbx.sim.pbx import SimPbx
from ivr.plan.load import parse_plan
from ivr.plan.plan import PlanBook
from ivr.reload import init_queue_series
from ivr.routing.desk import Desk
from ivr.routing.roster import parse_roster
from ivr.store.buffered import BufferedJournal
from ivr.store.writer import StoreWriter
from ivr.store.writes import Backend
from ivr.switchboard.driver import CallDriver
from ivr.switchboard.switchboard import Switchboard

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "b80f978"  # before issue 14
PLAN = """
name: shop
numbers: ["100"]
queues:
  returns: {wrapup: 0}
nodes:
  start: {type: menu, prompt: sound:press-1, options: {"1": line}, timeout: 5, retries: 2}
  line: {type: queue, queue: returns}
"""
ROSTER = "teams: {shop: {kind: in-house}}\nagents:\n" + "".join(
    f"  - {{id: a{i}, name: A{i}, endpoint: PJSIP/a{i}, team: shop}}\n" for i in range(40)
)
Notes = list[tuple[Note, float]]
START = 1_790_000_000.0


class Kept:
    """The null sink: keeps each note (an append) and nothing else."""

    def __init__(self) -> None:
        self.notes: Notes = []

    def record(self, note: Note, at: float) -> None:
        self.notes.append((note, at))


def core(plans: PlanBook, calls: int) -> tuple[float, Notes]:
    """CPU seconds of `calls` calls through the core alone, and the notes it made."""
    clock = VirtualClock(start=START)
    pbx = SimPbx(clock, prompt_seconds=1.0)
    desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
    kept = Kept()
    driver = CallDriver(Switchboard(plans, clock, desk), pbx, clock, kept)
    pbx.on_event = driver.feed
    for index in range(40):
        driver.feed(AgentRequest(f"a{index}", "sign-in"))
    kept.notes.clear()
    started = time.process_time()
    for _ in range(calls):
        call_id = pbx.dial("100")
        clock.advance(1.0)
        pbx.press(call_id, "1")
        clock.advance(1.0)
        ring = next(c for c in reversed(pbx.sent) if isinstance(c, RingAgent))
        driver.feed(AgentAnswered(ring.call_id, ring.leg_id))
        clock.advance(4.5)
        pbx.hang_up(call_id)
        clock.advance(0.1)
    return time.process_time() - started, kept.notes


def ticks(notes: Notes) -> list[Notes]:
    """The notes in groups made at one instant: what one event through the core gives, handed
    over in one turn of the daemon's event loop."""
    groups: list[Notes] = []
    for note, at in notes:
        if groups and groups[-1][0][1] == at:
            groups[-1].append((note, at))
        else:
            groups.append([(note, at)])
    return groups


def replay(sink: NoteSink, notes: Notes) -> float:
    """CPU seconds (the whole process) to hand `notes` to `sink` through the fanout, one
    instant's notes per turn of an event loop, until the loop has nothing left to do."""

    async def run() -> float:
        fanout = NoteFanout([sink])
        groups = ticks(notes)
        began = time.process_time()
        for group in groups:
            for note, at in group:
                fanout.record(note, at)
            await asyncio.sleep(0)  # the loop turns: callbacks scheduled meanwhile run
        await asyncio.sleep(0)
        return time.process_time() - began

    return asyncio.run(run())


def log_lines(notes: Notes, fmt: str, folder: Path) -> float:
    """CPU seconds of the log sink with the daemon's logging set up, stderr a file, until
    every line is written."""
    saved = sys.stderr
    with (folder / f"log.{fmt}").open("w") as stderr:
        sys.stderr = stderr
        try:
            logs.setup("info", fmt, ["not-a-real-secret"])
            spent = replay(LogSink(), notes)
            began = time.process_time()
            for handler in logging.getLogger().handlers:
                handler.flush()  # what is still held is written too
            return spent + time.process_time() - began
        finally:
            sys.stderr = saved
            logging.getLogger().handlers.clear()


def store(open_backend: Callable[[], Backend], notes: Notes) -> tuple[float, float]:
    """The store sink as the daemon wires it (StoreMetrics watching): CPU seconds of the
    calling thread and of the writer's thread until every note has landed."""
    writer = StoreWriter(open_backend, watch=StoreMetrics(Metrics())).start()
    writer_clock = time.pthread_getcpuclockid(writer_ident(writer))
    sink = NoteFanout([JournalSink(BufferedJournal(writer))])
    began, looped = time.clock_gettime(writer_clock), time.thread_time()
    for note, at in notes:
        sink.record(note, at)
    looped = time.thread_time() - looped
    while sum(writer.pending().values()):
        time.sleep(0.001)
    landing = time.clock_gettime(writer_clock) - began
    writer.close(5)
    return looped, landing


def writer_ident(writer: StoreWriter) -> int:
    assert writer._thread is not None and writer._thread.ident is not None
    return writer._thread.ident


Outputs = Callable[[], tuple[list[NoteSink], list[StoreWriter]]]


def at_lab_pace(
    plans: PlanBook, calls: int, rate: float, outputs: Outputs | None
) -> tuple[float, float]:
    """`calls` calls through the core on an event loop in real time, as the lab makes them:
    one arriving every 1/`rate` s, its key 1 pressed a second after, the agent answering a
    second later, the caller hanging up 4.5 s after that, each event give or take a few ms
    (seeded). With no `outputs`, no work at all: the pacing's own cost. CPU seconds of the
    loop's thread and of the store writer's thread."""
    clock = VirtualClock(start=START)
    pbx = SimPbx(clock, prompt_seconds=1.0)
    desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
    sinks, writers = outputs() if outputs is not None else ([], [])
    driver = CallDriver(Switchboard(plans, clock, desk), pbx, clock, NoteFanout(sinks))
    pbx.on_event = driver.feed
    for index in range(40):
        driver.feed(AgentRequest(f"a{index}", "sign-in"))
    jitter = random.Random(14)
    plan: list[tuple[float, int, str]] = []
    for index in range(calls):
        start = index / rate
        for offset, step in ((0.0, "dial"), (1.0, "press"), (2.0, "answer"), (6.5, "hang_up")):
            plan.append((start + offset + jitter.uniform(0, 0.02), index, step))
    plan.sort()
    ids: dict[int, str] = {}
    rung: dict[str, RingAgent] = {}
    seen = 0

    def act(index: int, step: str) -> None:
        nonlocal seen
        if step == "dial":
            ids[index] = pbx.dial("100")
        elif step == "press":
            pbx.press(ids[index], "1")
        elif step == "answer":
            for command in pbx.sent[seen:]:
                if isinstance(command, RingAgent):
                    rung[command.call_id] = command
            seen = len(pbx.sent)
            ring = rung.pop(ids[index])
            driver.feed(AgentAnswered(ring.call_id, ring.leg_id))
        else:
            pbx.hang_up(ids[index])

    async def run() -> float:
        began, spent = time.monotonic(), time.thread_time()
        for due, index, step in plan:
            await asyncio.sleep(max(0.0, began + due - time.monotonic()))
            if outputs is not None:
                clock.advance(START + due - clock.now())
                act(index, step)
        for handler in logging.getLogger().handlers:
            handler.flush()  # the log lines still held
        return time.thread_time() - spent

    writer_clocks = [time.pthread_getcpuclockid(writer_ident(w)) for w in writers]
    landing = -sum(time.clock_gettime(c) for c in writer_clocks)
    looped = asyncio.run(run())
    for writer in writers:
        while sum(writer.pending().values()):
            time.sleep(0.001)
    landing += sum(time.clock_gettime(c) for c in writer_clocks)
    for writer in writers:
        writer.close(5)
    return looped, landing


def lab(
    args: argparse.Namespace,
    plans: PlanBook,
    folder: Path,
    backends: dict[str, Callable[[], Backend]],
) -> None:
    """The core and every output at the lab's pace: each event alone, to a cold cache."""
    calls, rate = args.paced_calls, args.rate

    def us(seconds: float) -> str:
        return f"{seconds / calls * 1e6:7.1f} us"

    idle, _ = at_lab_pace(plans, calls, rate, None)
    at_lab_pace(plans, 2, rate, lambda: ([Kept()], []))  # warm: what a first call costs once
    bare, _ = at_lab_pace(plans, calls, rate, lambda: ([Kept()], []))
    print(f"{calls} calls at {rate:g} a second in real time; CPU per call (on a shared machine "
          f"these vary run to run: the loop's share is the difference of two runs):")  # fmt: skip
    print(f"  core alone (null sink)      {us(bare - idle)}")
    saved = sys.stderr
    runs = [(name, backend, 0.0) for name, backend in backends.items()]
    if args.gather:
        runs.append(("sqlite", backends["sqlite"], args.gather))
    for name, backend, gather in runs:

        def outputs(
            backend: Callable[[], Backend] = backend, gather: float = gather
        ) -> tuple[list[NoteSink], list[StoreWriter]]:
            metrics = Metrics()
            init_queue_series(metrics, plans)
            watch = StoreMetrics(metrics)
            writer = (
                StoreWriter(backend, watch=watch, gather_seconds=gather)
                if gather
                else StoreWriter(backend, watch=watch)  # the baseline's has no gather_seconds
            )
            sinks: list[NoteSink] = [
                LogSink(),
                MetricsSink(metrics),
                JournalSink(BufferedJournal(writer)),  # started below
                ScreenPops(),
            ]
            return sinks, [writer.start()]

        if gather:
            name = f"{name}, the writer gathering {gather:g} s"
        with (folder / "lab.log").open("w") as stderr:
            sys.stderr = stderr
            try:
                logs.setup("info", "keyvalue", ["not-a-real-secret"])
                at_lab_pace(plans, 2, rate, outputs)  # warm, as above
                looped, landing = at_lab_pace(plans, calls, rate, outputs)
            finally:
                sys.stderr = saved
                logging.getLogger().handlers.clear()
        looped -= bare
        print(f"  journal outputs, {name:6}     {us(looped + landing)} = {us(looped)} on the loop "
              f"+ {us(landing)} landing")  # fmt: skip


def baseline_tree(rev: str, folder: Path) -> None:
    """`rev`'s ivr/ package in `folder` (git archive: nothing in the work tree changes)."""
    archive = subprocess.run(["git", "archive", rev, "ivr"], cwd=ROOT, check=True,
                             capture_output=True).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--paced-calls", type=int, default=100, help="calls paced as the lab's")
    parser.add_argument("--rate", type=float, default=5.0, help="calls a second when paced")
    parser.add_argument("--repeat", type=int, default=3, help="burst runs; the least is shown")
    parser.add_argument(
        "--gather", type=float, default=0.3, help="at the lab's pace, SQLite again, gathering"
    )
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--baseline", default=BASELINE, help="revision to measure first")
    parser.add_argument("--no-baseline", action="store_true", help="only the working tree")
    args = parser.parse_args()
    if not args.no_baseline:
        with tempfile.TemporaryDirectory(prefix="ivr-bench-baseline-") as scratch:
            baseline_tree(args.baseline, Path(scratch))
            print(f"-- before: {args.baseline}", flush=True)
            argv = [f"--calls={args.calls}", f"--paced-calls={args.paced_calls}",
                    f"--rate={args.rate}", f"--repeat={args.repeat}", "--gather=0",
                    "--no-baseline", *(["--no-redis"] if args.no_redis else [])]  # fmt: skip
            subprocess.run([sys.executable, __file__, *argv],
                           env={**os.environ, "IVR_BENCH_CODE": scratch}, check=True)  # fmt: skip
        print("-- after: the working tree", flush=True)
    plan, _ = parse_plan(PLAN, "bench.yaml")
    plans = PlanBook((plan,))
    core(plans, 200)  # warm up imports and caches
    cpu, notes = core(plans, args.calls)
    for _ in range(args.repeat - 1):  # the machine is shared: the least CPU is the least noisy
        cpu = min(cpu, core(plans, args.calls)[0])

    def least(measure: Callable[[], float]) -> float:
        return min(measure() for _ in range(args.repeat))

    per_call = len(notes) / args.calls
    calls = args.calls

    def us(seconds: float, count: int = calls) -> str:
        return f"{seconds / count * 1e6:7.1f} us"

    print(f"{calls} calls, {len(notes)} notes ({per_call:.1f} per call); CPU per call:")
    print(f"  core alone (null sink)      {us(cpu)}")
    fanout_only = least(lambda: replay(Kept(), notes))
    print(f"  fanout + null sink          {us(fanout_only)} (not counted below)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # Each output's own cost: what it adds to the fanout and a null sink.
        outputs: dict[str, float] = {}
        for fmt in ("keyvalue", "json"):
            spent = least(lambda: log_lines(notes, fmt, folder))  # noqa: B023 (called at once)
            outputs[f"log lines, {fmt}"] = spent - fanout_only
        metrics = Metrics()
        init_queue_series(metrics, plans)
        outputs["metrics"] = least(lambda: replay(MetricsSink(metrics), notes)) - fanout_only
        outputs["screen pops (no webhook)"] = least(lambda: replay(ScreenPops(), notes))
        outputs["screen pops (no webhook)"] -= fanout_only
        for name, spent in outputs.items():
            print(f"  {name:27} {us(spent)}")
        backends = {"sqlite": sqlite_backend(folder)}
        server = None
        if not args.no_redis:
            from ivr.store.redis_writes import RedisBackend
            from tests.integration.pair import RedisServer

            server = RedisServer(folder / "redis").start()
            url = server.url
            backends["redis"] = lambda: RedisBackend(url, 2.0, "bench")
        try:
            for name, backend in backends.items():
                looped, landing = min((store(backend, notes) for _ in range(args.repeat)), key=sum)
                outputs[f"store {name}"] = looped + landing
                print(f"  store {name:6}               {us(looped + landing)} = {us(looped)} on "
                      f"the loop + {us(landing)} landing")  # fmt: skip
            shared = outputs["log lines, keyvalue"] + outputs["metrics"]
            shared += outputs["screen pops (no webhook)"]
            print(f"journal outputs (key=value log, metrics, pops, SQLite store): "
                  f"{us(shared + outputs['store sqlite'])}; the core alone {us(cpu)}")  # fmt: skip
            lab(args, plans, folder, backends)
        finally:
            if server is not None:
                server.stop()


def sqlite_backend(folder: Path) -> Callable[[], Backend]:
    from ivr.store.sqlite_writes import SqliteBackend

    count = 0

    def backend() -> Backend:
        nonlocal count
        count += 1  # a fresh file per run
        return SqliteBackend(folder / f"journal{count}.sqlite3", folder / "cb.sqlite3", 2.0)

    return backend


if __name__ == "__main__":
    main()
