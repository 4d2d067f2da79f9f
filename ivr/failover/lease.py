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

# Every script is given the moment (on Redis's clock, in ms) after which its request is stale:
# a request that waited in a stopped or overloaded Redis past it must not take or extend the
# lease for a daemon that has given up on it.
ACQUIRE = """
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[3]) then
  return false
end
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '#' .. token, 'PX', ARGV[2])
return token
"""
# A key that expired while nobody could take it over (Redis stopped, or unreachable for the
# holder and the standby alike) comes back to its holder: the fence still has its token.
RENEW = """
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[4]) then
  return 0
end
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if held == false and redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
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
        self._offset: float | None = None  # Redis's wall clock minus ours, learnt once
        self._redis_failed = False  # the last request to take the lease got no answer
        self._shy_until: float | None = None  # no taking over before this (after an outage)

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
        """Take the lease if nobody holds it; True when it is ours (with a new token).

        After Redis failed to answer, a would-be holder first waits a whole lease once Redis
        answers again: the holder lived through the same outage, and its key may have expired
        in Redis meanwhile without it being dead."""
        if self._shy_until is not None and self.clock() < self._shy_until:
            return False
        started = self.clock()
        try:
            if self._redis_failed:
                await self.client.ping()
                self._redis_failed = False
                self._shy_until = self.clock() + self.seconds
                return False
            stale_at = await self._stale_at()
            token: Any = await self.client.eval(ACQUIRE, 2, self.key, self.fence, self.holder,
                                                self._ms(), stale_at)  # fmt: skip
        except RedisError:
            self._redis_failed = True
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
            stale_at = await self._stale_at()
            kept = await self.client.eval(RENEW, 2, self.key, self.fence, self._value(),
                                          self._ms(), str(self.token), stale_at)  # fmt: skip
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

    def _ms(self) -> str:
        return str(int(self.seconds * 1000))

    async def _stale_at(self) -> str:
        """Redis's time (ms) after which the request about to be sent is stale: a third of the
        lease from now, as this daemon waits for an answer no longer than that."""
        if self._offset is None:
            seconds, micros = await self.client.time()
            self._offset = seconds + micros / 1e6 - time.time()
        return str(int((time.time() + self._offset + self.seconds / 3) * 1000))
