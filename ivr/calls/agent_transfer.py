"""Agents' transfers of an answered queue call: blind to a queue, an agent or a number; warm
(the caller on hold music while the agent consults the target, then complete, cancel or a
three-way call that either agent may leave).

The call stays one call whatever agents it passes through: one bridge (so one recording that
hears every agent), one held call in the router, one journal. The caller's context (topic,
variables, language, the first agent's note) goes with them to the next agent's screen pop.
A transfer that fails (busy, no answer, the target hangs up during the consult) puts the
caller back with the agent who transferred, never in silence.

While the target rings or consults, the caller is out of the bridge hearing music; the first
agent stays in the bridge, where the target's leg joins them for the consult.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.calls.call import Call
from ivr.calls.commands import Command, HangUp, JoinBridge, LeaveBridge
from ivr.calls.events import CallEvent, TransferRequest
from ivr.calls.legs import AgentAnswered, AgentLegEnded, DropLeg, RingAgent, StartMusic, StopMusic
from ivr.calls.queue.wait import QueueWait
from ivr.calls.step import Step
from ivr.plan.handoffs import QueueNode
from ivr.routing.results import RoutingError
from ivr.routing.router import Router

MODES = ("blind", "warm")
TARGETS = ("queue", "agent", "number")
ACTIONS = ("complete", "cancel", "conference", "leave", "note")
NOTE_LENGTH = 500  # characters of an agent's note kept with the call
NUMBER_RING_SECONDS = 30.0  # how long an outside number rings before the caller comes back


@dataclass
class Consult:
    """A transfer under way: the target's leg rings, or talks with the agent who asked."""

    mode: str  # blind | warm
    kind: str  # agent | number
    target: str  # the agent id, or the dial string of a number
    shown: str  # what notes show of the target (the agent id, or the number)
    leg: str
    by: str  # the agent who asked
    by_leg: str
    answered: bool = False
    conference: bool = False  # three-way: the caller is back in the bridge with both


@dataclass
class Handover:
    """What a call keeps of its transfers: the note that travels, who passed it on, every
    agent it has been with (in order), and the transfer under way."""

    note: str = ""
    transferred_by: str = ""
    agents: list[str] = field(default_factory=list)
    consult: Consult | None = None
    external: bool = False  # handed to an outside number: no agent of ours holds it now


def state(wait: QueueWait) -> Handover:
    """The call's transfer state, made on first use."""
    if not isinstance(wait.handover, Handover):
        wait.handover = Handover(agents=[wait.agent] if wait.agent else [])
    return wait.handover


def context(wait: QueueWait) -> dict[str, str]:
    """Fields for the next answer's note (the screen pop): who transferred, and the note."""
    handover = wait.handover
    if not isinstance(handover, Handover) or not handover.transferred_by:
        return {}
    return {"transferred_by": handover.transferred_by, "note": handover.note}


def call_of(calls: dict[str, Call], agent_id: str) -> Call | None:
    """The answered call `agent_id` holds, or is the target of a transfer on (ringing,
    consulting or in a three-way call)."""
    for call in calls.values():
        wait = call.step
        if not isinstance(wait, QueueWait) or wait.agent_leg is None or wait.agent_gone:
            continue
        if wait.agent == agent_id:
            return call
        handover = wait.handover
        consult = handover.consult if isinstance(handover, Handover) else None
        if consult is not None and consult.kind == "agent" and consult.target == agent_id:
            return call
    return None


def refusal(call: Call | None, router: Router, request: TransferRequest) -> tuple[int, str] | None:
    """Why the request cannot be carried out now, as an HTTP status and a message the agent's
    page can show; None when it can."""
    if call is None or not isinstance(call.step, QueueWait):
        return 409, "the agent is on no answered call"
    wait = call.step
    handover = state(wait)
    consult = handover.consult
    holder = wait.agent == request.agent_id
    action = request.action
    if action in MODES:
        if not holder or handover.external:
            return 409, "only the agent who holds the call can transfer it"
        if wait.connecting:
            return 409, "the recording announcement is still playing; try again in a moment"
        if consult is not None:
            return 409, "a transfer is already under way: complete or cancel it first"
        if request.target_kind not in TARGETS:
            return 400, '`to` must be {"queue": Q}, {"agent": A} or {"number": N}'
        if request.target_kind == "queue":
            if action == "warm":
                return 400, "a warm transfer goes to an agent or a number; send a queue blind"
            try:
                router.queue_spec(request.target)
            except RoutingError:
                return 404, f"no queue '{request.target}'"
        if request.target_kind == "agent":
            if request.target == request.agent_id:
                return 400, "an agent cannot transfer a call to themselves"
            try:
                view = router.agent(request.target)
            except RoutingError:
                return 404, f"no agent '{request.target}'"
            if str(view.state) != "available":
                return 409, f"agent '{request.target}' is {view.state}, not available"
        return None
    if action == "note":
        return None if holder else (409, "only the agent who holds the call can note on it")
    if consult is None:
        return 409, "no transfer is under way on this call"
    if action == "leave":
        if not consult.conference:
            return 409, "leave is for a three-way call; cancel or complete a consult"
        return None
    if not holder:
        return 409, "only the agent who asked for the transfer can " + action + " it"
    if consult.mode != "warm":
        return 409, "a blind transfer completes by itself when the target answers"
    if action in ("complete", "conference") and not consult.answered:
        return 409, "the target has not answered yet: wait, or cancel"
    if action == "conference" and consult.conference:
        return 409, "the call is already a three-way call"
    return None


def handle(call: Call, router: Router, wait: QueueWait, event: CallEvent, now: float
           ) -> Step | None:  # fmt: skip
    """The transfer's reaction to `event`; None when the event is none of its business."""
    handover = wait.handover if isinstance(wait.handover, Handover) else None
    match event:
        case TransferRequest():
            if refusal(call, router, event) is not None:
                return Step()  # the API checked already; a late request changes nothing
            return _request(call, router, wait, state(wait), event, now)
        case _ if handover is None:
            return None
        case AgentAnswered(leg_id=leg) if handover.consult and leg == handover.consult.leg:
            return _target_answered(call, router, wait, handover, handover.consult, now)
        case AgentLegEnded(leg_id=leg, cause=cause) if (
            handover.consult and leg == handover.consult.leg
        ):
            return _target_gone(call, router, wait, handover, handover.consult, cause, now)
        case AgentLegEnded(leg_id=leg) if handover.consult and leg == wait.agent_leg:
            return _holder_gone(call, router, wait, handover, handover.consult, now)
        case AgentLegEnded(leg_id=leg) if handover.external and leg == wait.agent_leg:
            # The outside party hung up: so does the caller (nobody of ours is on the line).
            talk = f"{now - (wait.answered_at or now):.1f}"
            wait.agent_gone = True
            note = call.note("agent_hung_up", queue=wait.queue, agent=wait.agent or "", talk=talk)
            return Step([note, HangUp(call.id)])
    return None


def caller_left(call: Call, router: Router, wait: QueueWait, now: float) -> list[Command]:
    """The caller hung up: drop a transfer's leg and let every other agent on the call go
    (wrap-up); the caller's own leaving is then counted as usual. With the call handed to an
    outside number the router no longer holds it."""
    handover = wait.handover
    if not isinstance(handover, Handover):
        return []
    commands: list[Command] = []
    consult = handover.consult
    if consult is not None:
        handover.consult = None
        wait.legs.pop(consult.leg, None)
        commands.append(DropLeg(call.id, consult.leg))
        note = call.note("agent_transfer_failed", agent=consult.by, to=consult.shown,
                         reason="caller-hung-up")  # fmt: skip
        commands.append(note)
    router.finish_others(call.id, now)
    return commands


# Requests.


def _request(call: Call, router: Router, wait: QueueWait, handover: Handover,
             request: TransferRequest, now: float) -> Step:  # fmt: skip
    match request.action:
        case "note":
            handover.note = request.text[:NOTE_LENGTH]
            note = call.note("agent_note", agent=request.agent_id,
                             length=str(len(handover.note)))  # fmt: skip
            return Step([note])
        case "blind" | "warm" if request.target_kind == "queue":
            return _blind_to_queue(call, router, wait, handover, request.target, now)
        case "blind" | "warm":
            return _ring_target(call, router, wait, handover, request, now)
    consult = handover.consult
    assert consult is not None
    match request.action:
        case "complete":
            return _complete(call, router, wait, handover, consult, now)
        case "cancel":
            return _cancel(call, router, wait, handover, consult, now)
        case "conference":
            consult.conference = True
            note = call.note("agent_conference", agent=consult.by, to=consult.shown)
            return Step([note, StopMusic(call.id), JoinBridge(call.id, call.id)])
        case "leave":
            return _leave(call, router, wait, handover, consult, request.agent_id, now)
    return Step()


def _blind_to_queue(call: Call, router: Router, wait: QueueWait, handover: Handover,
                    queue: str, now: float, on_hold: bool = False) -> Step:  # fmt: skip
    """The caller waits in `queue` with music, keeping their priority and their place from
    their first join; the agent goes to wrap-up. The next answer's screen pop says who sent
    them and the note."""
    agent = wait.agent or ""
    leg = wait.agent_leg or ""
    talk = f"{now - (wait.answered_at or now):.1f}"
    router.call_ended(agent, now, call.id)
    node = call.plan.node(call.node)
    priority = node.priority if isinstance(node, QueueNode) else 0
    router.enqueue(call.id, queue, now, priority, since=wait.joined_at)
    spec = router.queue_spec(queue)
    handover.transferred_by = agent
    handover.consult = None
    # A fresh wait in the new queue, its time counted from the first join; the recording
    # (one per call) and the survey of the first queue go on with it.
    wait.queue = queue
    wait.announce_every = spec.announce_every
    wait.sla_seconds = spec.sla_seconds
    wait.legs.clear()
    wait.agent_leg = None
    wait.answered_at = None
    wait.steps = ()
    wait.taken = set()
    wait.callback = None
    commands: list[Command] = [
        call.note("agent_transfer", agent=agent, mode="blind", to_kind="queue", to=queue,
                  talk=talk),
        call.note("queue_join", queue=queue, priority=str(priority)),
    ]  # fmt: skip
    if not on_hold:  # else the caller is out of the bridge, on music already
        commands += [LeaveBridge(call.id, call.id), DropLeg(call.id, leg),
                     StartMusic(call.id, wait.music)]  # fmt: skip
    if wait.announce_every:
        commands.append(call.start_timer(wait.announce_every))
    return Step(commands)


def _ring_target(call: Call, router: Router, wait: QueueWait, handover: Handover,
                 request: TransferRequest, now: float) -> Step:  # fmt: skip
    """Put the caller on hold music and ring the target."""
    if request.target_kind == "agent":
        if not router.reserve(request.target, call.id, now):
            return Step()  # taken meanwhile: refusal() said so to the API a moment ago
        view = router.agent(request.target)
        endpoint, timeout = view.endpoint, router.queue_spec(wait.queue).ring_timeout
        shown = request.target
    else:
        endpoint, timeout = request.target, NUMBER_RING_SECONDS
        shown = request.target.partition("/")[2].partition("@")[0]
    leg = call.new_leg()
    holder = wait.agent or ""
    wait.legs[leg] = request.target if request.target_kind == "agent" else ""
    handover.consult = Consult(request.action, request.target_kind, request.target, shown, leg,
                               holder, wait.agent_leg or "")  # fmt: skip
    # Imported here: the queue node hands its events to this module first.
    from ivr.calls.queue.node import caller_id

    commands: list[Command] = [
        call.note("agent_transfer", agent=holder, mode=request.action,
                  to_kind=request.target_kind, to=shown, leg=leg),
        LeaveBridge(call.id, call.id),
        StartMusic(call.id, wait.music),
        RingAgent(call.id, leg, request.target if request.target_kind == "agent" else "",
                  endpoint, caller_id(call, wait.queue), timeout),
    ]  # fmt: skip
    return Step(commands)


# The target's leg.


def _target_answered(call: Call, router: Router, wait: QueueWait, handover: Handover,
                     consult: Consult, now: float) -> Step:  # fmt: skip
    consult.answered = True
    if consult.kind == "agent":
        router.consulting(consult.target, call.id, now)
    team = router.agent(consult.target).team if consult.kind == "agent" else ""
    # What the target should know before saying hello: the screen pop, with the first
    # agent's note and who transfers the call.
    pop = call.note(
        "agent_transfer_answered",
        queue=wait.queue,
        agent=consult.shown,
        team=team,
        mode=consult.mode,
        transferred_by=consult.by,
        note=handover.note,
        topic=call.tags[-1] if call.tags else "",
        language=call.language,
        caller_number=call.caller.number,
        **{f"var_{name}": value for name, value in call.shown_vars().items()},
    )
    if consult.mode == "blind":
        done = _complete(call, router, wait, handover, consult, now)
        return Step([pop, JoinBridge(call.id, consult.leg), *done.commands])
    return Step([pop, JoinBridge(call.id, consult.leg)])


def _target_gone(call: Call, router: Router, wait: QueueWait, handover: Handover,
                 consult: Consult, cause: str, now: float) -> Step:  # fmt: skip
    """The target did not answer, was busy, or hung up during the consult: the caller is
    back with the agent who transferred. In a three-way call the target just left."""
    handover.consult = None
    wait.legs.pop(consult.leg, None)
    if consult.conference:
        if consult.kind == "agent":
            router.let_go_of(call.id, consult.target, now)
        return Step([call.note("agent_left", agent=consult.shown, stays=consult.by)])
    if consult.kind == "agent":
        router.release_target(consult.target, call.id, now)
    reason = "hung-up-in-consult" if consult.answered else cause
    note = call.note("agent_transfer_failed", agent=consult.by, to=consult.shown, reason=reason)
    return Step([note, StopMusic(call.id), JoinBridge(call.id, call.id)])


def _holder_gone(call: Call, router: Router, wait: QueueWait, handover: Handover,
                 consult: Consult, now: float) -> Step:  # fmt: skip
    """The agent who transferred hung up: an answered consult or a three-way call goes on
    with the target; a target still ringing is given up and the caller waits in line again."""
    if consult.answered:
        return _complete(call, router, wait, handover, consult, now, drop_holder=False)
    handover.consult = None
    wait.legs.pop(consult.leg, None)
    if consult.kind == "agent":
        router.release_target(consult.target, call.id, now)
    failed = call.note("agent_transfer_failed", agent=consult.by, to=consult.shown,
                       reason="agent-hung-up")  # fmt: skip
    step = _blind_to_queue(call, router, wait, handover, wait.queue, now, on_hold=True)
    return Step([failed, DropLeg(call.id, consult.leg), *step.commands])


def _complete(call: Call, router: Router, wait: QueueWait, handover: Handover, consult: Consult,
              now: float, drop_holder: bool = True) -> Step:  # fmt: skip
    """The caller is the target's now: the agent who transferred leaves (wrap-up)."""
    talk = f"{now - (wait.answered_at or now):.1f}"
    if consult.kind == "agent":
        router.hand_over(call.id, consult.target, now)
        wait.team = router.agent(consult.target).team
    else:
        router.call_ended(consult.by, now, call.id)  # the call has left our agents
        handover.external = True
        wait.team = ""
    commands: list[Command] = [
        call.note("agent_transfer_done", agent=consult.by, to=consult.shown, mode=consult.mode,
                  talk=talk),
    ]  # fmt: skip
    if drop_holder:
        commands.append(DropLeg(call.id, consult.by_leg))
    wait.legs.pop(consult.by_leg, None)
    wait.agent_leg = consult.leg
    wait.answered_at = now
    handover.transferred_by = consult.by
    handover.agents.append(consult.shown)
    was_conference = consult.conference
    handover.consult = None
    if not was_conference:
        commands += [StopMusic(call.id), JoinBridge(call.id, call.id)]
    return Step(commands)


def _cancel(call: Call, router: Router, wait: QueueWait, handover: Handover, consult: Consult,
            now: float) -> Step:  # fmt: skip
    handover.consult = None
    wait.legs.pop(consult.leg, None)
    if consult.kind == "agent":
        router.release_target(consult.target, call.id, now)
    note = call.note("agent_transfer_cancelled", agent=consult.by, to=consult.shown)
    commands: list[Command] = [note, DropLeg(call.id, consult.leg)]
    if not consult.conference:
        commands += [StopMusic(call.id), JoinBridge(call.id, call.id)]
    return Step(commands)


def _leave(call: Call, router: Router, wait: QueueWait, handover: Handover, consult: Consult,
           agent_id: str, now: float) -> Step:  # fmt: skip
    """One agent of a three-way call leaves; the caller stays with the other."""
    if agent_id == consult.by:
        step = _complete(call, router, wait, handover, consult, now)
        return Step([call.note("agent_left", agent=agent_id, stays=consult.shown),
                     *step.commands])  # fmt: skip
    handover.consult = None
    wait.legs.pop(consult.leg, None)
    if consult.kind == "agent":
        router.let_go_of(call.id, consult.target, now)
    note = call.note("agent_left", agent=consult.shown, stays=consult.by)
    return Step([note, DropLeg(call.id, consult.leg)])
