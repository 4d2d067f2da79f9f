"""Checks that need more than one broken file to show: what is not a problem, and why."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ivr.plan.load import load_book
from tests.unit.conftest import book

BILLING = """
name: billing
numbers: ["200"]
nodes:
  start: {type: hangup}
  from_shop: {type: hangup, prompt: sound:billing}
"""
SHOP = """
name: shop
numbers: ["100"]
nodes:
  start: {type: goto, target: "billing:from_shop"}
"""


def warnings_of(*texts: str) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, text in enumerate(texts):
            path = Path(folder) / f"p{index}.yaml"
            path.write_text(text, encoding="utf-8")
            paths.append(path)
        _, problems = load_book(paths)
    return [p.message for p in problems]


def test_a_node_reached_from_another_plan_is_not_unreachable() -> None:
    assert warnings_of(SHOP, BILLING) == []
    assert warnings_of(BILLING) == ["node 'from_shop' cannot be reached from 'start'"]


def test_a_queue_exit_is_reachable() -> None:
    text = """
name: shop
numbers: ["100"]
queues:
  sales: {max_callers: 5, exit: full}
nodes:
  start: {type: queue, queue: sales}
  full: {type: voicemail, mailbox: shop}
"""
    assert warnings_of(text) == []


def test_a_loop_through_a_menu_has_a_way_out() -> None:
    text = """
name: shop
numbers: ["100"]
nodes:
  start:
    type: menu
    prompt: sound:menu
    no_input: sound:please-try-again
    options: {"1": info}
  info: {type: play, prompt: sound:info, next: back}
  back: {type: goto, target: start}
"""
    assert warnings_of(text) == []


def test_a_single_plan_book_still_serves() -> None:
    assert book(BILLING).named("billing") is not None
    assert book(BILLING).named("shop") is None
