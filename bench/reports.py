"""What `ivr report` and `ivr forecast` cost on a month (150,000 calls) and a year (1.8 M).

The journals are SQLite files in the daemon's shape, made once and kept under
/var/tmp/ivr-bench-reports (IVR_BENCH_REPORTS to move it): a few hundred calls are driven
through the real core on virtual time (menu -> tag -> queue -> an agent answers after a
random wait -> talk -> hang-up; abandons; self-service; no input), and their notes, as the
core wrote them, are stamped again with new call ids and arrival times (more calls by day
than by night), interleaved in time order, and inserted with the store writer's own
statement. Agents' desk notes are mixed in.

Each command runs in a subprocess of its own; the figures are its wall time, CPU and peak
RSS (wait4's rusage). With `--baseline REV` (default b80f978, before issue 14) the same
commands also run on that revision's `ivr/` (git archive into a temporary folder: the
working tree is not touched), the year with its address space capped at 3 GiB, and the
outputs of both are compared. Figures, no asserts.
"""

from __future__ import annotations

import argparse
import heapq
import io
import json
import os
import random
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ivr.calls.commands import Note
from ivr.calls.events import AgentRequest
from ivr.calls.legs import AgentAnswered, RingAgent
from ivr.clock import VirtualClock
from ivr.pbx.sim.pbx import SimPbx
from ivr.plan.load import parse_plan
from ivr.plan.plan import PlanBook
from ivr.routing.desk import Desk
from ivr.routing.roster import parse_roster
from ivr.store.sqlite import SqliteJournal
from ivr.store.sqlite_writes import sql
from ivr.store.writes import NoteWrite
from ivr.switchboard.driver import CallDriver
from ivr.switchboard.switchboard import Switchboard

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("IVR_BENCH_REPORTS", "/var/tmp/ivr-bench-reports"))
BASELINE = "b80f978"  # the tree before issue 14: `ivr report` loads the whole period
YEAR_CAP = 3 << 30  # bytes of address space the baseline gets for the year


@dataclass(frozen=True)
class Size:
    """One journal: its name, first day (a Monday), days and calls."""

    name: str
    start: date
    days: int
    calls: int

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days)

    @property
    def path(self) -> Path:
        return CACHE / f"{self.name}-v1.sqlite3"


SIZES = {
    "month": Size("month", date(2026, 3, 2), 30, 150_000),
    "year": Size("year", date(2025, 3, 3), 365, 1_825_000),
}

PLAN = """
name: shop
numbers: ["100"]
queues:
  sales: {wrapup: 0}
  support: {wrapup: 0}
nodes:
  start:
    type: menu
    prompt: [sound:welcome, sound:press-1]
    options: {"1": orders, "2": returns, "3": hours}
    timeout: 5
    retries: 1
  orders: {type: tag, tag: orders, next: sales}
  returns: {type: tag, tag: returns, next: support}
  sales: {type: queue, queue: sales}
  support: {type: queue, queue: support}
  hours: {type: play, prompt: sound:hours, next: bye}
  bye: {type: hangup, prompt: sound:goodbye}
"""
AGENTS = 40
ROSTER = "teams: {shop: {kind: in-house}}\nagents:\n" + "".join(
    f"  - {{id: a{i}, name: A{i}, endpoint: PJSIP/a{i}, team: shop}}\n" for i in range(AGENTS)
)
TEMPLATES = 600
# Calls by hour of day (relative); weekends get 60 %.
HOURS = [0.1] * 7 + [0.6, 2, 4, 5, 5, 4.5, 4.5, 5, 5, 4.5, 4, 3, 2, 1.5, 1, 0.5, 0.2]

Template = list[tuple[float, str, str]]  # (seconds after arrival, kind, fields as JSON)


class Notes:
    """The core's notes as the journal sink would get them."""

    def __init__(self) -> None:
        self.items: list[tuple[float, Note]] = []

    def record(self, note: Note, at: float) -> None:
        self.items.append((at, note))


def templates(seed: int = 14) -> list[Template]:
    """The notes of TEMPLATES calls driven through the real core, by call."""
    rng = random.Random(seed)
    plan, _ = parse_plan(PLAN, "bench.yaml")
    plans = PlanBook((plan,))
    clock = VirtualClock(start=1_790_000_000.0)
    pbx = SimPbx(clock, prompt_seconds=2.0)
    desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
    notes = Notes()
    driver = CallDriver(Switchboard(plans, clock, desk), pbx, clock, notes)
    pbx.on_event = driver.feed
    for index in range(AGENTS):
        driver.feed(AgentRequest(f"a{index}", "sign-in"))
    arrivals: dict[str, float] = {}
    for _ in range(TEMPLATES):
        call_id = pbx.dial("100")
        arrivals[call_id] = clock.now()
        clock.advance(rng.uniform(3, 9))  # the greeting, then a key (or none)
        roll = rng.random()
        if roll < 0.08:  # no key: the menu gives up
            clock.advance(30)
            continue
        if roll < 0.2:
            pbx.press(call_id, "3")
            clock.advance(15)
            continue
        pbx.press(call_id, rng.choice("1112"))
        wait = min(rng.expovariate(1 / 18), 240)
        clock.advance(wait)
        if roll < 0.3:  # gave up waiting
            pbx.hang_up(call_id)
            clock.advance(1)
            continue
        ring = next(c for c in reversed(pbx.sent) if isinstance(c, RingAgent)
                    and c.call_id == call_id)  # fmt: skip
        driver.feed(AgentAnswered(ring.call_id, ring.leg_id))
        clock.advance(min(rng.expovariate(1 / 200), 3600))
        pbx.hang_up(call_id)
        clock.advance(1)
    by_call: dict[str, Template] = {call_id: [] for call_id in arrivals}
    for at, note in notes.items:
        if note.call_id in by_call:
            fields = json.dumps(note.fields, ensure_ascii=False)
            by_call[note.call_id].append((at - arrivals[note.call_id], note.kind, fields))
    return list(by_call.values())


def arrivals(size: Size, rng: random.Random) -> list[float]:
    """Arrival times of `size.calls` calls, sorted, more by day than by night."""
    weights = []
    for day in range(size.days):
        weekend = (size.start + timedelta(days=day)).weekday() >= 5
        weights += [w * (0.6 if weekend else 1.0) for w in HOURS]
    first = datetime.combine(size.start, datetime.min.time(), UTC).timestamp()
    hours = rng.choices(range(len(weights)), weights, k=size.calls)
    return sorted(first + hour * 3600 + rng.random() * 3600 for hour in hours)


def make(size: Size) -> None:
    """Write the journal of `size` (once; a later run reuses the file)."""
    if size.path.exists():
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rng = random.Random(size.name)
    shapes = templates()
    numbers = [f"7900{rng.randrange(10**7):07d}" for _ in range(size.calls // 3)]
    partial = size.path.with_suffix(".part")
    partial.unlink(missing_ok=True)
    journal = SqliteJournal(partial)
    statement, _ = sql(NoteWrite("", "", "{}", 0.0, 0.0))
    # Notes of calls under way wait in a heap until the clock passes them: time order, as
    # the daemon appends them.
    waiting: list[tuple[float, int, str, str, str]] = []
    rows: list[tuple[float, str, str, str]] = []
    written = serial = 0

    def note(at: float, call_id: str, kind: str, fields: str) -> None:
        nonlocal serial
        serial += 1
        heapq.heappush(waiting, (at, serial, call_id, kind, fields))

    def flush(upto: float) -> None:
        nonlocal written
        while waiting and waiting[0][0] < upto:
            at, _, call_id, kind, fields = heapq.heappop(waiting)
            rows.append((at, call_id, kind, fields))
        if len(rows) >= 100_000:
            journal.db.executemany(statement, rows)
            journal.db.commit()
            written += len(rows)
            rows.clear()

    times = arrivals(size, rng)
    next_desk = times[0]
    for index, arrived in enumerate(times):
        flush(arrived)
        while next_desk < arrived:  # agents pausing and coming back, all day
            desk = {"agent": f"a{rng.randrange(AGENTS)}",
                    "action": rng.choice(("pause", "resume"))}  # fmt: skip
            note(next_desk, "", "agent_request", json.dumps(desk))
            next_desk += 3600.0 / AGENTS
        call_id = f"{int(arrived)}.{index}"
        number = rng.choice(numbers)
        for offset, kind, fields in rng.choice(shapes):
            body = fields.replace('"caller_number": ""', f'"caller_number": "{number}"')
            note(arrived + offset, call_id, kind, body)
    flush(float("inf"))
    journal.db.executemany(statement, rows)
    written += len(rows)
    journal.close()
    partial.rename(size.path)
    mb = size.path.stat().st_size / 1e6
    print(f"made {size.path}: {size.calls:,} calls, {written:,} notes "
          f"({written / size.calls:.1f} per call), {mb:.0f} MB, "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip


@dataclass(frozen=True)
class Run:
    """What one command cost, and where its output went."""

    ok: bool
    wall: float
    cpu: float
    rss_mb: float
    output: Path


def run(root: Path, label: str, size: Size, command: str, cap: int | None = None) -> Run:
    """`ivr COMMAND` over `size`'s whole journal, in a subprocess with `root` first on the path."""
    config = CACHE / f"{size.name}.yaml"
    config.write_text(f"store:\n  sqlite: {size.path}\n")
    args = [command, "--from", size.start.isoformat(), "--to", size.end.isoformat(),
            "--config", str(config), "--format", "csv"]  # fmt: skip
    code = "import sys; from ivr.cli.main import main; sys.exit(main(sys.argv[1:]))"
    output = CACHE / f"out-{label}-{size.name}-{command}.csv"

    def limit() -> None:
        if cap is not None:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    env = {**os.environ, "PYTHONPATH": str(root)}
    with output.open("w") as out, open(os.devnull, "w") as quiet:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", code, *args], cwd=root, env=env,
                                 stdout=out, stderr=quiet, preexec_fn=limit)  # fmt: skip
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return Run(child.returncode == 0, wall, usage.ru_utime + usage.ru_stime,
               usage.ru_maxrss / 1024, output)  # fmt: skip


def baseline_tree(rev: str, folder: Path) -> Path:
    """`rev`'s ivr/ package in `folder` (git archive: nothing in the work tree changes)."""
    archive = subprocess.run(["git", "archive", rev, "ivr"], cwd=ROOT, check=True,
                             capture_output=True).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def show(label: str, size: Size, command: str, result: Run) -> None:
    state = "" if result.ok else "  FAILED (exit != 0)"
    print(f"{label:<9} {size.name:<5} {command:<8} wall {result.wall:6.1f} s  "
          f"CPU {result.cpu:6.1f} s  peak RSS {result.rss_mb:7.0f} MB{state}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="month,year", help="month, year or both")
    parser.add_argument("--baseline", default=BASELINE, help="revision to compare with")
    parser.add_argument("--no-baseline", action="store_true", help="only the working tree")
    parser.add_argument("--no-current", action="store_true", help="only the baseline")
    args = parser.parse_args()
    sizes = [SIZES[name] for name in args.sizes.split(",")]
    for size in sizes:
        make(size)
    print(f"{os.cpu_count()} CPUs; {date.today()}; python {sys.version.split()[0]}")
    trees: list[tuple[str, Path]] = []
    scratch = tempfile.TemporaryDirectory(prefix="ivr-bench-baseline-")
    if not args.no_baseline:
        trees.append(("before", baseline_tree(args.baseline, Path(scratch.name))))
    if not args.no_current:
        trees.append(("after", ROOT))
    results: dict[tuple[str, str, str], Run] = {}
    for size in sizes:
        mb = size.path.stat().st_size / 1e6
        print(f"-- {size.name}: {size.calls:,} calls, {mb:.0f} MB SQLite")
        for command in ("report", "forecast"):
            for label, root in trees:
                cap = YEAR_CAP if label == "before" and size.name == "year" else None
                result = run(root, label, size, command, cap)
                results[(label, size.name, command)] = result
                show(label, size, command, result)
            before = results.get(("before", size.name, command))
            after = results.get(("after", size.name, command))
            if before and after and before.ok and after.ok:
                same = before.output.read_bytes() == after.output.read_bytes()
                print(
                    f"          {size.name} {command}: outputs "
                    + ("identical" if same else f"DIFFER ({before.output}, {after.output})")
                )
    scratch.cleanup()


if __name__ == "__main__":
    main()
