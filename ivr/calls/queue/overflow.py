"""A queue's overflow steps for one waiting caller: which triggers hold now, and their actions.

Checked when the caller joins, when a `waited` step falls due, and every few seconds while a
step that watches the queue (estimated wait, callers, agents, hours) is still open. A look
costs the same at 50 agents or 5,000: the router keeps the staffing of every requirement as
agents change (ivr/routing/tallies.py) and finds a caller's place by bisection.
"""

from __future__ import annotations

import contextlib

from ivr.calls.call import Call
from ivr.calls.commands import CancelTimer, Command, StartTimer
from ivr.calls.legs import DropLeg, StopMusic
from ivr.calls.queue.wait import QueueWait
from ivr.calls.step import Step
from ivr.plan.queues import OverflowStep
from ivr.routing.results import RoutingError
from ivr.routing.router import Router

TIMER = "overflow"
POLL_SECONDS = 5.0  # how often steps that watch the queue look again


def check(call: Call, router: Router, wait: QueueWait, now: float) -> Step:
    """Take every open step whose trigger holds; then arm the next look."""
    commands: list[Command] = []
    if wait.agent_leg is not None:
        return Step()
    for index, step in enumerate(wait.steps):
        if index in wait.taken or not _holds(step, call, router, wait, now):
            continue
        wait.taken.add(index)
        fields = {"queue": wait.queue, "step": step.label, "action": step.action}
        if step.goto is not None:
            stop = router.withdraw(call.id, now)
            commands += [DropLeg(call.id, leg) for leg, agent in wait.legs.items() if agent in stop]
            commands += [StopMusic(call.id), *call.stop_playback(), *call.cancel_timer()]
            commands.append(CancelTimer(call.id, TIMER))
            commands.append(call.note("overflow", **fields, trigger=step.trigger))
            waited = f"{now - wait.joined_at:.1f}"
            sla = f"{wait.sla_seconds:g}"
            commands.append(
                call.note("queue_exit", queue=wait.queue, reason="overflow", wait=waited, sla=sla)
            )
            return Step(commands, goto=step.goto)
        commands.append(call.note("overflow", **fields, trigger=step.trigger))
        commands += _act(call, router, wait, step)
    commands += _arm(call, wait, now)
    return Step(commands)


def _holds(step: OverflowStep, call: Call, router: Router, wait: QueueWait, now: float) -> bool:
    match step.trigger:
        case "waited":
            return now - wait.joined_at >= (step.waited or 0.0) - 1e-6
        case "estimated_wait":
            estimate = router.estimated_wait(call.id, now)
            return estimate is not None and estimate > (step.estimated_wait or 0.0)
        case "callers_over":
            # Callers ahead, not behind: a long line behind never sends the first caller away.
            position = router.position(call.id) or 0
            return position - 1 > (step.callers_over or 0)
        case "no_agents":
            return router.staffed_for(call.id) == 0
        case "outside_hours":
            return not router.in_house_on_duty(wait.queue)
    return False


def _act(call: Call, router: Router, wait: QueueWait, step: OverflowStep) -> list[Command]:
    try:
        _widen(call.id, router, step)
    except RoutingError as exc:
        # A step that would narrow after earlier ones: skip it, the caller keeps their place.
        return [call.note("overflow_skipped", queue=wait.queue, step=step.label, why=str(exc))]
    if step.offer_callback:
        if wait.callback is None:
            why = "the queue node has no callback node"
            return [call.note("overflow_skipped", queue=wait.queue, step=step.label, why=why)]
        wait.callback_open = True
        return [StopMusic(call.id), *call.stop_playback(), *call.play(list(wait.callback_offer))]
    return []


def widen_again(call: Call, router: Router, step: OverflowStep) -> None:
    """A step taken before a restart widens the rejoined caller again (nothing is noted: it
    was when the step was taken; one that was skipped then is skipped again)."""
    with contextlib.suppress(RoutingError):
        _widen(call.id, router, step)


def _widen(call_id: str, router: Router, step: OverflowStep) -> None:
    if step.lower_levels is not None:
        router.widen(call_id, lower_levels=step.lower_levels)
    elif step.skills is not None:
        router.widen(call_id, skills=step.skills)
    elif step.add_team is not None:
        router.widen(call_id, add_teams=[step.add_team])


def _arm(call: Call, wait: QueueWait, now: float) -> list[Command]:
    waited = now - wait.joined_at
    delays = []
    for index, step in enumerate(wait.steps):
        if index in wait.taken:
            continue
        if step.waited is not None:
            delays.append(max(0.0, step.waited - waited))
        else:
            delays.append(POLL_SECONDS)
    commands: list[Command] = [CancelTimer(call.id, TIMER)]
    if delays:
        commands.append(StartTimer(call.id, TIMER, min(delays)))
    return commands
