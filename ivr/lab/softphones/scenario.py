"""The SIPp UAS scenario XML for an `AgentScript`: the SIP a softphone sends and expects,
and the `<log>` line it writes for each step."""

from __future__ import annotations

import re

from ivr.lab.sipp import PCAPS, sdp
from ivr.lab.softphones.script import AgentScript

# The final status of each refusing behaviour: 486 is what a phone already on a call says.
REFUSALS = {"busy": "486 Busy Here", "reject": "603 Decline"}
# Headers `record_from_to` logs, and their keys in `LabAgent.invites()`.
RECORDED = {"From": "from", "To": "to", "P-Asserted-Identity": "pai"}


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
