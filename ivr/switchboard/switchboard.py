"""The core: every live call, each event routed to its node's executor, commands back out.

Plain Python: no sockets, no wall clock (time comes from the injected clock), no globals.
"""

from __future__ import annotations

from typing import Any, get_args

from ivr.callbacks import node as callback
from ivr.callbacks import voicemail
from ivr.callbacks.book import CallbackBook, CallbackRules, Refusal
from ivr.callbacks.line import Callbacks
from ivr.callbacks.task import CallbackTask
from ivr.calls import (
    feature,
    hangup,
)
from ivr.calls.call import Call
from ivr.calls.commands import (
    Answer,
    CancelTimer,
    Command,
    ContinueInDialplan,
    Note,
    Release,
    StartTimer,
    StopPlayback,
)
from ivr.calls.events import (
    AgentPresence,
    AgentRequest,
    CallArrived,
    CallEvent,
    CallHungUp,
    CallResumed,
    DeskEvent,
    FeatureCode,
    MoveCaller,
    PbxSynced,
    PromptFinished,
    StopSupervising,
    SuperviseCall,
    SupervisionEnded,
    TimerFired,
)
from ivr.calls.legs import AgentLegEnded
from ivr.calls.queue import move
from ivr.calls.queue import node as queue
from ivr.calls.step import Step
from ivr.calls.supervision import Supervisions
from ivr.clock import Clock, sooner
from ivr.plan.handoffs import VoicemailNode
from ivr.plan.plan import PlanBook
from ivr.routing.desk import Desk
from ivr.switchboard import checkpoints, closure, nodes
from ivr.switchboard.live import LiveState, queue_node_of, rebuild

# Records a restart found wait this long for their channel to come back to the app (longer
# than the sample dialplan's retry window, config/asterisk/extensions.conf).
RECOVERY_TIMER = ("", "recovery")
RECOVERY_GRACE = 60.0
# Continue refused calls at this dialplan label: the caller is told the service is unavailable.
UNAVAILABLE = "unavailable"
# The desk's timer is not any call's: it travels with an empty call id.
ROUTING_TIMER = ("", "routing")
# A plan that passed `check` never loops without a prompt; this guards the core all the same.
MAX_HOPS = 32
# Events only ever about one call: none is a desk event, an arrival, a sync, a feature code
# or a supervisor's request, so `_handle_event` sends them straight to their call.
_CALL_OWN = frozenset(get_args(CallEvent)) - {
    CallArrived, PbxSynced, FeatureCode, SuperviseCall, StopSupervising, SupervisionEnded,
    MoveCaller,
}  # fmt: skip


class Switchboard:
    """Owns every call the daemon serves and decides its next step."""

    def __init__(
        self,
        plans: PlanBook,
        clock: Clock,
        desk: Desk | None = None,
        callback_book: CallbackBook | None = None,
    ) -> None:
        self.plans = plans
        self.clock = clock
        self.desk = desk if desk is not None else Desk.without_roster()
        self.callback_book = (
            callback_book if callback_book is not None else CallbackBook(CallbackRules())
        )
        self.callbacks = Callbacks(self.callback_book)
        self.calls: dict[str, Call] = {}
        self.accepting = True
        self._desk_due: float | None = None  # when the desk's timer is set to fire
        self.live = LiveState()
        self._recovering = False
        # Feature-code calls from agents' phones: call id -> the confirmation playback.
        self._features: dict[str, str] = {}
        # Lines ops have closed (an emergency): arriving calls hear a message (closure.py).
        self.line = closure.LineClosures()
        # Supervisors listening to, whispering in or barging into talks (calls/supervision.py).
        self.supervisions = Supervisions()

    def reload(self, plans: PlanBook) -> None:
        """New calls get `plans`; calls in progress keep the version they started with."""
        self.plans = plans

    def stop_accepting(self) -> None:
        """From now on new calls go back to the PBX dialplan (shutdown in progress)."""
        self.accepting = False

    def hand_back_all(self) -> list[Command]:
        """Shutdown: give the calls back to the PBX dialplan, which holds them and tries the
        app again, so the next daemon serves them from their records; calls talking to an
        agent stay in their bridge. Nobody is left in silence."""
        commands: list[Command] = []
        commands += self.callbacks.cancel_all(self.desk.router, self.clock.now())
        commands += self.supervisions.end_all()  # no daemon would take their legs down
        for call in list(self.calls.values()):
            commands.append(call.note("handed_back", node=call.node))
            wait = call.step
            if not isinstance(wait, queue.QueueWait) or wait.agent_leg is None:
                commands += call.stop_playback() + call.cancel_timer()
                commands.append(ContinueInDialplan(call.id))
            # The call's record stays in the store for the next daemon.
            self.calls.pop(call.id)
            commands.append(Release(call.id))
        return commands

    def use_callback_book(self, book: CallbackBook) -> None:
        """The callback tasks as the store has them now (a standby taking over)."""
        self.callback_book = book
        self.callbacks = Callbacks(book)

    def recover(self, records: dict[str, dict[str, Any]]) -> None:
        """Calls a restart found in the store: each is served from its record when the PBX
        reports its channel in the app; the others are closed once the PBX has synced."""
        self.live.recover(records)
        # No offer until the PBX has reported every call: an agent still talking to a caller
        # of the records would look free and be rung for somebody else.
        self._recovering = bool(records)

    def handle(self, event: CallEvent | DeskEvent) -> list[Command]:
        """The commands that follow from `event`."""
        # Shifts first: the event's call must see who is on duty now.
        # Nearly no event changes a shift: then no list comprehension (a call of its own).
        shifts = self.desk.shifts(self.clock.now())
        commands: list[Command] = (
            [
                Note("", "shift", {"team": team, "duty": "on" if on_duty else "off"})
                for team, on_duty in shifts
            ]
            if shifts
            else []
        )
        commands += self._handle_event(event)
        # Any event may free an agent or bring a caller: offer, and re-arm the timer.
        commands += self._review_desk(callbacks_due=self.accepting)
        # What changed is kept before anything that follows from it reaches the PBX, and the
        # event's notes go first: the store's commit for the change keeps them too.
        saves = self.live.saves(self.calls, self.desk)
        if not saves:
            return commands
        notes = [c for c in commands if isinstance(c, Note)]
        return [*notes, *saves, *(c for c in commands if not isinstance(c, Note))]

    def _review_desk(self, callbacks_due: bool) -> list[Command]:
        """Due callbacks in line, offers to ring, and the desk's timer at its next due moment."""
        if not self.desk.staffed or self._recovering:
            return []
        now = self.clock.now()
        commands = self.callbacks.due(self.desk.router, now, self.accepting)
        commands += self._offers()
        # While shutting down the timer no longer waits for callbacks to fall due.
        also = self.callback_book.next_due(now) if callbacks_due else None
        due = sooner(self.desk.next_due(), also)
        if due != self._desk_due:
            self._desk_due = due
            commands.append(CancelTimer(*ROUTING_TIMER))
            if due is not None:
                commands.append(StartTimer(*ROUTING_TIMER, max(0.0, due - now)))
        return commands

    def _handle_event(self, event: CallEvent | DeskEvent) -> list[Command]:
        # Most events are one call's own (keys, prompts, timers, legs): one type look-up takes
        # them past the cases below, none of which they meet (a desk timer has no call id).
        own: Any = event  # the type look-up below stands for a cast (no call per event)
        if type(event) in _CALL_OWN and own.call_id:
            call_id = own.call_id
            if call_id in self._features:
                return self._feature_event(own)
            if call_id in self.callbacks.dials:
                return self.callbacks.handle(self.desk.router, own, self.clock.now())
            return self._call_event(own)
        return self._other_event(event)

    def _other_event(self, event: CallEvent | DeskEvent) -> list[Command]:
        # Tuples, not `A | B`: a union is built anew on every call (this runs for every event).
        if isinstance(event, (AgentPresence, AgentRequest)):
            return self._desk_event(event)
        if isinstance(event, CallArrived):
            record = self.live.claim(event.call_id)
            if record is not None:
                return self._recover(event, record)
            return self._arrive(event)
        if isinstance(event, PbxSynced):
            return self._synced(event.present)
        if isinstance(event, FeatureCode):
            commands, self._features[event.call_id] = feature.dial(
                event, self.desk, self.clock.now()
            )
            return commands
        if event.call_id in self._features:
            return self._feature_event(event)
        if isinstance(event, TimerFired) and (event.call_id, event.timer_id) == RECOVERY_TIMER:
            return self.live.lost(self.live.unclaimed(), self.clock.now())
        if isinstance(event, TimerFired) and (event.call_id, event.timer_id) == ROUTING_TIMER:
            return self._routing_tick()
        if isinstance(event, (SuperviseCall, StopSupervising, SupervisionEnded, MoveCaller)):
            return self._supervise(event)
        if event.call_id in self.callbacks.dials:
            return self.callbacks.handle(self.desk.router, event, self.clock.now())
        return self._call_event(event)

    def _call_event(self, event: CallEvent) -> list[Command]:
        call = self.calls.get(event.call_id)
        if call is None:
            return []  # a late event for a call that has already ended
        call.now = self.clock.now()
        if isinstance(event, CallHungUp) and event.lost:
            return self._lose(call)
        if isinstance(event, CallHungUp):
            commands = self._leave_queue(call)
            if isinstance(call.step, voicemail.Message):
                # Hanging up is a way to finish a message: Asterisk keeps the recording.
                node = call.plan.node(call.node)
                if isinstance(node, VoicemailNode):
                    commands += voicemail.keep(call, node, self.callback_book, self.clock.now())
            return commands + self._forget(call, call.outcome or "hungup_in_menu")
        if isinstance(event, CallResumed):
            return self._run(call, self._resume(call))
        if call.hanging_up:
            return self._run(call, hangup.handle(call, event))
        if isinstance(call.step, closure.EmergencyMessage):
            return self._run(call, closure.handle(call, call.step, event))
        return self._run(call, self._handle(call, event))

    def _supervise(
        self, event: SuperviseCall | StopSupervising | SupervisionEnded | MoveCaller
    ) -> list[Command]:
        """A supervisor's request on a call, or the PBX's word that a session is over (which
        may come after the call ended)."""
        now = self.clock.now()
        call = self.calls.get(event.call_id)
        if isinstance(event, SuperviseCall):
            return self.supervisions.start(call, event, now)
        if isinstance(event, StopSupervising):
            return self.supervisions.stop(event)
        if isinstance(event, SupervisionEnded):
            return self.supervisions.ended(event, now)
        if call is None:
            return []
        call.now = now
        return self._run(call, move.move(call, self.desk.router, event.queue, event.by, now))

    def _feature_event(self, event: CallEvent) -> list[Command]:
        if isinstance(event, CallHungUp):
            del self._features[event.call_id]
            return [Release(event.call_id)]
        if isinstance(event, PromptFinished) and event.playback_id == self._features[event.call_id]:
            return feature.finished(event.call_id)
        return []

    def _desk_event(self, event: AgentPresence | AgentRequest) -> list[Command]:
        if isinstance(event, AgentPresence):
            self.desk.presence(event.endpoint, event.reachable, event.busy, self.clock.now())
            return []
        changed = self.desk.request(event.agent_id, event.action, event.reason, self.clock.now())
        fields = {"agent": event.agent_id, "action": event.action, "changed": str(changed)}
        if event.reason:
            fields["reason"] = event.reason
        return [Note("", "agent_request", fields)]

    def _routing_tick(self) -> list[Command]:
        self._desk_due = None
        now = self.clock.now()
        commands: list[Command] = []
        for exit_ in self.desk.router.tick(now):
            call = self.calls.get(exit_.call_id)
            if call is not None and isinstance(call.step, queue.QueueWait):
                commands += self._run(call, queue.exit_queue(call, exit_, now))
        return commands

    def _offers(self) -> list[Command]:
        commands: list[Command] = []
        for offer in self.desk.router.dispatch(self.clock.now()):
            call = self.calls.get(offer.call_id)
            if call is not None and isinstance(call.step, queue.QueueWait):
                commands += queue.ring(call, offer, queue.caller_id(call, offer.queue))
            else:
                commands += self.callbacks.ring(offer)
        return commands

    def request_callback(
        self, number: str, queue_name: str, topic: str, window: tuple[float | None, float | None]
    ) -> tuple[CallbackTask | Refusal, list[Command]]:
        """A callback asked for through the API (the shop's website)."""
        known = {spec.name for spec in self.desk.router_queues}
        task, commands = self.callbacks.request(
            known, number, queue_name, topic, window, self.clock.now()
        )
        return task, commands + self.review_callbacks()

    def review_callbacks(self) -> list[Command]:
        """Let the desk look at callbacks now (at start, after a request from the API)."""
        return self._review_desk(callbacks_due=True)

    def _lose(self, call: Call) -> list[Command]:
        """The call went while the daemon was away from the PBX: no abandon is counted and no
        callback booked; a talk that had begun ends as answered."""
        commands: list[Command] = []
        wait = call.step
        if isinstance(wait, queue.QueueWait):
            commands += queue.lose(call, self.desk.router, wait, self.clock.now())
        return commands + self._forget(call, "answered" if call.outcome == "answered" else "lost")

    def _leave_queue(self, call: Call) -> list[Command]:
        if not isinstance(call.step, queue.QueueWait):
            return []
        now = self.clock.now()
        wait = call.step
        commands = queue.leave(call, self.desk.router, now)
        spec = self.desk.router.queue_spec(wait.queue)
        after = spec.callback_after_abandon
        waited = now - wait.joined_at
        if wait.agent_leg is None and after is not None and waited >= after:
            # They waited long and gave up: the shop calls them back, in their place in line.
            commands += callback.request(
                call, self.callback_book, wait.queue, call.caller.number, "abandon", now
            )
        return commands

    def _handle(self, call: Call, event: CallEvent) -> Step:
        """The current node's executor reacts to `event`."""
        return nodes.react(call, event, self.desk, self.callback_book, self.clock.now())

    def _arrive(self, event: CallArrived) -> list[Command]:
        if event.call_id in self.calls:
            return []
        fields = {"number": event.number}
        if not self.accepting:
            return [
                Note(event.call_id, "refused", {**fields, "why": "shutting down"}),
                ContinueInDialplan(event.call_id),
            ]
        plan = self.plans.for_number(event.number)
        if plan is None:
            return [
                Note(event.call_id, "refused", {**fields, "why": "no plan for this number"}),
                ContinueInDialplan(event.call_id, UNAVAILABLE),
            ]
        call = Call(
            id=event.call_id,
            plan=plan,
            number=event.number,
            caller=event.caller,
            arrived_at=self.clock.now(),
            language=plan.spec.language,
            plans=self.plans,
        )
        self.calls[call.id] = call
        self.live.touch(call.id)
        call.now = self.clock.now()
        arrived = call.note(
            "arrived",
            number=event.number,
            plan=plan.name,
            version=plan.version,
            caller_number=event.caller.number,
            caller_name=event.caller.name,
        )
        shut = self.line.closed_for(plan.name)
        if shut is not None:
            return [arrived, Answer(call.id), *self._run(call, closure.meet(call, shut))]
        return [arrived, Answer(call.id), *self._enter(call, "start")]

    def _run(self, call: Call, step: Step) -> list[Command]:
        self.live.touch(call.id)
        commands = list(step.commands)
        if step.hang_up:
            goodbye = hangup.say_goodbye(call, list(call.plan.spec.goodbye), step.outcome)
            return commands + goodbye.commands
        if step.goto is not None:
            commands += self._enter(call, step.goto)
        return commands

    def _enter(self, call: Call, name: str) -> list[Command]:
        commands: list[Command] = []
        for _ in range(MAX_HOPS):
            commands += call.leave_node()
            if ":" in name and not self._switch_plan(call, name, commands):
                return commands + self._run(call, Step(hang_up=True, outcome="failed"))
            name = name.rpartition(":")[2]
            call.node = name
            commands.append(call.note("node", node=name))
            step = self._start(call)
            commands += step.commands
            if step.goto is None:
                if step.hang_up:
                    return commands + self._run(call, Step(hang_up=True, outcome=step.outcome))
                return commands
            name = step.goto
        commands.append(call.note("loop", node=name))
        return commands + hangup.say_goodbye(call, list(call.plan.spec.goodbye), "failed").commands

    def _switch_plan(self, call: Call, target: str, commands: list[Command]) -> bool:
        """Move the call into another plan of its book for `goto: plan:node`."""
        plan_name, _, node = target.partition(":")
        plan = call.plans.named(plan_name) if call.plans else None
        if plan is None or node not in plan.spec.nodes:
            # A checked book has the plan and the node; an unchecked one gets a goodbye.
            commands.append(call.note("goto_failed", node=call.node, target=target))
            return False
        commands.append(
            call.note("plan", plan=plan.name, version=plan.version, came_from=call.plan.name)
        )
        call.plan = plan
        return True

    def _start(self, call: Call) -> Step:
        return nodes.enter(call, self.desk, self.clock.now())

    def _resume(self, call: Call) -> Step:
        # The PBX may have lost our playback or timer while the link was down: redo the step.
        call.playback = None
        if call.hanging_up:
            return hangup.say_goodbye(call, [], call.outcome)
        if isinstance(call.step, queue.QueueWait):
            return queue.resume(call)
        return Step(goto=call.node)

    def _forget(self, call: Call, outcome: str) -> list[Command]:
        self.calls.pop(call.id, None)
        self.live.touch(call.id)
        seconds = f"{self.clock.now() - call.arrived_at:.3f}"
        return [
            call.note(
                "ended", outcome=outcome, plan=call.plan.name, node=call.node, seconds=seconds
            ),
            Release(call.id),
        ]

    def _recover(self, event: CallArrived, record: dict[str, Any]) -> list[Command]:
        """Serve a call from the record a restart found: a waiting caller back in their place,
        a talking one still talking, one in a menu hears that menu again."""
        now = self.clock.now()
        call = rebuild(event, record, self.plans, now)
        if isinstance(call, str):
            note = Note(event.call_id, "recovered", {"node": "", "why": call})
            return [note, *self._arrive(event)]
        self.calls[call.id] = call
        self.live.touch(call.id)
        plan = call.plan
        node = str(record.get("node", "start"))
        held = checkpoints.held_of(record)
        queue_node = queue_node_of(plan, held.queue) if held is not None else None
        fields = {"node": node if node in plan.spec.nodes else "start"}
        if held is not None:
            fields.update(queue=held.queue, waited=f"{now - held.joined_at:.1f}")
        commands: list[Command] = [call.note("recovered", **fields)]
        playing = record.get("playback")
        if isinstance(playing, str) and playing:
            # A prompt the dead daemon started would play on, and queue ours behind it.
            commands.append(StopPlayback(call.id, playing))
        if record.get("hanging_up"):
            return commands + self._run(call, Step(hang_up=True, outcome=call.outcome))
        if held is not None and queue_node is not None and self.desk.staffed:
            call.node = queue_node[0]
            step = queue.rejoin(call, self.desk.router, queue_node[1], held, now)
            return commands + self._run(call, step)
        # Not in a queue (or the queue is gone): that node again, from its start.
        return commands + self._enter(call, fields["node"])

    def _synced(self, present: frozenset[str]) -> list[Command]:
        """The PBX has reported every call in the app: talks whose agent leg is gone end, and
        records whose channel is gone are closed as lost."""
        self._recovering = False
        commands: list[Command] = []
        for call in list(self.calls.values()):
            wait = call.step
            if isinstance(wait, queue.QueueWait) and wait.agent_leg not in (None, *present):
                gone = AgentLegEnded(call.id, wait.agent_leg or "", "hangup")
                commands += self._run(call, queue.handle(call, self.desk.router, gone, call.now))
        commands += self.live.lost(self.live.unclaimed(present), self.clock.now())
        if self.live.unclaimed():
            # Handed back to the dialplan, which tries the app again: they have the dialplan's
            # retry window to come back, then they are closed as lost.
            commands.append(StartTimer(*RECOVERY_TIMER, RECOVERY_GRACE))
        return commands
