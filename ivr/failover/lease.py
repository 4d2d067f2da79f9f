"""The active daemon's lease in Redis: a key holding `holder#token` with a short expiry,
renewed well within it; the token comes from a counter that only grows (fencing).

Whether this daemon may drive calls is decided on its own monotonic clock: it holds the
lease until the deadline its last successful renewal set, counted from before that request
was sent, so it always gives up before Redis lets the key expire. A daemon that was paused
(SIGSTOP) past its deadline drives nothing when it wakes until Redis says the lease is still
its own. While Redis cannot be reached at all, nobody can take the lease over: a daemon that
held it keeps driving (`unreachable`), and asks again as soon as Redis answers.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aredis
from redis.exceptions import RedisError

ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '#' .. token, 'PX', ARGV[2])
return token
"""
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def lease_keys(app: str) -> tuple[str, str]:
    """The lease's key and its fencing counter, per Stasis app (one active daemon per app)."""
    return f"ivr:lease:{app}", f"ivr:lease:{app}:fence"


class Lease:
    """One daemon's hold on the lease of a Stasis app."""

    def __init__(
        self,
        client: aredis.Redis,
        app: str,
        holder: str,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.key, self.fence = lease_keys(app)
        self.holder = holder
        self.seconds = seconds
        self.clock = clock
        self.token: int | None = None
        self.deadline = 0.0  # on `clock`: the lease is ours until then
        self.unreachable = False  # Redis could not be asked when we last tried, while holding

    @classmethod
    def from_url(cls, url: str, app: str, holder: str, seconds: float) -> Lease:
        """A lease in the Redis at `url`; every request gives up after a third of the lease."""
        timeout = seconds / 3
        client = aredis.Redis.from_url(
            url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        return cls(client, app, holder, seconds)

    @property
    def held(self) -> bool:
        """True while this daemon may drive calls."""
        if self.token is None:
            return False
        return self.unreachable or self.clock() < self.deadline

    async def acquire(self) -> bool:
        """Take the lease if nobody holds it; True when it is ours (with a new token)."""
        started = self.clock()
        try:
            token: Any = await self.client.eval(ACQUIRE, 2, self.key, self.fence, self.holder,
                                                str(int(self.seconds * 1000)))  # fmt: skip
        except RedisError:
            return False
        if not token:
            return False
        self.token = int(token)
        self.deadline = started + self.seconds
        self.unreachable = False
        return True

    async def renew(self) -> bool:
        """Extend the lease; False once it is known to be lost (expired and taken, or gone)."""
        if self.token is None:
            return False
        started = self.clock()
        try:
            kept = await self.client.eval(RENEW, 1, self.key, self._value(),
                                          str(int(self.seconds * 1000)))  # fmt: skip
        except RedisError:
            # Nobody can take the lease from a Redis nobody reaches: go on until it answers.
            # A daemon that was paused past its deadline is not in this case: it was never
            # told the lease is still its own, so `held` stays False.
            if self.clock() < self.deadline:
                self.unreachable = True
            return self.held
        self.unreachable = False
        if kept:
            self.deadline = started + self.seconds
            return True
        self.token = None
        return False

    async def release(self) -> None:
        """Give the lease up (a clean stop): the standby takes over at once."""
        if self.token is None:
            return
        with contextlib.suppress(RedisError):  # if it cannot be released, it expires
            await self.client.eval(RELEASE, 1, self.key, self._value())
        self.token = None

    async def close(self) -> None:
        """Let go of the connection."""
        await self.client.aclose()

    def _value(self) -> str:
        return f"{self.holder}#{self.token}"
