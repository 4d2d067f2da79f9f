"""What a restart must not lose of a live call or an agent: their records in the store.

A call's record is written whenever what it holds changes (node, language, tags, variables,
its place in a queue, the agent it talks to), before the commands that follow from the
change go to the PBX; an agent's when their sign-in, pause or wrap-up changes. Records carry
`v`, the layout's version: a daemon reads the versions it knows and refuses the others
loudly (the caller then starts as a new call, the agent signed out), so an old and a new
daemon can share a store during a rolling upgrade.
"""

from __future__ import annotations

from typing import Any

from ivr.calls.call import Call
from ivr.calls.queue import node as queue
from ivr.calls.queue.wait import QueueHeld

CALL = "call"
AGENT = "agent"
VERSION = 1


def call_record(call: Call) -> dict[str, Any]:
    """The call as a restart must find it."""
    record: dict[str, Any] = {
        "v": VERSION,
        "plan": call.plan.name,
        "version": call.plan.version,
        "number": call.number,
        "caller": [call.caller.number, call.caller.name],
        "arrived_at": call.arrived_at,
        "language": call.language,
        "node": call.node,
        # Secrets (a PIN) are never written: a restart forgets them (ivr/calls/redaction.py).
        "vars": call.kept_vars(),
        "tags": list(call.tags),
        "hanging_up": call.hanging_up,
        "outcome": call.outcome,
        # The prompt playing (a restart stops it) and the ids used so far (new ones go on
        # from there, never the id of a leg or a playback still alive in the PBX).
        "playback": call.playback,
        "seq": call.seq,
    }
    held = queue.held(call)
    if held is not None:
        record["queue"] = {
            "name": held.queue,
            "joined_at": held.joined_at,
            "taken": list(held.taken),
            "callback_open": held.callback_open,
            "agent": held.agent,
            "leg": held.leg,
            "answered_at": held.answered_at,
        }
    return record


def agent_record(facts: dict[str, Any]) -> dict[str, Any]:
    """An agent's sign-in, pause and wrap-up as the store keeps them."""
    return {"v": VERSION, **facts}


def unreadable(record: dict[str, Any]) -> str | None:
    """Why this daemon cannot use `record` (a layout it does not know), or None."""
    version = record.get("v")
    if version != VERSION:
        return f"record layout v{version}; this daemon reads v{VERSION}"
    return None


def held_of(record: dict[str, Any]) -> QueueHeld | None:
    """The caller's place in a queue, from their record; None when they held none."""
    held = record.get("queue")
    if not isinstance(held, dict):
        return None
    return QueueHeld(
        str(held["name"]),
        float(held["joined_at"]),
        tuple(int(i) for i in held.get("taken", ())),
        bool(held.get("callback_open", True)),
        held.get("agent"),
        held.get("leg"),
        held.get("answered_at"),
    )
