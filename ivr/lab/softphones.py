"""Lab softphones: SIPp UAS scenarios on the agents' static contacts (and the partner PBX).

Each `LabAgent` runs one SIPp inside the lab chroot, listening where pjsip.conf sends that
endpoint's calls. The scenario writes one line per step into a log (SIPp `<log>` actions);
`LabAgent` parses it and waits on it, so tests assert what the softphone really saw.
"""

from __future__ import annotations

import argparse
import contextlib
import re
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
from typing import Any, Literal, TextIO

from ivr.lab.paths import LabPaths
from ivr.lab.sipp import PCAPS, WORK, free_udp_port, sdp

Behaviour = Literal["answer", "no-answer", "busy", "reject"]
Audio = Literal["pcap", "echo", "none"]
AGENT_PORTS = {
    "agent1": 6001, "agent2": 6002, "agent3": 6003, "agent4": 6004, "partner": 6100,
    "customer": 6200,
}  # fmt: skip
# The final status of each refusing behaviour: 486 is what a phone already on a call says.
REFUSALS = {"busy": "486 Busy Here", "reject": "603 Decline"}
# Headers `record_from_to` logs, and their keys in `LabAgent.invites()`.
RECORDED = {"From": "from", "To": "to", "P-Asserted-Identity": "pai"}
# How often the log reader looks for new lines: well under any SIP timer a test measures.
TAIL_SECONDS = 0.02
NAME_ADDR = re.compile(
    r'^\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>[^<"]*?))\s*<(?P<uri>[^>]*)>'
)


@dataclass(frozen=True)
class AgentScript:
    """What a lab softphone does with each call it is offered."""

    name: str
    port: int
    behaviour: Behaviour = "answer"
    ring_seconds: float = 1.0
    talk_seconds: float = 5.0
    wait_for_bye: bool = False
    audio: Audio = "pcap"
    calls: int | None = None
    record_from_to: bool = False

    @classmethod
    def of(cls, name: str, **options: Any) -> AgentScript:
        """The script for an endpoint of pjsip.conf (agent1..agent4, partner) on its port."""
        return cls(name=name, port=AGENT_PORTS[name], **options)


def scenario(script: AgentScript) -> str:
    """The SIPp UAS scenario XML for `script`."""
    parts = [_HEAD.replace("AGENT", _plain(script.name)), _invite(script), _reply("100 Trying")]
    if script.behaviour in REFUSALS:
        parts.append(_refuse(REFUSALS[script.behaviour]))
    else:
        parts += [_ringing(script), _answer(script), _talk(script), _cancel()]
    parts += ['<label id="end"/>', _note("done"), "</scenario>", ""]
    return "\n".join(parts)


def _plain(text: str) -> str:
    """Text safe in an XML attribute and outside SIPp's [keywords]."""
    return re.sub(r"[^A-Za-z0-9_.-]", "", text)


def _log(kind: str, detail: str = "") -> str:
    """`<log>` actions writing `SECONDS MICROSECONDS CALL-ID KIND DETAIL` as one line."""
    line = f"[$ts] [$tus] [call_id] {kind} {detail}".rstrip()
    return f'<gettimeofday assign_to="ts,tus"/><log message="{line}"/>'


def _note(kind: str, detail: str = "") -> str:
    """A step that only logs."""
    return f"<nop><action>{_log(kind, detail)}</action></nop>"


def _invite(script: AgentScript) -> str:
    """Take the INVITE; keep what the 487 and our BYE need; log its identity headers."""
    # SIPp refuses a scenario with a variable set but never used: refusals keep nothing.
    keep = "" if script.behaviour in REFUSALS else _KEEP_FROM_INVITE
    # One line per header: display names may hold any character a separator could be.
    headers = "".join(
        f'<ereg regexp=".*" search_in="hdr" header="{h}:" assign_to="h{i}"/>'
        + _log(f"header-{h}", f"[$h{i}]")
        for i, h in enumerate(RECORDED if script.record_from_to else ())
    )
    return f'<recv request="INVITE"><action>{keep}{headers}{_log("invite")}</action></recv>'


def _ringing(script: AgentScript) -> str:
    """180 Ringing, then `ring_seconds` (forever for no-answer) in which a CANCEL may come."""
    text = _reply("180 Ringing", tag=True) + "\n" + _note("ringing")
    if script.behaviour == "no-answer":
        return text + '\n<recv request="CANCEL" next="cancel"/>'
    # A recv with a timeout is a pause that a CANCEL can end; a <pause> would abort the call.
    ring = max(1, int(script.ring_seconds * 1000))
    return text + f'\n<recv request="CANCEL" timeout="{ring}" ontimeout="answer" next="cancel"/>'


def _answer(script: AgentScript) -> str:
    """200 OK with SDP (PCMA when playing SIPp's G.711 A-law capture), its ACK, the audio."""
    lines = ['<label id="answer"/>', _ok_with_sdp(script), _recv_ack("answered", keep_to=True)]
    if script.audio == "pcap":
        play = f'<exec play_pcap_audio="{PCAPS}/g711a.pcap"/>'
        lines.append(f"<nop><action>{play}</action></nop>")
    return "\n".join(lines)


def _talk(script: AgentScript) -> str:
    """Talk until the other side's BYE, or send ours after `talk_seconds`; take re-INVITEs."""
    timer = ""
    if not script.wait_for_bye:
        talk = max(1, int(script.talk_seconds * 1000))
        timer = f' timeout="{talk}" ontimeout="hangup"'
    return "\n".join(
        [
            '<label id="talk"/>',
            # Optional so that a re-INVITE (the next recv) may come instead; it restarts the timer.
            f'<recv request="BYE" optional="true" next="bye"{timer}/>',
            f'<recv request="INVITE"><action>{_log("reinvite")}</action></recv>',
            _ok_with_sdp(script, tag=False),
            '<recv request="ACK" next="talk"/>',
            '<label id="hangup"/>',
            _BYE,
            f'<recv response="200"><action>{_log("bye-sent")}</action></recv>',
            '<nop next="end"/>',
            '<label id="bye"/>',
            _reply("200 OK"),
            _note("bye-received"),
            '<nop next="end"/>',
        ]
    )


def _refuse(status: str) -> str:
    """A final refusal (486, 603) and the ACK for it."""
    return "\n".join([_reply(status, tag=True), _recv_ack("refused", status.split()[0])])


def _cancel() -> str:
    """CANCEL while ringing: 200 OK for the CANCEL, then 487 for the INVITE and its ACK."""
    terminated = _reply("487 Request Terminated", tag=True).replace(
        "[last_CSeq:]", "CSeq: [$invite_cseq] INVITE"
    )
    return "\n".join(
        [
            '<label id="cancel"/>',
            _reply("200 OK", tag=True),
            _note("cancelled"),
            terminated,
            '<recv request="ACK"/>',
            '<nop next="end"/>',
        ]
    )


def _recv_ack(kind: str, detail: str = "", keep_to: bool = False) -> str:
    """Take the ACK and log `kind`; `keep_to` keeps its To (with our tag) for our BYE."""
    keep = '<ereg regexp=".*" search_in="hdr" header="To:" assign_to="local"/>' if keep_to else ""
    return f'<recv request="ACK"><action>{keep}{_log(kind, detail)}</action></recv>'


def _reply(status: str, tag: bool = False) -> str:
    """A response without a body to the last request; `tag` adds our To tag (dialog forming)."""
    to_tag = ";tag=[pid]SIPpTag01[call_number]" if tag else ""
    contact = "\nContact: <sip:[local_ip]:[local_port];transport=[transport]>" if tag else ""
    return f"""<send><![CDATA[
SIP/2.0 {status}
[last_Via:]
[last_From:]
[last_To:]{to_tag}
[last_Call-ID:]
[last_CSeq:]{contact}
Content-Length: 0
]]></send>"""


def _ok_with_sdp(script: AgentScript, tag: bool = True) -> str:
    """200 OK with our SDP: one codec, so Asterisk sends what we play or echo. A re-INVITE's
    To carries our tag already (`tag=False`)."""
    codec, rtpmap = ("8", "PCMA/8000") if script.audio == "pcap" else ("0", "PCMU/8000")
    to_tag = ";tag=[pid]SIPpTag01[call_number]" if tag else ""
    return f"""<send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]{to_tag}
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

{sdp("agent", codec, rtpmap)}]]></send>"""


_KEEP_FROM_INVITE = (
    '<ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" assign_to="invite_cseq"/>'
    '<ereg regexp="sip:[^&gt;;]*" search_in="hdr" header="Contact:" assign_to="peer"/>'
    '<ereg regexp=".*" search_in="hdr" header="From:" assign_to="remote"/>'
)

_HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="shop-ivr lab softphone AGENT">"""

# Our BYE: From is the INVITE's To with our tag, To is the caller's From with theirs.
_BYE = """<send retrans="500"><![CDATA[
BYE [$peer] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From:[$local]
To:[$remote]
[last_Call-ID:]
CSeq: [cseq] BYE
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Content-Length: 0
]]></send>"""


@dataclass(frozen=True)
class AgentEvent:
    """One step of one call as the softphone logged it: `kind` is invite, ringing, answered,
    cancelled, refused, reinvite, bye-sent, bye-received, done or header-NAME."""

    at: float
    call_id: str
    kind: str
    detail: str = ""


def parse_event(line: str) -> AgentEvent | None:
    """An `AgentEvent` from a log line the scenario wrote; None for anything else."""
    fields = line.rstrip("\n").split(" ", 4)
    if len(fields) < 4:
        return None
    try:
        at = float(fields[0]) + float(fields[1]) / 1e6
    except ValueError:
        return None
    return AgentEvent(at, fields[2], fields[3], fields[4].strip() if len(fields) > 4 else "")


def name_addr(value: str) -> dict[str, str]:
    """`"Name" <sip:number@host>;tag=x` as its display name, number (URI user) and URI."""
    match = NAME_ADDR.match(value)
    if not match:
        uri = value.strip().split(";")[0]
        return {"name": "", "number": _uri_user(uri), "uri": uri}
    name = match["quoted"] if match["quoted"] is not None else (match["token"] or "")
    name = re.sub(r"\\(.)", r"\1", name).strip()
    return {"name": name, "number": _uri_user(match["uri"]), "uri": match["uri"]}


def _uri_user(uri: str) -> str:
    """The user part of a SIP URI: `sip:79001234567@host` -> `79001234567`."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    return rest.split("@", 1)[0] if "@" in rest else ""


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
        return [_invite_entry(invite, events) for invite in events if invite.kind == "invite"]

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


def _invite_entry(invite: AgentEvent, events: list[AgentEvent]) -> dict[str, Any]:
    """One INVITE as a dict, with the identity headers logged for its call."""
    entry: dict[str, Any] = {"call_id": invite.call_id, "at": invite.at}
    for event in events:
        header = event.kind.removeprefix("header-")
        # A header the INVITE lacked is logged empty: leave its keys out.
        if event.call_id != invite.call_id or header not in RECORDED or not event.detail:
            continue
        key = RECORDED[header]
        entry[key] = event.detail
        entry.update({f"{key}_{part}": v for part, v in name_addr(event.detail).items()})
    return entry


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


def add_command(steps: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `ivr lab agent NAME ...` to the `ivr lab` steps."""
    step = steps.add_parser("agent", help="run a lab softphone (SIPp UAS) until Ctrl-C")
    step.add_argument("name", choices=sorted(AGENT_PORTS), help="the pjsip.conf endpoint")
    step.add_argument("--behaviour", choices=["answer", "no-answer", "busy", "reject"],
                      default="answer")  # fmt: skip
    step.add_argument("--ring", type=float, default=1.0, metavar="SECONDS")
    step.add_argument("--talk", type=float, default=5.0, metavar="SECONDS")
    step.add_argument("--wait-for-bye", action="store_true", help="never hang up first")
    step.add_argument("--audio", choices=["pcap", "echo", "none"], default="pcap")
    step.add_argument("--calls", type=int, default=None, help="exit after this many calls")
    step.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Carry out `ivr lab agent`: print each step of each call as the softphone logs it."""
    script = AgentScript.of(
        args.name, behaviour=args.behaviour, ring_seconds=args.ring, talk_seconds=args.talk,
        wait_for_bye=args.wait_for_bye, audio=args.audio, calls=args.calls, record_from_to=True,
    )  # fmt: skip
    agent = LabAgent(LabPaths.default(), script).start()
    print(f"lab agent: {script.name} on 127.0.0.1:{script.port}, log {agent.log_file}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        _follow(agent)
    code = agent.stop()
    return 0 if code in (0, None) or script.calls is None else 1


def _follow(agent: LabAgent) -> None:
    """Print the agent's events as they arrive, until SIPp exits."""
    shown = 0
    while True:
        events = agent.events()
        for event in events[shown:]:
            print(f"{event.at:.3f} {event.call_id} {event.kind} {event.detail}", flush=True)
        shown = len(events)
        if not agent.running:
            return
        with contextlib.suppress(AssertionError):  # SIPp exited: the loop prints what is left
            agent.wait_until(_longer_than(shown), 3600, "event")


def _longer_than(count: int) -> Callable[[list[AgentEvent]], bool]:
    return lambda seen: len(seen) > count
