"""The daemon's cost on the live path, side by side with Asterisk's own dialplan (a twin).

    sudo .venv/bin/python bench/live.py                 # all three parts, about 15 minutes
    sudo .venv/bin/python bench/live.py --parts cpu     # cpu | steps | memory

The lab PBX gets the benchmark's own Asterisk config for the run (bench/twin/: a dialplan
and an app_queue queue of the same shape as the daemon's plans, 40 SIPp agents as static
members) beside the sample config, and the same SIPp load goes through both:

- cpu: callers at `--rate` a second through menu -> key 1 -> queue -> one of 40 agents
  (SIPp, answers after 1 s) -> `--talk` s of talk -> the agent hangs up; once through the
  twin (600, the daemon stopped) and once through the daemon (500). Prints calls answered,
  Asterisk's and the daemon's CPU-seconds (/proc/PID/stat, threads included; the system
  share, the kernel's work for sockets and the like, beside), the ratios,
  and key -> agent's phone rings (the caller's SIPp logs the moment it starts sending the
  key's RFC 4733 packets, the agent's SIPp the INVITE's arrival; the key's own length is
  in both figures).
- steps: a menu-only path (menu -> key 1 -> a marker prompt -> hang up) at rising rates,
  `--step` calls a second more every `--step-seconds`, until a step has a failed call; for
  each: failures, and key -> prompt (tcpdump on loopback: the first RTP packet to the caller
  whose payload is the marker prompt's first 20 ms, against the caller's key moment).
- memory: `--concurrent` callers held in a queue with nobody to answer; the daemon's RSS
  idle and with all of them waiting, per call.

`--floor` (cpu) and `--sides twin,daemon,floor` (steps) add a third side: bench/ari_floor.py,
the least a Python driver can do for the same path over ARI (the same requests and events
on the same HTTP client, no plan, journal or store). It tells what any ARI driver costs
Asterisk and itself from what the daemon adds on top.

The lab is left as found: the sample config back, no softphone running.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pstats
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.lab import agent_pool, asterisk, lab, sipp
from ivr.lab.caller_load import CallerLoad, RunningLoad
from ivr.lab.paths import REPO, LabPaths
from ivr.lab.softphones.agent import LabAgent
from ivr.lab.softphones.events import name_addr

sys.path.insert(0, str(REPO))
from bench.soak import active_calls, ari_channels, hang_up, vm_rss, wait_idle
from tests.integration.lab import DaemonProcess

TWIN = REPO / "bench" / "twin"
MARKER = "ivr/bench-marker"  # the prompt after the key on the menu-only path
QUEUE_NUMBER, MENU_NUMBER, HOLD_NUMBER = "500", "501", "502"
TWIN_QUEUE_NUMBER, TWIN_MENU_NUMBER = "600", "601"
RING_SECONDS = 1.0
# A caller who hears nothing for this long after a key counts as a failed call: SIPp itself
# would wait for the prompt for as long as its BYE timer lets it.
LATE_SECONDS = 1.0
FIRST_KEY_AFTER = 2.0
CALLER_PORTS = (20000, 49999)  # SIPp callers' RTP; Asterisk's own are below (rtp.conf)
DTMF_PAYLOAD = 101  # RFC 4733 events, as lab callers offer them
# Everything Asterisk sends the callers, and the callers' keys (SIPp replays them from a port
# of its own, to Asterisk's RTP port of the call: 10000-19999 while the twin is installed).
CAPTURE = (
    "udp and not port 5060 and (dst portrange 20000-49999 or "
    f"(dst portrange 10000-19999 and (udp[9] & 0x7f) = {DTMF_PAYLOAD}))"
)
CALLER_PREFIX = {"twin": "7955", "daemon": "7956", "floor": "7957"}

PLANS = {
    "live": f"""\
# bench/live.py: the twin of bench/twin/extensions.conf's 600 (menu -> 1 -> queue).
name: live
numbers: ["{QUEUE_NUMBER}"]
language: en
queues:
  desk: {{skills: {{sales: 1}}, strategy: longest-idle, ring_timeout: 15, wrapup: 0}}
nodes:
  start:
    type: menu
    prompt: sound:hello
    options: {{"1": desk}}
    timeout: 5
    retries: 0
    no_input: sound:silence/1
  desk: {{type: queue, queue: desk}}
""",
    "menu": f"""\
# bench/live.py: the twin of 601 (menu -> 1 -> the marker prompt -> hang up).
name: menu
numbers: ["{MENU_NUMBER}"]
language: en
nodes:
  start:
    type: menu
    prompt: sound:hello
    options: {{"1": marker}}
    timeout: 5
    retries: 0
    no_input: sound:silence/1
  marker: {{type: play, prompt: "sound:{MARKER}", next: bye}}
  bye: {{type: hangup}}
""",
    "hold": f"""\
# bench/live.py: callers held in a queue nobody answers (memory per live call).
name: hold
numbers: ["{HOLD_NUMBER}"]
language: en
queues:
  nobody: {{skills: {{returns: 1}}}}
nodes:
  start: {{type: queue, queue: nobody}}
""",
}


@dataclass
class Run:
    """One load through one side (the twin or the daemon) and what it cost."""

    side: str
    placed: int = 0
    answered: int = 0
    failed: int = 0
    asterisk_cpu: float = 0.0
    daemon_cpu: float = 0.0
    # The kernel's share (system time): socket and loopback work the process asked for.
    asterisk_system: float = 0.0
    daemon_system: float = 0.0
    key_to_ring: list[float] = field(default_factory=list)  # seconds
    key_to_prompt: list[float] = field(default_factory=list)
    rate: float = 0.0


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU of a process, all its threads, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def spread(values: list[float]) -> str:
    if not values:
        return "no samples"
    ms = [v * 1000 for v in values]
    return (f"p50 {percentile(ms, 0.5):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms, "
            f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms (n={len(ms)})")  # fmt: skip


# The lab's config for the run.


def install_twin(paths: LabPaths, credentials: dict[str, str], agents: int) -> None:
    """The sample config plus the pool's endpoints and the twin's dialplan and queue."""
    with tempfile.TemporaryDirectory(prefix="ivr-twin-") as folder:
        source = Path(folder)
        for conf in (REPO / "config" / "asterisk").glob("*.conf"):
            shutil.copy(conf, source / conf.name)
        with (source / "pjsip.conf").open("a") as pjsip:
            pjsip.write("\n" + agent_pool.endpoints_conf(agents))
        with (source / "extensions.conf").open("a") as extensions:
            extensions.write("\n" + (TWIN / "extensions.conf").read_text())
        members = "".join(f"member => PJSIP/{agent_pool.name(i)}\n" for i in range(1, agents + 1))
        (source / "queues.conf").write_text((TWIN / "queues.conf").read_text() + members)
        # The sample's 1,000 RTP ports are 500 calls; the steps go past that on both sides.
        (source / "rtp.conf").write_text("[general]\nrtpstart = 10000\nrtpend = 19999\n")
        asterisk.install_config(paths, credentials, source)
    marker = paths.inside(f"/usr/share/asterisk/sounds/{MARKER}.ulaw")
    marker.parent.mkdir(parents=True, exist_ok=True)
    # A rising sweep: no 20 ms of it looks like silence or like another prompt's audio.
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-t", "ul", str(marker),
                    "synth", "1.5", "sine", "300-3000"], check=True)  # fmt: skip
    asterisk.cli(paths, "module reload res_pjsip.so")
    asterisk.cli(paths, "module reload res_rtp_asterisk.so")
    asterisk.cli(paths, "dialplan reload")
    if "app_queue.so" not in asterisk.cli(paths, "module show like app_queue.so"):
        asterisk.cli(paths, "module load app_queue.so")
    asterisk.cli(paths, "module reload app_queue.so")


def remove_twin(paths: LabPaths, credentials: dict[str, str], queues: str | None) -> None:
    """Back to the sample config (and the chroot's own queues.conf)."""
    asterisk.install_config(paths, credentials)
    target = paths.inside("/etc/asterisk/queues.conf")
    if queues is None:
        target.unlink(missing_ok=True)
    else:
        target.write_text(queues)
    for module in ("res_pjsip.so", "res_rtp_asterisk.so", "app_queue.so"):
        asterisk.cli(paths, f"module reload {module}")
    asterisk.cli(paths, "dialplan reload")


# Callers whose SIPp logs the moment each key starts.


class KeyedLoad(RunningLoad):
    """A `RunningLoad` whose scenario logs `SECONDS MICROSECONDS NUMBER key MEDIA_PORT` as
    it starts playing the first key's RFC 4733 packets."""

    def __init__(self, paths: LabPaths, load: CallerLoad) -> None:
        super().__init__(paths, load)
        self.log_file = f"{sipp.WORK}/{self.stem}.log"
        number = "".join(c for c in load.number_prefix if c.isdigit())
        mark = (
            '<nop><action><gettimeofday assign_to="ts,tus"/>'
            f'<log message="[$ts] [$tus] {number}[call_number] key"/></action></nop>'
        )
        scenario = paths.inside(self.scenario_file)
        text = scenario.read_text()
        first = text.index("<nop><action><exec play_pcap_audio=")
        scenario.write_text(text[:first] + mark + "\n" + text[first:])

    def argv(self) -> list[str]:
        argv = super().argv()
        at = argv.index("-trace_stat")
        return [*argv[:at], "-trace_logs", "-log_file", self.log_file, *argv[at:]]

    def keys(self) -> dict[str, float]:
        """Caller number -> the moment SIPp began sending the key."""
        found: dict[str, float] = {}
        path = self.paths.inside(self.log_file)
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                parts = line.split()
                if len(parts) >= 4 and parts[3] == "key":
                    found[parts[2]] = float(parts[0]) + float(parts[1]) / 1e6
        return found


def rings(phones: list[LabAgent], since: float) -> dict[str, float]:
    """Caller number -> when an agent's phone first got the INVITE of that caller's call,
    among INVITEs after `since` (numbers come again in each load)."""
    found: dict[str, float] = {}
    for phone in phones:
        invites = {e.call_id: e.at for e in phone.events("invite") if e.at >= since}
        for header in phone.events("header-From"):
            number = name_addr(header.detail)["number"]
            at = invites.get(header.call_id)
            if at is not None and (number not in found or at < found[number]):
                found[number] = at
    return found


def run_load(paths: LabPaths, load: CallerLoad, timeout: float) -> KeyedLoad:
    running = KeyedLoad(paths, load)
    running.start()
    deadline = time.monotonic() + timeout
    while running.running and time.monotonic() < deadline:
        time.sleep(0.5)
    running.stop()
    return running


# The three parts.


def queue_path(
    paths: LabPaths, side: str, number: str, rate: float, calls: int, talk: float,
    phones: list[LabAgent], pids: dict[str, int], perf: Path | None = None,
) -> Run:  # fmt: skip
    """Callers through menu -> 1 -> queue -> an agent; CPU of Asterisk and the daemon."""
    script = sipp.CallScript(number, keys="1", first_key_after=FIRST_KEY_AFTER,
                             wait_for_bye=60 + RING_SECONDS + talk)  # fmt: skip
    load = CallerLoad(f"{side}-queue", script, rate, calls, CALLER_PREFIX[side], (20000, 29999))
    before = {name: cpu_times(pid) for name, pid in pids.items()}
    started = time.time()
    with perf_record(perf, side, pids["asterisk"]):
        running = run_load(paths, load, timeout=calls / rate + 120)
    after = {name: cpu_times(pid) for name, pid in pids.items()}
    counts = running.counts()
    keys, rung = running.keys(), rings(phones, started)
    run = Run(side, counts.created, counts.successful, counts.failed, rate=rate)
    run.asterisk_cpu = sum(after["asterisk"]) - sum(before["asterisk"])
    run.asterisk_system = after["asterisk"][1] - before["asterisk"][1]
    if "daemon" in pids:
        run.daemon_cpu = sum(after["daemon"]) - sum(before["daemon"])
        run.daemon_system = after["daemon"][1] - before["daemon"][1]
    run.key_to_ring = [rung[n] - at for n, at in keys.items() if n in rung]
    return run


@contextlib.contextmanager
def perf_record(folder: Path | None, side: str, pid: int) -> Iterator[None]:
    """`perf record` of Asterisk (timer samples, call graphs) while the block runs."""
    if folder is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        ["perf", "record", "-q", "-e", "cpu-clock", "-F", "499", "-g", "-p", str(pid),
         "-o", str(folder / f"{side}.data")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)


def print_perf(folder: Path, paths: LabPaths, top: int = 25) -> None:
    """Where Asterisk's time went on each side: shared objects, then symbols."""
    for side in ("twin", "daemon"):
        for sort in ("dso", "dso,symbol"):
            report = subprocess.run(
                ["perf", "report", "-i", str(folder / f"{side}.data"), "--symfs",
                 str(paths.chroot), "--no-children", "--sort", sort, "--stdio", "-g", "none",
                 "--percent-limit", "0.7"],
                capture_output=True, text=True,
            )  # fmt: skip
            lines = [ln for ln in report.stdout.splitlines() if ln.strip() and ln[0] != "#"]
            print(f"perf, Asterisk under the {side}, by {sort}:")
            print("\n".join(lines[:top]))


def menu_steps(
    paths: LabPaths, side: str, number: str, first: float, step: float, seconds: float,
    ceiling: float, pids: dict[str, int],
) -> list[Run]:  # fmt: skip
    """The menu-only path at rising rates until a step fails a call; the CPU a call of each
    process in `pids` at each rate (does a call cost more when many are live?)."""
    runs: list[Run] = []
    script = sipp.CallScript(number, keys="1", first_key_after=1.0, wait_for_bye=30)
    # A few calls first, not counted: a daemon just started imports and caches on its first.
    run_load(paths, CallerLoad(f"{side}-warm-up", script, 5.0, 15, "7958", (20000, 49999)), 60)
    rate = first
    while rate <= ceiling:
        load = CallerLoad(f"{side}-menu", script, rate, round(rate * seconds), CALLER_PREFIX[side],
                          (20000, 49999))  # fmt: skip
        before = {name: sum(cpu_times(pid)) for name, pid in pids.items()}
        with capture(paths) as packets:
            running = run_load(paths, load, timeout=seconds + 90)
        spent = {name: sum(cpu_times(pid)) - before[name] for name, pid in pids.items()}
        counts = running.counts()
        run = Run(side, counts.created, counts.successful, counts.failed, rate=rate)
        run.key_to_prompt = prompt_latencies(paths, packets)
        runs.append(run)
        late = sum(1 for v in run.key_to_prompt if v > LATE_SECONDS)
        costs = ", ".join(f"{name} {cpu * 1000 / max(1, run.placed):.1f}"
                          for name, cpu in spent.items())  # fmt: skip
        print(f"  {side} {rate:g} calls/s: {run.placed} placed, {run.failed} failed, {late} "
              f"heard the prompt over {LATE_SECONDS:g} s after the key; key -> prompt "
              f"{spread(run.key_to_prompt)}; ms of CPU a call: {costs}", flush=True)  # fmt: skip
        if not held(run):
            break
        rate += step
    return runs


@contextlib.contextmanager
def capture(paths: LabPaths) -> Iterator[Path]:
    """tcpdump of RTP towards the callers and of their keys, on loopback."""
    folder = Path(tempfile.mkdtemp(prefix="ivr-live-pcap-"))
    target = folder / "rtp.pcap"
    process = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-s", "80", "-U", "-w", str(target), "-B", "16384",
         CAPTURE],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1.0)  # tcpdump opens the interface before the first call
    try:
        yield target
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(10)


def prompt_latencies(paths: LabPaths, pcap: Path) -> list[float]:
    """Per call, from the first RFC 4733 packet of the key reaching Asterisk to the first RTP
    packet Asterisk sends from the same port whose payload is the marker prompt's start."""
    marker = paths.inside(f"/usr/share/asterisk/sounds/{MARKER}.ulaw").read_bytes()[:16]
    keyed: dict[int, float] = {}  # Asterisk's RTP port -> the key's first packet
    done: dict[int, float] = {}
    found: list[float] = []
    for at, source, target, payload_type, payload in rtp_packets(pcap):
        if payload_type == DTMF_PAYLOAD and target < CALLER_PORTS[0]:
            # The key's later packets (and its end) must not start another wait.
            if target not in keyed and at - done.get(target, -10.0) > 3.0:
                keyed[target] = at
        elif source in keyed and payload[:16] == marker:
            found.append(at - keyed.pop(source))
            done[source] = at
    shutil.rmtree(pcap.parent, ignore_errors=True)
    return found


def rtp_packets(pcap: Path) -> Iterator[tuple[float, int, int, int, bytes]]:
    """(time, UDP source port, destination port, RTP payload type, RTP payload) of each IPv4
    packet in a loopback capture (libpcap's file format, Ethernet frames)."""
    data = pcap.read_bytes()
    order = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    offset = 24
    while offset + 16 <= len(data):
        seconds, micros, captured, _ = struct.unpack(order + "IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        ip = frame[14:]
        if len(ip) < 28 or ip[0] >> 4 != 4:
            continue
        udp = ip[(ip[0] & 0x0F) * 4 :]
        rtp = udp[8:]
        if len(rtp) < 16:  # a header and at least an RFC 4733 event
            continue
        source, target = int.from_bytes(udp[0:2], "big"), int.from_bytes(udp[2:4], "big")
        start = 12 + 4 * (rtp[0] & 0x0F)
        yield seconds + micros / 1e6, source, target, rtp[1] & 0x7F, rtp[start:]


def memory_per_call(
    paths: LabPaths, daemon: DaemonProcess, concurrent: int
) -> tuple[int, int, int]:
    """(RSS idle KiB, RSS with `concurrent` callers waiting KiB, callers counted waiting)."""
    assert daemon.process is not None
    pid = daemon.process.pid
    idle = vm_rss(pid)
    rate = 25.0
    hold = concurrent / rate + 20
    script = sipp.CallScript(HOLD_NUMBER, hang_up_after=hold, wait_for_bye=hold + 30)
    load = CallerLoad("hold", script, rate, concurrent, "7957", (20000, 49999))
    running = RunningLoad(paths, load).start()
    peak, waiting = idle, 0
    deadline = time.monotonic() + concurrent / rate + 15
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = active_calls(daemon) or 0
        if now >= waiting:
            waiting, peak = now, vm_rss(pid)
    running.wait(timeout=hold + 120)
    running.stop()
    return idle, peak, waiting


class ProfiledDaemon(DaemonProcess):
    """The daemon under cProfile; the profile is written when it exits (SIGTERM)."""

    def __init__(self, *args: Any, profile: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.profile = profile

    def start(self) -> DaemonProcess:
        argv = [sys.executable, "-m", "cProfile", "-o", str(self.profile), "-m", "ivr", "run",
                "--config", str(self.config)]  # fmt: skip
        self.process = subprocess.Popen(
            argv, env=self.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()
        return self


# Where a profiled function's time is counted: the first group whose mark is in its file name.
PROFILE_GROUPS = (
    ("AMI (panoramisk)", ("panoramisk/",)),
    ("ARI client (aioari, aioswagger11)", ("aioari/", "aioswagger11/", "builtins.compile",
                                          "__build_class__")),
    ("ARI adapter (ivr/pbx)", ("ivr/pbx/",)),
    ("HTTP and WebSocket (aiohttp, yarl, multidict)", ("aiohttp/", "yarl/", "multidict/")),
    ("journal outputs (ivr/journal, logging, prometheus)", ("ivr/journal/", "ivr/logs.py",
                                                          "logging/", "prometheus_client/")),
    ("store (the loop's side)", ("ivr/store/", "sqlite3", "redis/")),
    ("core (switchboard, calls, routing, plan, schedule, callbacks)", (
        "ivr/switchboard/", "ivr/calls/", "ivr/routing/", "ivr/plan/", "ivr/schedule/",
        "ivr/callbacks/")),
    ("JSON", ("json/",)),
    ("event loop and sockets", ("asyncio/", "selectors.py", "socket", "ssl")),
)  # fmt: skip
IDLE = "<method 'poll' of 'select.epoll' objects>"


def print_profile(profile: Path, top: int = 15) -> None:
    """Where the daemon's event-loop thread spent its time, by part and by function."""
    stats = pstats.Stats(str(profile))
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    busy = {key: value for key, value in table.items() if key[2] != IDLE}
    total = sum(value[2] for value in busy.values())
    groups: dict[str, float] = {}
    memo: dict[Any, dict[str, float]] = {}
    for key, value in busy.items():
        for group, share in _shares(key, table, memo, 0).items():
            groups[group] = groups.get(group, 0.0) + share * value[2]
    print(f"profile of the loop's thread ({profile}): {total:.2f} s busy (cProfile's own "
          "overhead included), by part (built-ins and the standard library counted with "
          "their callers):")  # fmt: skip
    for group, seconds in sorted(groups.items(), key=lambda item: -item[1]):
        print(f"  {seconds:6.2f} s {seconds / total:4.0%}  {group}")
    print("  the functions with the most time inside them:")
    rows = sorted(busy.items(), key=lambda item: item[1][2], reverse=True)
    for (filename, line, name), (_, calls, inside, cumulative, _) in rows[:top]:
        where = filename.split("site-packages/")[-1].split(f"{REPO}/")[-1]
        print(f"  {inside:6.3f} s {cumulative:6.3f} s cum {calls:8d} calls  {where}:{line} {name}")


def _shares(key: Any, table: dict[Any, Any], memo: dict[Any, dict[str, float]],
            depth: int) -> dict[str, float]:  # fmt: skip
    """The groups a function's own time belongs to: its file's, or else its callers', in
    proportion to the time spent in it from each."""
    if key in memo:
        return memo[key]
    filename, _, name = key
    where = f"{filename} {name}"
    group = next((g for g, marks in PROFILE_GROUPS if any(m in where for m in marks)), None)
    if group is not None and filename != "~":
        found = {group: 1.0}
    elif depth > 20 or key not in table or not table[key][4]:
        found = {group or "other": 1.0}
    else:
        memo[key] = {"other": 1.0}  # a cycle counts as other
        callers = table[key][4]
        weight = sum(c[2] for c in callers.values()) or 1.0
        found = {}
        for caller, figures in callers.items():
            for g, share in _shares(caller, table, memo, depth + 1).items():
                found[g] = found.get(g, 0.0) + share * figures[2] / weight
    memo[key] = found
    return found


def start_daemon(
    credentials: dict[str, str],
    workdir: Path,
    agents: int,
    profile: Path | None = None,
    event_loop: str = "uvloop",
) -> DaemonProcess:
    plans, roster = workdir / "plans", workdir / "agents"
    plans.mkdir(parents=True, exist_ok=True)
    roster.mkdir(exist_ok=True)
    for name, text in PLANS.items():
        (plans / f"{name}.yaml").write_text(text)
    # hold01 is never signed in: the `nobody` queue's callers wait for good.
    (roster / "roster.yaml").write_text(
        "teams:\n  shop: {kind: in-house}\nagents:\n"
        + agent_pool.roster_lines(agents, "shop", "{sales: 5}")
        + "  - {id: hold01, name: Nobody, endpoint: PJSIP/hold01, team: shop,"
        " skills: {returns: 5}}\n"
    )
    daemon = (
        ProfiledDaemon(credentials, workdir, plans, roster, profile=profile)
        if profile is not None
        else DaemonProcess(credentials, workdir, plans, roster)
    )
    with daemon.config.open("a") as config:
        config.write(f"event_loop: {event_loop}\n")
    daemon.start()
    try:
        daemon.wait_health(200, timeout=30)
        for i in range(1, agents + 1):
            status, body = daemon.api("POST", f"/api/agents/{agent_pool.name(i)}/sign-in")
            assert status == 200, f"sign-in: {status} {body}"
    except BaseException:
        # A daemon left behind keeps the Stasis app: the next run's daemon would get no calls.
        daemon.stop()
        raise
    return daemon


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="cpu,steps,memory", help="cpu,steps,memory")
    parser.add_argument("--rate", type=float, default=5.0, help="cpu: calls a second")
    parser.add_argument("--calls", type=int, default=300, help="cpu: calls on each side")
    parser.add_argument("--rounds", type=int, default=1, help="cpu: twin and daemon turns")
    parser.add_argument("--talk", type=float, default=4.5, help="cpu: agents' talk, seconds")
    parser.add_argument("--agents", type=int, default=40)
    # SIPp's talking agent plays G.711 A-law to a caller on mu-law: Asterisk would transcode
    # every talk on both sides, a cost of the lab's phones that no shop's line need have.
    parser.add_argument("--agent-audio", choices=["none", "pcap", "echo"], default="none",
                        help="cpu: what the agents' phones send while they talk")  # fmt: skip
    parser.add_argument("--step", type=float, default=20.0, help="steps: calls a second more")
    parser.add_argument("--step-seconds", type=float, default=15.0)
    parser.add_argument("--first", type=float, default=None, help="steps: first rate (--step)")
    parser.add_argument("--sides", default="twin,daemon",
                        help="steps: twin,daemon[,floor]")  # fmt: skip
    parser.add_argument("--ceiling", type=float, default=300.0, help="steps: highest rate")
    parser.add_argument("--concurrent", type=int, default=500, help="memory: callers waiting")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--perf", type=Path, default=None,
                        help="cpu: perf record Asterisk on each side into this folder")  # fmt: skip
    parser.add_argument("--event-loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="the daemon's event loop (its config's event_loop)")  # fmt: skip
    parser.add_argument("--floor", action="store_true",
                        help="cpu: also the thinnest driver of the same path "
                             "(bench/ari_floor.py) in each round")  # fmt: skip
    parser.add_argument("--floor-burn", type=float, default=0.0, metavar="MS",
                        help="the floor spends MS of CPU on nothing after each event")  # fmt: skip
    parser.add_argument("--floor-connections", type=int, default=16, metavar="N",
                        help="the floor's keep-alive HTTP connections to ARI")  # fmt: skip
    parser.add_argument("--profile", action="store_true",
                        help="cpu: the daemon under cProfile; where its time went")  # fmt: skip
    options = parser.parse_args(argv)
    parts = set(options.parts.split(","))
    if "steps" in parts and shutil.which("tcpdump") is None:
        print("bench/live.py: the steps part needs tcpdump (apt-get install tcpdump)")
        return 2
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="ivr-live-"))
    paths = LabPaths.default()
    was_running = asterisk.pid(paths) is not None
    if asterisk.pid(paths) is not None:
        # A fresh Asterisk: one that has run for hours spends about twice the CPU per call
        # (seen here after 70,000 calls: 890 MB resident, 2x the twin's CPU per call).
        lab.down(paths)
    credentials = lab.up(paths)
    original = paths.inside("/etc/asterisk/queues.conf")
    queues = original.read_text() if original.exists() else None
    phones: list[LabAgent] = []
    daemon: DaemonProcess | None = None
    print(f"bench/live.py {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    try:
        install_twin(paths, credentials, options.agents)
        pbx = asterisk.pid(paths)
        assert pbx is not None
        if "cpu" in parts:
            phones = agent_pool.softphones(
                paths, options.agents, ring_seconds=RING_SECONDS,
                talk_seconds=options.talk, record_from_to=True, audio=options.agent_audio,
            )  # fmt: skip
            pairs = []
            # Twin and daemon take turns, so a slow moment of the machine hits both alike. The
            # twin runs with no daemon connected: an idle AMI session still costs Asterisk.
            for round_ in range(1, options.rounds + 1):
                twin = queue_path(paths, "twin", TWIN_QUEUE_NUMBER, options.rate, options.calls,
                                  options.talk, phones, {"asterisk": pbx},
                                  options.perf)  # fmt: skip
                profile = workdir / f"daemon-{round_}.prof" if options.profile else None
                daemon = start_daemon(
                    credentials, workdir, options.agents, profile, options.event_loop
                )
                assert daemon.process is not None
                ours = queue_path(paths, "daemon", QUEUE_NUMBER, options.rate, options.calls,
                                  options.talk, phones,
                                  {"asterisk": pbx, "daemon": daemon.process.pid},
                                  options.perf)  # fmt: skip
                wait_idle(daemon, timeout=60)
                daemon.stop()
                daemon = None
                print_cpu(twin, ours, options)
                pairs.append((twin, ours))
                if options.floor:
                    with floor_driver(credentials, options.agents, options) as floor:
                        bare = queue_path(paths, "floor", QUEUE_NUMBER, options.rate,
                                          options.calls, options.talk, phones,
                                          {"asterisk": pbx, "daemon": floor.pid},
                                          options.perf)  # fmt: skip
                    print_floor(twin, ours, bare)
                if profile is not None:
                    print_profile(profile)
            if len(pairs) > 1:
                print_rounds(pairs)
            if options.perf is not None:
                print_perf(options.perf, paths)
            for phone in phones:
                phone.stop()
            phones = []
        if "steps" in parts:
            if daemon is not None:
                daemon.stop()
                daemon = None
            print("menu-only path, rising rates (twin first, then the daemon):", flush=True)
            first = options.first or options.step
            sides = options.sides.split(",")
            twin_steps, our_steps = [], []
            if "twin" in sides:
                twin_steps = menu_steps(paths, "twin", TWIN_MENU_NUMBER, first, options.step,
                                        options.step_seconds, options.ceiling,
                                        {"asterisk": pbx})  # fmt: skip
            if "daemon" in sides:
                daemon = start_daemon(
                    credentials, workdir, options.agents, event_loop=options.event_loop
                )
                assert daemon.process is not None
                our_steps = menu_steps(paths, "daemon", MENU_NUMBER, first, options.step,
                                       options.step_seconds, options.ceiling,
                                       {"asterisk": pbx, "daemon": daemon.process.pid})  # fmt: skip
            floor_steps: list[Run] = []
            if "floor" in sides:
                if daemon is not None:
                    daemon.stop()  # the floor takes the Stasis app
                    daemon = None
                with floor_driver(credentials, options.agents, options) as floor:
                    floor_steps = menu_steps(paths, "floor", MENU_NUMBER, first, options.step,
                                             options.step_seconds, options.ceiling,
                                             {"asterisk": pbx, "floor": floor.pid})  # fmt: skip
            if twin_steps and our_steps:
                print_steps(twin_steps, our_steps, floor_steps)
        if "memory" in parts:
            # A daemon fresh from start: one that served the steps has heap to reuse.
            if daemon is not None:
                daemon.stop()
            daemon = start_daemon(
                credentials, workdir, options.agents, event_loop=options.event_loop
            )
            idle, peak, waiting = memory_per_call(paths, daemon, options.concurrent)
            per_call = (peak - idle) / max(1, waiting)
            print(f"memory: daemon RSS {idle / 1024:.1f} MiB idle, {peak / 1024:.1f} MiB with "
                  f"{waiting} callers waiting: {per_call:.1f} KiB per live call")  # fmt: skip
    finally:
        for phone in phones:
            phone.stop()
        if daemon is not None and daemon.process is not None and daemon.process.poll() is None:
            daemon.stop()
        hang_up(credentials, ari_channels(credentials))
        remove_twin(paths, credentials, queues)
        if not was_running:
            lab.down(paths)
    print(f"the daemon's config, log and journal are in {workdir}")
    return 0


def print_cpu(twin: Run, ours: Run, options: argparse.Namespace) -> None:
    total_twin = twin.asterisk_cpu
    total_ours = ours.asterisk_cpu + ours.daemon_cpu
    print(f"menu -> 1 -> queue -> agent: {options.calls} callers at {options.rate:g}/s, "
          f"{options.agents} agents, {options.talk:g} s talk")  # fmt: skip
    for run in (twin, ours):
        cpu = f"Asterisk {run.asterisk_cpu:.2f} CPU-s ({run.asterisk_system:.2f} system)"
        if run.side == "daemon":
            cpu += (f", daemon {run.daemon_cpu:.2f} CPU-s ({run.daemon_system:.2f} system, "
                    f"{1000 * run.daemon_cpu / max(1, run.answered):.1f} ms a call)")  # fmt: skip
        print(f"  {run.side:6}: answered {run.answered} of {run.placed} ({run.failed} failed); "
              f"{cpu}; key -> ring {spread(run.key_to_ring)}")  # fmt: skip
    if twin.asterisk_cpu > 0 and ours.asterisk_cpu > 0:
        print(f"  Asterisk under the daemon / twin: {ours.asterisk_cpu / twin.asterisk_cpu:.2f}x;"
              f" daemon / Asterisk: {ours.daemon_cpu / ours.asterisk_cpu:.2f}x; total / twin: "
              f"{total_ours / total_twin:.2f}x")  # fmt: skip
    if twin.key_to_ring and ours.key_to_ring:
        added = percentile(ours.key_to_ring, 0.99) - percentile(twin.key_to_ring, 0.99)
        print(f"  key -> ring p99 added by the daemon: {added * 1000:+.1f} ms; medians "
              f"{statistics.median(twin.key_to_ring) * 1000:.1f} / "
              f"{statistics.median(ours.key_to_ring) * 1000:.1f} ms")  # fmt: skip


def print_rounds(pairs: list[tuple[Run, Run]]) -> None:
    """The ratios of every round, and their medians."""
    asterisk = [o.asterisk_cpu / t.asterisk_cpu for t, o in pairs]
    share = [o.daemon_cpu / o.asterisk_cpu for _, o in pairs]
    total = [(o.asterisk_cpu + o.daemon_cpu) / t.asterisk_cpu for t, o in pairs]

    def row(values: list[float]) -> str:
        shown = ", ".join(f"{v:.2f}" for v in values)
        return f"{shown} (median {statistics.median(values):.2f}x)"

    print(f"{len(pairs)} rounds: Asterisk under the daemon / twin {row(asterisk)}; daemon / "
          f"Asterisk {row(share)}; total / twin {row(total)}")  # fmt: skip


@contextlib.contextmanager
def floor_driver(
    credentials: dict[str, str], agents: int, options: argparse.Namespace
) -> Iterator[subprocess.Popen[str]]:
    """bench/ari_floor.py running as the Stasis app while the block runs."""
    argv = [sys.executable, str(REPO / "bench" / "ari_floor.py"), "--agents", str(agents),
            "--burn-ms", str(options.floor_burn),
            "--connections", str(options.floor_connections)]  # fmt: skip
    process = subprocess.Popen(argv, env={**os.environ, **credentials}, text=True,
                               stdout=subprocess.PIPE)  # fmt: skip
    assert process.stdout is not None
    try:
        line = process.stdout.readline()
        if line.strip() != "floor: ready":
            raise RuntimeError(f"bench/ari_floor.py did not start: {line!r}")
        yield process
    finally:
        process.terminate()
        tail, _ = process.communicate(timeout=30)
        print(f"  {tail.strip()}")


def print_floor(twin: Run, ours: Run, bare: Run) -> None:
    """The floor's own figures, and the daemon's against it."""
    print(f"  floor : answered {bare.answered} of {bare.placed} ({bare.failed} failed); Asterisk "
          f"{bare.asterisk_cpu:.2f} CPU-s ({bare.asterisk_system:.2f} system), floor "
          f"{bare.daemon_cpu:.2f} CPU-s ({bare.daemon_system:.2f} system, "
          f"{1000 * bare.daemon_cpu / max(1, bare.answered):.1f} ms a call); key -> ring "
          f"{spread(bare.key_to_ring)}")  # fmt: skip
    if twin.asterisk_cpu > 0 and bare.asterisk_cpu > 0:
        total = (bare.asterisk_cpu + bare.daemon_cpu) / twin.asterisk_cpu
        print(f"  Asterisk under the floor / twin: {bare.asterisk_cpu / twin.asterisk_cpu:.2f}x;"
              f" floor / Asterisk: {bare.daemon_cpu / bare.asterisk_cpu:.2f}x; total / twin: "
              f"{total:.2f}x; the daemon / the floor: "
              f"{ours.daemon_cpu / max(bare.daemon_cpu, 1e-9):.2f}x")  # fmt: skip


def held(run: Run) -> bool:
    """Every call of the step succeeded, none heard the prompt late."""
    late = any(v > LATE_SECONDS for v in run.key_to_prompt)
    return not run.failed and run.answered == run.placed and not late


def print_steps(twin: list[Run], ours: list[Run], floor: list[Run]) -> None:
    def highest(runs: list[Run]) -> float:
        return max((r.rate for r in runs if held(r)), default=0.0)

    twin_max, our_max = highest(twin), highest(ours)
    print(f"menu-only: the twin holds {twin_max:g} calls/s with 0 failures, the daemon "
          f"{our_max:g} ({our_max / twin_max:.0%} of the twin's)" if twin_max else
          "menu-only: the twin held no step")  # fmt: skip
    if not twin_max:
        return
    if floor:
        floor_max = highest(floor)
        print(f"  the floor (bench/ari_floor.py) holds {floor_max:g} ({floor_max / twin_max:.0%}"
              " of the twin's)")  # fmt: skip
    target = 0.8 * twin_max
    pairs = [(t, o) for t in twin for o in ours if t.rate == o.rate and t.rate <= target]
    if pairs:
        t, o = pairs[-1]
        added = percentile(o.key_to_prompt, 0.99) - percentile(t.key_to_prompt, 0.99)
        print(f"  at {t.rate:g} calls/s (<= 80% of the twin's {twin_max:g}): key -> prompt twin "
              f"{spread(t.key_to_prompt)}; daemon {spread(o.key_to_prompt)}; p99 added "
              f"{added * 1000:+.1f} ms")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
