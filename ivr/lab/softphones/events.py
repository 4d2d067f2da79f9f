"""What a softphone saw, read back from its scenario's log: one `AgentEvent` per step, and
each INVITE with the identity headers logged for it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ivr.lab.softphones.scenario import RECORDED

NAME_ADDR = re.compile(
    r'^\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>[^<"]*?))\s*<(?P<uri>[^>]*)>'
)


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


def invite_entry(invite: AgentEvent, events: list[AgentEvent]) -> dict[str, Any]:
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
