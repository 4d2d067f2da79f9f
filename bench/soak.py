"""A soak on the lab: SIPp callers and SIPp agents at a steady rate for many minutes, while the
daemon's memory and file descriptors are sampled; at the end every call is accounted for.

    sudo .venv/bin/python bench/soak.py --minutes 30 --rate 5

Callers dial the soak plan's number and hear a menu; most press 1 and wait in the `desk`
queue for one of the pool's agents (SIPp softphones), who answers after a ring, talks a few
seconds and hangs up. The rest press 2 for `orders`, whose two agents are on a break, and
hang up after a few seconds of waiting: abandons. Criteria (exit status 1 when one fails):
no call failed or lost, none left in Stasis, RSS at the end within 5 % of RSS after warm-up,
file descriptors flat, and the journal's outcomes equal to /metrics' `ivr_calls_total`
call for call. docs/soak.md explains the figures; tests/integration/test_soak.py runs 2
minutes of it on the lab.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import gc
import json
import os
import pickle
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from ivr.lab import agent_pool, asterisk, lab, sipp
from ivr.lab.caller_load import CallerLoad, LoadCounts, RunningLoad
from ivr.lab.load_plan import menu_queue_plan
from ivr.lab.paths import REPO, LabPaths

# DaemonProcess lives with the lab tests; run as a script, this file's folder is on the path,
# not the repository's.
sys.path.insert(0, str(REPO))
from tests.integration.lab import ARI, DaemonProcess

NUMBER = "500"
PATIENT_PREFIX = "7955"  # caller numbers of the callers who wait for an agent
ABANDON_PREFIX = "7956"  # ... and of those who give up
BREAK_AGENTS = 2  # the orders queue's agents, paused all along: its callers can only abandon
RING_SECONDS = 1.0
WRAPUP_SECONDS = 1.0
FIRST_KEY_AFTER = 2.0
PLAN = menu_queue_plan(
    "soak", NUMBER,
    "The soak's shop (bench/soak.py): a menu, a staffed queue and one whose agents are away.",
    wrapup=WRAPUP_SECONDS,
)  # fmt: skip


@dataclass(frozen=True)
class SoakSettings:
    """What the soak does; the defaults are the documented 30-minute run at 5 calls/s."""

    minutes: float = 30.0
    rate: float = 5.0  # calls a second, all callers together
    agents: int = 40
    abandon_share: float = 0.1  # of the callers, those who press 2 and give up
    talk_seconds: float = 4.0
    patience_seconds: float = 4.0  # how long an abandoning caller waits before hanging up
    sample_seconds: float = 5.0
    warmup_seconds: float | None = None  # default: 20 % of the run, at least 60 s
    rss_tolerance: float = 0.05
    fd_slack: int = 0  # fds the idle daemon may hold after the run above those before it
    tracemalloc: bool = False  # snapshot the daemon's heap after warm-up and at the end

    @property
    def seconds(self) -> float:
        return self.minutes * 60

    @property
    def warmup(self) -> float:
        if self.warmup_seconds is not None:
            return self.warmup_seconds
        return min(max(60.0, 0.2 * self.seconds), 0.5 * self.seconds)


@dataclass(frozen=True)
class Sample:
    """The daemon at one moment: seconds since the first call, RSS, open fds, active calls."""

    at: float
    rss_kib: int
    fds: int
    active_calls: int | None


@dataclass
class SoakReport:
    """What a soak measured, and each criterion with whether it held."""

    settings: SoakSettings
    planned: dict[str, int]
    counts: dict[str, LoadCounts]
    agents_answered: int
    placed_for: float
    lasted: float
    samples: list[Sample]
    rss_start: int
    rss_end: int
    fds_start: int
    fds_end: int
    idle_fds: tuple[int, int]
    channels_left: int
    in_stasis: int
    active_calls_after: float | None
    journal_outcomes: dict[str, int]
    metric_outcomes: dict[str, int]
    journal_queue: dict[str, int]
    metric_queue: dict[str, int]
    arrived: int
    ended_once: int
    daemon_exit: int
    erlang_wait: float
    load_average: str
    errors_logged: int
    warnings_logged: dict[str, int]
    heap_growth: list[str] = field(default_factory=list)
    criteria: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(ok for _, ok, _ in self.criteria)

    def failures(self) -> list[str]:
        return [f"{name}: {detail}" for name, ok, detail in self.criteria if not ok]

    def text(self) -> str:
        """The figures and the verdict, as the command prints them."""
        s = self.settings
        rss_max = max((x.rss_kib for x in self.samples if x.at >= s.warmup), default=0)
        fds_max = max((x.fds for x in self.samples), default=0)
        patient, gave_up = self.counts["desk"], self.counts["abandon"]
        lines = [
            f"soak: {s.minutes:g} min at {s.rate:g} calls/s ({self.planned['desk']} to the desk, "
            f"{self.planned['abandon']} giving up), {s.agents} agents, {s.talk_seconds:g} s "
            f"talk; Erlang C P(wait) {self.erlang_wait:.1%}; load average {self.load_average}",
            f"calls: placed {patient.created + gave_up.created}, answered {patient.successful}"
            f" (agents' SIPp: {self.agents_answered}), abandoned {gave_up.successful}, failed "
            f"{patient.failed + gave_up.failed} (SIPp's counts)",
            f"duration: calls placed for {self.placed_for:.0f} s, the last ended "
            f"{self.lasted:.0f} s after the first began",
            f"rss: {_mib(self.rss_start)} after {s.warmup:.0f} s warm-up, {_mib(self.rss_end)} at "
            f"the end ({_change(self.rss_start, self.rss_end)}), max {_mib(rss_max)}",
            f"fds: {self.fds_start} after warm-up, {self.fds_end} at the end, max {fds_max}; "
            f"idle before {self.idle_fds[0]}, idle after {self.idle_fds[1]}",
            f"stasis: {self.channels_left} channels left ({self.in_stasis} in Stasis); "
            f"ivr_active_calls {self.active_calls_after}",
            f"journal: {_outcomes(self.journal_outcomes)}; {self.arrived} arrived, "
            f"{self.ended_once} ended exactly once; queue notes {_outcomes(self.journal_queue)}",
            f"metrics: {_outcomes(self.metric_outcomes)}; queue {_outcomes(self.metric_queue)}",
            f"daemon: exit {self.daemon_exit}; logged {self.errors_logged} errors, warnings: "
            f"{_outcomes(self.warnings_logged)}",
        ]
        if self.heap_growth:
            lines.append("heap growth after warm-up (tracemalloc, which also inflates RSS):")
            lines += [f"  {line}" for line in self.heap_growth]
        lines.append("criteria:")
        lines += [f"  {'ok  ' if ok else 'FAIL'} {n}: {d}" for n, ok, d in self.criteria]
        return "\n".join(lines)


def erlang_c(agents: int, traffic: float) -> float:
    """The probability that a caller waits (Erlang C), `traffic` in Erlangs."""
    if traffic >= agents:
        return 1.0
    term, total = 1.0, 1.0
    for k in range(1, agents):
        term *= traffic / k
        total += term
    last = term * traffic / agents * agents / (agents - traffic)
    return last / (total + last)


def roster(settings: SoakSettings) -> str:
    """The pool on the desk (skill sales), two more on orders, all one in-house team."""
    desk = agent_pool.roster_lines(settings.agents, "shop", "{sales: 5}")
    breaks = "".join(
        f"  - {{id: {agent_pool.name(i)}, name: Break {i}, endpoint: PJSIP/{agent_pool.name(i)},"
        " team: shop, skills: {orders: 5}}\n"
        for i in range(settings.agents + 1, settings.agents + BREAK_AGENTS + 1)
    )
    return "teams:\n  shop: {kind: in-house}\nagents:\n" + desk + breaks


def loads(settings: SoakSettings) -> dict[str, CallerLoad]:
    """The two SIPp caller populations: the desk's and the abandoning one."""
    seconds = settings.seconds
    desk_rate = settings.rate * (1 - settings.abandon_share)
    abandon_rate = settings.rate * settings.abandon_share
    talk = RING_SECONDS + settings.talk_seconds
    desk = sipp.CallScript(
        NUMBER, keys="1", first_key_after=FIRST_KEY_AFTER, wait_for_bye=60 + talk
    )
    gave_up = sipp.CallScript(
        NUMBER, keys="2", first_key_after=FIRST_KEY_AFTER, hang_up_after=settings.patience_seconds
    )
    found = {"desk": CallerLoad("desk", desk, desk_rate, round(desk_rate * seconds),
                                PATIENT_PREFIX, (20000, 29999))}  # fmt: skip
    if abandon_rate > 0:
        found["abandon"] = CallerLoad(
            "abandon", gave_up, abandon_rate, round(abandon_rate * seconds), ABANDON_PREFIX,
            (30000, 34999),
        )  # fmt: skip
    return found


class TracedDaemon(DaemonProcess):
    """The daemon under tracemalloc: SIGUSR2 writes a heap snapshot (see `traced_main`)."""

    def start(self) -> DaemonProcess:
        self.snapshots = self.config.parent / "heap"
        self.snapshots.mkdir(exist_ok=True)
        argv = [sys.executable, str(Path(__file__).resolve()), "--traced-daemon",
                str(self.snapshots), "run", "--config", str(self.config)]  # fmt: skip
        self.process = subprocess.Popen(
            argv, env=self.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def snapshot(self, name: str, timeout: float = 120.0) -> Path:
        """Ask the daemon for a heap snapshot; its file once written."""
        assert self.process is not None
        target = self.snapshots / f"{name}.pickle"
        (self.snapshots / "next").write_text(name)
        self.process.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + timeout
        while not target.exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"no heap snapshot {target} within {timeout} s")
            time.sleep(0.2)
        return target


def traced_main(folder: str, argv: list[str]) -> int:
    """`ivr` with tracemalloc on; SIGUSR2 pickles a snapshot to folder/<name in `next`>."""
    tracemalloc.start(10)

    def dump(signum: int, frame: object) -> None:
        name = (Path(folder) / "next").read_text().strip()
        pending, rss_pending = tracemalloc.get_traced_memory()[0], vm_rss()
        # Only what is still reachable counts: cyclic garbage waiting for a collection is not
        # a leak (aioari makes a class per ARI request, freed only by the cycle collector).
        collected = gc.collect()
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        # Memory outside Python's allocators that tracemalloc cannot see: SQLite's page caches.
        figures = {
            "traced before gc": pending,
            "traced": tracemalloc.get_traced_memory()[0],
            "garbage objects": collected,
            "objects": len(gc.get_objects()),
            "sqlite": sqlite_memory_used(),
            "rss kib before gc": rss_pending,
            "rss kib": vm_rss(),
        }
        (Path(folder) / f"{name}.json").write_text(json.dumps(figures))
        partial = Path(folder) / f"{name}.part"
        with partial.open("wb") as handle:
            pickle.dump(snapshot, handle)
        partial.rename(Path(folder) / f"{name}.pickle")

    signal.signal(signal.SIGUSR2, dump)
    from ivr.cli.main import main as ivr_main

    return ivr_main(argv)


def vm_rss(pid: int | str = "self") -> int:
    """A process's resident memory (VmRSS) in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS:"))


def sqlite_memory_used() -> int | None:
    """Bytes SQLite holds in this process (its page caches above all), or None."""
    found = ctypes.util.find_library("sqlite3")
    if found is None:
        return None
    library = ctypes.CDLL(found)
    library.sqlite3_memory_used.restype = ctypes.c_int64
    return int(library.sqlite3_memory_used())


def heap_growth(before: Path, after: Path, top: int = 15) -> list[str]:
    """The allocation sites whose live memory grew most between two snapshots, each with
    its innermost frames and the first frame in the daemon's own code."""
    with before.open("rb") as one, after.open("rb") as two:
        first: tracemalloc.Snapshot = pickle.load(one)
        second: tracemalloc.Snapshot = pickle.load(two)
    figures = [json.loads(p.with_suffix(".json").read_text()) for p in (before, after)]
    lines = [
        f"{key}: {figures[0][key]:,} -> {figures[1][key]:,}"
        for key in figures[0]
        if figures[0][key] is not None
    ]
    for stat in second.compare_to(first, "traceback")[:top]:
        frames = list(reversed(stat.traceback))  # innermost first
        shown = frames[:2] + [f for f in frames[2:] if "/ivr/" in f.filename][:1]
        where = " <- ".join(f"{_short(f.filename)}:{f.lineno}" for f in shown)
        lines.append(f"{stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+d} blocks: {where}")
    return lines


def _short(filename: str) -> str:
    """A source path from its package on: site-packages/x/y.py -> x/y.py."""
    for marker in ("site-packages/", f"{REPO}/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


class Sampler:
    """Every `every` seconds, the daemon's RSS (VmRSS), open fds and ivr_active_calls."""

    def __init__(self, daemon: DaemonProcess, every: float) -> None:
        assert daemon.process is not None
        self.daemon = daemon
        self.pid = daemon.process.pid
        self.every = every
        self.samples: list[Sample] = []
        self.origin = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def take(self) -> Sample:
        fds = len(os.listdir(f"/proc/{self.pid}/fd"))
        rss = vm_rss(self.pid)
        return Sample(time.monotonic() - self.origin, rss, fds, active_calls(self.daemon))

    def start(self) -> Sampler:
        self.origin = time.monotonic()
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, StopIteration):
                self.samples.append(self.take())
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def metric_values(daemon: DaemonProcess, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample of the metric `name` on /metrics, by its labels."""
    values = {}
    for family in text_string_to_metric_families(daemon.metrics()):
        for sample in family.samples:
            if sample.name == name:
                values[tuple(sorted(sample.labels.items()))] = sample.value
    return values


def active_calls(daemon: DaemonProcess) -> int | None:
    try:
        return int(sum(metric_values(daemon, "ivr_active_calls").values()))
    except (OSError, urllib.error.URLError):
        return None


def ari_channels(credentials: dict[str, str]) -> list[dict[str, Any]]:
    """Every channel Asterisk has now, from ARI."""
    key = urllib.parse.quote(f"{credentials['IVR_ARI_USER']}:{credentials['IVR_ARI_PASSWORD']}")
    with urllib.request.urlopen(f"{ARI}/ari/channels?api_key={key}", timeout=5) as response:
        channels: list[dict[str, Any]] = json.loads(response.read())
        return channels


def hang_up(credentials: dict[str, str], channels: list[dict[str, Any]]) -> None:
    """Hang up channels a failed soak left, so the next run starts clean."""
    key = urllib.parse.quote(f"{credentials['IVR_ARI_USER']}:{credentials['IVR_ARI_PASSWORD']}")
    for channel in channels:
        request = urllib.request.Request(
            f"{ARI}/ari/channels/{channel['id']}?api_key={key}", method="DELETE"
        )
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=5).close()


def wait_idle(daemon: DaemonProcess, timeout: float) -> float | None:
    """Until the daemon owns no call (ivr_active_calls 0); its last reading."""
    deadline = time.monotonic() + timeout
    value = active_calls(daemon)
    while value != 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        value = active_calls(daemon)
    return value


def sign_in(daemon: DaemonProcess, settings: SoakSettings) -> None:
    """The pool available, the orders agents signed in and on a break."""
    for i in range(1, settings.agents + BREAK_AGENTS + 1):
        agent = agent_pool.name(i)
        status, body = daemon.api("POST", f"/api/agents/{agent}/sign-in")
        assert status == 200, f"sign-in of {agent}: {status} {body}"
        if i > settings.agents:
            status, body = daemon.api("POST", f"/api/agents/{agent}/pause", {"reason": "lunch"})
            assert status == 200, f"pause of {agent}: {status} {body}"


def run_soak(
    paths: LabPaths, credentials: dict[str, str], settings: SoakSettings, workdir: Path
) -> SoakReport:
    """Run the soak on a lab that is up; the report says what held. Leaves the lab as it
    found it (the pool's endpoints removed, no softphone running)."""
    plans, agents = workdir / "plans", workdir / "agents"
    plans.mkdir(parents=True, exist_ok=True)
    agents.mkdir(exist_ok=True)
    (plans / "soak.yaml").write_text(PLAN)
    (agents / "roster.yaml").write_text(roster(settings))
    agent_pool.install_endpoints(paths, credentials, settings.agents + BREAK_AGENTS)
    softphones = []
    daemon: DaemonProcess = (TracedDaemon if settings.tracemalloc else DaemonProcess)(
        credentials, workdir, plans, agents
    )
    running: dict[str, RunningLoad] = {}
    snapshots: dict[str, Path] = {}
    try:
        softphones = agent_pool.softphones(
            paths, settings.agents, ring_seconds=RING_SECONDS, talk_seconds=settings.talk_seconds
        )
        daemon.start()
        daemon.wait_health(200, timeout=30)
        sign_in(daemon, settings)
        sampler = Sampler(daemon, settings.sample_seconds)
        idle_before = sampler.take().fds
        planned = loads(settings)
        sampler.start()
        for name, load in planned.items():
            running[name] = RunningLoad(paths, load).start()
        if isinstance(daemon, TracedDaemon):
            time.sleep(settings.warmup)
            snapshots["start"] = daemon.snapshot("start")
        # Calls are placed for `seconds`; each lasts well under a minute after that.
        longest = max(load.script.wait_for_bye for load in planned.values())
        deadline = time.monotonic() + settings.seconds + longest + 120
        while any(r.running for r in running.values()) and time.monotonic() < deadline:
            time.sleep(1)
        codes = {name: r.stop() for name, r in running.items()}
        lasted = time.monotonic() - sampler.origin
        if isinstance(daemon, TracedDaemon):
            snapshots["end"] = daemon.snapshot("end")
        active_after = wait_idle(daemon, timeout=60)
        sampler.stop()
        # Keep-alive connections to ARI time out after 15 s of rest: count fds after them.
        time.sleep(20)
        idle_after = sampler.take().fds
        channels = ari_channels(credentials)
        outcomes = metric_values(daemon, "ivr_calls_total")
        answered = metric_values(daemon, "ivr_queue_answered_total")
        abandoned = metric_values(daemon, "ivr_queue_abandoned_total")
        exit_code = daemon.stop()
    finally:
        for caller_load in running.values():
            caller_load.stop()
        if daemon.process is not None and daemon.process.poll() is None:
            daemon.stop()
        for phone in softphones:
            phone.stop()
        leftover = ari_channels(credentials)
        hang_up(credentials, leftover)
        agent_pool.remove_endpoints(paths, credentials)

    journal = daemon.journal()
    ended = Counter(call for call, kind, _ in journal if kind == "ended")
    metric_outcomes: Counter[str] = Counter()
    for labels, value in outcomes.items():
        metric_outcomes[dict(labels)["outcome"]] += int(value)
    report = SoakReport(
        settings=settings,
        planned={"desk": 0, "abandon": 0} | {name: load.calls for name, load in planned.items()},
        counts={"desk": LoadCounts(), "abandon": LoadCounts()}
        | {name: r.counts() for name, r in running.items()},
        agents_answered=sum(phone.answered_count() for phone in softphones),
        placed_for=min(settings.seconds, lasted),
        lasted=lasted,
        samples=sampler.samples,
        rss_start=0,
        rss_end=0,
        fds_start=0,
        fds_end=0,
        idle_fds=(idle_before, idle_after),
        channels_left=len(channels),
        in_stasis=sum(1 for c in channels if c.get("dialplan", {}).get("app_name") == "Stasis"),
        active_calls_after=active_after,
        journal_outcomes=dict(Counter(f["outcome"] for _, k, f in journal if k == "ended")),
        metric_outcomes={k: v for k, v in metric_outcomes.items() if v},
        journal_queue=dict(
            Counter(k for _, k, _ in journal if k in ("answered", "queue_abandoned"))
        ),
        metric_queue={
            "answered": int(sum(answered.values())),
            "queue_abandoned": int(sum(abandoned.values())),
        },
        arrived=len({call for call, kind, _ in journal if kind == "arrived"}),
        ended_once=sum(1 for count in ended.values() if count == 1),
        daemon_exit=exit_code,
        erlang_wait=erlang_c(
            settings.agents,
            settings.rate
            * (1 - settings.abandon_share)
            * (RING_SECONDS + settings.talk_seconds + WRAPUP_SECONDS),
        ),
        load_average=" ".join(Path("/proc/loadavg").read_text().split()[:3]),
        errors_logged=sum(1 for line in daemon.lines if " level=error " in line),
        warnings_logged=dict(
            Counter(
                re.sub(r".* event=(\S+).*", r"\1", line)
                for line in daemon.lines
                if " level=warning " in line
            )
        ),
    )
    if snapshots.keys() == {"start", "end"}:
        report.heap_growth = heap_growth(snapshots["start"], snapshots["end"])
    window(report)
    judge(report, codes)
    write_samples(report, workdir / "samples.csv")
    (workdir / "daemon.log").write_text("\n".join(daemon.lines) + "\n")
    return report


def window(report: SoakReport) -> None:
    """RSS and fds at the start (just after warm-up) and at the end of the calls: each the
    median of the samples of one minute (or a fifth of the measured part, if shorter), so a
    single garbage collection does not decide the verdict."""
    s = report.settings
    measured = [x for x in report.samples if s.warmup <= x.at <= report.placed_for]
    if not measured:
        return
    span = min(60.0, (measured[-1].at - measured[0].at) / 5)
    first = [x for x in measured if x.at <= measured[0].at + span]
    last = [x for x in measured if x.at >= measured[-1].at - span]
    report.rss_start = int(statistics.median(x.rss_kib for x in first))
    report.rss_end = int(statistics.median(x.rss_kib for x in last))
    report.fds_start = int(statistics.median(x.fds for x in first))
    report.fds_end = int(statistics.median(x.fds for x in last))


def judge(report: SoakReport, codes: dict[str, int | None]) -> None:
    """Each criterion of the soak, held or not, with the figures that decide it."""
    s, r = report.settings, report
    desk, gave_up = r.counts["desk"], r.counts["abandon"]
    placed = desk.created + gave_up.created
    planned = sum(r.planned.values())
    failed = desk.failed + gave_up.failed
    expected = {"answered": desk.successful, "abandoned": gave_up.successful}
    expected = {outcome: count for outcome, count in expected.items() if count}
    rss_limit = r.rss_start * (1 + s.rss_tolerance)
    held = [
        ("every call placed", placed == planned, f"{placed} of {planned}"),
        (
            "no call failed (SIPp)",
            failed == 0 and set(codes.values()) <= {0},
            f"{failed} failed; SIPp exit codes {codes}",
        ),
        (
            "no call lost",
            r.journal_outcomes == expected and r.arrived == r.ended_once == placed,
            f"journal {_outcomes(r.journal_outcomes)} for SIPp's {_outcomes(expected)}; "
            f"{r.arrived} arrived, {r.ended_once} ended once, {placed} placed",
        ),
        (
            "agents answered every desk call",
            r.agents_answered == desk.successful,
            f"{r.agents_answered} answered by the softphones, {desk.successful} desk calls",
        ),
        (
            "none stuck in Stasis",
            r.in_stasis == r.channels_left == 0 and r.active_calls_after == 0,
            f"{r.channels_left} channels ({r.in_stasis} in Stasis), "
            f"ivr_active_calls {r.active_calls_after}",
        ),
        (
            f"RSS within {s.rss_tolerance:.0%} after warm-up",
            0 < r.rss_end <= rss_limit,
            f"{_mib(r.rss_start)} -> {_mib(r.rss_end)} ({_change(r.rss_start, r.rss_end)})",
        ),
        (
            "file descriptors flat",
            0 < r.idle_fds[1] <= r.idle_fds[0] + s.fd_slack,
            f"{r.fds_start} -> {r.fds_end} under load; idle {r.idle_fds[0]} -> {r.idle_fds[1]}",
        ),
        (
            "journal and metrics agree",
            r.journal_outcomes == r.metric_outcomes and r.journal_queue == r.metric_queue,
            f"journal {_outcomes(r.journal_outcomes)}, {_outcomes(r.journal_queue)}; "
            f"metrics {_outcomes(r.metric_outcomes)}, {_outcomes(r.metric_queue)}",
        ),
        ("daemon stopped cleanly", r.daemon_exit == 0, f"exit {r.daemon_exit}"),
    ]
    report.criteria.extend(held)


def _mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def _change(start: int, end: int) -> str:
    return f"{(end - start) / start:+.1%}" if start else "n/a"


def _outcomes(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


def write_samples(report: SoakReport, path: Path) -> None:
    lines = ["seconds,rss_kib,fds,active_calls"]
    lines += [f"{x.at:.1f},{x.rss_kib},{x.fds},{x.active_calls}" for x in report.samples]
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--traced-daemon"]:
        return traced_main(args[1], args[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=5.0, help="calls a second")
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--abandon-share", type=float, default=0.1)
    parser.add_argument("--talk", type=float, default=4.0, help="agents' talk, seconds")
    parser.add_argument("--warmup", type=float, default=None, help="seconds (20 %%, >= 60)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="print where the daemon's heap grew after warm-up (slow)")  # fmt: skip
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the config, journal, log and samples here")  # fmt: skip
    options = parser.parse_args(args)
    settings = SoakSettings(
        minutes=options.minutes, rate=options.rate, agents=options.agents,
        abandon_share=options.abandon_share, talk_seconds=options.talk,
        warmup_seconds=options.warmup, tracemalloc=options.tracemalloc,
    )  # fmt: skip
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="ivr-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    paths = LabPaths.default()
    was_running = asterisk.pid(paths) is not None
    credentials = lab.up(paths)
    try:
        report = run_soak(paths, credentials, settings, workdir)
    finally:
        if not was_running:
            lab.down(paths)
    print(report.text())
    print(f"samples.csv, daemon.log and the journal (journal.sqlite3) are in {workdir}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
