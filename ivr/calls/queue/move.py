"""A supervisor moves a waiting caller to another queue: same priority, same time waited.

The caller keeps their music and hears nothing of it; phones ringing for them stop, and the
new queue's agents, overflow steps and service level apply from now on (its max_wait counts
from their first join, as after a restart).
"""

from __future__ import annotations

from ivr.calls.call import Call
from ivr.calls.commands import CancelTimer, Command
from ivr.calls.legs import DropLeg
from ivr.calls.queue import overflow
from ivr.calls.queue.wait import QueueWait
from ivr.calls.step import Step
from ivr.plan.handoffs import QueueNode
from ivr.routing.results import RoutingError
from ivr.routing.router import Router


def refusal(call: Call | None, router: Router, queue: str) -> tuple[int, str] | None:
    """Why the caller cannot be moved to `queue`, as an HTTP status and a reason; None: it can."""
    if call is None:
        return 404, "no call of that id is in progress"
    wait = call.step
    if not isinstance(wait, QueueWait) or wait.agent_leg is not None or call.hanging_up:
        return 409, "the caller is not waiting in a queue (answered, in a menu or leaving)"
    try:
        router.queue_spec(queue)
    except RoutingError as exc:
        return 400, str(exc)
    if queue == wait.queue:
        return 409, f"the caller already waits in '{queue}'"
    return None


def move(call: Call, router: Router, queue: str, by: str, now: float) -> Step:
    """Take the waiting caller out of their queue and into `queue`, in their place by priority
    and join time; the caller's wait goes on. Nothing when `refusal` says no."""
    if refusal(call, router, queue) is not None:
        return Step()
    wait = call.step
    assert isinstance(wait, QueueWait)
    node = call.plan.node(call.node)
    priority = node.priority if isinstance(node, QueueNode) else 0
    stop = router.withdraw(call.id, now)
    commands: list[Command] = [
        DropLeg(call.id, leg) for leg, agent in wait.legs.items() if agent in stop
    ]
    router.rejoin(call.id, queue, now, priority, wait.joined_at)
    spec = router.queue_spec(queue)
    came_from = wait.queue
    wait.queue = queue
    wait.sla_seconds = spec.sla_seconds
    wait.announce_every = spec.announce_every
    # The old queue's overflow steps are no longer this caller's; the new one's start afresh.
    wait.steps = tuple(spec.overflow)
    wait.taken = set()
    wait.callback_open = wait.callback_open or not any(s.offer_callback for s in spec.overflow)
    commands.append(CancelTimer(call.id, overflow.TIMER))
    waited = f"{now - wait.joined_at:.1f}"
    commands.append(call.note("queue_moved", queue=queue, came_from=came_from, by=by, wait=waited))
    steps = overflow.check(call, router, wait, now)
    return Step(commands + steps.commands, goto=steps.goto)
