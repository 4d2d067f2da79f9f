"""Live state between the switchboard and the store: each call's record as last kept, the
calls changed since, and the records a restart found that no channel has claimed yet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivr.calls.call import Call
from ivr.calls.commands import Command, Note, SaveState
from ivr.calls.events import CallArrived, Caller
from ivr.calls.legs import CloseBridge, DropLeg
from ivr.plan.handoffs import QueueNode
from ivr.plan.plan import Plan, PlanBook
from ivr.routing.desk import Desk
from ivr.switchboard import checkpoints


class LiveState:
    """Which records to write after an event, and the records waiting for their channel."""

    def __init__(self) -> None:
        self._kept: dict[str, dict[str, Any]] = {}
        self._touched: set[str] = set()
        self._recovered: dict[str, dict[str, Any]] = {}

    def touch(self, call_id: str) -> None:
        """The call may have changed: look at its record after this event."""
        self._touched.add(call_id)

    def recover(self, records: Mapping[str, dict[str, Any]]) -> None:
        """The records a restart found, each waiting for its channel to come back."""
        self._recovered = dict(records)
        self._kept.update(records)

    def claim(self, call_id: str) -> dict[str, Any] | None:
        """The record of a channel the PBX reports in the app, if a restart found one."""
        return self._recovered.pop(call_id, None)

    def unclaimed(self, present: frozenset[str] | None = None) -> list[str]:
        """Records not claimed yet; with `present`, those whose channel is not even there."""
        return [c for c in self._recovered if present is None or c not in present]

    def saves(self, calls: Mapping[str, Call], desk: Desk) -> list[Command]:
        """The records that changed since the last event, calls' and agents', to be written
        before the commands that follow from the change."""
        saves: list[Command] = []
        for call_id in self._touched:
            call = calls.get(call_id)
            if call is None:
                if self._kept.pop(call_id, None) is not None:
                    saves.append(SaveState(checkpoints.CALL, call_id, None))
                continue
            record = checkpoints.call_record(call)
            if record != self._kept.get(call_id):
                self._kept[call_id] = record
                saves.append(SaveState(checkpoints.CALL, call_id, record))
        self._touched.clear()
        for agent_id, facts in desk.changed_agents().items():
            saves.append(SaveState(checkpoints.AGENT, agent_id, checkpoints.agent_record(facts)))
        return saves

    def lost(self, call_ids: list[str], now: float) -> list[Command]:
        """Close records whose caller is gone (they hung up while no daemon ran)."""
        commands: list[Command] = []
        for call_id in call_ids:
            record = self._recovered.pop(call_id)
            self._touched.add(call_id)
            seconds = now - float(record.get("arrived_at", now))
            fields = {
                "outcome": "lost",
                "plan": str(record.get("plan", "")),
                "node": str(record.get("node", "")),
                "seconds": f"{seconds:.3f}",
            }
            commands.append(Note(call_id, "ended", fields))
            held = checkpoints.held_of(record)
            if held is not None and held.leg is not None:
                # They talked: the agent's leg may be up still, and the bridge is left empty.
                commands += [DropLeg(call_id, held.leg), CloseBridge(call_id)]
        return commands


def rebuild(event: CallArrived, record: dict[str, Any], plans: PlanBook, now: float) -> Call | str:
    """The call as its record has it, on the plan of that name today; or why it cannot be."""
    problem = checkpoints.unreadable(record)
    if problem is not None:
        return problem
    plan = plans.named(str(record.get("plan"))) or plans.for_number(event.number)
    if plan is None:
        return "its plan is gone"
    number, name = record.get("caller") or ["", ""]
    call = Call(
        id=event.call_id,
        plan=plan,
        number=str(record.get("number", event.number)),
        caller=Caller(str(number), str(name)),
        arrived_at=float(record.get("arrived_at", now)),
        language=str(record.get("language", plan.spec.language)),
        plans=plans,
    )
    call.vars = {str(k): str(v) for k, v in dict(record.get("vars") or {}).items()}
    call.tags = [str(tag) for tag in record.get("tags") or []]
    call.outcome = str(record.get("outcome", ""))
    call.seq = int(record.get("seq", 0))
    call.now = now
    return call


def queue_node_of(plan: Plan, queue_name: str) -> tuple[str, QueueNode] | None:
    """A node of `plan` that holds callers in `queue_name`: where a rejoined caller waits."""
    for name, node in plan.spec.nodes.items():
        if isinstance(node, QueueNode) and node.queue == queue_name:
            return name, node
    return None
