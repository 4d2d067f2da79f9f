"""The PBX port over ARI: REST requests (aioari) for commands, the event WebSocket for events.

aioari's own `run()` gives no moment at which the WebSocket is known to be up, which /healthz
needs, so this adapter opens the socket through aioari's swagger client and reads it itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from collections.abc import Callable
from typing import Any

import aioari
import aiohttp
from aioswagger11.http_client import ApiKeyAuthenticator, AsynchronousHttpClient

from ivr.calls.commands import (
    Answer,
    ContinueInDialplan,
    HangUp,
    PbxCommand,
    Play,
    StopPlayback,
)
from ivr.calls.events import CallArrived, CallEvent, CallHungUp, CallResumed, PromptFinished
from ivr.config import AriSettings, ReconnectSettings
from ivr.logs import event
from ivr.pbx.ari_events import in_app, translate
from ivr.pbx.backoff import Backoff
from ivr.pbx.port import EventSink

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
        self._client: Any = None
        self._closing = False
        self._calls: set[str] = set()
        self._tails: dict[str, asyncio.Task[None]] = {}

    # The PBX port.

    def send(self, command: PbxCommand) -> None:
        """Queue a command; commands of one call run one after another, in order."""
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
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                event(log, "ari.link_failed", logging.WARNING, error=_describe(exc))
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
        client = await _connect(settings)
        self._client = client
        try:
            ws = await client.swagger.events.eventWebsocket(app=settings.app)
            self._backoff.reset()
            self._set_status(True)
            await self._resync()
            await self._read(ws)
        finally:
            self._client = None
            await client.close()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            try:
                data = json.loads(message.data)
            except ValueError:
                continue
            if isinstance(data, dict):
                self._deliver(translate(data))

    async def _resync(self) -> None:
        """After (re)connecting: adopt calls waiting in the app, drop the ones that are gone."""
        channels = await self._client.channels.list()
        present = {ch.json["id"]: ch.json for ch in channels}
        for call_id in sorted(self._calls - set(present)):
            self._deliver(CallHungUp(call_id))
        for call_id, channel in present.items():
            if not in_app(channel, self.settings.app):
                continue
            if call_id in self._calls:
                self._deliver(CallResumed(call_id))
            else:
                # A call that entered while we were away (or before a restart): serve it.
                arrived = translate({"type": "StasisStart", "channel": channel})
                self._deliver(arrived)

    def _deliver(self, call_event: CallEvent | None) -> None:
        if call_event is None:
            return
        if isinstance(call_event, CallArrived):
            self._calls.add(call_event.call_id)
        elif isinstance(call_event, CallHungUp):
            self._calls.discard(call_event.call_id)
        try:
            self.on_event(call_event)
        except Exception:
            # The core must never take the link down with it; the call's log says what failed.
            log.exception("core.failed", extra={"fields": {"call": call_event.call_id}})

    def _set_status(self, up: bool) -> None:
        if up != self.connected:
            self.connected = up
            event(log, "ari.connected" if up else "ari.disconnected", app=self.settings.app)
            self.on_status(up)

    # Commands.

    async def _after(self, previous: asyncio.Task[None] | None, command: PbxCommand) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        client = self._client
        if client is None:
            self._failed(command, "ARI is not connected")
            return
        try:
            await self._execute(client, command)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(command, _describe(exc))

    async def _execute(self, client: Any, command: PbxCommand) -> None:
        match command:
            case Answer(call_id=call_id):
                await client.channels.answer(channelId=call_id)
            case Play(call_id=call_id, playback_id=playback, media=media, language=language):
                await client.channels.playWithId(
                    channelId=call_id, playbackId=playback, media=list(media), lang=language
                )
            case StopPlayback(playback_id=playback):
                await client.playbacks.stop(playbackId=playback)
            case HangUp(call_id=call_id):
                await client.channels.hangup(channelId=call_id)
            case ContinueInDialplan(call_id=call_id):
                await client.channels.continueInDialplan(channelId=call_id)

    def _failed(self, command: PbxCommand, why: str) -> None:
        event(
            log,
            "ari.command_failed",
            logging.WARNING,
            call=command.call_id,
            command=type(command).__name__,
            error=why,
        )
        if isinstance(command, Play):
            # A prompt that never plays must not leave the caller waiting for its end.
            self._deliver(PromptFinished(command.call_id, command.playback_id))

    def _drop_tail(self, call_id: str, done: asyncio.Task[None]) -> None:
        if self._tails.get(call_id) is done:
            del self._tails[call_id]


async def _connect(settings: AriSettings) -> Any:
    """aioari.connect(), minus its leak: when loading the API docs fails it never closes its
    HTTP session, and a PBX that restarts would leave one behind per attempt."""
    host = urllib.parse.urlparse(settings.url).netloc.split(":")[0]
    token = f"{settings.user}:{settings.password.get_secret_value()}"
    http = AsynchronousHttpClient(auth=ApiKeyAuthenticator(host, token))
    client = aioari.Client(settings.url, http)
    try:
        await client.init()
    except BaseException:
        await http.close()
        raise
    return client


def _describe(exc: BaseException) -> str:
    # aiohttp errors carry the request URL, and aioari puts the api_key in it: keep it out.
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    text = getattr(exc, "text", None) or getattr(exc, "reason", None) or ""
    if status:
        return f"HTTP {status} {str(text)[:200]}".strip()
    return type(exc).__name__ + (f": {str(exc)[:200]}" if "api_key" not in str(exc) else "")
