"""The shop's backend over HTTP: the LookupPort the daemon uses (aiohttp, JSON answers).

The URL comes from the plan as written; call variables (the caller's digits among them) go
only in the query string (GET) or the JSON body (POST), so they can never change the path.
Redirects are not followed: the plan names the one host that may see callers' data. The
backend gets the values it asks for (a PIN to verify, say), but nothing here logs the query
string or the body, and failures are logged by status and exception type only.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from ivr.calls.commands import Lookup
from ivr.calls.events import LookupDone
from ivr.logs import event

log = logging.getLogger("ivr.lookups.http")

# An order status is a few hundred bytes; a backend that sends megabytes is broken.
MAX_BYTES = 256 * 1024


class HttpLookups:
    """Runs each Lookup as one HTTP request on a shared session; every outcome is a LookupDone."""

    def __init__(
        self, on_event: Callable[[LookupDone], None], session: aiohttp.ClientSession | None = None
    ) -> None:
        self.on_event = on_event
        self._session = session
        self._own_session = session is None
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, command: Lookup) -> None:
        """Start the request on the running loop; the answer comes through `on_event`."""
        task = asyncio.get_running_loop().create_task(self._run(command))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel requests in flight (their calls get ok=False) and close the session."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    async def _run(self, command: Lookup) -> None:
        try:
            status, data = await asyncio.wait_for(self._request(command), command.timeout)
        except asyncio.CancelledError:
            self._deliver(LookupDone(command.call_id, command.request_id, ok=False))
            raise
        except TimeoutError:
            status, data, why = 0, None, "timeout"
        except Exception as exc:  # whatever breaks, the call must hear about it and go on
            status, data, why = 0, None, type(exc).__name__
        else:
            why = "" if isinstance(data, dict) else _why(status)
        if why:
            event(
                log,
                "backend.lookup_failed",
                logging.WARNING,
                call=command.call_id,
                status=status,
                error=why,
            )
        answer = data if isinstance(data, dict) and not why else {}
        self._deliver(LookupDone(command.call_id, command.request_id, not why, status, answer))

    async def _request(self, command: Lookup) -> tuple[int, Any]:
        session = self._session_now()
        options: dict[str, Any] = {"allow_redirects": False}
        if command.method == "GET":
            options["params"] = command.params
        else:
            options["json"] = command.params
        async with session.request(command.method, command.url, **options) as response:
            body = await response.content.read(MAX_BYTES + 1)
            if len(body) > MAX_BYTES:
                raise ValueError("answer too long")
            if not 200 <= response.status < 300:
                return response.status, None
            try:
                return response.status, json.loads(body.decode("utf-8"))
            except ValueError:  # not JSON, or not UTF-8: keep the status for the log
                return response.status, None

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={"Accept": "application/json"},
                timeout=aiohttp.ClientTimeout(total=None),  # per request: Lookup.timeout
            )
        return self._session

    def _deliver(self, done: LookupDone) -> None:
        try:
            self.on_event(done)
        except Exception:
            log.exception("core.failed", extra={"fields": {"call": done.call_id}})


def _why(status: int) -> str:
    return "not a JSON object" if 200 <= status < 300 else f"status {status}"
