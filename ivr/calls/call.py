"""One call as the core sees it: its plan version, its place in it, and what it waits for."""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.calls import redaction
from ivr.calls.commands import CancelTimer, Command, Note, Play, StartTimer, StopPlayback
from ivr.calls.events import Caller
from ivr.plan.plan import Plan, PlanBook
from ivr.plan.prompts import OPENING, opening_media, resolve


@dataclass
class Call:
    """A live call. The plan is the version the call started on, whatever reloads happen."""

    id: str
    plan: Plan
    number: str
    caller: Caller
    arrived_at: float
    language: str
    node: str = "start"
    step: object | None = None
    playback: str | None = None
    timer: str | None = None
    hanging_up: bool = False
    outcome: str = ""
    # The plans the call started on: a goto into another plan finds it there, reloads or not.
    plans: PlanBook | None = None
    vars: dict[str, str] = field(default_factory=dict)
    # Variables that hold secrets: their values stay in `vars` for lookups and `when`, and
    # every view of the call given out masks them (shown_vars, kept_vars).
    secret: set[str] = field(default_factory=set)
    tags: list[str] = field(default_factory=list)
    # When the caller last joined a queue: a call back keeps that place in line.
    queue_joined_at: float | None = None
    # The moment of the event being handled (the switchboard sets it), for spoken times.
    now: float = 0.0
    # How many ids the call has handed out: a restarted call goes on from there.
    seq: int = field(default=0, repr=False)

    def _next_id(self, kind: str) -> str:
        self.seq += 1
        return f"{self.id}-{kind}{self.seq}"

    def new_leg(self) -> str:
        """The channel id for another agent leg of this call."""
        return self._next_id("a")

    def new_id(self, kind: str) -> str:
        """An id unique within the call, for requests the call waits on."""
        return self._next_id(kind)

    def var(self, name: str) -> str:
        """A call variable; `caller`, `number` and `language` are always there."""
        if name in self.vars:
            return self.vars[name]
        builtin = {"caller": self.caller.number, "number": self.number, "language": self.language}
        return builtin.get(name, "")

    def keep(self, name: str, value: str, secret: bool) -> None:
        """Store a call variable; a secret one is masked in every view of the call."""
        self.vars[name] = value
        if secret:
            self.secret.add(name)
        else:
            self.secret.discard(name)

    def shown_vars(self) -> dict[str, str]:
        """The variables as notes, screen pops and the API show them: secrets as `***`."""
        return redaction.shown(self.vars, self.secret)

    def kept_vars(self) -> dict[str, str]:
        """The variables a record in the store may hold: secrets left out."""
        return redaction.kept(self.vars, self.secret)

    def play(self, prompt: list[str] | tuple[str, ...]) -> list[Command]:
        """Play prompt items in the call's language (the playback the call now waits on)."""
        return self.play_media(self._media(prompt))

    def play_media(self, media: tuple[str, ...]) -> list[Command]:
        """Play PBX media URIs as they are (digits:, number:), as the playback waited on."""
        self.playback = self._next_id("p")
        heard = self.note("prompt", node=self.node, media=" ".join(media))
        return [heard, Play(self.id, self.playback, tuple(media), self.language)]

    def media(self, prompt: list[str] | tuple[str, ...]) -> tuple[str, ...]:
        """Prompt items as PBX media URIs in the call's language, `opening:` times spoken."""
        return self._media(prompt)

    def _media(self, prompt: list[str] | tuple[str, ...]) -> tuple[str, ...]:
        media: list[str] = []
        for item in prompt:
            if item.startswith(OPENING):
                schedule = self.plan.schedules.get(item[len(OPENING) :])
                if schedule is not None:
                    media += opening_media(schedule, self.now)
            else:
                media += resolve(self.plan.spec, self.language, [item])
        return tuple(media)

    def stop_playback(self) -> list[Command]:
        """Stop the current playback, if any (its PromptFinished will be ignored)."""
        if self.playback is None:
            return []
        playback, self.playback = self.playback, None
        return [StopPlayback(self.id, playback)]

    def start_timer(self, seconds: float) -> StartTimer:
        """Start the one timer the call waits on, replacing any earlier one."""
        self.timer = self._next_id("t")
        return StartTimer(self.id, self.timer, seconds)

    def cancel_timer(self) -> list[Command]:
        """Cancel the current timer, if any."""
        if self.timer is None:
            return []
        timer, self.timer = self.timer, None
        return [CancelTimer(self.id, timer)]

    def note(self, kind: str, **fields: str) -> Note:
        """A journal entry about this call."""
        return Note(self.id, kind, fields)

    def leave_node(self) -> list[Command]:
        """Drop whatever the current node was waiting on."""
        self.step = None
        return self.stop_playback() + self.cancel_timer()
