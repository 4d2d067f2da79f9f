"""Recording a queue call for quality control: the policy decides, the caller hears the
announcement before the bridge, the bridge (both sides) is recorded, pauses are silence."""

from __future__ import annotations

from ivr.calls.call import Call
from ivr.calls.commands import Command, MuteRecording, StartRecording
from ivr.calls.legs import Bridge, StopMusic
from ivr.calls.queue.wait import QueueWait
from ivr.plan.recording import RecordingPolicy, policy_for, should_record
from ivr.routing.router import Router


def policy(router: Router, queue: str, team: str, call_id: str) -> RecordingPolicy | None:
    """The policy that records this call (the team's, else the queue's), or None."""
    chosen = policy_for(router.queue_spec(queue).recording, router.team_spec(team).recording)
    return chosen if should_record(chosen, call_id) else None


def connect(call: Call, wait: QueueWait) -> list[Command]:
    """The announcement is over: bridge the caller and the agent, and start recording."""
    assert wait.agent_leg is not None and wait.recording is not None
    return [
        StopMusic(wait.agent_leg),
        Bridge(call.id, wait.agent_leg),
        StartRecording(call.id, call.id),
        call.note(
            "recording_started",
            name=call.id,
            queue=wait.queue,
            agent=wait.agent or "",
            team=wait.team,
            retention_days=str(wait.recording.retention_days),
        ),
    ]


def control(call: Call, wait: QueueWait, pause: bool) -> list[Command]:
    """Pause (silence) or resume the recording; nothing when it is not running or already so."""
    running = wait.recording is not None and not wait.connecting and wait.agent_leg is not None
    if not running or wait.recording_paused == pause:
        return []
    wait.recording_paused = pause
    kind = "recording_paused" if pause else "recording_resumed"
    return [MuteRecording(call.id, call.id, pause), call.note(kind, name=call.id)]


def finish(call: Call, wait: QueueWait) -> list[Command]:
    """The agent or the caller hung up: the recording ends with the bridge."""
    if wait.recording is None or wait.connecting:
        return []
    wait.recording = None
    return [call.note("recording_finished", name=call.id)]
