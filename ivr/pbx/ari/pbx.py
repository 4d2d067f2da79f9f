"""The PBX port over ARI: REST requests for commands, the event WebSocket for events.

REST and the socket go through `client.AriClient` (a thin aiohttp client: why, in its module).
After connecting, the app asks Asterisk for the event types `translate` and this adapter read
(`EVENTS`), and nothing else: about a fifth of what a queued call would otherwise send.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from ivr.calls.commands import (
    Answer,
    ContinueInDialplan,
    EndSupervision,
    HangUp,
    JoinBridge,
    LeaveBridge,
    MuteRecording,
    PbxCommand,
    Play,
    RecordMessage,
    StartRecording,
    StopPlayback,
    Supervise,
    Transfer,
)
from ivr.calls.events import (
    CallArrived,
    CallEvent,
    CallHungUp,
    CallResumed,
    PbxSynced,
    PromptFinished,
    RecordingDone,
    TransferFailed,
)
from ivr.calls.legs import (
    AgentLegEnded,
    Bridge,
    BridgeLegs,
    CloseBridge,
    DropLeg,
    LegCommand,
    LegEvent,
    RingAgent,
    StartMusic,
    StopMusic,
)
from ivr.calls.ports import EventSink
from ivr.config import AriSettings, ReconnectSettings
from ivr.logs import event
from ivr.pbx.ari.client import AriClient, AriError, describe, ignore_missing
from ivr.pbx.ari.events import (
    AGENT_LEG,
    EVENTS,
    TRANSFER_LEG,
    in_app,
    is_leg,
    leg_of,
    translate,
)
from ivr.pbx.ari.supervision import SupervisionLegs, SupervisionStep
from ivr.pbx.backoff import Backoff

log = logging.getLogger("ivr.ari")


class AriPbx:
    """Drives calls in one Stasis app; reconnects with capped backoff when Asterisk goes away."""

    def __init__(
        self,
        settings: AriSettings,
        reconnect: ReconnectSettings,
        on_event: EventSink,
        on_status: Callable[[bool], None],
    ) -> None:
        self.settings = settings
        self.on_event = on_event
        self.on_status = on_status
        self.connected = False
        self._backoff = Backoff(reconnect.initial, reconnect.maximum)
        self._client: AriClient | None = None
        self._closing = False
        self._calls: set[str] = set()
        self._legs: dict[str, str] = {}  # agent leg id -> its call's id
        self._bridges: set[str] = set()
        # Transfers are the PBX's business once the core has asked: leg id -> call id.
        self._transfers: dict[str, str] = {}
        self._transfers_up: set[str] = set()
        self._tails: dict[str, asyncio.Task[None]] = {}
        # Who ended a call: a caller's first hang-up request is soft when Asterisk asked for it
        # (a shutdown, an admin) rather than the far end; unless we asked, the PBX dropped it.
        self._hangup_seen: set[str] = set()
        self._we_hung_up: set[str] = set()
        self._dropped: set[str] = set()
        # Callers whose channel is on its way out (hang-up requested, or out of the app):
        # commands still queued for it are not sent, until its queue of commands drains.
        self._leaving: set[str] = set()
        # Whether this daemon may drive calls now (an active/standby pair: while it holds the
        # lease). Asked before every command and every (re)connect, and for every event read.
        self.may_drive: Callable[[], bool] = lambda: True
        self._held_back = False  # the log already says this daemon stopped driving
        # Supervisors' phones and snoop channels: the PBX's business once the core has asked.
        self._supervision = SupervisionLegs(settings.app, self._queue, self._deliver)

    # The PBX port.

    def send(self, command: PbxCommand | LegCommand) -> None:
        """Queue a command; commands of one call run one after another, in order."""
        self._queue(command)

    def _queue(self, command: _Command) -> None:
        call_id = command.call_id
        previous = self._tails.get(call_id)
        task = asyncio.ensure_future(self._after(previous, command))
        self._tails[call_id] = task
        task.add_done_callback(lambda done: self._drop_tail(call_id, done))

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait (a little) for queued commands to reach Asterisk."""
        pending = list(self._tails.values())
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    # The link.

    async def run(self) -> None:
        """Stay connected until close(): connect, read events, reconnect after failures."""
        while not self._closing:
            if not self._driving():
                await asyncio.sleep(0.1)
                continue
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                event(log, "ari.link_failed", logging.WARNING, error=describe(exc))
            self._set_status(False)
            if self._closing:
                break
            delay = self._backoff.next_delay()
            event(log, "ari.reconnect", seconds=f"{delay:.2f}")
            await asyncio.sleep(delay)

    async def close(self) -> None:
        """Stop reconnecting and close the link."""
        self._closing = True
        if self._client is not None:
            await self._client.close()

    async def _session(self) -> None:
        settings = self.settings
        client = AriClient(settings)
        self._client = client
        try:
            ws = await client.events(settings.app)
            await self._allow_events(client)
            self._backoff.reset()
            self._set_status(True)
            await self._resync()
            await self._read(ws)
        finally:
            self._client = None
            await client.close()

    async def _allow_events(self, client: AriClient) -> None:
        # Events sent before the filter takes hold are read as ever; translate skips them.
        try:
            await client.allow_events(self.settings.app, EVENTS)
        except AriError as exc:
            # An older Asterisk without the filter sends everything: slower, still correct.
            why = "Asterisk sends every event type; calls go on"
            event(log, "ari.event_filter_failed", logging.WARNING, app=self.settings.app,
                  error=describe(exc), why=why)  # fmt: skip

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT or not self._driving():
                break
            try:
                data = json.loads(message.data)
            except ValueError:
                continue
            if isinstance(data, dict):
                self._read_event(data)

    def _read_event(self, data: dict[str, Any]) -> None:
        """One event from the socket: a transfer's, a hang-up request, or the core's."""
        if self._supervision.claims(data):
            return
        if not self._transfer_event(data):
            if data.get("type") == "ChannelHangupRequest":
                self._hangup_requested(data)
            self._deliver(translate(data, self._legs))

    async def _resync(self) -> None:
        """After (re)connecting: adopt calls waiting in the app, drop the ones that are gone."""
        assert self._client is not None
        present = {str(channel["id"]): channel for channel in await self._client.channels()}
        for orphan in self._supervision.resync(present):
            self._queue(DropLeg("", orphan))
        for call_id in sorted(self._calls - set(present)):
            self._deliver(CallHungUp(call_id, lost=True))
        for leg, channel in present.items():
            call_of_leg = leg_of(channel)
            if call_of_leg is not None and leg not in self._legs:
                # An agent's leg a daemon before us rang (a restart): its caller may be ours.
                self._legs[leg] = call_of_leg
                self._bridges.add(call_of_leg)
        for leg, call_id in sorted(self._legs.items()):
            if leg not in present:
                # Gone while we were away: answered, the agent hung up; ringing, nobody answered.
                self._deliver(AgentLegEnded(call_id, leg, "no-answer"))
        for call_id, channel in present.items():
            if call_id in self._legs or call_id in self._transfers or is_leg(channel):
                continue  # an agent's or a transfer's leg sits in the app too: it is no caller
            if not in_app(channel, self.settings.app):
                if call_id in self._calls:
                    # It left the app while we were away.
                    self._deliver(CallHungUp(call_id, lost=True))
                continue
            if call_id in self._calls:
                self._deliver(CallResumed(call_id))
            else:
                # A call that entered while we were away (or before a restart): serve it.
                arrived = translate({"type": "StasisStart", "channel": channel})
                self._deliver(arrived)
        self._deliver(PbxSynced(frozenset(present)))

    def _hangup_requested(self, data: dict[str, Any]) -> None:
        call_id = str((data.get("channel") or {}).get("id", ""))
        if call_id not in self._calls or call_id in self._hangup_seen:
            return
        self._hangup_seen.add(call_id)
        self._leaving.add(call_id)
        if data.get("soft") and call_id not in self._we_hung_up:
            self._dropped.add(call_id)

    def _deliver(self, call_event: CallEvent | LegEvent | None) -> None:
        if call_event is None:
            return
        if isinstance(call_event, CallArrived):
            self._calls.add(call_event.call_id)
            self._leaving.discard(call_event.call_id)  # back in the app (a handed-back call)
        elif isinstance(call_event, CallHungUp):
            call_id = call_event.call_id
            if call_id in self._dropped and not call_event.lost:
                call_event = CallHungUp(call_id, lost=True)  # Asterisk dropped it (shutdown)
            for seen in (self._dropped, self._hangup_seen, self._we_hung_up):
                seen.discard(call_id)
            self._calls.discard(call_event.call_id)
            self._leaving.add(call_id)
            self._supervision.call_ended(call_id)
            for leg, call in list(self._transfers.items()):
                if call == call_event.call_id:
                    self._queue(DropLeg(call, leg))
            if call_event.call_id in self._bridges:
                self._bridges.discard(call_event.call_id)
                self._queue(_DestroyBridge(call_event.call_id))
        elif isinstance(call_event, AgentLegEnded):
            self._legs.pop(call_event.leg_id, None)
            self._supervision.leg_ended(call_event.leg_id)
        try:
            self.on_event(call_event)
        except Exception:
            # The core must never take the link down with it; the call's log says what failed.
            log.exception("core.failed", extra={"fields": {"call": call_event.call_id}})
        if isinstance(call_event, CallHungUp) and call_event.call_id not in self._tails:
            self._leaving.discard(call_event.call_id)  # nothing of it is queued

    def _transfer_event(self, message: dict[str, Any]) -> bool:
        """Carry a transfer through: bridge the answered leg, or report why it failed.

        True when the event was about a transfer leg (and so is not the core's business).
        """
        channel_id = str((message.get("channel") or {}).get("id", ""))
        call_id = self._transfers.get(channel_id)
        if call_id is None:
            return False
        kind = message.get("type")
        if kind == "StasisStart":
            self._transfers_up.add(channel_id)
            self._queue(Bridge(call_id, channel_id))
        elif kind == "ChannelDestroyed":
            del self._transfers[channel_id]
            if channel_id in self._transfers_up:
                self._transfers_up.discard(channel_id)
                self._queue(HangUp(call_id))  # the far end hung up: so does the caller
            else:
                self._deliver(TransferFailed(call_id, f"cause {message.get('cause', 0)}"))
        return True

    def _driving(self) -> bool:
        if self.may_drive():
            self._held_back = False
            return True
        if not self._held_back:
            self._held_back = True
            event(log, "ari.not_driving", logging.WARNING, app=self.settings.app,
                  why="this daemon does not hold the lease: no command, no event")  # fmt: skip
        return False

    def _set_status(self, up: bool) -> None:
        if up != self.connected:
            self.connected = up
            event(log, "ari.connected" if up else "ari.disconnected", app=self.settings.app)
            self.on_status(up)

    # Commands.

    async def _after(self, previous: asyncio.Task[None] | None, command: _Command) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        if not self._driving():
            return  # another daemon drives the calls now: nothing of ours reaches Asterisk
        client = self._client
        if client is None:
            self._failed(command, "ARI is not connected")
            return
        if isinstance(command, _ON_THE_CALLER) and command.call_id in self._leaving:
            # The caller's channel is on its way out (its hang-up was requested, or it left
            # the app): a request on it could only fail. What the core waits for still comes.
            self._compensate(command)
            return
        try:
            await self._execute(client, command)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(command, describe(exc))
            gone = isinstance(exc, AriError) and exc.status == 404
            if gone and isinstance(command, _GONE_MEANS_HUNG_UP) and command.call_id in self._calls:
                # The caller's channel is gone and its StasisEnd never came (lost in a blip):
                # the port promises a vanished call as a hang-up.
                self._deliver(CallHungUp(command.call_id))

    async def _execute(self, client: AriClient, command: _Command) -> None:
        match command:
            case RingAgent(call_id=call_id, leg_id=leg):
                self._legs[leg] = call_id
                await client.originate(
                    leg, command.endpoint, self.settings.app, f"{AGENT_LEG},{call_id}",
                    command.caller_id, max(1, round(command.timeout)),
                )  # fmt: skip
            case DropLeg(leg_id=leg):
                await ignore_missing(client.hang_up(leg))
            case Bridge(call_id=call_id, leg_id=leg):
                bridge = f"{call_id}-bridge"
                await self._bridge_again(client, call_id)
                self._bridges.add(call_id)
                await client.add_to_bridge(bridge, [call_id, leg])
            case JoinBridge(call_id=call_id, channel_id=channel):
                await client.add_to_bridge(f"{call_id}-bridge", [channel])
            case LeaveBridge(call_id=call_id, channel_id=channel):
                await ignore_missing(client.remove_from_bridge(f"{call_id}-bridge", channel))
            case BridgeLegs(call_id=call_id, leg_id=leg, other_leg_id=other):
                bridge = f"{call_id}-bridge"
                await client.create_bridge(bridge)
                await client.add_to_bridge(bridge, [leg, other])
            case CloseBridge(call_id=call_id):
                # Taken down now: the caller's own hang-up later has no bridge to destroy.
                self._bridges.discard(call_id)
                await ignore_missing(client.destroy_bridge(f"{call_id}-bridge"))
            case StartRecording(call_id=call_id, name=name):
                await client.record_bridge(f"{call_id}-bridge", name)
            case MuteRecording(name=name, mute=mute):
                await client.mute_recording(name, mute)
            case RecordMessage(call_id=call_id, name=name):
                await client.record(
                    call_id,
                    name,
                    format="wav",
                    maxDurationSeconds=str(command.max_seconds),
                    maxSilenceSeconds=str(command.max_silence),
                    ifExists="overwrite",
                    beep="true" if command.beep else "false",
                    terminateOn=command.finish_key,
                )
            case StartMusic(call_id=call_id, music_class=music):
                await client.start_music(call_id, music)
            case StopMusic(call_id=call_id):
                await ignore_missing(client.stop_music(call_id))
            case _DestroyBridge(call_id=call_id):
                await ignore_missing(client.destroy_bridge(f"{call_id}-bridge"))
            case Supervise() | EndSupervision() | SupervisionStep():
                await self._supervision.run(client, command)
            case Answer(call_id=call_id):
                await client.answer(call_id)
            case Play(call_id=call_id, playback_id=playback, media=media, language=language):
                await client.play(call_id, playback, media, language)
            case StopPlayback(playback_id=playback):
                await client.stop_playback(playback)
            case HangUp(call_id=call_id):
                self._we_hung_up.add(call_id)
                await client.hang_up(call_id)
            case ContinueInDialplan(call_id=call_id, label=label):
                await client.continue_in_dialplan(call_id, label)
            case Transfer(call_id=call_id, endpoint=endpoint, caller_id=caller_id):
                leg = f"{call_id}-transfer"
                self._transfers[leg] = call_id
                await client.originate(
                    leg, endpoint, self.settings.app, f"{TRANSFER_LEG},{call_id}",
                    caller_id or None, 60,
                )  # fmt: skip

    async def _bridge_again(self, client: AriClient, call_id: str) -> None:
        """Create the call's bridge; one that lives on (an agent transferred the caller to a
        queue, its recording still running) is used again: Asterisk refuses to create it twice."""
        try:
            await client.create_bridge(f"{call_id}-bridge")
        except AriError:
            if call_id not in self._bridges:
                raise

    def _failed(self, command: _Command, why: str) -> None:
        event(
            log,
            "ari.command_failed",
            logging.WARNING,
            call=command.call_id,
            command=type(command).__name__,
            error=why,
        )
        self._compensate(command, why)

    def _compensate(self, command: _Command, why: str = "the caller hung up") -> None:
        """What the core waits for after a command that did not run."""
        if isinstance(command, Play):
            # A prompt that never plays must not leave the caller waiting for its end.
            self._deliver(PromptFinished(command.call_id, command.playback_id))
        elif isinstance(command, Transfer):
            self._transfers.pop(f"{command.call_id}-transfer", None)
            self._deliver(TransferFailed(command.call_id, why))
        elif isinstance(command, RecordMessage):
            # The caller must not wait for a recording that never started.
            self._deliver(RecordingDone(command.call_id, command.name, ok=False))
        elif isinstance(command, RingAgent):
            # A phone that cannot even be rung is a failed ring: the next agent is tried.
            self._deliver(AgentLegEnded(command.call_id, command.leg_id, "unreachable"))

    def _drop_tail(self, call_id: str, done: asyncio.Task[None]) -> None:
        if self._tails.get(call_id) is done:
            del self._tails[call_id]
            if call_id not in self._calls:
                self._leaving.discard(call_id)


@dataclass(frozen=True, slots=True)
class _DestroyBridge:
    """The adapter's own clean-up: the bridge of a call that has ended."""

    call_id: str


_Command = PbxCommand | LegCommand | _DestroyBridge | SupervisionStep
# Commands on the caller's own channel: a 404 to one of them means the caller is gone.
_GONE_MEANS_HUNG_UP = (Answer, Play, HangUp, ContinueInDialplan, RecordMessage)
# Commands that act on the caller's channel (`call_id` is the caller's, or a leg's when the
# core plays music to an agent's leg, which has no hang-up request seen): pointless once its
# hang-up was requested.
_ON_THE_CALLER = (
    *_GONE_MEANS_HUNG_UP,
    StartMusic,
    StopMusic,
    StopPlayback,
    Bridge,
    Transfer,
    JoinBridge,
    LeaveBridge,
)
