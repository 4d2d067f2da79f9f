"""Tags label the call's topic in the journal; goto continues in this plan or another."""

from __future__ import annotations

from tests.unit.conftest import book, make_world

SHOP = """
name: shop
numbers: ["100"]
nodes:
  start:
    type: menu
    prompt: sound:shop-menu
    no_input: sound:please-try-again
    options: {"1": orders, "2": billing}
  orders: {type: tag, tag: order_status, next: again}
  again: {type: tag, tag: order_status, next: done}
  done: {type: hangup, prompt: sound:orders}
  billing: {type: goto, target: "billing:invoices"}
"""
BILLING = """
name: billing
numbers: ["200"]
prompts:
  invoices: {en: "say:Invoices"}
nodes:
  start: {type: hangup, prompt: sound:billing-start}
  invoices: {type: hangup, prompt: invoices}
"""


def test_a_tag_is_noted_and_kept_once() -> None:
    world = make_world(book(SHOP, BILLING))
    sim = world.call()
    call = world.switchboard.calls[sim.call_id]
    world.pbx.press(sim.call_id, "1")
    world.wait(10)
    assert call.tags == ["order_status"]
    tags = world.notes.of(sim.call_id, "tag")
    assert [n.fields for n in tags] == [
        {"plan": "shop", "node": "orders", "tag": "order_status"},
        {"plan": "shop", "node": "again", "tag": "order_status"},
    ]


def test_goto_continues_in_another_plan() -> None:
    world = make_world(book(SHOP, BILLING))
    sim = world.call()
    call = world.switchboard.calls[sim.call_id]
    world.pbx.press(sim.call_id, "2")
    world.wait(10)
    assert call.plan.name == "billing"
    assert sim.heard[-1].startswith("sound:ivr/billing/en/")  # billing's own prompt
    moved = world.notes.of(sim.call_id, "plan")[0]
    assert moved.fields["plan"] == "billing" and moved.fields["came_from"] == "shop"
    assert world.notes.of(sim.call_id, "ended")[0].fields["plan"] == "billing"


def test_a_goto_into_a_plan_the_call_does_not_know_says_goodbye() -> None:
    # One plan alone is checked without its neighbours; the core still never leaves a dead end.
    world = make_world(book(SHOP))
    sim = world.call()
    world.pbx.press(sim.call_id, "2")
    world.wait(10)
    assert "goto_failed" in world.notes.kinds(sim.call_id)
    assert sim.heard[-1] == "sound:goodbye"
    assert sim.ended_by == "ivr"


def test_calls_keep_the_book_they_started_with() -> None:
    world = make_world(book(SHOP, BILLING))
    sim = world.call()
    world.switchboard.reload(book(SHOP.replace("billing:invoices", "shop:done")))
    world.pbx.press(sim.call_id, "2")
    world.wait(10)
    assert sim.heard[-1].startswith("sound:ivr/billing/en/")
