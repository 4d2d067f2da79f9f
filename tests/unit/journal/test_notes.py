"""The list of note kinds (ivr.calls.notes) against the code: every kind the core writes is
listed with its fields, every note real calls make fits its spec, and every kind a consumer
reacts to is listed.

Stored journals are read back by `ivr report`: a kind or field renamed in the code without
this list noticing would silently break old journals, so the list is checked from both sides.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.callbacks.book import CallbackBook, CallbackRules
from ivr.calls.commands import Note
from ivr.calls.events import (
    AgentRequest,
    Caller,
    FeatureCode,
    MoveCaller,
    RecordingControl,
    StopSupervising,
    SuperviseCall,
    SupervisionEnded,
)
from ivr.calls.legs import AgentAnswered, AgentLegEnded, RingAgent
from ivr.calls.notes import NOTES, NoteKind, NoteSpec, spec_of
from ivr.plan.plan import PlanBook
from ivr.routing.desk import Desk
from ivr.routing.roster import parse_roster
from ivr.store.memory import MemoryLive
from tests.unit.conftest import ROOT, World, book, make_world

IVR = ROOT / "ivr"
START = 1_790_000_000.0  # a Monday, 14:13 UTC

# Kinds the code computes rather than writes out, by file and expression, and every kind each
# can make. A new computed kind fails the scan until it is added here (and to the list).
COMPUTED: dict[tuple[str, str], set[str]] = {
    ("calls/choice.py", "f'{kind}_{why}'"): {
        "menu_no_input",
        "menu_invalid",
        "language_no_input",
        "language_invalid",
    },
    ("calls/choice.py", "f'{kind}_exhausted'"): {"menu_exhausted", "language_exhausted"},
    ("calls/collect.py", "f'collect_{why}'"): {"collect_no_input", "collect_invalid"},
}

# Kinds the flows below do not reach.
NOT_DRIVEN = {
    NoteKind.LOOP,  # checked plans have no goto cycle
    NoteKind.VOICEMAIL_FAILED,  # the simulated PBX always records
    NoteKind.DISPOSITION,  # written by the API (tests/unit/http/test_transfers_api.py)
}


# --- (a) what the code writes ---------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """One place in ivr/ that makes a note."""

    where: str  # file:line
    path: str  # relative to ivr/
    expr: str  # the kind as written
    kinds: frozenset[str] | None  # None: computed, not known from the text
    fields: frozenset[str]  # field names written there (f-string names end in `*`)
    wrapper: bool = False  # the kind is a parameter passed on (Call.note, Dial.note)


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _assigned(function: ast.AST, name: str) -> list[ast.expr]:
    """Values assigned to `name` in the function (plain `name = value` only)."""
    values = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    values.append(node.value)
    return values


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    args = function.args
    return {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}


def _kinds(expr: ast.expr, function: ast.AST | None) -> frozenset[str] | None:
    """The kinds an expression can be, when the text says; None when it is computed."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return frozenset({expr.value})
    if isinstance(expr, ast.IfExp):
        body, orelse = _kinds(expr.body, function), _kinds(expr.orelse, function)
        return body | orelse if body is not None and orelse is not None else None
    if (
        isinstance(expr, ast.Attribute)
        and isinstance(expr.value, ast.Name)
        and expr.value.id == "NoteKind"
    ):
        return frozenset({NoteKind[expr.attr].value})
    if isinstance(expr, ast.Name) and function is not None:
        values = _assigned(function, expr.id)
        found = [_kinds(v, function) for v in values]
        if found and all(k is not None for k in found):
            return frozenset().union(*(k for k in found if k is not None))
    return None


def _field_names(expr: ast.expr, function: ast.AST | None, seen: set[str]) -> set[str]:
    """Field names in a dict (or a local name bound to dicts, and its `name["x"] = ...`)."""
    names: set[str] = set()
    if isinstance(expr, ast.Dict):
        for key, value in zip(expr.keys, expr.values, strict=True):
            if key is None:
                names |= _field_names(value, function, seen)
            elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                names.add(key.value)
    elif isinstance(expr, ast.DictComp) and isinstance(expr.key, ast.JoinedStr):
        # {f"var_{name}": ...}: a family of fields, written `var_*`.
        head = expr.key.values[0]
        if isinstance(head, ast.Constant) and isinstance(head.value, str):
            names.add(f"{head.value}*")
    elif isinstance(expr, ast.Name) and function is not None and expr.id not in seen:
        seen.add(expr.id)
        for value in _assigned(function, expr.id):
            names |= _field_names(value, function, seen)
        for node in ast.walk(function):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if (
                        isinstance(target, ast.Subscript)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == expr.id
                        and isinstance(target.slice, ast.Constant)
                    ):
                        names.add(str(target.slice.value))
    return names


def _site(
    call: ast.Call, path: Path, function: ast.FunctionDef | ast.AsyncFunctionDef | None
) -> Site | None:
    func = call.func
    keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
    if isinstance(func, ast.Attribute) and func.attr == "note":
        # call.note(kind, field=value, **more)
        kind = call.args[0] if call.args else keywords.get("kind")
        fields = {k for k in keywords if k != "kind"}
        for spread in (k.value for k in call.keywords if k.arg is None):
            fields |= _field_names(spread, function, set())
    elif (isinstance(func, ast.Name) and func.id == "Note") or (
        isinstance(func, ast.Attribute) and func.attr == "Note"
    ):
        # Note(call_id, kind, {field: value, ...})
        kind = call.args[1] if len(call.args) > 1 else keywords.get("kind")
        given = call.args[2] if len(call.args) > 2 else keywords.get("fields")
        fields = _field_names(given, function, set()) if given is not None else set()
    else:
        return None
    if kind is None:
        return None
    rel = path.relative_to(IVR).as_posix()
    wrapper = (
        isinstance(kind, ast.Name)
        and function is not None
        and function.name == "note"
        and kind.id in _parameters(function)
    )
    return Site(
        where=f"{rel}:{call.lineno}",
        path=rel,
        expr=ast.unparse(kind),
        kinds=_kinds(kind, function),
        fields=frozenset(fields),
        wrapper=wrapper,
    )


def _calls(
    node: ast.AST, function: ast.FunctionDef | ast.AsyncFunctionDef | None = None
) -> Iterator[tuple[ast.Call, ast.FunctionDef | ast.AsyncFunctionDef | None]]:
    """Every call under `node`, with the innermost function it is written in."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Call):
            yield child, function
        inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
        yield from _calls(child, inner)


def note_sites() -> list[Site]:
    """Every call in ivr/ that makes a note: `<x>.note(kind, ...)` or `Note(id, kind, ...)`."""
    sites = []
    for path in sorted(IVR.rglob("*.py")):
        if path == IVR / "calls" / "commands.py":
            continue  # Note's own definition
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for call, function in _calls(tree):
            site = _site(call, path, function)
            if site is not None:
                sites.append(site)
    return sites


SITES = note_sites()


def test_the_scan_finds_the_notes_of_the_core() -> None:
    # A scan that finds nothing would pass everything: it must see the well-known producers.
    literal = {k for site in SITES if site.kinds for k in site.kinds}
    assert {"arrived", "ended", "answered", "callback_finished", "shift"} <= literal
    assert len(SITES) > 50


def test_every_kind_written_in_the_code_is_listed() -> None:
    unlisted = {
        site.where: sorted(k for k in site.kinds if spec_of(k) is None)
        for site in SITES
        if site.kinds is not None and any(spec_of(k) is None for k in site.kinds)
    }
    assert unlisted == {}, "add these kinds to ivr/calls/notes.py"


def test_every_computed_kind_is_known_and_listed() -> None:
    computed = {(s.path, s.expr): s for s in SITES if s.kinds is None and not s.wrapper}
    unknown = sorted(f"{s.where}: {s.expr}" for key, s in computed.items() if key not in COMPUTED)
    assert unknown == [], "a kind computed in the code: list what it makes in COMPUTED"
    assert sorted(set(COMPUTED) - set(computed)) == [], "COMPUTED names code that is gone"
    for (path, expr), kinds in COMPUTED.items():
        # The f-string's text, with any value where it has a placeholder.
        joined = ast.parse(expr, mode="eval").body
        assert isinstance(joined, ast.JoinedStr)
        pattern = "".join(
            re.escape(str(part.value)) if isinstance(part, ast.Constant) else "[a-z_]+"
            for part in joined.values
        )
        for kind in kinds:
            assert re.fullmatch(pattern, kind), (path, expr, kind)
            assert spec_of(kind) is not None, f"{kind} (from {path}) is not listed"


def test_only_note_wrappers_pass_a_kind_on() -> None:
    wrappers = sorted(s.where.split(":")[0] for s in SITES if s.wrapper)
    assert wrappers, "Call.note passes its kind on: the scan should see it"
    # Each wrapper's own callers are scanned as `.note(...)` sites, with their kinds.
    assert all(s.expr == "kind" for s in SITES if s.wrapper)


def test_fields_written_in_the_code_are_listed_for_their_kind() -> None:
    wrong = {}
    for site in SITES:
        # A site that makes several kinds may add a field for only some of them.
        kinds = site.kinds if site.kinds is not None else _computed(site)
        specs = [spec for spec in map(spec_of, kinds) if spec is not None]
        extra = sorted(f for f in site.fields if not any(_allowed(spec, f) for spec in specs))
        if specs and extra:
            wrong[f"{site.where} {site.expr}"] = extra
    assert wrong == {}, "add these fields to their kind in ivr/calls/notes.py"


def _computed(site: Site) -> set[str]:
    return COMPUTED.get((site.path, site.expr), set())


def _allowed(spec: NoteSpec, name: str) -> bool:
    if name.endswith("*"):
        return name[:-1] in spec.prefixes
    return spec.allows(name)


# --- the list itself -------------------------------------------------------------------------


def test_the_list_names_each_kind_once_with_its_meaning() -> None:
    assert list(NOTES) == list(NoteKind)
    for kind, spec in NOTES.items():
        assert spec.kind is kind
        assert kind.value == kind.name.lower()  # the stored name, readable as a constant
        assert spec.always, f"{kind}: a note without fields"
        assert not spec.always & spec.sometimes
        assert spec.meaning and "\n" not in spec.meaning
        assert all(re.fullmatch(r"[a-z][a-z_]*", f) for f in spec.always | spec.sometimes)


def test_stored_kinds_read_back_as_their_kind() -> None:
    # A journal from the store gives plain strings: they compare and hash as the members.
    for kind in NoteKind:
        assert str(kind) == kind.value and f"{kind}" == kind.value
        by_kind: dict[str, int] = {kind: 1}
        assert by_kind.get(kind.value) == 1
        assert spec_of(kind.value) is NOTES[kind]
    assert spec_of("no_such_kind") is None


# --- (b) what real calls write ---------------------------------------------------------------


def world_of(plans: PlanBook, roster: str | None = None, start: float = START) -> World:
    """The core, the simulated PBX and backend on virtual time, with a roster when given."""
    desk = Desk(parse_roster((roster, "roster.yaml")), plans.queue_specs()) if roster else None
    callbacks = CallbackBook(CallbackRules(retry_delay=120, max_attempts=2))
    return make_world(plans, start=start, desk=desk, callback_book=callbacks)


def until(world: World, done: Callable[[], bool], seconds: int = 120) -> None:
    """Let virtual time run, a second at a time, until `done` (or fail after `seconds`)."""
    for _ in range(seconds):
        if done():
            return
        world.wait(1)
    raise AssertionError("the flow never got there")


def noted(world: World, call_id: str, kind: str) -> Callable[[], bool]:
    return lambda: bool(world.notes.of(call_id, kind))


def rings(world: World) -> list[RingAgent]:
    return [c for c in world.pbx.sent if isinstance(c, RingAgent)]


def new_ring(world: World) -> Callable[[], bool]:
    before = len(rings(world))
    return lambda: len(rings(world)) > before


def notes_of(world: World) -> list[Note]:
    return [note for _, note in world.notes.items]


URL = "http://backend.test/orders"
NODES = f"""
name: shop
numbers: ["100"]
language: en
queues:
  sales: {{skills: {{sales: 2}}}}
prompts:
  choose: {{en: sound:choose, ru: sound:choose-ru}}
nodes:
  start:
    type: language
    prompt: choose
    options: {{"1": en, "2": ru}}
    retries: 1
    next: menu
  menu:
    type: menu
    prompt: sound:menu
    options: {{"1": order, "2": sales, "3": desk, "4": billing}}
    retries: 1
  order:
    type: collect
    prompt: sound:enter-order
    var: order
    pattern: '^[0-9]{{3}}$'
    retries: 2
    next: ask
  ask:
    type: lookup
    url: {URL}
    params: {{order: order}}
    timeout: 2
    vars: {{status: status}}
    next: route
    fallback: route
  route:
    type: when
    cases:
      - {{var: status, equals: shipped, then: topic}}
    else: desk
  topic: {{type: tag, tag: order_status, next: desk}}
  sales: {{type: queue, queue: sales, priority: 5}}
  desk: {{type: transfer, extension: 101, fallback: sorry}}
  sorry: {{type: hangup, prompt: sound:sorry}}
  billing: {{type: goto, target: "billing:start"}}
"""
BILLING = """
name: billing
numbers: ["200"]
nodes:
  start: {type: hangup, prompt: sound:billing}
"""


def menu_call(world: World, key: str) -> str:
    """A caller who takes English, then `key` at the menu; their call id."""
    call_id = world.call().call_id
    world.pbx.press(call_id, "1")
    world.wait(1)
    world.pbx.press(call_id, key)
    return call_id


def nodes_flow() -> list[Note]:
    """Calls through every kind of node of a plan without a roster."""
    world = world_of(book(NODES, BILLING))
    world.backend.answer(URL, {"status": "shipped"})
    # A wrong language key, then silence: the language is kept; the menu runs out too.
    lost = world.call().call_id
    world.pbx.press(lost, "9")
    until(world, noted(world, lost, "language_no_input"))
    world.pbx.press(lost, "9")
    until(world, noted(world, lost, "ended"))
    # An order typed wrong, then silence, then right: looked up, tagged and transferred.
    order = menu_call(world, "1")
    world.wait(1)
    world.pbx.press(order, "12#")
    until(world, noted(world, order, "collect_no_input"))
    world.pbx.press(order, "123#")
    until(world, noted(world, order, "ended"))
    # The backend's answer lacks the status: the lookup fails; silence runs out a collect.
    world.backend.answer(URL, {})
    unknown = menu_call(world, "1")
    world.wait(1)
    world.pbx.press(unknown, "456#")
    silent = menu_call(world, "1")
    until(world, noted(world, silent, "ended"))
    # The desk phone is unreachable now: the transfer falls back.
    world.pbx.unreachable.add("PJSIP/101")
    failed = menu_call(world, "3")
    until(world, noted(world, failed, "ended"))
    # A queue without a roster hands the call off; a goto moves it into another plan.
    for key in ("2", "4"):
        call_id = menu_call(world, key)
        until(world, noted(world, call_id, "ended"))
    # A number without a plan; a shutdown with a caller in the menu; a call during it.
    world.call("999")
    world.call()
    world.switchboard.stop_accepting()
    world.driver.run(world.switchboard.hand_back_all())
    world.call()
    world.wait(5)
    return notes_of(world)


def goto_failed_flow() -> list[Note]:
    """A plan checked alone may send a call to a plan its book lacks."""
    world = world_of(book(NODES))
    call_id = menu_call(world, "4")
    until(world, noted(world, call_id, "ended"))
    return notes_of(world)


QUEUES = """
name: shop
numbers: ["100"]
queues:
  returns:
    skills: {returns: 3}
    recording: {mode: all, announce: [sound:recorded], retention_days: 30}
    callback_after_abandon: 20
    overflow:
      - {name: partner, waited: 30, add_team: callpoint}
      - {name: full, callers_over: 1, goto: message}
  sales:
    skills: {sales: 3}
    max_callers: 1
    max_wait: 10
    exit: sorry
    overflow: [{name: offer, waited: 2, offer_callback: true}]
nodes:
  start:
    type: menu
    prompt: sound:menu
    options: {"1": returns, "2": sales}
  returns: {type: queue, queue: returns, callback: later, survey: rate}
  sales: {type: queue, queue: sales}
  later: {type: callback, queue: returns}
  message: {type: voicemail, mailbox: shop, queue: returns}
  sorry: {type: hangup, prompt: sound:sorry}
  rate:
    type: survey
    survey: after_agent
    questions:
      - {kind: csat, prompt: sound:rate-csat}
      - {kind: nps, prompt: sound:rate-nps}
    comment: sound:leave-comment
"""
ROSTER = """
schedules:
  days: {timezone: UTC, weekly: {mon-sun: "06:00-20:00"}}
teams:
  shop: {kind: in-house}
  callpoint: {kind: outsourced}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {returns: 5}}
  - {id: agent5, name: Eva, endpoint: PJSIP/agent5, team: callpoint, skills: {returns: 5}}
"""
DAY_SHIFT = ROSTER.replace("shop: {kind: in-house}", "shop: {kind: in-house, shift: days}")


def queue_call(world: World, key: str, number: str = "+79991234567") -> str:
    """A caller who picks queue `key` at the menu; their call id."""
    call_id = world.call(caller=Caller(number, "Ivan")).call_id
    world.pbx.press(call_id, key)
    return call_id


def agents_flow() -> list[Note]:
    """Agents sign in and take calls: recorded, paused, missed; surveys after them."""
    world = world_of(book(QUEUES), ROSTER)
    feed = world.driver.feed
    feed(AgentRequest("agent1", "sign-in"))
    feed(AgentRequest("agent1", "pause", "lunch"))
    feed(AgentRequest("agent1", "resume"))
    feed(FeatureCode("sim-f1", "PJSIP/stranger", "*21"))  # nobody's phone
    feed(FeatureCode("sim-f2", "PJSIP/agent1", "*24"))
    world.wait(5)
    # Answered and recorded, a pause in it; the agent hangs up, the caller scores and comments.
    ringing = new_ring(world)
    scored = queue_call(world, "1")
    until(world, ringing)
    ring = rings(world)[-1]
    feed(AgentAnswered(scored, ring.leg_id))
    until(world, noted(world, scored, "recording_started"))
    feed(RecordingControl(scored, pause=True))
    world.wait(2)
    feed(RecordingControl(scored, pause=False))
    feed(AgentLegEnded(scored, ring.leg_id, "hangup"))
    until(world, noted(world, scored, "survey_started"))
    world.pbx.press(scored, "4*")
    until(world, noted(world, scored, "ended"))
    # A missed ring, then an answer; the caller hangs up on the agent.
    ringing = new_ring(world)
    missed = queue_call(world, "1")
    until(world, ringing)
    ringing = new_ring(world)
    feed(AgentLegEnded(missed, rings(world)[-1].leg_id, "no-answer"))
    until(world, ringing)
    feed(AgentAnswered(missed, rings(world)[-1].leg_id))
    world.wait(5)
    world.pbx.hang_up(missed)
    # The survey after the next call goes unanswered.
    ringing = new_ring(world)
    silent = queue_call(world, "1")
    until(world, ringing)
    ring = rings(world)[-1]
    feed(AgentAnswered(silent, ring.leg_id))
    world.wait(5)
    feed(AgentLegEnded(silent, ring.leg_id, "hangup"))
    until(world, noted(world, silent, "ended"))
    return notes_of(world)


def nobody_flow() -> list[Note]:
    """Off shift, nobody answers: overflow, voicemail, a callback booked, a full queue."""
    world = world_of(book(QUEUES), DAY_SHIFT, start=START - START % 86400 + 22 * 3600)
    first, second, third = (queue_call(world, "1", f"+7999000000{n}") for n in range(1, 4))
    # The third caller is over the `full` step: to voicemail; the first takes a callback,
    # types a number that is none, then another; the second gives up after a long wait.
    until(world, noted(world, third, "ended"))
    until(world, noted(world, first, "overflow"))
    world.pbx.press(first, "1")  # the call-back key
    world.wait(1)
    world.pbx.press(first, "2")  # another number
    world.wait(1)
    world.pbx.press(first, "12#")
    until(world, noted(world, first, "callback_number_invalid"))
    world.pbx.press(first, "79991112233#")
    until(world, noted(world, first, "ended"))
    world.pbx.hang_up(second)
    # Sales holds one caller: the second is turned away, the first leaves after max_wait.
    held = queue_call(world, "2")
    world.wait(3)
    full = queue_call(world, "2")
    until(world, noted(world, full, "ended"))
    until(world, noted(world, held, "ended"))
    return notes_of(world)


def callbacks_flow() -> list[Note]:
    """Callbacks asked for on the web, then made: one connects, one is never answered."""
    world = world_of(book(QUEUES), ROSTER)
    for number in ("12;DROP", "+79991112233", "+79991112233", "+79994445566"):
        _, commands = world.switchboard.request_callback(number, "returns", "", (None, None))
        world.driver.run(commands)
    world.driver.feed(AgentRequest("agent1", "sign-in"))
    # The first customer answers and talks; the second never answers, twice.
    for customer_answers in (True, False, False):
        until(world, lambda: bool(rings(world)) and rings(world)[-1].agent_id == "agent1", 600)
        agent = rings(world)[-1]
        world.driver.feed(AgentAnswered(agent.call_id, agent.leg_id))
        customer = rings(world)[-1]
        if customer_answers:
            world.driver.feed(AgentAnswered(agent.call_id, customer.leg_id))
            world.wait(20)
            world.driver.feed(AgentLegEnded(agent.call_id, customer.leg_id, "hangup"))
        else:
            world.driver.feed(AgentLegEnded(agent.call_id, customer.leg_id, "no-answer"))
    world.wait(600)
    return notes_of(world)


def restart_flow() -> list[Note]:
    """A restart: one record is served on (recovered), one whose caller is gone is lost."""
    from tests.unit.switchboard.test_recovery import PLAN, daemon, restart

    store = MemoryLive()
    first = daemon(book(PLAN), store)
    waiting, gone = first.call(), first.call()
    for call in (waiting, gone):
        first.pbx.press(call.call_id, "1")
    first.wait(5)
    first.pbx.calls[gone.call_id].ended_by = "caller"
    second = restart(first, store)
    second.pbx.hang_up(waiting.call_id)
    second.wait(1)
    return notes_of(second)


def line_flow() -> list[Note]:
    """Ops close the line: a caller hears the emergency message; then it is opened again."""
    from tests.unit.ops.test_line import close, open_, world

    w = world()
    close(w)
    call_id = w.call("200").call_id
    until(w, noted(w, call_id, "ended"))
    open_(w)
    return notes_of(w)


def transfers_flow() -> list[Note]:
    """Agents transfer answered calls: warm (complete, cancel, busy, three-way), blind."""
    from ivr.calls.legs import AgentAnswered as Answered
    from ivr.calls.legs import AgentLegEnded as Ended
    from tests.unit.calls.test_agent_transfer import answered, ask, consult, rings
    from tests.unit.calls.test_agent_transfer import world as transfer_world

    notes: list[Note] = []
    w = transfer_world()
    call_id, _, _ = consult(w)
    ask(w, call_id, "agent1", "complete")
    notes += notes_of(w)
    w = transfer_world()
    call_id, _, _ = consult(w)
    ask(w, call_id, "agent1", "conference")
    ask(w, call_id, "agent2", "leave")
    ask(w, call_id, "agent1", "note", text="noted")
    notes += notes_of(w)
    w = transfer_world(("agent1", "agent2"))
    call_id, _ = answered(w)
    ask(w, call_id, "agent1", "warm", "agent", "agent2")
    ask(w, call_id, "agent1", "cancel")
    ask(w, call_id, "agent1", "blind", "agent", "agent2")
    w.driver.feed(Ended(call_id, rings(w)[-1].leg_id, "busy"))
    ask(w, call_id, "agent1", "blind", "queue", "returns")
    w.driver.feed(AgentRequest("agent3", "sign-in"))
    w.driver.feed(Answered(call_id, rings(w)[-1].leg_id))
    return notes + notes_of(w)


def supervision_flow() -> list[Note]:
    """A supervisor listens to a talk until it ends, and moves a waiting caller."""
    from tests.unit.calls.test_supervision import queue_call as waiting_call
    from tests.unit.calls.test_supervision import talking, world

    shop = world()
    call_id, _ = talking(shop)
    shop.driver.feed(SuperviseCall(call_id, "s1", "listen", "PJSIP/supervisor1", "olga"))
    shop.driver.feed(StopSupervising(call_id, "s1", "olga"))
    shop.driver.feed(SupervisionEnded(call_id, "s1", "stopped"))
    waiting = waiting_call(shop, "2", "+79990000002")
    shop.driver.feed(MoveCaller(waiting, "returns", "olga"))
    return notes_of(shop)


FLOWS: dict[str, Callable[[], list[Note]]] = {
    "supervision": supervision_flow,
    "transfers": transfers_flow,
    "line": line_flow,
    "nodes": nodes_flow,
    "goto_failed": goto_failed_flow,
    "agents": agents_flow,
    "nobody": nobody_flow,
    "callbacks": callbacks_flow,
    "restart": restart_flow,
}


@pytest.fixture(scope="module")
def written() -> dict[str, list[Note]]:
    return {name: flow() for name, flow in FLOWS.items()}


@pytest.mark.parametrize("flow", FLOWS)
def test_every_note_of_a_flow_fits_its_spec(flow: str, written: dict[str, list[Note]]) -> None:
    assert written[flow], "a flow that writes nothing checks nothing"
    misfits = [_misfit(note) for note in written[flow]]
    assert [m for m in misfits if m] == []


def _misfit(note: Note) -> str:
    spec = spec_of(note.kind)
    if spec is None:
        return f"{note.kind}: not listed"
    missing = sorted(spec.always - set(note.fields))
    extra = sorted(f for f in note.fields if not spec.allows(f))
    if missing or extra:
        return f"{note.kind}: missing {missing}, not listed {extra}"
    return ""


def test_the_flows_write_every_kind_but_a_few(written: dict[str, list[Note]]) -> None:
    seen = {note.kind for notes in written.values() for note in notes}
    assert sorted(set(NoteKind) - NOT_DRIVEN - seen) == []
    assert sorted(NOT_DRIVEN & seen) == [], "driven now: take these out of NOT_DRIVEN"


# --- (c) what the consumers read -------------------------------------------------------------

# Modules that read notes or journal entries by kind, besides the sinks the scan finds itself.
READERS = ("reports/report.py", "cli/tryout.py", "daemon.py")


def sink_modules() -> set[str]:
    """Modules of ivr/ with a journal sink: a `record(self, note: Note, ...)` method."""
    found = set()
    for path in IVR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for function in _functions(tree):
            args = function.args.args
            if (
                function.name == "record"
                and len(args) > 1
                and args[1].annotation is not None
                and ast.unparse(args[1].annotation) == "Note"
            ):
                found.add(path.relative_to(IVR).as_posix())
    return found


@dataclass(frozen=True)
class Use:
    """A kind a consumer reacts to: a string or a NoteKind member, or a prefix or suffix."""

    where: str
    text: str
    test: str = "equals"  # or "startswith", "endswith"

    def matches(self, kind: str) -> bool:
        if self.test == "equals":
            return kind == self.text
        return bool(getattr(kind, self.test)(self.text))


def _is_kind(expr: ast.expr) -> bool:
    # `note.kind`, `entry.kind`, `n.kind`: the kind of a note; `self.kind` is a setting.
    return (
        isinstance(expr, ast.Attribute)
        and expr.attr == "kind"
        and not (isinstance(expr.value, ast.Name) and expr.value.id == "self")
    )


def _strings(expr: ast.expr) -> list[str]:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [expr.value]
    if isinstance(expr, ast.Tuple | ast.List | ast.Set):
        return [s for e in expr.elts for s in _strings(e)]
    return []


def uses(rel: str) -> list[Use]:
    """The kinds the module `rel` reacts to."""
    path = IVR / rel
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[Use] = []

    def named(node: ast.AST, text: str, test: str = "equals") -> None:
        found.append(Use(f"{rel}:{getattr(node, 'lineno', 0)}", text, test))

    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "NoteKind"
        ):
            member = NoteKind.__members__.get(node.attr)
            named(node, member.value if member is not None else f"NoteKind.{node.attr}")
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_kind(side) for side in sides):
                for side in sides:
                    for text in _strings(side):
                        named(node, text)
        elif isinstance(node, ast.Match) and _is_kind(node.subject):
            for case in node.cases:
                for pattern in ast.walk(case.pattern):
                    if isinstance(pattern, ast.MatchValue):
                        for text in _strings(pattern.value):
                            named(pattern, text)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("startswith", "endswith")
            and _is_kind(node.func.value)
        ):
            for text in _strings(node.args[0]):
                named(node, text, node.func.attr)
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith("VoicemailKeeper"):
            # The keeper copies the recording a note of its `kind` names.
            for keyword in node.keywords:
                if keyword.arg == "kind":
                    for text in _strings(keyword.value):
                        named(node, text)
    return found


def consumer_modules() -> list[str]:
    return sorted(sink_modules() | {rel for rel in READERS if (IVR / rel).exists()})


def test_the_scan_finds_the_consumers() -> None:
    sinks = sink_modules()
    assert {"journal/metrics_sink.py", "recordings/keeper.py", "pbx/ami/publish.py"} <= sinks
    assert any(uses(rel) for rel in consumer_modules())


@pytest.mark.parametrize("rel", consumer_modules())
def test_every_kind_a_consumer_reacts_to_is_listed(rel: str) -> None:
    unlisted = [
        f"{use.where} {use.test} {use.text}"
        for use in uses(rel)
        if not any(use.matches(kind) for kind in NoteKind)
    ]
    assert unlisted == []


def test_the_kinds_consumers_react_to_are_written_by_the_flows(
    written: dict[str, list[Note]],
) -> None:
    # A consumer that waits for a kind no call writes (or a flow that stopped writing it).
    seen = {note.kind for notes in written.values() for note in notes}
    wanted = {use.text for rel in consumer_modules() for use in uses(rel) if use.test == "equals"}
    assert sorted(wanted - seen - NOT_DRIVEN) == []
