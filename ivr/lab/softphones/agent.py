"""`LabAgent`: one SIPp softphone running inside the lab chroot, and the events it logged."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from ivr.lab.paths import LabPaths
from ivr.lab.sipp import WORK, free_udp_port
from ivr.lab.softphones.events import AgentEvent, invite_entry, parse_event
from ivr.lab.softphones.scenario import scenario
from ivr.lab.softphones.script import AgentScript

# How often the log reader looks for new lines: well under any SIP timer a test measures.
TAIL_SECONDS = 0.02


@dataclass
class _Seen:
    """What the log reader has parsed so far, shared under `LabAgent._changed`."""

    events: list[AgentEvent] = field(default_factory=list)
    ended: bool = False


class LabAgent:
    """A SIPp softphone running `script` inside the lab chroot, and what it saw."""

    def __init__(self, paths: LabPaths, script: AgentScript) -> None:
        self.paths = paths
        self.script = script
        stem = f"agent-{script.name}-{uuid.uuid4().hex[:8]}"
        self.folder = paths.inside(WORK)
        self.scenario_file = f"{WORK}/{stem}.xml"
        self.log_file = f"{WORK}/{stem}.log"
        self.errors_file = f"{WORK}/{stem}.errors"
        self.messages_file = f"{WORK}/{stem}.messages"
        self.output_file = self.folder / f"{stem}.out"
        self.process: subprocess.Popen[bytes] | None = None
        self._seen = _Seen()
        self._changed = threading.Condition()
        self._reader: threading.Thread | None = None

    @classmethod
    def named(cls, paths: LabPaths, name: str, **options: Any) -> LabAgent:
        """The softphone of an endpoint of the lab's pjsip.conf (agent1..agent4, partner)."""
        return cls(paths, AgentScript.of(name, **options))

    def host_path(self, chroot_path: str) -> Path:
        """Where a file SIPp wrote (given as the chroot sees it) is on the host."""
        return self.paths.inside(chroot_path)

    def start(self, timeout: float = 10.0) -> LabAgent:
        """Start SIPp and return once it listens on the agent's port."""
        if _udp_port_bound(self.script.port):
            raise RuntimeError(f"UDP 127.0.0.1:{self.script.port} is taken: another softphone?")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.host_path(self.scenario_file).write_text(scenario(self.script))
        with self.output_file.open("wb") as out:
            self.process = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT)  # fmt: skip
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not _udp_port_bound(self.script.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.script.name}: SIPp did not start\n{self.output()}")
            time.sleep(0.02)
        return self

    def argv(self) -> list[str]:
        """The SIPp command line: UAS mode, logs under /tmp/ivr-sipp in the chroot."""
        argv = [
            "chroot", str(self.paths.chroot), "sipp", "-sf", self.scenario_file,
            "-i", "127.0.0.1", "-p", str(self.script.port),
            "-mi", "127.0.0.1", "-mp", str(free_udp_port(even=True)),
            "-nostdin", "-aa", "-trace_logs", "-log_file", self.log_file,
            "-trace_err", "-error_file", self.errors_file,
            "-trace_msg", "-message_file", self.messages_file,
        ]  # fmt: skip
        if self.script.calls is not None:
            argv += ["-m", str(self.script.calls)]
        if self.script.audio == "echo":
            argv.append("-rtp_echo")
        return argv

    def stop(self, timeout: float = 5.0) -> int | None:
        """Stop SIPp (calls in progress end unanswered); returns its exit status."""
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._reader is not None:
            self._reader.join(timeout)
        return None if process is None else process.returncode

    def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait until SIPp exits by itself (after `calls` calls); returns its exit status."""
        assert self.process is not None, "start() first"
        code = self.process.wait(timeout)
        if self._reader is not None:
            self._reader.join(timeout)
        return code

    def __enter__(self) -> LabAgent:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def events(self, kind: str | None = None, call_id: str | None = None) -> list[AgentEvent]:
        """The events logged so far, optionally of one kind and/or one call."""
        with self._changed:
            return [
                e
                for e in self._seen.events
                if (kind is None or e.kind == kind) and (call_id is None or e.call_id == call_id)
            ]

    def invites(self) -> list[dict[str, Any]]:
        """Every INVITE taken, in order: `call_id`, `at` and, with `record_from_to`, `from`,
        `from_name`, `from_number`, `to`, `to_number`, `pai`, `pai_number` and so on."""
        events = self.events()
        return [invite_entry(invite, events) for invite in events if invite.kind == "invite"]

    def answered_count(self) -> int:
        """How many calls this softphone answered (its 200 OK was ACKed)."""
        return len(self.events("answered"))

    def wait_for(
        self, kind: str, count: int = 1, timeout: float = 20.0, call_id: str | None = None
    ) -> list[AgentEvent]:
        """Block until `count` events of `kind` (for `call_id`, if given) are logged; returns all
        such events."""
        what = f"{count} x {kind}" + (f" for {call_id}" if call_id else "")
        self.wait_until(lambda seen: len(_matching(seen, kind, call_id)) >= count, timeout, what)
        return _matching(self.events(), kind, call_id)

    def wait_invites(self, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Block until `count` INVITEs have been taken; returns `invites()`."""
        self.wait_for("invite", count, timeout)
        return self.invites()

    def wait_until(
        self, predicate: Callable[[list[AgentEvent]], bool], timeout: float, what: str
    ) -> None:
        """Block until `predicate(events)` holds; fail after `timeout` or when SIPp is gone."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self._seen.events):
                left = deadline - time.monotonic()
                if self._seen.ended or left <= 0:
                    why = "SIPp exited" if self._seen.ended else f"{timeout} s passed"
                    raise AssertionError(
                        f"{self.script.name}: no {what} ({why}); log:\n{self._tail()}"
                    )
                self._changed.wait(left)

    def messages(self) -> str:
        """Every SIP message SIPp sent or received so far (its -trace_msg file)."""
        path = self.host_path(self.messages_file)
        return path.read_text(errors="replace") if path.exists() else ""

    def output(self) -> str:
        """SIPp's own output and error log, for failure messages."""
        texts = [self.output_file, self.host_path(self.errors_file)]
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in texts if p.exists())

    def _tail(self) -> str:
        lines = [f"{e.at:.3f} {e.call_id} {e.kind} {e.detail}" for e in self._seen.events[-15:]]
        return "\n".join(lines) + "\n" + self.output()

    def _read_log(self) -> None:
        """Follow the log as SIPp writes it (a line at a time, flushed) until SIPp exits."""
        path = self.host_path(self.log_file)
        partial = ""
        with _open_when_there(path, lambda: self.running) as handle:
            while True:
                alive = self.running
                chunk = handle.read() if handle else ""
                *lines, partial = (partial + chunk).split("\n")
                parsed = [e for e in map(parse_event, lines) if e is not None]
                if parsed or not alive:
                    with self._changed:
                        self._seen.events.extend(parsed)
                        self._seen.ended = not alive
                        self._changed.notify_all()
                if not alive:
                    return
                if not chunk:
                    time.sleep(TAIL_SECONDS)

    @property
    def running(self) -> bool:
        """Whether SIPp still runs."""
        return self.process is not None and self.process.poll() is None


@contextmanager
def _open_when_there(path: Path, alive: Callable[[], bool]) -> Iterator[TextIO | None]:
    """`path` opened for reading once SIPp has created it; None if SIPp exits first."""
    while not path.exists() and alive():
        time.sleep(TAIL_SECONDS)
    if not path.exists():
        yield None
        return
    with path.open(encoding="utf-8", errors="replace") as handle:
        yield handle


def _matching(events: list[AgentEvent], kind: str, call_id: str | None) -> list[AgentEvent]:
    return [e for e in events if e.kind == kind and (call_id is None or e.call_id == call_id)]


def _udp_port_bound(port: int) -> bool:
    """Whether some socket is bound to UDP `port` (read from /proc: binding would race SIPp)."""
    wanted = f":{port:04X}"
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        if any(row.split()[1].endswith(wanted) for row in rows):
            return True
    return False
