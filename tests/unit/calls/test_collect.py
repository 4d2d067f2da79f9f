"""The collect node: digits into a variable, N of them or up to '#', checked, with retries."""

from __future__ import annotations

from ivr.calls.call import Call
from ivr.pbx.sim.pbx import SimCall
from tests.unit.conftest import World, book, make_world

PLAN = """
name: shop
numbers: ["100"]
nodes:
  start:
    type: collect
    prompt: sound:enter-order
    var: order
    pattern: '^[0-9]{5}$'
    invalid: sound:bad-order
    no_input: sound:please-try-again
    retries: 1
    timeout: 5
    inter_digit_timeout: 3
    next: done
    exhausted: operator
  done: {type: hangup, prompt: sound:thanks}
  operator: {type: hangup, prompt: sound:operator}
"""

FOUR = """
name: shop
numbers: ["100"]
nodes:
  start:
    type: collect
    prompt: sound:enter-pin
    var: pin
    digits: 4
    terminator: null
    no_input: sound:please-try-again
    next: done
  done: {type: hangup, prompt: sound:thanks}
"""


def start(text: str = PLAN) -> tuple[World, SimCall, Call]:
    world = make_world(book(text))
    sim = world.call()
    return world, sim, world.switchboard.calls[sim.call_id]


def test_digits_up_to_hash_go_into_the_variable() -> None:
    world, sim, call = start()
    world.wait(2)
    world.pbx.press(sim.call_id, "12345#")
    world.wait(10)
    assert call.vars == {"order": "12345"}
    assert sim.heard == ["sound:enter-order", "sound:thanks"]
    collected = world.notes.of(sim.call_id, "collected")[0]
    assert collected.fields == {"node": "start", "var": "order", "length": "5"}


def test_the_callers_digits_never_reach_the_journal() -> None:
    world, sim, _ = start()
    world.pbx.press(sim.call_id, "12345#")
    world.wait(10)
    assert all("12345" not in value for _, n in world.notes.items for value in n.fields.values())


def test_exactly_n_digits_end_the_entry_without_a_terminator() -> None:
    world, sim, call = start(FOUR)
    world.wait(2)
    world.pbx.press(sim.call_id, "4321")
    world.wait(0)
    assert call.vars == {"pin": "4321"}
    assert sim.heard[-1] == "sound:thanks"


def test_stopping_short_of_n_digits_is_invalid() -> None:
    world, sim, call = start(FOUR)
    world.wait(2)
    world.pbx.press(sim.call_id, "43")
    world.wait(2.9)
    assert world.notes.kinds(sim.call_id).count("collect_invalid") == 0
    world.wait(0.2)  # the 3 s inter-digit timeout ran out with two digits of four
    invalid = world.notes.of(sim.call_id, "collect_invalid")[0]
    assert invalid.fields == {"node": "start", "attempt": "1", "length": "2"}
    assert sim.heard[-2:] == ["sound:pbx-invalid", "sound:enter-pin"]
    assert "pin" not in call.vars


def test_a_pattern_reject_says_why_and_asks_again() -> None:
    world, sim, call = start()
    world.wait(2)
    world.pbx.press(sim.call_id, "123#")
    world.wait(0)
    assert sim.heard == ["sound:enter-order", "sound:bad-order", "sound:enter-order"]
    assert "order" not in call.vars
    world.wait(1)
    world.pbx.press(sim.call_id, "54321#")
    world.wait(10)
    assert call.vars == {"order": "54321"}
    assert sim.heard[-1] == "sound:thanks"


def test_the_inter_digit_timeout_ends_an_entry_without_hash() -> None:
    world, sim, call = start()
    world.wait(2)
    world.pbx.press(sim.call_id, "12345")
    world.wait(2.9)
    assert "order" not in call.vars
    world.wait(0.2)
    assert call.vars == {"order": "12345"}


def test_silence_gets_the_no_input_prompt_after_the_timeout() -> None:
    world, sim, _ = start()
    world.wait(2 + 4.9)  # the prompt, then almost the whole timeout
    assert sim.heard == ["sound:enter-order"]
    world.wait(0.2)
    assert sim.heard == ["sound:enter-order", "sound:please-try-again", "sound:enter-order"]
    assert world.notes.of(sim.call_id, "collect_no_input")[0].fields["attempt"] == "1"


def test_a_hash_alone_counts_as_no_input() -> None:
    world, sim, _ = start()
    world.pbx.press(sim.call_id, "#")
    world.wait(0)
    assert world.notes.kinds(sim.call_id).count("collect_no_input") == 1


def test_retries_run_out_into_exhausted() -> None:
    world, sim, _ = start()
    world.pbx.press(sim.call_id, "1#")
    world.wait(0)
    world.pbx.press(sim.call_id, "2#")
    world.wait(10)
    assert world.notes.kinds(sim.call_id).count("collect_invalid") == 2
    assert "collect_exhausted" in world.notes.kinds(sim.call_id)
    assert sim.heard[-1] == "sound:operator"
    assert sim.ended_by == "ivr"


def test_without_exhausted_the_call_says_goodbye() -> None:
    world, sim, _ = start(FOUR)
    world.wait(120)
    assert sim.heard[-1] == "sound:goodbye"
    assert world.notes.of(sim.call_id, "ended")[0].fields["outcome"] == "no_input"


def test_a_key_during_the_prompt_stops_it() -> None:
    world, sim, _ = start()
    world.wait(0.5)
    world.pbx.press(sim.call_id, "1")
    world.wait(0)
    assert not sim.playing  # stopped at once, not left to play out


def test_without_barge_in_keys_during_the_prompt_do_not_count() -> None:
    world, sim, call = start(PLAN.replace("retries: 1", "retries: 1\n    barge_in: false"))
    world.wait(0.5)
    world.pbx.press(sim.call_id, "99999#")
    world.wait(1.6)
    world.pbx.press(sim.call_id, "12345#")
    world.wait(10)
    assert call.vars == {"order": "12345"}
    assert sim.heard == ["sound:enter-order", "sound:thanks"]
