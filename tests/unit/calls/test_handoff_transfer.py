"""A queue without a roster hands the call on (for now: a note, the hold prompt
and goodbye); transfer asks the PBX to connect the caller, and falls back when it cannot."""

from __future__ import annotations

import pytest

from tests.unit.conftest import book, make_world

PLAN = """
name: shop
numbers: ["100"]
queues:
  sales: {skills: {sales: 2}}
nodes:
  start:
    type: menu
    prompt: sound:menu
    no_input: sound:please-try-again
    options: {"1": sales, "2": mail, "3": back, "4": survey, "5": desk, "6": office, "7": dead}
  sales: {type: queue, queue: sales, priority: 5, prompt: sound:connecting}
  mail: {type: voicemail, mailbox: shop@default}
  back: {type: callback, queue: sales}
  survey:
    type: survey
    survey: after_call
    questions: [{kind: csat, prompt: sound:rate}]
  desk: {type: transfer, extension: 101}
  office:
    type: transfer
    number: "+74951234567"
    prompt: sound:transferring
  dead:
    type: transfer
    number: "+74950000000"
    fallback: sorry
  sorry: {type: hangup, prompt: sound:sorry}
"""


@pytest.mark.parametrize(
    ("key", "kind", "target", "heard"),
    [
        ("1", "queue", "sales", ["sound:connecting", "sound:pls-hold-while-try"]),
    ],
)
def test_handoffs_note_where_the_call_goes_then_say_goodbye(
    key: str, kind: str, target: str, heard: list[str]
) -> None:
    world = make_world(book(PLAN))
    sim = world.call()
    world.pbx.press(sim.call_id, key)
    world.wait(30)
    note = world.notes.of(sim.call_id, "handoff")[0]
    assert note.fields["kind"] == kind and note.fields["target"] == target
    assert sim.heard == ["sound:menu", *heard, "sound:goodbye"]
    assert sim.ended_by == "ivr"
    assert world.notes.of(sim.call_id, "ended")[0].fields["outcome"] == kind


def test_a_queue_notes_its_priority() -> None:
    world = make_world(book(PLAN))
    sim = world.call()
    world.pbx.press(sim.call_id, "1")
    world.wait(30)
    assert world.notes.of(sim.call_id, "handoff")[0].fields["priority"] == "5"


def test_the_plan_chooses_its_hold_prompt() -> None:
    text = PLAN.replace("queues:", "hold_prompt: [sound:please-wait, sound:music]\nqueues:")
    world = make_world(book(text))
    sim = world.call()
    world.pbx.press(sim.call_id, "1")
    world.wait(30)
    assert sim.heard == [
        "sound:menu",
        "sound:connecting",
        "sound:please-wait",
        "sound:music",
        "sound:goodbye",
    ]


def test_transfer_to_an_extension() -> None:
    world = make_world(book(PLAN))
    sim = world.call()
    world.pbx.press(sim.call_id, "5")
    world.wait(10)
    assert sim.transferred_to == "PJSIP/101"
    assert world.notes.of(sim.call_id, "transfer")[0].fields["endpoint"] == "PJSIP/101"
    assert world.notes.of(sim.call_id, "ended")[0].fields["outcome"] == "transferred"
    assert world.switchboard.calls == {}


def test_transfer_to_an_outside_number_goes_through_the_trunk_after_its_prompt() -> None:
    world = make_world(book(PLAN))
    sim = world.call()
    world.pbx.press(sim.call_id, "6")
    world.wait(1.9)
    assert sim.transferred_to == ""  # still saying "transferring"
    world.wait(0.2)
    assert sim.transferred_to == "PJSIP/+74951234567@trunk"
    assert sim.heard == ["sound:menu", "sound:transferring"]


def test_a_failed_transfer_goes_to_fallback() -> None:
    world = make_world(book(PLAN))
    world.pbx.unreachable.add("PJSIP/+74950000000@trunk")
    sim = world.call()
    world.pbx.press(sim.call_id, "7")
    world.wait(10)
    assert world.notes.of(sim.call_id, "transfer_failed")[0].fields["reason"] == "unreachable"
    assert sim.heard[-1] == "sound:sorry"
    assert world.notes.of(sim.call_id, "ended")[0].fields["outcome"] == "completed"


def test_a_failed_transfer_without_fallback_says_goodbye() -> None:
    world = make_world(book(PLAN))
    world.pbx.unreachable.add("PJSIP/101")
    sim = world.call()
    world.pbx.press(sim.call_id, "5")
    world.wait(10)
    assert sim.heard[-1] == "sound:goodbye"
    assert world.notes.of(sim.call_id, "ended")[0].fields["outcome"] == "transfer_failed"
