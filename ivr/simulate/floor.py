"""The simulated shop floor: the PBX port on virtual time with synthetic callers (who press
keys, wait, give up, take callbacks, leave messages) and agents (whose phones ring, who talk
and hang up). It only answers the core's commands and reads the notes the core writes; every
routing decision stays the core's (the same switchboard and router the daemon drives).

State is kept per call and per leg while they last, never after: a month streams through."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ivr.callbacks.dialer import CUSTOMER
from ivr.calls.commands import (
    ContinueInDialplan,
    HangUp,
    Lookup,
    Note,
    PbxCommand,
    Play,
    RecordMessage,
    StopPlayback,
    Transfer,
)
from ivr.calls.events import (
    CallArrived,
    Caller,
    CallEvent,
    CallHungUp,
    DigitPressed,
    LookupDone,
    PromptFinished,
    RecordingDone,
)
from ivr.calls.legs import AgentAnswered, AgentLegEnded, Bridge, BridgeLegs, DropLeg, RingAgent
from ivr.calls.queue.wait import QueueWait
from ivr.clock import TimerHandle, VirtualClock
from ivr.pbx.sim.pbx import SimPbx
from ivr.plan.handoffs import VoicemailNode
from ivr.plan.nodes import CollectNode, LanguageNode, MenuNode
from ivr.simulate.prompt_times import PromptTimes
from ivr.simulate.traffic import Traffic
from ivr.switchboard.switchboard import Switchboard

# The commands the floor acts on; it lets the others pass (answers, music: a third of those
# that reach it).
_ACTED_ON = frozenset(
    (RingAgent, Bridge, BridgeLegs, DropLeg, Play, StopPlayback, HangUp, ContinueInDialplan,
     Transfer, RecordMessage)
)  # fmt: skip

THINK = 0.5  # seconds between the end of a prompt and the caller's key
OFFER_THINK = 3.0  # seconds a caller takes to press the callback key once it is offered
# The kinds of the core's notes callers act on (Floor.noted): the journal passes no other.
REACTS_TO = frozenset(
    {"node", "queue_join", "answered", "queue_exit", "queue_callback", "overflow"}
)


_MASK64 = (1 << 64) - 1


@dataclass(slots=True)
class SimCaller:
    """One synthetic caller: what they will do, drawn when they dial, and their timers."""

    number: str
    patience: float  # seconds they wait in queues before giving up (inf: never)
    talk_u: float  # uniform draws that become a talk time, a callback choice, a message
    callback_u: float
    voicemail_u: float
    seed: int  # of their own draws for menu keys (see key_draw)
    draws: int = 0
    keys: str = ""  # to press when the current prompt ends
    playing: dict[str, TimerHandle] = field(default_factory=dict)
    give_up: TimerHandle | None = None
    queued: bool = False
    ended: bool = False

    def choose(self, mix: dict[str, float] | Any) -> str:
        """A key by the shares of `mix` ("" is silence)."""
        total = sum(mix.values())
        if total <= 0:
            return ""
        point = self.key_draw() * total
        for key, share in mix.items():
            point -= share
            if point < 0:
                return str(key)
        return str(next(reversed(mix)))

    def key_draw(self) -> float:
        """The caller's next uniform draw in [0, 1): splitmix64 of their seed and the count.
        A random.Random a caller cost a twentieth of a run, nearly all of it in seeding."""
        self.draws += 1
        z = (self.seed + self.draws * 0x9E3779B97F4A7C15) & _MASK64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return ((z ^ (z >> 31)) >> 11) / 9007199254740992.0  # 2**53


@dataclass(slots=True)
class SimLeg:
    """An agent's (or a callback customer's) leg: ringing, then talking."""

    call_id: str
    agent_id: str
    timer: TimerHandle | None = None
    talking: bool = False


class Floor(SimPbx):
    """The PBX port of a simulation (a SimPbx that keeps nothing once a call is over)."""

    def __init__(
        self,
        clock: VirtualClock,
        switchboard: Switchboard,
        traffic: Traffic,
        prompts: PromptTimes,
        rng: random.Random,
    ) -> None:
        super().__init__(clock, prompts.default, traffic.message_seconds)
        self.switchboard = switchboard
        self.traffic = traffic
        self.prompts = prompts
        self.rng = rng  # the floor's own draws (callback customers); not the callers'
        self.callers: dict[str, SimCaller] = {}
        self.legs: dict[str, SimLeg] = {}
        self._call_ids = itertools.count(1)
        self._react: dict[str, Callable[[Note], None]] = {
            "node": self._node,
            "queue_join": self._joined,
            "answered": self._answered,
            "queue_exit": self._left,
            "queue_callback": self._left,
            "overflow": self._overflow,
        }
        assert self._react.keys() == REACTS_TO

    # Callers.

    def arrive(self, number: str, caller: SimCaller, shown: Caller) -> None:
        """A caller dials `number` now."""
        call_id = f"c{next(self._call_ids)}"
        self.callers[call_id] = caller
        self.on_event(CallArrived(call_id, number, shown))

    def hang_up(self, call_id: str) -> None:
        """The caller hangs up now."""
        caller = self.callers.get(call_id)
        if caller is not None and not caller.ended:
            self._end(call_id, caller)

    def _end(self, call_id: str, caller: SimCaller) -> None:  # type: ignore[override]
        caller.ended = True
        for timer in caller.playing.values():
            timer.cancel()
        caller.playing.clear()
        if caller.give_up is not None:
            caller.give_up.cancel()
        self.clock.call_later(0, lambda: self._gone(call_id))

    def _gone(self, call_id: str) -> None:
        self.callers.pop(call_id, None)
        self.on_event(CallHungUp(call_id))

    # What the core writes: callers act on what they hear.

    def noted(self, note: Note) -> None:
        """A journal note of the core: callers react to menus, queues and offers."""
        react = self._react.get(note.kind)
        if react is not None and note.call_id in self.callers:
            react(note)

    def _node(self, note: Note) -> None:
        call = self.switchboard.calls.get(note.call_id)
        if call is None:
            return
        name = note.fields.get("node", "")
        node = call.plan.spec.nodes.get(name)
        caller = self.callers[note.call_id]
        # type() is, not isinstance: a miss on a plan model's class costs three times as much,
        # and most nodes a caller passes (tags, queues) are none of these.
        if type(node) is MenuNode or (type(node) is LanguageNode and node.options):
            mix = self.traffic.keys.get(name)
            caller.keys = caller.choose(mix) if mix else ""
        elif type(node) is CollectNode:
            caller.keys = self.traffic.typed.get(name, "12345" + (node.terminator or ""))
        elif type(node) is VoicemailNode and caller.voicemail_u >= self.traffic.voicemail:
            # No message today: they hang up at the greeting.
            self.clock.call_later(THINK, lambda: self.hang_up(note.call_id))

    def _joined(self, note: Note) -> None:
        caller = self.callers[note.call_id]
        if caller.give_up is None and math.isfinite(caller.patience):
            # Patience runs from the first queue a caller joins (an overflow goes on counting).
            caller.give_up = self.clock.call_later(
                caller.patience, lambda: self._patience_over(note.call_id)
            )

    def _answered(self, note: Note) -> None:
        caller = self.callers[note.call_id]
        if caller.give_up is not None:
            caller.give_up.cancel()

    def _left(self, note: Note) -> None:
        caller = self.callers[note.call_id]
        if caller.give_up is not None:
            caller.give_up.cancel()
            caller.give_up = None

    def _overflow(self, note: Note) -> None:
        if note.fields.get("action") != "offer_callback":
            return
        if self.callers[note.call_id].callback_u < self.traffic.callback:
            self.clock.call_later(OFFER_THINK, lambda: self._take_callback(note.call_id))

    def _patience_over(self, call_id: str) -> None:
        caller = self.callers.get(call_id)
        if caller is None:
            return
        caller.give_up = None
        wait = self._waiting(call_id)
        if wait is not None and wait.callback_u_ok(caller, self.traffic.callback):
            self.press(call_id, wait.callback_key)
            return
        self.hang_up(call_id)

    def _take_callback(self, call_id: str) -> None:
        wait = self._waiting(call_id)
        if wait is not None and wait.wait.callback and wait.wait.callback_open:
            self.press(call_id, wait.callback_key)

    def _waiting(self, call_id: str) -> _Waiting | None:
        call = self.switchboard.calls.get(call_id)
        step = call.step if call is not None else None
        if isinstance(step, QueueWait) and step.agent_leg is None:
            return _Waiting(step)
        return None

    def press(self, call_id: str, digits: str) -> None:
        """The caller presses keys now."""
        if call_id in self.callers:
            for digit in digits:
                self.on_event(DigitPressed(call_id, digit))

    # The PBX port.

    def send(self, command: PbxCommand) -> None:
        """Carry out a command of the core, as Asterisk would (and as agents and callers do)."""
        if type(command) not in _ACTED_ON:
            return  # answers, music, recordings: nobody on the floor acts on them
        match command:
            case RingAgent():
                self._ring(command)
                return
            case Bridge(call_id=call_id, leg_id=leg_id):
                self._talk(call_id, leg_id, self._talk_time(call_id))
                return
            case BridgeLegs(call_id=call_id, leg_id=agent_leg):
                talk = self.rng.expovariate(1.0 / self.traffic.callback_talk)
                self._talk(call_id, agent_leg, talk)
                return
            case DropLeg(call_id=call_id, leg_id=leg_id):
                leg = self.legs.pop(leg_id, None)
                if leg is not None:
                    if leg.timer is not None:
                        leg.timer.cancel()
                    self._later(0, AgentLegEnded(call_id, leg_id, "hangup"))
                return
        caller = self.callers.get(command.call_id)
        if caller is None or caller.ended:
            return
        match command:
            case Play(playback_id=playback, media=media):
                seconds = self.prompts.seconds(media)
                caller.playing[playback] = self.clock.call_later(
                    seconds, lambda: self._played(command.call_id, caller, playback)
                )
            case StopPlayback(playback_id=playback):
                timer = caller.playing.pop(playback, None)
                if timer is not None:
                    timer.cancel()
                    self._later(0, PromptFinished(command.call_id, playback))
            case HangUp() | ContinueInDialplan() | Transfer():
                self._end(command.call_id, caller)
            case RecordMessage(name=name):
                seconds = min(self.message_seconds, float(command.max_seconds))
                done = RecordingDone(command.call_id, name, True, seconds)
                caller.playing[name] = self.clock.call_later(
                    seconds, lambda: self._recorded(caller, done)
                )

    def _talk_time(self, call_id: str) -> float:
        """The caller's talk: their draw, by the mean of their topic or queue."""
        caller = self.callers.get(call_id)
        call = self.switchboard.calls.get(call_id)
        if caller is None or call is None:
            return 0.0
        queue = call.step.queue if isinstance(call.step, QueueWait) else ""
        mean = self.traffic.talk_mean(call.tags[-1] if call.tags else "", queue)
        return -mean * math.log(1.0 - caller.talk_u)

    def _played(self, call_id: str, caller: SimCaller, playback: str) -> None:
        caller.playing.pop(playback, None)
        self.on_event(PromptFinished(call_id, playback))
        if caller.keys and not caller.ended:
            keys, caller.keys = caller.keys, ""
            self.clock.call_later(THINK, lambda: self.press(call_id, keys))

    def _recorded(self, caller: SimCaller, done: RecordingDone) -> None:
        caller.playing.pop(done.name, None)
        self.on_event(done)

    def _ring(self, ring: RingAgent) -> None:
        leg = self.legs[ring.leg_id] = SimLeg(ring.call_id, ring.agent_id)
        if ring.agent_id == CUSTOMER:
            # A callback: the customer's phone.
            if self.rng.random() < self.traffic.callback_answered:
                delay = min(self.traffic.ring * 2, ring.timeout)
                leg.timer = self.clock.call_later(
                    delay, lambda: self._pick_up(ring.call_id, ring.leg_id)
                )
            else:
                leg.timer = self.clock.call_later(
                    ring.timeout, lambda: self._no_answer(ring.call_id, ring.leg_id)
                )
            return
        if self.traffic.ring < ring.timeout:
            leg.timer = self.clock.call_later(
                self.traffic.ring, lambda: self._pick_up(ring.call_id, ring.leg_id)
            )
        else:
            leg.timer = self.clock.call_later(
                ring.timeout, lambda: self._no_answer(ring.call_id, ring.leg_id)
            )

    def _pick_up(self, call_id: str, leg_id: str) -> None:
        leg = self.legs.get(leg_id)
        if leg is not None:
            leg.timer = None
            self.on_event(AgentAnswered(call_id, leg_id))

    def _no_answer(self, call_id: str, leg_id: str) -> None:
        if self.legs.pop(leg_id, None) is not None:
            self.on_event(AgentLegEnded(call_id, leg_id, "no-answer"))

    def _talk(self, call_id: str, leg_id: str, seconds: float) -> None:
        leg = self.legs.get(leg_id)
        if leg is None or leg.talking:
            return
        leg.talking = True
        leg.timer = self.clock.call_later(seconds, lambda: self._agent_hangs_up(call_id, leg_id))

    def _agent_hangs_up(self, call_id: str, leg_id: str) -> None:
        if self.legs.pop(leg_id, None) is not None:
            self.on_event(AgentLegEnded(call_id, leg_id, "hangup"))


@dataclass(frozen=True, slots=True)
class _Waiting:
    """A caller waiting in a queue, and whether the callback key works for them now."""

    wait: QueueWait

    @property
    def callback_key(self) -> str:
        return self.wait.callback_key

    def callback_u_ok(self, caller: SimCaller, share: float) -> bool:
        """At the end of their patience, a caller offered a callback takes it (by share)."""
        return bool(self.wait.callback and self.wait.callback_open) and caller.callback_u < share


class Backend:
    """The shop's backend on virtual time: answers by the traffic file's shares."""

    def __init__(self, clock: VirtualClock, traffic: Traffic, rng: random.Random) -> None:
        self.clock = clock
        self.traffic = traffic
        self.rng = rng
        self.on_event: Callable[[CallEvent], None] = lambda event: None

    def send(self, command: Lookup) -> None:
        """Answer after the stated delay, or fail fast for a URL the traffic file lacks."""
        answers = self.traffic.lookups.get(command.url)
        if answers is None:
            done = LookupDone(command.call_id, command.request_id, ok=False)
            self.clock.call_later(0.01, lambda: self.on_event(done))
            return
        point = self.rng.random() * sum(share for share, _, _ in answers.answers)
        chosen = answers.answers[-1]
        for answer in answers.answers:
            point -= answer[0]
            if point < 0:
                chosen = answer
                break
        _, status, data = chosen
        if answers.delay >= command.timeout:
            done = LookupDone(command.call_id, command.request_id, ok=False)
            self.clock.call_later(command.timeout, lambda: self.on_event(done))
            return
        ok = 200 <= status < 300
        done = LookupDone(command.call_id, command.request_id, ok, status, dict(data) if ok else {})
        self.clock.call_later(answers.delay, lambda: self.on_event(done))
