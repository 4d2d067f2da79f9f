"""Ops close the line (an emergency) and open it again: what arriving callers hear and meet,
callers already in the plan, the journal, a restart, and the plan's checks."""

from __future__ import annotations

import pytest

from ivr.calls.commands import HangUp, Play
from ivr.plan.errors import PlanError
from ivr.plan.load import parse_plan
from ivr.store.memory import MemoryLive
from ivr.switchboard import closure
from ivr.switchboard.closure import Closure
from tests.unit.conftest import World, book, make_world

PLAN = """
name: shop
numbers: ["100"]
queues:
  returns: {skills: {returns: 1}}
prompts:
  storm: {en: "sound:storm-warning"}
emergency:
  messages: [storm]
  next: message
nodes:
  start:
    type: menu
    prompt: sound:main-menu
    no_input: sound:please-try-again
    options: {"1": bye}
  bye: {type: hangup, prompt: sound:thanks}
  message: {type: voicemail, mailbox: shop, queue: returns}
"""
PLAIN = """
name: plain
numbers: ["200"]
nodes:
  start: {type: menu, prompt: sound:plain-menu, no_input: sound:again, options: {"1": bye}}
  bye: {type: hangup}
"""
START = 1_790_000_000.0


def world(store: MemoryLive | None = None) -> World:
    built = make_world(book(PLAN, PLAIN), start=START)
    if store is not None:
        built.driver.live = store
    return built


def close(w: World, message: str = "emergency", *plans: str) -> str:
    shut = Closure(message, "flood in the warehouse", "anna@ops", w.clock.now())
    why, commands = w.switchboard.line.close(w.switchboard.plans, shut, plans)
    w.driver.run(commands)
    return why


def open_(w: World, *plans: str) -> str:
    why, commands = w.switchboard.line.open("anna@ops", "water gone", plans)
    w.driver.run(commands)
    return why


def plays(w: World, call_id: str) -> list[tuple[str, ...]]:
    return [c.media for c in w.pbx.sent if isinstance(c, Play) and c.call_id == call_id]


def test_a_closed_plan_without_an_emergency_node_says_the_message_goodbye_and_hangs_up() -> None:
    w = world()
    assert close(w, "emergency", "plain") == ""
    call = w.call("200")
    w.wait(30)
    assert plays(w, call.call_id) == [
        ("sound:im-sorry", "sound:please-try-call-later", "sound:goodbye")
    ]
    assert any(isinstance(c, HangUp) and c.call_id == call.call_id for c in w.pbx.sent)
    (note,) = w.notes.of(call.call_id, "emergency")
    assert note.fields == {"plan": "plain", "message": "emergency", "target": "goodbye"}
    assert w.notes.of(call.call_id, "ended")[0].fields["outcome"] == "closed"


def test_the_chosen_message_plays_then_the_plans_emergency_node() -> None:
    w = world()
    assert close(w, "storm", "shop") == ""
    call = w.call("100")
    w.wait(10)
    media = plays(w, call.call_id)
    assert media[0] == ("sound:storm-warning",)
    assert "sound:main-menu" not in [m for played in media for m in played]
    assert w.notes.of(call.call_id, "node")[-1].fields["node"] == "message"
    assert call.recorded or w.notes.of(call.call_id, "voicemail_recording")


def test_a_message_a_plan_does_not_declare_is_refused_and_nothing_closes() -> None:
    w = world()
    why = close(w, "storm")  # every plan: `plain` lacks it
    assert "plain" in why and "emergency: messages:" in why
    assert close(w, "storm", "nosuch").startswith("no plan called nosuch")
    assert w.switchboard.line.closed == {}
    assert not [n for _, n in w.notes.items if n.kind == "line_closed"]


def test_opening_gives_the_next_caller_the_menu_and_both_are_journalled() -> None:
    w = world()
    close(w)
    first = w.call("100")
    w.wait(5)
    assert open_(w) == ""
    second = w.call("100")
    w.wait(1)
    assert plays(w, second.call_id)[0] == ("sound:main-menu",)
    assert plays(w, first.call_id)[0] != ("sound:main-menu",)
    desk = [(n.kind, n.fields) for _, n in w.notes.items if n.call_id == ""]
    assert desk == [
        ("line_closed", {"plan": "*", "message": "emergency",
                         "reason": "flood in the warehouse", "by": "anna@ops"}),
        ("line_opened", {"plan": "*", "by": "anna@ops", "reason": "water gone"}),
    ]  # fmt: skip


def test_callers_already_in_the_menu_go_on_as_they_were() -> None:
    w = world()
    call = w.call("100")
    w.wait(1)
    close(w)
    w.pbx.press(call.call_id, "1")
    w.wait(5)
    assert w.notes.of(call.call_id, "menu_choice")[0].fields["target"] == "bye"
    assert w.notes.of(call.call_id, "emergency") == []


def test_one_plan_closed_leaves_the_other_open_and_all_plans_open_only_together() -> None:
    w = world()
    close(w, "emergency", "plain")
    shop = w.call("100")
    w.wait(1)
    assert plays(w, shop.call_id)[0] == ("sound:main-menu",)
    close(w)
    assert "every plan" in open_(w, "plain")
    assert open_(w) == ""
    assert w.switchboard.line.closed == {}


def test_a_closure_survives_a_restart_through_the_live_store() -> None:
    store = MemoryLive()
    first = world(store)
    close(first, "storm", "shop")
    assert store.load(closure.LINE)["shop"]["message"] == "storm"
    after = world(store)
    assert after.switchboard.line.restore(store.load(closure.LINE)) == []
    call = after.call("100")
    after.wait(1)
    assert plays(after, call.call_id)[0] == ("sound:storm-warning",)
    open_(after)
    assert store.load(closure.LINE) == {}


def test_a_record_of_an_unknown_layout_is_refused_not_guessed() -> None:
    line = closure.LineClosures()
    assert line.restore({"*": {"v": 99, "message": "x"}}) == ["*"]
    assert line.closed_for("shop") is None


def test_status_says_which_plans_are_closed_and_what_they_offer() -> None:
    w = world()
    close(w, "emergency", "plain")
    status = w.switchboard.line.status(w.switchboard.plans)
    assert status["closed"] is True
    assert status["plans"]["shop"] == {
        "closed": False, "messages": ["emergency", "storm"], "emergency_node": "message"
    }  # fmt: skip
    plain = status["plans"]["plain"]
    assert (plain["closed"], plain["by"], plain["all_plans"]) == (True, "anna@ops", False)


def problems(text: str) -> list[str]:
    try:
        _, warnings = parse_plan(text, "p.yaml")
    except PlanError as exc:
        return [str(p) for p in exc.problems]
    return [str(w) for w in warnings]


def test_the_check_wants_the_emergency_node_and_the_declared_messages_to_exist() -> None:
    broken = PLAN.replace("next: message", "next: mesage").replace("[storm]", "[storm, fire]")
    found = problems(broken)
    assert any("emergency next goes to 'mesage'" in p for p in found)
    assert any("prompt 'fire' is not in prompts:" in p for p in found)


def test_a_declared_message_and_the_emergency_node_count_as_used_and_reached() -> None:
    assert problems(PLAN) == []
    own = PLAIN.replace("nodes:", 'prompts: {emergency: {en: "sound:closed-now"}}\nnodes:')
    assert problems(own) == []


def test_a_plans_own_emergency_prompt_replaces_the_built_in_message() -> None:
    own = PLAIN.replace("nodes:", 'prompts: {emergency: {en: "sound:closed-now"}}\nnodes:')
    w = make_world(book(own), start=START)
    close(w)
    call = w.call("200")
    w.wait(1)
    assert plays(w, call.call_id)[0] == ("sound:closed-now", "sound:goodbye")


@pytest.mark.parametrize("key", ["1", "9"])
def test_keys_during_the_message_change_nothing(key: str) -> None:
    w = world()
    close(w, "storm", "shop")
    call = w.call("100")
    w.pbx.press(call.call_id, key)
    w.wait(10)
    assert w.notes.of(call.call_id, "menu_choice") == []
    assert w.notes.of(call.call_id, "node")[-1].fields["node"] == "message"
