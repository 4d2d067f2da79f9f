"""Agents' transfers in the core, on virtual time: warm (complete, cancel, busy, hang-up in
the consult, three-way), blind to a queue and to an agent, and what the API is refused."""

from __future__ import annotations

from ivr.calls import agent_transfer
from ivr.calls.commands import JoinBridge, LeaveBridge
from ivr.calls.events import AgentRequest, Caller, TransferRequest
from ivr.calls.legs import AgentAnswered, AgentLegEnded, DropLeg, RingAgent, StartMusic, StopMusic
from ivr.routing.desk import Desk
from ivr.routing.roster import parse_roster
from tests.unit.conftest import World, book, make_world

PLAN = """
name: shop
numbers: ["100"]
queues:
  orders: {skills: {orders: 1}, wrapup: 30}
  returns: {skills: {returns: 1}, wrapup: 30}
nodes:
  start: {type: collect, var: order, digits: 4, sensitive: false, prompt: sound:enter, next: tagged}
  tagged: {type: tag, tag: delivery, next: desk}
  desk: {type: queue, queue: orders, priority: 5, survey: rate}
  rate:
    type: survey
    survey: after_agent
    questions: [{kind: csat, prompt: sound:rate-csat}]
"""
ROSTER = """
teams: {shop: {kind: in-house}}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {orders: 5}}
  - {id: agent2, name: Boris, endpoint: PJSIP/agent2, team: shop, skills: {orders: 5}}
  - {id: agent3, name: Vera, endpoint: PJSIP/agent3, team: shop, skills: {returns: 5}}
"""


def world(signed_in: tuple[str, ...] = ("agent1",)) -> World:
    plans = book(PLAN)
    shop = make_world(plans)
    shop.switchboard.desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
    for agent in signed_in:
        shop.driver.feed(AgentRequest(agent, "sign-in"))
    return shop


def answered(shop: World) -> tuple[str, RingAgent]:
    """A caller types order 1234, waits in `orders` and agent1 answers."""
    call = shop.call(caller=Caller("+79991234567"))
    shop.wait(3)
    for digit in "1234":
        shop.pbx.press(call.call_id, digit)
    shop.wait(1)
    ring = rings(shop)[-1]
    assert ring.agent_id == "agent1"
    shop.driver.feed(AgentAnswered(call.call_id, ring.leg_id))
    return call.call_id, ring


def rings(shop: World) -> list[RingAgent]:
    return [c for c in shop.pbx.sent if isinstance(c, RingAgent)]


def state(shop: World, agent: str) -> str:
    return str(shop.switchboard.desk.router.agent(agent).state)


def ask(
    shop: World,
    call_id: str,
    agent: str,
    action: str,
    kind: str = "",
    target: str = "",
    text: str = "",
) -> tuple[int, str] | None:
    """What the API does: check the request, and feed it when it stands."""
    request = TransferRequest(call_id, agent, action, kind, target, text)
    call = agent_transfer.call_of(shop.switchboard.calls, agent)
    refused = agent_transfer.refusal(call, shop.switchboard.desk.router, request)
    if refused is None:
        shop.driver.feed(request)
    return refused


def consult(shop: World) -> tuple[str, RingAgent, RingAgent]:
    """agent1 notes the call and consults agent2, who answers."""
    shop.driver.feed(AgentRequest("agent2", "sign-in"))
    call_id, first = answered(shop)
    assert ask(shop, call_id, "agent1", "note", text="wants a refund on 1234") is None
    assert ask(shop, call_id, "agent1", "warm", "agent", "agent2") is None
    target = rings(shop)[-1]
    assert (target.agent_id, target.endpoint) == ("agent2", "PJSIP/agent2")
    shop.driver.feed(AgentAnswered(call_id, target.leg_id))
    return call_id, first, target


def test_a_warm_transfer_holds_the_caller_on_music_and_completes_to_the_second_agent() -> None:
    shop = world()
    call_id, first, target = consult(shop)
    # While agent2 rings the caller is out of the bridge, on music.
    held = shop.pbx.sent.index(LeaveBridge(call_id, call_id))
    assert StartMusic(call_id, "default") in shop.pbx.sent[held:]
    assert JoinBridge(call_id, target.leg_id) in shop.pbx.sent  # the consult: agent1 + agent2
    assert (state(shop, "agent1"), state(shop, "agent2")) == ("on_call", "on_call")
    pop = shop.notes.of(call_id, "agent_transfer_answered")[0].fields
    assert pop["var_order"] == "1234" and pop["topic"] == "delivery"
    assert (pop["transferred_by"], pop["note"]) == ("agent1", "wants a refund on 1234")
    shop.wait(5)
    before = len(shop.pbx.sent)
    assert ask(shop, call_id, "agent1", "complete") is None
    after = shop.pbx.sent[before:]
    assert DropLeg(call_id, first.leg_id) in after
    assert after[-2:] == [StopMusic(call_id), JoinBridge(call_id, call_id)]
    assert (state(shop, "agent1"), state(shop, "agent2")) == ("wrap_up", "on_call")
    shop.driver.feed(AgentLegEnded(call_id, first.leg_id, "hangup"))
    shop.wait(20)
    shop.driver.feed(AgentLegEnded(call_id, target.leg_id, "hangup"))
    # One call, two agent legs: each agent's talk is its own.
    done = shop.notes.of(call_id, "agent_transfer_done")[0].fields
    assert (done["agent"], done["to"], done["talk"]) == ("agent1", "agent2", "5.0")
    hung = shop.notes.of(call_id, "agent_hung_up")[0].fields
    assert (hung["agent"], hung["talk"]) == ("agent2", "20.0")
    assert state(shop, "agent2") == "wrap_up"
    # The survey follows and rates the last agent.
    assert "survey_started" in shop.notes.kinds(call_id)


def test_cancel_returns_the_caller_to_the_first_agent_and_frees_the_target() -> None:
    shop = world()
    call_id, _first, target = consult(shop)
    before = len(shop.pbx.sent)
    assert ask(shop, call_id, "agent1", "cancel") is None
    after = shop.pbx.sent[before:]
    assert after == [
        DropLeg(call_id, target.leg_id),
        StopMusic(call_id),
        JoinBridge(call_id, call_id),
    ]
    assert (state(shop, "agent1"), state(shop, "agent2")) == ("on_call", "available")
    shop.driver.feed(AgentLegEnded(call_id, target.leg_id, "hangup"))
    assert state(shop, "agent1") == "on_call"  # the dropped leg's end changes nothing
    assert shop.notes.of(call_id, "agent_transfer_cancelled")


def test_a_busy_target_returns_the_caller_to_the_first_agent_without_a_miss() -> None:
    shop = world(("agent1", "agent2"))
    call_id, _ = answered(shop)
    assert ask(shop, call_id, "agent1", "warm", "agent", "agent2") is None
    target = rings(shop)[-1]
    shop.driver.feed(AgentLegEnded(call_id, target.leg_id, "busy"))
    assert shop.pbx.sent[-2:] == [StopMusic(call_id), JoinBridge(call_id, call_id)]
    failed = shop.notes.of(call_id, "agent_transfer_failed")[0].fields
    assert (failed["agent"], failed["to"], failed["reason"]) == ("agent1", "agent2", "busy")
    assert shop.switchboard.desk.router.agent("agent2").misses == 0
    assert (state(shop, "agent1"), state(shop, "agent2")) == ("on_call", "available")


def test_a_target_who_hangs_up_during_the_consult_returns_the_caller() -> None:
    shop = world()
    call_id, _, target = consult(shop)
    shop.driver.feed(AgentLegEnded(call_id, target.leg_id, "hangup"))
    assert shop.pbx.sent[-2:] == [StopMusic(call_id), JoinBridge(call_id, call_id)]
    reason = shop.notes.of(call_id, "agent_transfer_failed")[0].fields["reason"]
    assert reason == "hung-up-in-consult"
    assert state(shop, "agent2") == "available"


def test_a_three_way_call_either_agent_may_leave_and_the_caller_stays() -> None:
    shop = world()
    call_id, first, target = consult(shop)
    assert ask(shop, call_id, "agent1", "conference") is None
    assert shop.pbx.sent[-2:] == [StopMusic(call_id), JoinBridge(call_id, call_id)]
    # agent1 leaves: the call is agent2's.
    assert ask(shop, call_id, "agent1", "leave") is None
    assert DropLeg(call_id, first.leg_id) in shop.pbx.sent[-2:]
    assert (state(shop, "agent1"), state(shop, "agent2")) == ("wrap_up", "on_call")
    assert agent_transfer.call_of(shop.switchboard.calls, "agent2") is not None

    other = world()
    call_id, first, target = consult(other)
    assert ask(other, call_id, "agent1", "conference") is None
    assert ask(other, call_id, "agent2", "leave") is None  # the target leaves instead
    assert other.pbx.sent[-1] == DropLeg(call_id, target.leg_id)
    assert (state(other, "agent1"), state(other, "agent2")) == ("on_call", "wrap_up")
    left = other.notes.of(call_id, "agent_left")[0].fields
    assert (left["agent"], left["stays"]) == ("agent2", "agent1")


def test_a_blind_transfer_to_a_queue_keeps_priority_topic_and_the_note() -> None:
    shop = world()
    call_id, first = answered(shop)
    ask(shop, call_id, "agent1", "note", text="exchange, not refund")
    assert ask(shop, call_id, "agent1", "blind", "queue", "returns") is None
    assert DropLeg(call_id, first.leg_id) in shop.pbx.sent[-4:]
    assert state(shop, "agent1") == "wrap_up"
    join = shop.notes.of(call_id, "queue_join")[-1].fields
    assert (join["queue"], join["priority"]) == ("returns", "5")
    first_wait = float(shop.notes.of(call_id, "answered")[0].fields["wait"])
    shop.wait(10)
    shop.driver.feed(AgentRequest("agent3", "sign-in"))
    ring = rings(shop)[-1]
    assert ring.agent_id == "agent3" and "delivery" in ring.caller_id
    shop.driver.feed(AgentAnswered(call_id, ring.leg_id))
    pop = shop.notes.of(call_id, "answered")[-1].fields
    assert (pop["queue"], pop["topic"], pop["var_order"]) == ("returns", "delivery", "1234")
    assert (pop["transferred_by"], pop["note"]) == ("agent1", "exchange, not refund")
    # Their place counts from the first join: the wait says so.
    assert float(pop["wait"]) == first_wait + 10


def test_a_blind_transfer_to_an_agent_completes_when_they_answer() -> None:
    shop = world(("agent1", "agent2"))
    call_id, _first = answered(shop)
    assert ask(shop, call_id, "agent1", "blind", "agent", "agent2") is None
    target = rings(shop)[-1]
    assert state(shop, "agent1") == "on_call"  # back to them if agent2 does not answer
    shop.driver.feed(AgentAnswered(call_id, target.leg_id))
    assert (state(shop, "agent1"), state(shop, "agent2")) == ("wrap_up", "on_call")
    assert JoinBridge(call_id, target.leg_id) in shop.pbx.sent
    assert shop.pbx.sent[-2:] == [StopMusic(call_id), JoinBridge(call_id, call_id)]


def test_a_caller_who_hangs_up_during_a_consult_frees_both_agents() -> None:
    shop = world()
    call_id, _first, target = consult(shop)
    shop.pbx.hang_up(call_id)
    shop.wait(1)
    assert DropLeg(call_id, target.leg_id) in shop.pbx.sent
    assert (state(shop, "agent1"), state(shop, "agent2")) == ("wrap_up", "wrap_up")
    shop.wait(31)
    assert (state(shop, "agent1"), state(shop, "agent2")) == ("available", "available")


def test_requests_that_make_no_sense_now_are_refused_with_a_reason() -> None:
    shop = world(("agent1", "agent2"))
    call_id, _ = answered(shop)
    shop.driver.feed(AgentRequest("agent2", "pause", "lunch"))
    assert ask(shop, call_id, "agent2", "blind", "queue", "returns") == (
        409,
        "the agent is on no answered call",
    )
    refused = ask(shop, call_id, "agent1", "warm", "agent", "agent2")
    assert refused is not None and refused[0] == 409 and "paused" in refused[1]
    refused = ask(shop, call_id, "agent1", "warm", "queue", "returns")
    assert refused is not None and refused[0] == 400
    assert ask(shop, call_id, "agent1", "blind", "queue", "nowhere") == (404, "no queue 'nowhere'")
    refused = ask(shop, call_id, "agent1", "complete")
    assert refused == (409, "no transfer is under way on this call")
    assert not [c for c in shop.pbx.sent if isinstance(c, LeaveBridge)]
