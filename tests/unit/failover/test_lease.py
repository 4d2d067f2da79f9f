"""The lease on a real redis-server: one holder at a time, a token that only grows, and a
holder that was paused past its deadline drives nothing until Redis says it is still its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aredis

from ivr.failover.lease import Lease
from ivr.store.redis import RedisLive, StaleWrite


class Clock:
    """A monotonic clock the test moves (a SIGSTOP is time that passes without the daemon)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aredis.Redis]:
    made = aredis.Redis.from_url(redis_url, decode_responses=True)
    await made.flushdb()
    yield made
    await made.aclose()


@pytest.fixture
def lease(client: aredis.Redis) -> Callable[[str, Clock], Lease]:
    def make(holder: str, clock: Clock) -> Lease:
        return Lease(client, "ivr", holder, seconds=3.0, clock=clock)

    return make


async def test_one_daemon_holds_the_lease_and_the_other_waits(
    lease: Callable[[str, Clock], Lease],
) -> None:
    clock = Clock()
    active, standby = lease("a", clock), lease("b", clock)
    assert await active.acquire() and active.held
    assert not await standby.acquire() and not standby.held
    assert await active.renew() and active.held


async def test_the_standby_takes_over_when_the_lease_expires_with_a_greater_token(
    lease: Callable[[str, Clock], Lease], client: aredis.Redis
) -> None:
    clock = Clock()
    active, standby = lease("a", clock), lease("b", clock)
    assert await active.acquire()
    first = active.token
    await client.delete(active.key)  # what Redis does once the expiry passes
    assert await standby.acquire()
    assert standby.token is not None and first is not None and standby.token > first


async def test_a_paused_daemon_drives_nothing_once_its_deadline_has_passed(
    lease: Callable[[str, Clock], Lease], client: aredis.Redis
) -> None:
    clock = Clock()
    active, standby = lease("a", clock), lease("b", clock)
    assert await active.acquire()
    clock.now += 3.5  # SIGSTOP for longer than the lease
    assert not active.held  # before it asks anybody, it already does not drive
    await client.delete(active.key)
    assert await standby.acquire()
    assert not await active.renew()
    assert not active.held and active.token is None


async def test_the_deadline_counts_from_before_the_renewal_was_sent(
    lease: Callable[[str, Clock], Lease],
) -> None:
    clock = Clock()
    active = lease("a", clock)
    assert await active.acquire()
    assert active.deadline == 103.0
    clock.now = 102.0
    assert await active.renew()
    assert active.deadline == 105.0


async def test_while_redis_is_unreachable_the_holder_keeps_driving() -> None:
    clock = Clock()
    # A port nobody listens on: every request fails at once.
    gone = aredis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    active = Lease(gone, "ivr", "a", seconds=3.0, clock=clock)
    active.token, active.deadline = 7, 103.0  # it held the lease when Redis went away
    assert await active.renew()
    clock.now += 10
    assert active.held and active.unreachable
    await gone.aclose()


async def test_a_released_lease_is_taken_at_once(lease: Callable[[str, Clock], Lease]) -> None:
    clock = Clock()
    active, standby = lease("a", clock), lease("b", clock)
    assert await active.acquire()
    await active.release()
    assert await standby.acquire()


async def test_the_store_refuses_the_writes_of_a_daemon_that_lost_the_lease(
    lease: Callable[[str, Clock], Lease], client: aredis.Redis, redis_url: str
) -> None:
    clock = Clock()
    old, new = lease("a", clock), lease("b", clock)
    assert await old.acquire()
    old_store, new_store = RedisLive.from_url(redis_url), RedisLive.from_url(redis_url)
    old_store.fence = (old.fence, lambda: old.token)
    new_store.fence = (new.fence, lambda: new.token)
    old_store.put("call", "c1", {"v": 1, "node": "start"})
    await client.delete(old.key)  # it expired while the old daemon was paused
    assert await new.acquire()
    new_store.put("call", "c1", {"v": 1, "node": "line"})

    with pytest.raises(StaleWrite):
        old_store.put("call", "c1", {"v": 1, "node": "start"})
    with pytest.raises(StaleWrite):
        old_store.drop("call", "c1")
    assert new_store.load("call") == {"c1": {"v": 1, "node": "line"}}
    old_store.close()
    new_store.close()


async def test_a_lease_that_expired_while_nobody_could_take_it_stays_its_holder_s(
    lease: Callable[[str, Clock], Lease], client: aredis.Redis
) -> None:
    clock = Clock()
    active, standby = lease("a", clock), lease("b", clock)
    assert await active.acquire()
    await client.delete(active.key)  # Redis was stopped past the expiry; nobody took it
    assert await active.renew() and active.held
    assert not await standby.acquire()


async def test_a_request_that_waited_in_redis_past_its_time_takes_nothing(
    lease: Callable[[str, Clock], Lease], client: aredis.Redis
) -> None:
    clock = Clock()
    standby = lease("b", clock)
    # As if the request had sat in a stopped Redis for a minute: it arrives stale.
    standby._offset = -60.0
    assert not await standby.acquire()
    assert await client.get(standby.key) is None and await client.get(standby.fence) is None


async def test_after_an_outage_a_standby_leaves_the_holder_a_whole_lease_to_renew(
    lease: Callable[[str, Clock], Lease], client: aredis.Redis, redis_url: str
) -> None:
    clock = Clock()
    active = lease("a", clock)
    assert await active.acquire()
    gone = aredis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    standby = Lease(gone, "ivr", "b", seconds=3.0, clock=clock)
    assert not await standby.acquire()  # Redis does not answer the standby
    standby.client = client  # it answers again; the holder's key expired meanwhile
    await client.delete(active.key)
    assert not await standby.acquire()
    clock.now += 1
    assert await active.renew()  # the holder gets its lease back first
    clock.now += 2.5
    assert not await standby.acquire()
    await gone.aclose()
