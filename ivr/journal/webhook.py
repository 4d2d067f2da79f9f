"""JSON posted to a shop's webhook in the background: a slow or broken receiver is logged and
never holds up a call."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from ivr.logs import event

log = logging.getLogger("ivr.journal.webhook")


class Webhook:
    """Posts to one URL; log events are named `<name>.refused`, `.failed` and `.sent`."""

    def __init__(self, url: str, name: str, timeout: float = 3.0) -> None:
        self.url = url
        self.name = name
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, body: dict[str, Any], call_id: str, **sent: str) -> None:
        """Post `body` soon; with `sent` fields a delivery is logged with them too."""
        task = asyncio.get_running_loop().create_task(self._post(body, call_id, sent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, body: dict[str, Any], call_id: str, sent: dict[str, str]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        try:
            async with self._session.post(self.url, json=body, allow_redirects=False) as reply:
                if reply.status >= 300:
                    event(log, f"{self.name}.refused", logging.WARNING, status=reply.status,
                          call=call_id)  # fmt: skip
                    return
            if sent:
                event(log, f"{self.name}.sent", call=call_id, **sent)
        except (aiohttp.ClientError, TimeoutError) as exc:
            event(log, f"{self.name}.failed", logging.WARNING, call=call_id,
                  error=type(exc).__name__)  # fmt: skip

    async def close(self) -> None:
        """Wait briefly for posts in flight, then close the HTTP session."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.timeout)
        if self._session is not None:
            await self._session.close()
