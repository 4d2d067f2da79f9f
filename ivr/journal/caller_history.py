"""Earlier calls from a caller's number, for the screen pop: read from the journal in the
store by the store's writer thread (never on the event loop), bounded by count and age."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.callbacks.numbers import DEFAULT_COUNTRY, spellings
from ivr.store.history import CallerHistory, HistoryQuery
from ivr.store.writer import StoreWriter

DAY = 86_400.0


class JournalHistory:
    """Asks the store for a number's last `calls` calls of the last `days` days, and for how
    many it made today (in the site's time zone), under any of the number's spellings."""

    def __init__(
        self,
        writer: StoreWriter,
        tz: ZoneInfo,
        *,
        calls: int = 5,
        days: float = 90.0,
        timeout: float = 2.0,
        country: str = DEFAULT_COUNTRY,
    ) -> None:
        self.writer = writer
        self.tz = tz
        self.country = country  # how national spellings of numbers are read
        self.calls = calls
        self.days = days
        self.timeout = timeout

    async def earlier(self, number: str, call_id: str, now: float) -> CallerHistory:
        """What the journal holds of `number` before `call_id`; TimeoutError when the store
        does not answer within `timeout` (a read waits behind at most the write under way)."""
        others = spellings(number, self.country)[1:]
        query = HistoryQuery(number, call_id, now - self.days * DAY, day_start(now, self.tz),
                             self.calls, others)  # fmt: skip
        answer = self.writer.submit(lambda backend: backend.caller_history(query))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(answer), self.timeout)
        finally:
            answer.cancel()  # given up: the writer's thread skips it


def day_start(now: float, tz: ZoneInfo) -> float:
    """The last midnight in `tz` at or before `now`."""
    moment = datetime.fromtimestamp(now, tz)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
