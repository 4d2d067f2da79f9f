"""Callers at a steady rate: one SIPp process placing many calls of one `CallScript`, and the
counts SIPp itself keeps (created, successful, failed), for soaks and load runs.

`sipp.popen_call` starts one SIPp per call; at several calls a second for minutes that would
be hundreds of processes. One SIPp with `-r`/`-rp` and `-m` paces the calls itself, gives
each call its own caller number (`PREFIX[call_number]`) and RTP port, and writes its
cumulative counters to a CSV file every second (`-trace_stat`).
"""

from __future__ import annotations

import csv
import signal
import subprocess
import uuid
from dataclasses import dataclass, replace
from fractions import Fraction

from ivr.lab import dtmf, sipp
from ivr.lab.paths import LabPaths

# What the scenario's From/Contact carry before each call gets its own number.
NUMBER_MARK = "LOADCALLERNUMBER"


@dataclass(frozen=True)
class LoadCounts:
    """SIPp's own cumulative counters for one caller load."""

    created: int = 0
    successful: int = 0
    failed: int = 0
    current: int = 0


@dataclass(frozen=True)
class CallerLoad:
    """`calls` callers, `rate` a second, each doing what `script` says, numbered
    `number_prefix` + SIPp's call number."""

    name: str
    script: sipp.CallScript
    rate: float
    calls: int
    number_prefix: str
    rtp_ports: tuple[int, int]


def rate_arguments(rate: float) -> list[str]:
    """SIPp's `-r N -rp MS` for a rate in calls a second (4.5 -> 9 calls every 2000 ms)."""
    if not rate > 0:
        raise ValueError(f"rate must be above 0 calls a second, got {rate!r}")
    exact = Fraction(rate).limit_denominator(1000)
    return ["-r", str(exact.numerator), "-rp", str(exact.denominator * 1000)]


class RunningLoad:
    """One SIPp UAC placing a `CallerLoad`'s calls inside the lab chroot."""

    def __init__(self, paths: LabPaths, load: CallerLoad) -> None:
        self.paths = paths
        self.load = load
        folder = paths.inside(sipp.WORK)
        folder.mkdir(parents=True, exist_ok=True)
        self.stem = f"load-{load.name}-{uuid.uuid4().hex[:8]}"
        self.stat_file = f"{sipp.WORK}/{self.stem}.csv"
        self.errors_file = f"{sipp.WORK}/{self.stem}.errors"
        self.output_file = folder / f"{self.stem}.out"
        keys = [key for key, _ in sipp.parse_keys(load.script.keys)]
        captures = dtmf.write_presses(paths.inside(sipp.PCAPS), folder, self.stem, keys)
        text = sipp.scenario(
            replace(load.script, caller_number=NUMBER_MARK),
            [f"{sipp.WORK}/{c}" for c in captures],
        )
        number = "".join(c for c in load.number_prefix if c.isdigit())
        self.scenario_file = f"{sipp.WORK}/{self.stem}.xml"
        paths.inside(self.scenario_file).write_text(
            text.replace(NUMBER_MARK, f"{number}[call_number]")
        )
        self.process: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        """The SIPp command line: paced, counted, each call with its own RTP port."""
        load = self.load
        # Every call may be open at once in the worst case; SIPp must never hold calls back.
        limit = max(10, int(load.rate * (load.script.wait_for_bye + 60)))
        return [
            "chroot", str(self.paths.chroot), "sipp", "-sf", self.scenario_file,
            "-s", "".join(c for c in load.script.number if c in "0123456789*#+"),
            "-i", "127.0.0.1", "-p", str(sipp.free_udp_port()),
            "-mi", "127.0.0.1", "-min_rtp_port", str(load.rtp_ports[0]),
            "-max_rtp_port", str(load.rtp_ports[1]),
            *rate_arguments(load.rate), "-m", str(load.calls), "-l", str(limit),
            "-nostdin", "-trace_stat", "-stf", self.stat_file, "-fd", "1",
            "-trace_err", "-error_file", self.errors_file,
            "127.0.0.1:5060",
        ]  # fmt: skip

    def start(self) -> RunningLoad:
        with self.output_file.open("wb") as out:
            self.process = subprocess.Popen(
                self.argv(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def counts(self) -> LoadCounts:
        """SIPp's cumulative counters as of its last statistics line (every second, and at
        its exit)."""
        path = self.paths.inside(self.stat_file)
        if not path.exists():
            return LoadCounts()
        with path.open(newline="", errors="replace") as handle:
            rows = list(csv.DictReader(handle, delimiter=";"))
        if not rows:
            return LoadCounts()
        last = rows[-1]
        return LoadCounts(
            created=int(last["TotalCallCreated"]),
            successful=int(last["SuccessfulCall(C)"]),
            failed=int(last["FailedCall(C)"]),
            current=int(last["CurrentCall"]),
        )

    def wait(self, timeout: float) -> int:
        """Wait until SIPp has placed and finished every call; returns its exit status (0
        when every call succeeded)."""
        assert self.process is not None, "start() first"
        return self.process.wait(timeout)

    def stop(self, timeout: float = 10.0) -> int | None:
        """Stop SIPp if it still runs (its open calls get a BYE); returns its exit status."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGUSR1)  # SIPp's soft exit: stop placing, end calls
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def errors(self, limit: int = 3000) -> str:
        """The tail of SIPp's log of unexpected messages, for failure reports."""
        texts = [self.output_file, self.paths.inside(self.errors_file)]
        return "\n".join(p.read_text(errors="replace")[-limit:] for p in texts if p.exists())
