"""Making a callback: the router offers the task to an agent like a waiting caller; when the
agent answers, the customer is dialled, and the two are bridged when the customer answers.

The agent hears music while the customer's phone rings. Either side hanging up ends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.callbacks.book import clean_topic
from ivr.callbacks.task import CallbackTask
from ivr.calls.commands import Command, Note
from ivr.calls.events import CallEvent
from ivr.calls.legs import (
    AgentAnswered,
    AgentLegEnded,
    BridgeLegs,
    CloseBridge,
    DropLeg,
    LegEnd,
    RingAgent,
    StartMusic,
    StopMusic,
)
from ivr.routing.results import Offer
from ivr.routing.router import Router

CUSTOMER = ""  # the agent id of the customer's leg: nobody of ours


@dataclass
class Dial:
    """One attempt at a callback task, held by the router as `call_id`."""

    call_id: str
    task: CallbackTask
    customer_endpoint: str
    customer_caller_id: str
    ring_seconds: float
    legs: dict[str, str] = field(default_factory=dict)  # leg id -> agent id (CUSTOMER)
    agent_leg: str | None = None
    customer_leg: str | None = None
    agent: str | None = None  # who answered
    connected_at: float | None = None
    outcome: str = ""  # "connected" once the customer answers, else why not
    finished: bool = False  # every leg is gone: the attempt is over
    saved: bool = False  # its outcome is in the book
    _seq: int = 0

    def new_leg(self) -> str:
        self._seq += 1
        return f"{self.call_id}-a{self._seq}"

    def note(self, kind: str, **fields: str) -> Note:
        return Note(self.call_id, kind, {"task": self.task.id, "queue": self.task.queue, **fields})


def ring(dial: Dial, offer: Offer) -> list[Command]:
    """Ring the agents of the router's offer; the phone shows it is a callback, and to whom."""
    # The topic came from a website or a plan: it never reaches a SIP header with a quote,
    # a bracket, a backslash or a control character in it (the book cleans it too).
    topic = clean_topic(dial.task.topic) or dial.task.queue
    kept = "".join(ch for ch in f"Callback {topic}" if ch not in '"<>\\')
    shown = " ".join(kept.split())[:60]
    caller_id = f'"{shown}" <{dial.task.number}>'
    commands: list[Command] = []
    for agent_id, endpoint in zip(offer.agent_ids, offer.endpoints, strict=True):
        leg = dial.new_leg()
        dial.legs[leg] = agent_id
        commands.append(dial.note("ring", agent=agent_id, leg=leg))
        commands.append(
            RingAgent(dial.call_id, leg, agent_id, endpoint, caller_id, offer.ring_timeout)
        )
    return commands


def handle(dial: Dial, router: Router, event: CallEvent, now: float) -> list[Command]:
    """React to a leg's answer or end; `dial.outcome` is set once the attempt is over."""
    match event:
        case AgentAnswered(leg_id=leg) if leg == dial.customer_leg:
            dial.connected_at = now
            dial.outcome = "connected"
            assert dial.agent_leg is not None and dial.agent is not None
            return [
                StopMusic(dial.agent_leg),
                BridgeLegs(dial.call_id, dial.agent_leg, leg),
                dial.note("callback_connected", agent=dial.agent),
            ]
        case AgentAnswered(leg_id=leg):
            return _agent_answered(dial, router, leg, now)
        case AgentLegEnded(leg_id=leg, cause=cause):
            return _leg_ended(dial, router, leg, cause, now)
    return []


def cancel(dial: Dial, router: Router, now: float) -> list[Command]:
    """Stop the attempt (shutdown): every leg dropped, the agent freed."""
    router.abandon(dial.call_id, now)
    dial.outcome = dial.outcome or "cancelled"
    dial.finished = True
    commands: list[Command] = [DropLeg(dial.call_id, leg) for leg in dial.legs]
    if dial.connected_at is not None:
        commands.append(CloseBridge(dial.call_id))
    return commands


def _agent_answered(dial: Dial, router: Router, leg: str, now: float) -> list[Command]:
    agent = dial.legs.get(leg)
    if agent is None or dial.agent is not None:
        return [DropLeg(dial.call_id, leg)]
    if not router.ring_answered(dial.call_id, agent, now).accepted:
        return [DropLeg(dial.call_id, leg)]
    commands: list[Command] = [
        DropLeg(dial.call_id, other) for other, who in dial.legs.items() if other != leg
    ]
    dial.legs = {leg: agent}
    dial.agent_leg = leg
    dial.agent = agent
    customer = dial.new_leg()
    dial.customer_leg = customer
    dial.legs[customer] = CUSTOMER
    commands += [
        dial.note("callback_dialling", agent=agent, leg=customer),
        StartMusic(leg),  # the agent is not left in silence while the customer's phone rings
        RingAgent(
            dial.call_id,
            customer,
            CUSTOMER,
            dial.customer_endpoint,
            dial.customer_caller_id,
            dial.ring_seconds,
        ),
    ]
    return commands


def _leg_ended(dial: Dial, router: Router, leg: str, cause: LegEnd, now: float) -> list[Command]:
    rung = dial.legs.pop(leg, None)
    if rung is None:
        return []
    if dial.agent is None:
        # A ring to an agent that failed: the router offers the callback to someone else.
        if cause != "hangup":
            router.ring_failed(dial.call_id, rung, now, cause)
        return []
    router.call_ended(dial.agent, now, dial.call_id)
    commands: list[Command] = [DropLeg(dial.call_id, other) for other in dial.legs]
    dial.legs.clear()
    dial.finished = True
    if dial.connected_at is not None:
        talk = f"{now - dial.connected_at:.1f}"
        commands += [CloseBridge(dial.call_id), dial.note("callback_ended", talk=talk)]
    elif leg == dial.customer_leg:
        dial.outcome = "busy" if cause == "busy" else "no-answer"
    else:
        dial.outcome = "agent-hung-up"
    return commands
