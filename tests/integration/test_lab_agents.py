"""Lab softphones against the real Asterisk 22: ARI rings PJSIP/agentN, a SIPp UAS answers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from ivr.lab.paths import LabPaths
from ivr.lab.softphones.agent import LabAgent
from ivr.lab.softphones.events import AgentEvent
from ivr.lab.softphones.script import AgentScript
from tests.integration.lab import ARI, AriWatch, Event

# Timing slack for SIP round trips and the 20 ms log tail on loopback.
SLACK = 0.5


class AgentWatch(AriWatch):
    """`AriWatch` under an app name of its own, so other suites' watchers cannot take it over."""

    def __init__(self, credentials: dict[str, str]) -> None:
        super().__init__(credentials)
        self.app = f"labagents-{uuid.uuid4().hex[:8]}"

    async def __aenter__(self) -> AgentWatch:
        self._session = aiohttp.ClientSession()
        ws = await self._session.ws_connect(
            f"{ARI}/ari/events",
            params={"app": self.app, "subscribeAll": "true", "api_key": self.key},
        )
        self._task = asyncio.create_task(self._read(ws))
        return self

    async def originate(self, endpoint: str, caller_id: str = "", timeout: int = 30) -> str:
        """Ring `endpoint` into this app; returns the new channel's id."""
        params = {"endpoint": endpoint, "app": self.app, "timeout": str(timeout)}
        if caller_id:
            params["callerId"] = caller_id
        channel = await self.request("POST", "/channels", **params)
        return str(channel["id"])

    async def state(self, channel: str, state: str, timeout: float = 10.0) -> Event:
        """Wait until `channel` reaches `state` (Ringing, Up)."""
        return await self.wait_for(
            lambda e: (
                e.get("type") == "ChannelStateChange"
                and e["channel"]["id"] == channel
                and e["channel"]["state"] == state
            ),
            timeout,
        )


@pytest.fixture
async def ari(credentials: dict[str, str]) -> AsyncIterator[AgentWatch]:
    async with AgentWatch(credentials) as watcher:
        yield watcher


@pytest.fixture
def agent(lab_paths: LabPaths, request: pytest.FixtureRequest) -> Iterator[LabAgent]:
    """A running softphone for the script the test passes by `indirect` parametrize."""
    script: AgentScript = request.param
    with LabAgent(lab_paths, script) as softphone:
        yield softphone


def script(name: str, id: str | None = None, **options: Any) -> Any:
    """A parametrize value giving the `agent` fixture its script."""
    return pytest.param(
        AgentScript.of(name, **options), id=id or options.get("behaviour", "answer")
    )


async def wait(agent: LabAgent, kind: str, count: int = 1, **options: Any) -> list[AgentEvent]:
    """`LabAgent.wait_for` off the event loop, so ARI events keep coming meanwhile."""
    return await asyncio.to_thread(agent.wait_for, kind, count, **options)


@pytest.mark.parametrize("agent", [script("agent1", ring_seconds=1, talk_seconds=2)], indirect=True)
async def test_an_answering_agent_rings_answers_and_hangs_up_after_talking(
    ari: AgentWatch, agent: LabAgent
) -> None:
    channel = await ari.originate("PJSIP/agent1")
    await ari.state(channel, "Ringing")
    await ari.state(channel, "Up")
    await ari.ended(channel, timeout=10)
    # Asterisk may destroy the channel before the agent logs the 200 OK for its BYE.
    await wait(agent, "bye-sent")
    [invite] = agent.invites()
    events = {e.kind: e.at for e in agent.events(call_id=invite["call_id"])}
    assert events["answered"] - events["ringing"] >= 1.0
    assert 2.0 <= events["bye-sent"] - events["answered"] < 2.0 + SLACK
    assert "bye-received" not in events, "Asterisk hung up before the agent did"
    assert agent.answered_count() == 1


@pytest.mark.parametrize(
    "agent",
    [script("agent2", behaviour="no-answer"), script("agent2", "slow-answer", ring_seconds=30)],
    indirect=True,
)
async def test_a_ringing_agent_takes_the_cancel_and_the_next_call(
    ari: AgentWatch, agent: LabAgent
) -> None:
    first = await ari.originate("PJSIP/agent2")
    await ari.state(first, "Ringing")
    await ari.request("DELETE", f"/channels/{first}")
    await ari.ended(first, timeout=10)
    [cancelled] = await wait(agent, "cancelled")
    await wait(agent, "done", call_id=cancelled.call_id)
    # The scenario is healthy: the next call rings too, and Asterisk's own timeout cancels it.
    second = await ari.originate("PJSIP/agent2", timeout=2)
    await ari.state(second, "Ringing")
    await ari.ended(second, timeout=10)
    cancels = await wait(agent, "cancelled", 2)
    assert [i["call_id"] for i in agent.invites()] == [c.call_id for c in cancels]
    assert cancels[0] == cancelled and agent.answered_count() == 0
    assert agent.process is not None and agent.process.poll() is None, agent.output()


@pytest.mark.parametrize(
    ("agent", "cause"),
    [
        (AgentScript.of("agent3", behaviour="busy"), 17),
        (AgentScript.of("agent3", behaviour="reject"), 21),
    ],
    indirect=["agent"],
    ids=["busy", "reject"],
)
async def test_a_refusing_agent_gives_its_cause(
    ari: AgentWatch, agent: LabAgent, cause: int
) -> None:
    channel = await ari.originate("PJSIP/agent3")
    ended = await ari.ended(channel, timeout=10)
    assert ended["cause"] == cause, ended
    [refused] = await wait(agent, "refused")
    assert refused.detail == {17: "486", 21: "603"}[cause]
    assert agent.answered_count() == 0


@pytest.mark.parametrize(
    "agent", [script("partner", record_from_to=True, wait_for_bye=True, calls=1)], indirect=True
)
async def test_the_partner_pbx_records_who_called(ari: AgentWatch, agent: LabAgent) -> None:
    channel = await ari.originate("PJSIP/partner", caller_id='"Ivan Petrov" <79001112233>')
    up = await ari.state(channel, "Up")
    await ari.request("DELETE", f"/channels/{channel}")
    await wait(agent, "bye-received")
    assert await asyncio.to_thread(agent.wait_exit, 10) == 0, agent.output()
    [invite] = agent.invites()
    assert invite["from_number"] == "79001112233" and invite["from_name"] == "Ivan Petrov"
    assert invite["to_number"] == "partner" and "pai" not in invite
    assert invite["call_id"] == up["channel"]["protocol_id"]


@pytest.mark.parametrize("method", ["invite", "update"])
@pytest.mark.parametrize("agent", [script("agent4", wait_for_bye=True, calls=1)], indirect=True)
async def test_a_session_refresh_during_the_call_keeps_it_up(
    ari: AgentWatch, agent: LabAgent, method: str
) -> None:
    channel = await ari.originate("PJSIP/agent4")
    await ari.state(channel, "Up")
    # What a connected-line change or a codec change would make chan_pjsip send mid-call.
    # Asterisk answers 409 while the INVITE transaction of the answer is still open (the ACK
    # not processed yet, seen on a loaded machine): ask again until it is closed.
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        try:
            await ari.request(
                "POST",
                f"/channels/{channel}/variable",
                variable=f"PJSIP_SEND_SESSION_REFRESH({method})",
                value=method,
            )
            break
        except aiohttp.ClientResponseError as exc:
            if exc.status != 409 or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)
    if method == "invite":
        await wait(agent, "reinvite")
    else:  # SIPp's -aa answers UPDATE outside the scenario: look for it in the SIP trace.
        await asyncio.to_thread(
            agent.wait_until, lambda _: "UPDATE sip:" in agent.messages(), 10, "UPDATE"
        )
    await ari.request("DELETE", f"/channels/{channel}")
    await wait(agent, "bye-received")
    assert await asyncio.to_thread(agent.wait_exit, 10) == 0, agent.output()


@pytest.mark.parametrize(
    "agent",
    [
        pytest.param(AgentScript.of("agent1", ring_seconds=0, wait_for_bye=True), id="pcap"),
        pytest.param(
            AgentScript.of("agent1", ring_seconds=0, wait_for_bye=True, audio="echo"), id="echo"
        ),
    ],
    indirect=True,
)
async def test_an_answering_agent_sends_audio_asterisk_hears(
    ari: AgentWatch, agent: LabAgent
) -> None:
    channel = await ari.originate("PJSIP/agent1", timeout=10)
    await ari.wait_for(lambda e: e.get("type") == "StasisStart" and e["channel"]["id"] == channel)
    # Talk detection hears what arrives from the agent: SIPp's G.711 capture, or our echo.
    await ari.request(
        "POST", f"/channels/{channel}/variable", variable="TALK_DETECT(set)", value=""
    )
    if agent.script.audio == "echo":
        await ari.request("POST", f"/channels/{channel}/play", media="sound:demo-congrats")
    await ari.wait_for(
        lambda e: e.get("type") == "ChannelTalkingStarted" and e["channel"]["id"] == channel,
        timeout=10,
    )
    await ari.request("DELETE", f"/channels/{channel}")
    await wait(agent, "bye-received")
