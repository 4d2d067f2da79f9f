"""Real SIP callers for the lab: SIPp scenarios that dial, press RFC 4733 keys and hang up."""

from __future__ import annotations

import re
import socket
import subprocess
import uuid
from dataclasses import dataclass

from ivr.lab import dtmf
from ivr.lab.paths import LabPaths

PCAPS = "/usr/share/sip-tester"
WORK = "/tmp/ivr-sipp"
# Each RFC 4733 capture lasts well under this; the next key waits for it to end.
KEY_MS = 400
SIPP_KEYWORD = re.compile(r"[\[\]]")


@dataclass(frozen=True)
class CallScript:
    """What a lab caller does: wait, press keys, and end the call or wait for the IVR to end it."""

    number: str
    caller_number: str = "79001234567"
    caller_name: str = "Lab Caller"
    keys: str = ""
    first_key_after: float = 2.0
    between_keys: float = 1.0
    hang_up_after: float | None = None
    wait_for_bye: float = 60.0
    # Speak (SIPp's G.711 A-law capture, about 8 s) this many seconds after the answer,
    # before the keys: a voicemail message. The caller then offers PCMA instead of PCMU.
    speak_after: float | None = None


def parse_keys(text: str) -> list[tuple[str, float]]:
    """`2` or `1,w3,2`: keys, with `wN` a pause of N seconds before the next key."""
    steps: list[tuple[str, float]] = []
    pause = 0.0
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        if part.startswith("w"):
            pause += float(part[1:])
            continue
        for key in part:
            if key not in "0123456789*#":
                raise ValueError(f"'{key}' is not a phone key (0-9, * or #)")
            steps.append((key, pause))
            pause = 0.0
    return steps


def scenario(script: CallScript, captures: list[str]) -> str:
    """The SIPp UAC scenario XML for `script`; `captures` holds one RTP capture per key."""
    # SIPp reads [word] as its own keywords and CDATA ends at ]]>: keep the name plain.
    name = SIPP_KEYWORD.sub("", script.caller_name).replace('"', "'")
    # A number, or an agent's endpoint name (agent1) when an agent dials a feature code.
    number = re.sub(r"[^0-9A-Za-z+]", "", script.caller_number) or "anonymous"
    keys = parse_keys(script.keys)
    # Without keys there is nothing to wait for: a pause would turn an early BYE from the
    # IVR (a short confirmation, say) into an "unexpected message" failure.
    body = [f'<pause milliseconds="{int(script.first_key_after * 1000)}"/>'] if keys else []
    if script.speak_after is not None:
        play = f'<exec play_pcap_audio="{PCAPS}/g711a.pcap"/>'
        body = [f'<pause milliseconds="{int(script.speak_after * 1000)}"/>',
                f"<nop><action>{play}</action></nop>", *body]  # fmt: skip
    for index, (_, pause) in enumerate(keys):
        wait = pause if pause else (script.between_keys if index else 0.0)
        if wait:
            body.append(f'<pause milliseconds="{int(wait * 1000)}"/>')
        pcap = captures[index]
        body.append(f'<nop><action><exec play_pcap_audio="{pcap}"/></action></nop>')
        body.append(f'<pause milliseconds="{KEY_MS}"/>')
    if script.hang_up_after is not None:
        body.append(f'<pause milliseconds="{int(script.hang_up_after * 1000)}"/>')
        ending = _SEND_BYE
    else:
        ending = _AWAIT_BYE.replace("TIMEOUT", str(int(script.wait_for_bye * 1000)))
    head = (
        _HEAD
        if script.speak_after is None
        else _HEAD.replace(sdp("lab"), sdp("lab", 8, "PCMA/8000"))
    )
    text = head + "\n".join(body) + ending
    return text.replace("CALLER_NAME", name).replace("CALLER_NUMBER", number)


@dataclass(frozen=True)
class CallResult:
    """How SIPp saw the call: its exit status and the tail of its error log."""

    ok: bool
    returncode: int
    output: str


def place_call(paths: LabPaths, script: CallScript, timeout: float = 120.0) -> CallResult:
    """Place one real SIP call from SIPp (inside the lab chroot) to the lab Asterisk."""
    with popen_call(paths, script) as process:
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
    return CallResult(process.returncode == 0, process.returncode, out[-4000:])


def popen_call(paths: LabPaths, script: CallScript) -> subprocess.Popen[str]:
    """Start a SIPp caller and return at once; the caller runs until its script ends."""
    folder = paths.inside(WORK)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"call-{uuid.uuid4().hex[:12]}"
    keys = [key for key, _ in parse_keys(script.keys)]
    captures = dtmf.write_presses(paths.inside(PCAPS), folder, stem, keys)
    name = f"{stem}.xml"
    (folder / name).write_text(scenario(script, [f"{WORK}/{c}" for c in captures]))
    sip_port, media_port = free_udp_port(), free_udp_port(even=True)
    argv = [
        "chroot", str(paths.chroot), "sipp", "-sf", f"{WORK}/{name}",
        "-s", re.sub(r"[^0-9*#+]", "", script.number),
        "-i", "127.0.0.1", "-p", str(sip_port), "-mi", "127.0.0.1", "-mp", str(media_port),
        "-m", "1", "-l", "1", "-nostdin", "-timeout_error", "-timeout",
        f"{int(script.wait_for_bye + 120)}s", "127.0.0.1:5060",
    ]  # fmt: skip
    return subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def sdp(owner: str, codec: int | str = 0, rtpmap: str = "PCMU/8000") -> str:
    """An SDP body for SIPp: one codec plus RFC 4733 telephone-events (keys 0-15)."""
    return f"""v=0
o={owner} 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP {codec} 101
a=rtpmap:{codec} {rtpmap}
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
"""


def free_udp_port(even: bool = False) -> int:
    """A UDP port on loopback nobody uses right now (even ones for RTP)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if not even or port % 2 == 0:
            return port
    raise RuntimeError("no free UDP port on 127.0.0.1")


_HEAD = (
    """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="shop-ivr lab caller">
<send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "CALLER_NAME" <sip:CALLER_NUMBER@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:CALLER_NUMBER@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

"""
    + sdp("lab")
    + """]]></send>
<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="183" optional="true"/>
<recv response="200" rtd="true"/>
<send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "CALLER_NAME" <sip:CALLER_NUMBER@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:CALLER_NUMBER@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0
]]></send>
"""
)

_SEND_BYE = """
<send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "CALLER_NAME" <sip:CALLER_NUMBER@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: <sip:CALLER_NUMBER@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0
]]></send>
<recv response="200" crlf="true"/>
</scenario>
"""

_AWAIT_BYE = """
<recv request="BYE" timeout="TIMEOUT"/>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
]]></send>
</scenario>
"""
