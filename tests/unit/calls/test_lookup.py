"""The lookup node: the backend's answer sets variables and picks the next node; any failure
(slow, down, an error status, an answer without the expected fields) goes to `fallback`."""

from __future__ import annotations

from ivr.calls.call import Call
from ivr.calls.commands import Lookup
from ivr.calls.events import Caller
from ivr.pbx.sim.pbx import SimCall
from tests.unit.conftest import World, book, make_world

URL = "http://backend.test/orders"
PLAN = f"""
name: shop
numbers: ["100"]
nodes:
  start:
    type: collect
    prompt: sound:enter-order
    no_input: sound:please-try-again
    var: order
    next: ask
  ask:
    type: lookup
    url: {URL}
    params: {{order: order, from: caller}}
    timeout: 2
    vars: {{status: status, eta: delivery.eta}}
    route:
      field: status
      cases: {{shipped: shipped, unknown: operator}}
    next: other
    fallback: sorry
  shipped: {{type: hangup, prompt: sound:shipped}}
  other: {{type: hangup, prompt: sound:other}}
  operator: {{type: hangup, prompt: sound:operator}}
  sorry: {{type: hangup, prompt: sound:sorry}}
"""
SHIPPED = {"status": "shipped", "delivery": {"eta": "2026-12-31"}}


def order(world: World, text: str = PLAN) -> tuple[SimCall, Call]:
    """A caller who types order 12345# and waits."""
    sim = world.call(caller=Caller("+79001234567"))
    call = world.switchboard.calls[sim.call_id]
    world.wait(2)
    world.pbx.press(sim.call_id, "12345#")
    world.wait(0)
    return sim, call


def test_the_answer_sets_variables_and_routes_on_a_field() -> None:
    world = make_world(book(PLAN))
    world.backend.answer(URL, SHIPPED)
    sim, call = order(world)
    world.wait(10)
    assert sim.heard == ["sound:enter-order", "sound:shipped"]
    assert call.vars == {"order": "12345", "status": "shipped", "eta": "2026-12-31"}
    done = world.notes.of(sim.call_id, "lookup_done")[0]
    assert done.fields == {"node": "ask", "status": "200", "result": "ok", "target": "shipped"}


def test_caller_variables_travel_as_params_and_the_url_stays_as_written() -> None:
    world = make_world(book(PLAN))
    world.backend.answer(URL, SHIPPED)
    order(world)
    [request] = world.backend.requests
    assert request.url == URL
    assert request.method == "GET"
    assert request.params == {"order": "12345", "from": "+79001234567"}
    assert request.timeout == 2


def test_a_value_without_a_case_goes_to_next() -> None:
    world = make_world(book(PLAN))
    world.backend.answer(URL, {"status": "processing", "delivery": {"eta": None}})
    sim, call = order(world)
    world.wait(10)
    assert sim.heard[-1] == "sound:other"
    assert call.vars["eta"] == ""  # null is an empty value, not a broken answer


def test_unknown_goes_to_the_operator() -> None:
    world = make_world(book(PLAN))
    world.backend.answer(URL, {"status": "unknown", "delivery": {"eta": ""}})
    sim, _ = order(world)
    world.wait(10)
    assert sim.heard[-1] == "sound:operator"


def test_a_slow_backend_falls_back_when_the_timeout_runs_out() -> None:
    world = make_world(book(PLAN))
    world.backend.answer(URL, SHIPPED, delay=5)
    sim, call = order(world)
    world.wait(1.9)
    assert sim.heard == ["sound:enter-order"]
    world.wait(0.2)
    assert sim.heard == ["sound:enter-order", "sound:sorry"]
    done = world.notes.of(sim.call_id, "lookup_done")
    assert [n.fields["result"] for n in done] == ["failed"]
    assert "status" not in call.vars


def test_an_answer_that_never_comes_falls_back_on_the_cores_own_timer() -> None:
    world = make_world(book(PLAN))

    class Silent:
        def send(self, command: Lookup) -> None:
            pass  # a request lost on the way: no LookupDone, ever

    world.driver.lookups = Silent()
    sim, _ = order(world)
    world.wait(2.1)
    assert sim.heard[-1] == "sound:sorry"
    assert world.notes.of(sim.call_id, "lookup_done")[0].fields["why"] == "timeout"


def test_a_backend_that_is_down_falls_back_at_once() -> None:
    world = make_world(book(PLAN))  # nothing answers the URL: connection refused
    sim, _ = order(world)
    world.wait(0.1)
    assert sim.heard[-1] == "sound:sorry"
    done = world.notes.of(sim.call_id, "lookup_done")[0]
    assert done.fields["why"] == "no answer" and done.fields["status"] == "0"


def test_an_error_status_falls_back() -> None:
    world = make_world(book(PLAN))
    world.backend.answer(URL, {"error": "boom"}, status=500)
    sim, _ = order(world)
    world.wait(10)
    assert sim.heard[-1] == "sound:sorry"
    assert world.notes.of(sim.call_id, "lookup_done")[0].fields["status"] == "500"


def test_unexpected_json_falls_back() -> None:
    for answer in (
        {"status": "shipped"},  # no delivery.eta
        {"status": {"code": "shipped"}, "delivery": {"eta": "x"}},  # an object, not text
        {"delivery": {"eta": "x"}},  # no status to route on
        ["shipped"],  # not an object at all
        "shipped",
    ):
        world = make_world(book(PLAN))
        world.backend.answer(URL, answer)
        sim, call = order(world)
        world.wait(10)
        assert sim.heard[-1] == "sound:sorry", answer
        assert "status" not in call.vars


def test_without_a_backend_wired_lookups_fail_and_fall_back() -> None:
    world = make_world(book(PLAN))
    world.driver.lookups = None
    sim, _ = order(world)
    world.wait(1)
    assert sim.heard[-1] == "sound:sorry"


def test_the_waiting_prompt_is_never_cut_off() -> None:
    text = PLAN.replace("    timeout: 2\n", "    timeout: 2\n    prompt: sound:one-moment-please\n")
    world = make_world(book(text))
    world.backend.answer(URL, SHIPPED, delay=0.5)
    sim, _ = order(world)
    world.wait(1.9)  # answered at 0.5 s; the prompt runs 2 s
    assert sim.heard == ["sound:enter-order", "sound:one-moment-please"]
    world.wait(0.2)
    assert sim.heard == ["sound:enter-order", "sound:one-moment-please", "sound:shipped"]


def test_a_caller_who_hangs_up_while_waiting_is_forgotten_cleanly() -> None:
    world = make_world(book(PLAN))
    world.backend.answer(URL, SHIPPED, delay=1)
    sim, _ = order(world)
    world.pbx.hang_up(sim.call_id)
    world.wait(10)  # the late answer finds no call
    assert world.switchboard.calls == {}
    assert world.notes.of(sim.call_id, "lookup_done") == []


def test_post_sends_the_same_params() -> None:
    world = make_world(book(PLAN.replace("    timeout: 2\n", "    timeout: 2\n    method: POST\n")))
    world.backend.answer(URL, SHIPPED)
    sim, _ = order(world)
    world.wait(10)
    assert world.backend.requests[0].method == "POST"
    assert sim.heard[-1] == "sound:shipped"
