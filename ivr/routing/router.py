"""The routing engine: which waiting caller rings which agent, and when.

Pure and single-threaded: no I/O, no clock. Every method that depends on time takes `now`
(seconds, from the injected clock, never decreasing). Adapters feed it events and carry out
what it answers:

    router.enqueue(call_id, "returns", now)        # a caller joins a queue
    for offer in router.dispatch(now): ...         # ring offer.endpoints for offer.call_id
    router.ring_answered(call_id, agent_id, now)   # bridge; stop ringing RingAnswer.stop_ringing
    router.ring_failed(call_id, agent_id, now, "no-answer")
    router.call_ended(agent_id, now)               # wrap-up starts
    router.tick(now)                               # at router.next_due(): wrap-ups, max-wait exits

Call `dispatch(now)` after every event batch and whenever `next_due()` passes; it is cheap
when nothing changed.

Rules:
- Order: higher priority first; within a priority, the caller who joined first. It is one order
  across all queues. The first waiting caller that has an eligible offerable agent is served first.
- Eligible: the agent meets the caller's requirement (every minimum level, an allowed team) and
  has not missed this caller within the last `ring_timeout` seconds (so the next offer after a
  miss goes to another agent when there is one).
- Offerable: signed in, not paused, not in wrap-up, device reachable and not busy, not ringing
  (a trunk may ring several calls) and below `max_concurrent` calls.
- Several lines (`max_concurrent` above 1): rings and talks are kept per call, so the end of
  one call frees that line only; wrap-up is per call and holds new offers until the latest
  one is over; the device's own "busy" is not held against an agent who has calls of ours
  (the phone is busy with them). See agents.py.
- Races: PBX events that no longer apply (an answer after the caller hung up, a second answer
  in ring-all, a failure for a ring already stopped, an unknown call id) are ignored and
  reported as False / empty results, never raised. Unknown agents, queues and teams, a call id
  enqueued twice, and a widen that would narrow raise RoutingError.
- Signing out or pausing takes effect for new offers at once; a ring or call in progress
  goes on, and its events are handled as usual.

Where it lives: the router is one state machine over one set of facts, and nearly every event
touches agents, callers and offers together (an answer stops other rings, frees the caller's
place, counts for the queue and makes the agent busy). Split between helper objects, each of
those steps would reach into two or three of them. So the facts, and the steps every event
shares, stay in one place, `RouterState` (state.py), and the events are grouped by what they
are about, each group a class over that state:

    caller_side.py  CallerSide  enqueue, widen, abandon, withdraw, tick (max-wait exits)
    agent_side.py   AgentSide   sign_in, sign_out, pause, resume, set_on_duty, set_presence
    offers.py       Offers      dispatch, ring_answered, ring_failed, call_ended
    questions.py    Questions   next_due, position, estimated_wait, queue_stats, ...
    handover.py     Handover    reserve, consulting, hand_over, let_go_of (agents' transfers)

`Router` is their sum and adds nothing: the table above says which file holds a method. Being
one object, it also costs dispatch nothing: no hop through a helper on the hot path.
"""

from __future__ import annotations

from ivr.routing.agent_side import AgentSide
from ivr.routing.caller_side import CallerSide
from ivr.routing.handover import Handover
from ivr.routing.offers import Offers
from ivr.routing.questions import Questions


class Router(CallerSide, AgentSide, Offers, Questions, Handover):
    """Skill-based routing of waiting callers to agents, for every queue of one site."""
