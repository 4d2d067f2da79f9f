"""The queue node: a caller waits with music, agents are rung by the router's offers, the
first to answer is bridged; announcements of position and wait come every N seconds."""

from __future__ import annotations

from ivr.calls import agent_transfer
from ivr.calls.call import Call
from ivr.calls.commands import CancelTimer, Command, HangUp
from ivr.calls.events import (
    CallEvent,
    DigitPressed,
    PromptFinished,
    RecordingControl,
    TimerFired,
)
from ivr.calls.legs import (
    AgentAnswered,
    AgentLegEnded,
    Bridge,
    CloseBridge,
    DropLeg,
    RingAgent,
    StartMusic,
    StopMusic,
)
from ivr.calls.queue import overflow, recording
from ivr.calls.queue.wait import QueueHeld, QueueWait
from ivr.calls.step import Step
from ivr.plan.handoffs import QueueNode
from ivr.plan.queues import QueueSpec
from ivr.routing.agents import TRUNK_PREFIX
from ivr.routing.results import Exit, Offer
from ivr.routing.router import Router

__all__ = ["QueueWait", "exit_queue", "handle", "join", "leave", "resume", "ring"]

# Stock Asterisk sounds for the periodic announcement.
YOU_ARE_NEXT = "sound:queue-youarenext"
THERE_ARE = "sound:queue-thereare"
CALLS_WAITING = "sound:queue-callswaiting"
HOLD_TIME = "sound:queue-holdtime"
MINUTES = "sound:queue-minutes"
LESS_THAN = "sound:queue-less-than"


def join(call: Call, router: Router, node: QueueNode, now: float) -> Step:
    """Put the caller in the node's queue: its prompt (if any), then music on hold; straight
    to the queue's exit when it is full."""
    exit_ = router.enqueue(call.id, node.queue, now, node.priority)
    if exit_ is not None:
        note = call.note("queue_full", queue=node.queue)
        return Step([note], goto=exit_.node or None, hang_up=not exit_.node, outcome="failed")
    spec = router.queue_spec(node.queue)
    # With an offer_callback step the key works once that step has offered it.
    wait = _new_wait(node, spec, now, not any(step.offer_callback for step in spec.overflow))
    call.step = wait
    call.queue_joined_at = now
    commands: list[Command] = [
        call.note("queue_join", queue=node.queue, priority=str(node.priority)),
    ]
    if node.prompt:
        # Music starts when the prompt ends (see handle: PromptFinished).
        commands += call.play(node.prompt)
    else:
        commands.append(StartMusic(call.id, wait.music))
        if wait.announce_every:
            commands.append(call.start_timer(wait.announce_every))
    steps = overflow.check(call, router, wait, now)
    return Step(commands + steps.commands, goto=steps.goto)


def rejoin(call: Call, router: Router, node: QueueNode, held: QueueHeld, now: float) -> Step:
    """A caller a restart took away from the queue: back in their place, their wait counted
    from their first join, the overflow steps they had kept; music on hold again, or their
    talk with the agent goes on when the agent's leg is still up."""
    spec = router.queue_spec(node.queue)
    wait = _new_wait(node, spec, held.joined_at, held.callback_open)
    wait.taken = {index for index in held.taken if index < len(spec.overflow)}
    call.step = wait
    call.queue_joined_at = held.joined_at
    agent, leg, answered_at = held.agent, held.leg, held.answered_at
    if (
        agent is not None
        and leg is not None
        and answered_at is not None
        and router.rejoin_talking(
            call.id, node.queue, agent, node.priority, held.joined_at, answered_at
        )
    ):
        wait.legs[leg] = agent
        wait.agent_leg = leg
        wait.answered_at = answered_at
        wait.team = router.agent(agent).team
        call.outcome = "overflowed_external" if agent.startswith(TRUNK_PREFIX) else "answered"
        # A crash between the answer and the bridge leaves them apart: bridge them (again).
        return Step([StopMusic(leg), Bridge(call.id, leg)])
    router.rejoin(call.id, node.queue, now, node.priority, held.joined_at)
    for index in sorted(wait.taken):
        overflow.widen_again(call, router, spec.overflow[index])
    commands: list[Command] = [StartMusic(call.id, wait.music)]
    if held.leg is not None:
        commands.append(DropLeg(call.id, held.leg))  # the agent's leg of an unfinished answer
    if wait.announce_every:
        commands.append(call.start_timer(wait.announce_every))
    steps = overflow.check(call, router, wait, now)
    return Step(commands + steps.commands, goto=steps.goto)


def held(call: Call) -> QueueHeld | None:
    """What a restart must keep of the caller's place in the queue, if they hold one."""
    wait = call.step
    if not isinstance(wait, QueueWait):
        return None
    return QueueHeld(
        wait.queue,
        wait.joined_at,
        tuple(sorted(wait.taken)),
        wait.callback_open,
        wait.agent,
        wait.agent_leg,
        wait.answered_at,
    )


def resume(call: Call) -> Step:
    """After the PBX link came back: the caller is still held; give them their music again."""
    wait = _wait(call)
    if wait.agent_leg is not None:
        return Step()
    return Step([StartMusic(call.id, wait.music)])


def ring(call: Call, offer: Offer, caller_id: str) -> list[Command]:
    """Ring the agents of one offer for this caller."""
    wait = _wait(call)
    commands: list[Command] = []
    for agent_id, endpoint in zip(offer.agent_ids, offer.endpoints, strict=True):
        leg = call.new_leg()
        wait.legs[leg] = agent_id
        commands.append(call.note("ring", queue=wait.queue, agent=agent_id, leg=leg))
        commands.append(RingAgent(call.id, leg, agent_id, endpoint, caller_id, offer.ring_timeout))
    return commands


def handle(call: Call, router: Router, event: CallEvent, now: float) -> Step:
    """React to an agent's answer or hang-up, a failed ring, or the announcement timer."""
    wait = _wait(call)
    # An agent's transfer (its request, its target's leg) comes first.
    transferring = agent_transfer.handle(call, router, wait, event, now)
    if transferring is not None:
        return transferring
    match event:
        case AgentAnswered(leg_id=leg):
            return _answered(call, router, wait, leg, now)
        case AgentLegEnded(leg_id=leg, cause=cause) if leg == wait.agent_leg:
            agent = wait.agent or ""
            router.call_ended(agent, now, call.id)
            wait.agent_gone = True  # the caller's own hang-up that follows is no second talk
            talk = now - (wait.answered_at or now)
            note = call.note("agent_hung_up", queue=wait.queue, agent=agent, talk=f"{talk:.1f}")
            commands: list[Command] = [note, *recording.finish(call, wait)]
            if wait.survey is not None:
                # The caller stays on the line for the survey, out of the bridge.
                return Step([*commands, *call.stop_playback(), CloseBridge(call.id)],
                            goto=wait.survey)  # fmt: skip
            return Step([*commands, HangUp(call.id)])
        case RecordingControl(pause=pause):
            return Step(recording.control(call, wait, pause))
        case AgentLegEnded(leg_id=leg, cause=cause):
            agent = wait.legs.pop(leg, "")
            if not agent or cause == "hangup":
                return Step()  # a leg we dropped ourselves (too late, or ring-all's others)
            router.ring_failed(call.id, agent, now, cause)
            return Step([call.note("ring_failed", queue=wait.queue, agent=agent, cause=cause)])
        case TimerFired(timer_id=overflow.TIMER):
            return overflow.check(call, router, wait, now)
        case TimerFired(timer_id=timer) if timer == call.timer and wait.agent_leg is None:
            call.timer = None
            media = _announcement(call, router, now)
            if wait.callback and wait.callback_open:
                media += list(wait.callback_offer)
            return Step([StopMusic(call.id), *call.play(media)])
        case DigitPressed(digit=digit) if (
            wait.callback
            and wait.callback_open
            and digit == wait.callback_key
            and wait.agent_leg is None
        ):
            # Keep the caller's place as a call back instead of a wait on the line.
            commands = _drop_rings(call, router, wait, now)
            commands += [StopMusic(call.id), *call.stop_playback(), *call.cancel_timer()]
            commands.append(CancelTimer(call.id, overflow.TIMER))
            waited, sla = _seconds(wait, now), f"{wait.sla_seconds:g}"
            commands.append(call.note("queue_callback", queue=wait.queue, wait=waited, sla=sla))
            return Step(commands, goto=wait.callback)
        case PromptFinished(playback_id=playback) if playback == call.playback:
            call.playback = None
            if wait.connecting and wait.agent_leg is not None:
                wait.connecting = False
                return Step(recording.connect(call, wait))
            if wait.agent_leg is not None:
                return Step()
            music: list[Command] = [StartMusic(call.id, wait.music)]
            if wait.announce_every:
                music.append(call.start_timer(wait.announce_every))
            return Step(music)
    return Step()


def leave(call: Call, router: Router, now: float) -> list[Command]:
    """The caller hung up: stop every ringing phone (or the agent's leg) and count the abandon."""
    wait = _wait(call)
    if wait.agent_gone:
        return []
    talking = wait.agent_leg is not None
    commands: list[Command] = agent_transfer.caller_left(call, router, wait, now)
    stop = router.abandon(call.id, now)
    if talking and wait.agent_leg:
        talk = now - (wait.answered_at or now)
        agent = wait.agent or ""
        commands.append(
            call.note("caller_hung_up", queue=wait.queue, agent=agent, talk=f"{talk:.1f}")
        )
        commands.append(DropLeg(call.id, wait.agent_leg))
        return commands + recording.finish(call, wait)
    commands += [DropLeg(call.id, leg) for leg, agent in wait.legs.items() if agent in stop]
    call.outcome = "abandoned"
    commands.append(
        call.note(
            "queue_abandoned",
            queue=wait.queue,
            wait=_seconds(wait, now),
            sla=f"{wait.sla_seconds:g}",
        )
    )
    return commands


def lose(call: Call, router: Router, wait: QueueWait, now: float) -> list[Command]:
    """The PBX lost the call while the daemon was away: out of the queue, no abandon."""
    if wait.agent_leg is not None and not wait.agent_gone:
        router.abandon(call.id, now)  # the talk is over: the agent is free (after wrap-up)
        return [DropLeg(call.id, wait.agent_leg), *recording.finish(call, wait)]
    stop = router.withdraw(call.id, now)
    commands: list[Command] = [DropLeg(call.id, leg) for leg, a in wait.legs.items() if a in stop]
    fields = {"queue": wait.queue, "reason": "lost", "wait": _seconds(wait, now)}
    return [*commands, call.note("queue_exit", **fields, sla=f"{wait.sla_seconds:g}")]


def _drop_rings(call: Call, router: Router, wait: QueueWait, now: float) -> list[Command]:
    stop = router.abandon(call.id, now)
    return [DropLeg(call.id, leg) for leg, agent in wait.legs.items() if agent in stop]


def exit_queue(call: Call, exit_: Exit, now: float) -> Step:
    """The caller waited past max_wait: leave with the music off, for the queue's exit node."""
    wait = _wait(call)
    commands: list[Command] = [StopMusic(call.id)]
    commands.append(
        call.note(
            "queue_exit",
            queue=exit_.queue,
            reason=exit_.reason,
            wait=_seconds(wait, now),
            sla=f"{wait.sla_seconds:g}",
        )
    )
    return Step(commands, goto=exit_.node or None, hang_up=not exit_.node)


def _answered(call: Call, router: Router, wait: QueueWait, leg: str, now: float) -> Step:
    agent = wait.legs.get(leg)
    if agent is None:
        return Step([DropLeg(call.id, leg)])
    answer = router.ring_answered(call.id, agent, now)
    if not answer.accepted:
        return Step([DropLeg(call.id, leg)])
    commands: list[Command] = [
        DropLeg(call.id, other) for other, who in wait.legs.items() if who in answer.stop_ringing
    ]
    commands += call.stop_playback() + call.cancel_timer()
    commands.append(CancelTimer(call.id, overflow.TIMER))
    wait.agent_leg = leg
    wait.answered_at = now
    # The partner's own PBX took the call: it left our agents for good.
    call.outcome = "overflowed_external" if agent.startswith(TRUNK_PREFIX) else "answered"
    team = wait.team = router.team_of(agent)
    # A call an agent transferred here is recorded already (one recording per call).
    policy = None if wait.recording else recording.policy(router, wait.queue, team, call.id)
    commands.append(StopMusic(call.id))
    if policy is not None:
        # Callers hear that the call may be recorded before anyone speaks; the agent waits
        # with music meanwhile.
        wait.recording = policy
        wait.connecting = True
        commands += [StartMusic(leg), *call.play(list(policy.announce))]
    else:
        commands.append(Bridge(call.id, leg))
    commands += [
        call.note(
            "answered",
            queue=wait.queue,
            agent=agent,
            team=team,
            wait=_seconds(wait, now),
            sla=f"{wait.sla_seconds:g}",
            # What the agent should know before saying hello (the screen pop).
            topic=call.tags[-1] if call.tags else "",
            language=call.language,
            caller_number=call.caller.number,
            **{f"var_{name}": value for name, value in call.shown_vars().items()},
            **agent_transfer.context(wait),
        ),
    ]
    return Step(commands)


def _announcement(call: Call, router: Router, now: float) -> list[str]:
    position = router.position(call.id) or 1
    if position == 1:
        media = [YOU_ARE_NEXT]
    else:
        media = [THERE_ARE, f"sound:digits/{min(position - 1, 20)}", CALLS_WAITING]
    estimate = router.estimated_wait(call.id, now)
    if estimate is not None:
        minutes = max(1, round(estimate / 60))
        media += (
            [HOLD_TIME, LESS_THAN, f"sound:digits/{min(minutes, 20)}", MINUTES]
            if (minutes <= 1)
            else [HOLD_TIME, f"sound:digits/{min(minutes, 20)}", MINUTES]
        )
    return media


def _seconds(wait: QueueWait, now: float) -> str:
    return f"{now - wait.joined_at:.1f}"


def _wait(call: Call) -> QueueWait:
    assert isinstance(call.step, QueueWait)
    return call.step


# What a caller id's display name may not hold: quotes, angle brackets, backslashes.
_UNQUOTED = str.maketrans("", "", '"<>\\')


def caller_id(call: Call, queue: str) -> str:
    """What the agent's phone shows: the call's topic first, then who is calling."""
    topic = call.tags[-1] if call.tags else queue
    who = call.caller.name or call.caller.number or "unknown"
    name = f"{topic}: {who}".translate(_UNQUOTED)
    return f'"{name[:60]}" <{call.caller.number}>' if call.caller.number else f'"{name[:60]}"'


def _new_wait(node: QueueNode, spec: QueueSpec, joined_at: float, callback_open: bool) -> QueueWait:
    """A caller's time in the node's queue, from `joined_at`."""
    return QueueWait(
        node.queue,
        joined_at,
        "default",
        spec.announce_every,
        spec.sla_seconds,
        node.callback,
        node.callback_key,
        tuple(node.callback_offer),
        callback_open=callback_open,
        steps=tuple(spec.overflow),
        survey=node.survey,
    )
