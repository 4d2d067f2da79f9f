"""ARI traffic per call on the lab (real Asterisk, SIPp callers and agents): the REST requests
each kind of call needs, none that fails, and only the event types the adapter reads."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ivr.lab.paths import LabPaths
from ivr.pbx.ari.events import EVENTS
from tests.integration.ari_traffic import Batch, TrafficLab

CALLS = 3
# The benchmark's path up to the talk, the same whoever hangs up.
TO_THE_TALK = [
    "POST /ari/channels/{id}/answer",
    "POST /ari/channels/{id}/play/{id}-p",  # the menu
    "POST /ari/channels/{id}/moh",  # the queue
    "POST /ari/channels/{id}-a",  # one agent rung
    "DELETE /ari/channels/{id}/moh",  # the agent answered
    "POST /ari/bridges/{id}-bridge",
    "POST /ari/bridges/{id}-bridge/addChannel",
]


def per_call(batch: Batch) -> Counter[str]:
    assert all(n % batch.calls == 0 for n in batch.requests.values()), batch.text()
    return Counter({r: n // batch.calls for r, n in batch.requests.items()})


def no_failure(batch: Batch) -> None:
    assert batch.failed == 0, batch.text()
    assert all(status < 400 for status in batch.status), batch.text()
    assert not batch.warnings, batch.text()  # no ari.command_failed, nothing else
    assert set(batch.events) <= set(EVENTS), batch.text()


def test_requests_and_events_per_call(
    lab_paths: LabPaths, credentials: dict[str, str], tmp_path: Path
) -> None:
    with TrafficLab(lab_paths, credentials, tmp_path) as lab:
        by_agent = lab.run("agent_hangs_up", CALLS)
        by_caller = lab.run("caller_hangs_up", CALLS)
        abandoned = lab.run("abandoned", CALLS)

    for batch in (by_agent, by_caller, abandoned):
        no_failure(batch)
    assert by_agent.answered == by_caller.answered == CALLS
    # The agent hangs up: the daemon hangs up the caller and takes the bridge down.
    assert per_call(by_agent) == Counter(
        [*TO_THE_TALK, "DELETE /ari/channels/{id}", "DELETE /ari/bridges/{id}-bridge"]
    )
    # The caller hangs up: the bridge goes, and the agent's leg.
    assert per_call(by_caller) == Counter(
        [*TO_THE_TALK, "DELETE /ari/bridges/{id}-bridge", "DELETE /ari/channels/{id}-a"]
    )
    # The caller gives up during the announcement: no music is asked for after the hang-up.
    assert per_call(abandoned) == Counter(
        {
            "POST /ari/channels/{id}/answer": 1,
            "POST /ari/channels/{id}/play/{id}-p": 2,  # the menu, the announcement
            "POST /ari/channels/{id}/moh": 1,
            "DELETE /ari/channels/{id}/moh": 1,  # for the announcement
        }
    )
    # Asterisk sends only what the adapter reads: 56 events per answered call without the
    # app's event filter, 17.8 per abandon (2026-11-30).
    for batch, most in ((by_agent, 9), (by_caller, 9), (abandoned, 6)):
        assert batch.per_call(batch.events) <= most, batch.text()
    assert by_agent.events["StasisStart"] == 2 * CALLS  # the caller's and the agent's leg
