"""`ivr try`: one call through the real core in a terminal, on virtual time.

The Switchboard and CallDriver are the daemon's; the PBX is a console that prints what the
caller hears, the backend answers from a JSON file (or fails), and `--at` sets the virtual
clock so schedules answer for that moment. Keys come from the person or from `--script`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ivr.calls.call import Call
from ivr.calls.commands import Lookup, Note
from ivr.calls.events import Caller
from ivr.calls.notes import RETRY_KINDS, NoteKind
from ivr.clock import VirtualClock
from ivr.lookups.sim import SimAnswer, SimBackend
from ivr.pbx.sim.console import ConsolePbx
from ivr.plan.handoffs import CallbackNode, SurveyNode
from ivr.plan.nodes import CollectNode, LanguageNode, MenuNode
from ivr.plan.plan import PlanBook
from ivr.plan.prompts import texts
from ivr.switchboard.driver import CallDriver
from ivr.switchboard.switchboard import Switchboard

KEYS = set("0123456789*#")
HELP = "keys 0-9 * # (several at once: 12345#), t = say nothing until the timeout, h = hang up"
# A call that is still going after this many virtual steps is stuck (a checked plan never is).
MAX_STEPS = 100_000


@dataclass
class Session:
    """What `ivr try` needs: the plans, the call to make, the moment, the backend's answer."""

    book: PlanBook
    number: str
    caller: str
    start: float
    answer: Any | None = None  # the JSON every lookup gets; None: lookups fail
    answer_name: str = ""


class _Journal:
    def __init__(self, pbx: ConsolePbx, book: PlanBook) -> None:
        self.pbx = pbx
        self.book = book
        self.notes: list[Note] = []

    def record(self, note: Note, at: float) -> None:
        self.notes.append(note)
        line = _describe(note, self.book)
        if line:
            self.pbx.say(line)


class _Backend(SimBackend):
    def __init__(self, clock: VirtualClock, pbx: ConsolePbx) -> None:
        super().__init__(clock)
        self.pbx = pbx

    def send(self, command: Lookup) -> None:
        params = " ".join(f"{k}={v}" for k, v in command.params.items())
        self.pbx.say(f"lookup {command.method} {command.url} {params}".rstrip())
        super().send(command)


def run(
    session: Session,
    keys: Iterator[str] | None,
    ask: Callable[[], str | None],
    write: Callable[[str], None],
) -> int:
    """Place the call and play it out; `keys` is the script, else `ask` reads the terminal."""
    plan = session.book.for_number(session.number)
    if plan is None:
        write(f"ivr try: no plan answers number {session.number}")
        return 1
    clock = VirtualClock(session.start)
    all_texts: dict[str, str] = {}
    for each in session.book.plans:
        all_texts.update(texts(each.spec))
    pbx = ConsolePbx(clock, write, all_texts)
    backend = _Backend(clock, pbx)
    if session.answer is not None:
        backend.default = SimAnswer(session.answer)
        write(f"lookups: every lookup gets the JSON of {session.answer_name}")
    else:
        write("lookups: no --lookup-answer given, so every lookup fails and goes to its fallback")
    journal = _Journal(pbx, session.book)
    switchboard = Switchboard(session.book, clock)
    driver = CallDriver(switchboard, pbx, clock, journal, backend)
    pbx.on_event = driver.feed
    backend.on_event = driver.feed

    call_id = pbx.dial(session.number, Caller(session.caller))
    clock.advance(0)
    call = switchboard.calls.get(call_id)
    while call is not None:
        _settle(clock, switchboard, call_id)
        if call_id not in switchboard.calls:
            break
        entry = _next(keys, ask)
        if entry is None:
            pbx.say("the caller hangs up")
            pbx.hang_up(call_id)
        elif entry == "t":
            pbx.say("(the caller says nothing)")
            due = clock.next_due()
            if due is not None:
                clock.run_until(due)
        elif entry == "h":
            pbx.say("the caller hangs up")
            pbx.hang_up(call_id)
        elif entry and set(entry) <= KEYS:
            pbx.say(f"the caller presses {entry}")
            pbx.press(call_id, entry)
        else:
            write(f"not understood: {entry!r}; {HELP}")
            continue
        clock.advance(0)
    clock.run_until_idle(limit=60)
    if call is not None:
        for line in _summary(call, journal.notes, session.book, pbx.calls[call_id].transferred_to):
            write(line)
    return 0


def _next(keys: Iterator[str] | None, ask: Callable[[], str | None]) -> str | None:
    if keys is not None:
        return next(keys, None)
    entry = ask()
    return entry.strip().lower() if entry is not None else None


def _settle(clock: VirtualClock, switchboard: Switchboard, call_id: str) -> None:
    """Run virtual time until the call waits for the caller's keys, or ends."""
    for _ in range(MAX_STEPS):
        call = switchboard.calls.get(call_id)
        if call is None or _waits_for_keys(call):
            return
        due = clock.next_due()
        if due is None:
            return
        clock.run_until(due)


def _waits_for_keys(call: Call) -> bool:
    node = call.plan.node(call.node)
    keyed = isinstance(node, MenuNode | CollectNode | SurveyNode | CallbackNode) or (
        isinstance(node, LanguageNode) and bool(node.options)
    )
    # A survey or callback takes keys while its question plays: wait only for its timer.
    playing_ok = isinstance(node, SurveyNode | CallbackNode)
    quiet = playing_ok or call.playback is None
    return keyed and not call.hanging_up and quiet and call.timer is not None


def _describe(note: Note, book: PlanBook) -> str:
    f = note.fields
    match note.kind:
        case NoteKind.NODE:
            return f"-> {f['node']}"
        case NoteKind.WHEN:
            which = "no case holds" if f["case"] == "else" else f"case {f['case']} holds"
            return f"   {which}: {f['target']}"
        case NoteKind.TAG:
            return f"   tag {f['tag']}"
        case NoteKind.LANGUAGE:
            return f"   language {f['language']}"
        case NoteKind.COLLECTED:
            return f"   {f['var']} = {f['length']} digits"
        case NoteKind.LOOKUP_DONE:
            if f["result"] == "ok":
                return f"   lookup answered ({f['status']}): {f['target']}"
            return f"   lookup failed ({f['why']}): fallback {f['target']}"
        case NoteKind.PLAN:
            return f"   into plan {f['plan']}"
        case NoteKind.HANDOFF:
            return f"   hands the call to {_where(f, book)}"
        case NoteKind.TRANSFER_FAILED:
            return f"   transfer failed ({f['reason']})"
        case kind if kind in RETRY_KINDS:
            return "   " + kind.replace("_", " ", 1).replace("_", " ")
    return ""


def _where(fields: dict[str, str], book: PlanBook) -> str:
    kind, target = fields["kind"], fields["target"]
    if kind == "queue":
        skills = ""
        for plan in book.plans:
            queue = plan.spec.queues.get(target)
            if queue is not None and queue.skills:
                skills = ", ".join(f"{k}={v}" for k, v in queue.skills.items())
                break
        text = f"queue {target}" + (f" (skills {skills})" if skills else "")
        priority = fields.get("priority", "0")
        return text + (f", priority {priority}" if priority != "0" else "")
    if kind == "callback":
        return f"a call back from queue {target}"
    return f"{kind} {target}"


def _summary(call: Call, notes: list[Note], book: PlanBook, transferred: str) -> list[str]:
    mine = [n for n in notes if n.call_id == call.id]
    handoffs = [n for n in mine if n.kind == NoteKind.HANDOFF]
    ended = next((n for n in reversed(mine) if n.kind == NoteKind.ENDED), None)
    outcome = ended.fields["outcome"] if ended else call.outcome
    if transferred:
        where = f"transferred to {transferred}"
    elif handoffs:
        where = _where(handoffs[-1].fields, book)
    elif outcome.startswith("hungup"):
        where = "the caller hung up"
    else:
        where = f"the IVR hung up ({outcome})"
    lines = [
        "",
        f"call went to: {where}",
        f"plan: {call.plan.name}, node: {call.node}, language: {call.language}",
        "tags: " + (", ".join(call.tags) or "none"),
        "variables: " + (" ".join(f"{k}={v}" for k, v in call.vars.items()) or "none"),
    ]
    return lines
