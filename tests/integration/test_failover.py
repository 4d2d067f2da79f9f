"""Active and standby on the lab: two `ivr run` daemons, one Asterisk, one Redis.

The active holds the lease in Redis (3 s, renewed every 0.5 s); the standby connects nothing
until it takes the lease, then loads agents, calls and callbacks from the store and drives.
Each daemon's ARI and AMI links go through a tap of its own (tests/integration/pair.py), so a
test sees which daemon sent what, and when; each test has a redis-server of its own, which it
may pause without touching anybody else's.

Plan: tests/dialplans/failover/failover.yaml (number 700): 1 waits in queue `line` (any
in-house agent, no wrap-up), 2 goes to a second menu (`more`) whose 9 says goodbye. Agents:
tests/agents/roster.yaml with SIPp softphones.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from ivr.lab.softphones.agent import LabAgent
from tests.integration.lab import (
    AriWatch,
    DaemonProcess,
    Event,
    ari_time,
    hang_up_leftovers,
    log_fields,
    log_time,
    sip_call,
)
from tests.integration.pair import (
    HealthWatch,
    MusicLog,
    Pair,
    PairDaemon,
    RedisServer,
    redis_daemon,
)

PLANS = REPO / "tests" / "dialplans" / "failover"
ROSTER = REPO / "tests" / "agents"
NUMBER = "700"
START = "hello"  # the first sound of the plan's start menu
MORE = "vm-options"  # the first sound of the second menu
PREFIX = "710000009"  # this file's caller numbers: PREFIX and two digits
TAKEOVER = 5.0  # seconds: the standby drives every call this soon after the active died
LEASE = "ivr:lease:ivr"


@pytest.fixture(autouse=True)
def no_leftovers(credentials: dict[str, str]) -> Iterator[None]:
    """A failed test's callers (and their agents' legs) are hung up, not left to the next."""
    yield
    hang_up_leftovers(credentials, (PREFIX,))


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def pair(credentials: dict[str, str], tmp_path: Path, redis_server: RedisServer) -> Iterator[Pair]:
    daemons = Pair(credentials, tmp_path, PLANS, ROSTER, redis_server.url)
    try:
        yield daemons.start()
    finally:
        daemons.close()


@pytest.fixture
async def music(credentials: dict[str, str]) -> AsyncIterator[MusicLog]:
    async with MusicLog(credentials) as log:
        yield log


def fast_agent(lab_paths: LabPaths) -> LabAgent:
    """agent4, who answers at once and talks half a second: a line drains in moments."""
    return LabAgent.named(lab_paths, "agent4", ring_seconds=0.2, talk_seconds=0.5)


def number(index: int) -> str:
    return f"{PREFIX}{index:02d}"


def caller(lab_paths: LabPaths, caller_number: str, keys: str) -> asyncio.Task[int]:
    """A SIPp caller to the plan pressing `keys`; it waits for the other side's BYE."""
    script = CallScript(NUMBER, caller_number, keys=keys, first_key_after=1.0, wait_for_bye=90)
    return asyncio.create_task(sip_call(lab_paths, script, timeout=150))


def post(daemon: DaemonProcess, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    status, answer = daemon.api("POST", path, body)
    assert status == 200, answer
    return dict(answer)


async def notes(
    daemon: DaemonProcess, kind: str, calls: list[str], timeout: float = 20.0, after: int = 0
) -> dict[str, dict[str, str]]:
    """The first `call.KIND` note of each of `calls`, in log order (waits in a thread)."""
    return await asyncio.to_thread(daemon.wait_notes, kind, calls, timeout, after)


async def logged_at(daemon: PairDaemon, pattern: str, timeout: float, after: int = 0) -> float:
    return await asyncio.to_thread(daemon.logged_at, pattern, timeout, after)


async def queue_line(
    lab_paths: LabPaths, daemon: DaemonProcess, watch: AriWatch, numbers: list[str]
) -> tuple[dict[str, asyncio.Task[int]], list[str]]:
    """Callers who press 1 and wait in `line`: their SIPp tasks by number, and their channel
    ids in the order they joined."""
    calls: dict[str, asyncio.Task[int]] = {}
    for each in numbers:
        calls[each] = caller(lab_paths, each, "1")
        await asyncio.sleep(0.3)  # spaced, so that the line's order is the order they called
    channels = [await watch.channel_of(each) for each in numbers]
    return calls, list(await notes(daemon, "queue_join", channels))


async def moh_command(daemon: PairDaemon, channel: str, after: float) -> float:
    """When `daemon` sent Asterisk its first music-on-hold command for `channel` after `after`
    (Unix time), as its ARI tap saw it."""
    pattern = rf"^POST /ari/channels/{channel}/moh$"
    return (await asyncio.to_thread(daemon.ari_tap.wait_for, pattern, 10, after)).at


def holder_of(daemon: PairDaemon) -> str:
    """The lease value `daemon` holds once active: `holder#token`, from its log."""
    holder = log_fields(daemon.wait_log(r"event=failover\.standby ", 1))["holder"]
    token = log_fields(daemon.wait_log(r"event=failover\.active ", 1))["token"]
    return f"{holder}#{token}"


def bridged(channel: str) -> Callable[[Event], bool]:
    """Matches ARI's ChannelEnteredBridge that leaves `channel` in a bridge of two."""
    return lambda e: (
        e.get("type") == "ChannelEnteredBridge"
        and channel in e["bridge"]["channels"]
        and len(e["bridge"]["channels"]) == 2
    )


def started(channel: str, sound: str, after: float) -> Callable[[Event], bool]:
    """Matches ARI's PlaybackStarted of `sound` on `channel` later than `after` (Unix time)."""
    return lambda e: (
        e.get("type") == "PlaybackStarted"
        and e["playback"]["target_uri"] == f"channel:{channel}"
        and e["playback"]["media_uri"] == f"sound:{sound}"
        and ari_time(e) > after
    )


def fallback(watch: AriWatch, channels: list[str]) -> list[str]:
    """The channels Asterisk's dialplan told the service is unavailable (its retries ran out)."""
    return [
        str(e["channel"]["id"])
        for e in watch.events
        if e.get("type") == "ChannelDialplan"
        and e["channel"]["id"] in channels
        and e.get("dialplan_app") == "Playback"
    ]


async def bridges_of(watch: AriWatch, channel: str) -> list[list[str]]:
    """The channels of every bridge `channel` is in now, as Asterisk lists them."""
    bridges = await watch.request("GET", "/bridges")
    return [b["channels"] for b in bridges if channel in b["channels"]]


def health_of(daemon: DaemonProcess) -> str:
    """What /healthz says, or why it said nothing (its client gives up after 2 s)."""
    try:
        return str(daemon.health())
    except OSError as exc:
        return f"no answer ({exc!r})"


def rounded(figures: dict[str, float]) -> dict[str, float]:
    return {name: round(seconds, 3) for name, seconds in figures.items()}


async def test_a_killed_active_s_calls_are_driven_by_the_standby_within_5_s(
    lab_paths: LabPaths, pair: Pair, watch: AriWatch, music: MusicLog
) -> None:
    """SIGKILL of the active with three callers waiting and one talking to an agent: the
    standby takes the lease and drives every call within 5 s of the kill; the line keeps its
    order and the talk goes on."""
    active, standby = pair.first, pair.second
    talk = 15.0  # agent1's talk outlasts the kill, the takeover and the line's service
    with LabAgent.named(lab_paths, "agent1", talk_seconds=talk), fast_agent(lab_paths) as fast:
        post(active, "/api/agents/agent1/sign-in")
        calls = {number(0): caller(lab_paths, number(0), "1")}
        talker = await watch.channel_of(number(0))
        await notes(active, "answered", [talker])
        await watch.wait_for(bridged(talker), timeout=5)
        waiting, line = await queue_line(lab_paths, active, watch, [number(i) for i in (1, 2, 3)])
        calls.update(waiting)
        await music.wait_playing(line, 10)

        mark = len(standby.lines)
        killed_at = active.signal(signal.SIGKILL)
        assert await asyncio.to_thread(active.wait_exit, 5) == -signal.SIGKILL
        took_over = await logged_at(standby, r"event=failover\.active ", TAKEOVER + 3, mark)
        recovered = await notes(standby, "recovered", [talker, *line], TAKEOVER + 3, mark)
        first = standby.ari_tap.sent(killed_at)[0]
        moh = {call: await moh_command(standby, call, killed_at) for call in line}
        figures = {
            "failover.active": took_over - killed_at,
            f"first ARI request ({first.what})": first.at - killed_at,
            **{f"music on hold for waiting {call}": at - killed_at for call, at in moh.items()},
            **{f"call.recovered {c}": log_time(n) - killed_at for c, n in recovered.items()},
        }
        print(f"\nSIGKILL -> the standby drives, seconds after the kill: {rounded(figures)}")
        assert max(figures.values()) <= TAKEOVER, rounded(figures)
        for call in [talker, *line]:
            assert (recovered[call]["node"], recovered[call].get("queue")) == ("line", "line")
        await music.wait_playing(line, 2)
        # The talk goes on: the caller is still bridged with agent1's leg.
        assert [len(channels) for channels in await bridges_of(watch, talker)] == [2]
        await asyncio.to_thread(standby.wait_health, 200, 5, ari=True, ami=True)
        assert standby.health()[1]["role"] == "active"

        # agent4 comes in on the new active and answers the line in its order; agent1's talk
        # ends when agent1 hangs up, its whole length counted.
        post(standby, "/api/agents/agent4/sign-in")
        served = await notes(standby, "answered", line, 20, mark)
        assert list(served) == line, "the line was not answered in its order"
        ended = await notes(standby, "agent_hung_up", [talker], talk + 10, mark)
        assert talk - 1.5 <= float(ended[talker]["talk"]) <= talk + 3, ended[talker]
        codes = await asyncio.gather(*calls.values())
        assert dict(zip(calls, codes, strict=True)) == dict.fromkeys(calls, 0)
        assert fast.answered_count() == len(line)
        outcomes = await notes(standby, "ended", [talker, *line], 10, mark)
        everybody = [talker, *line]
        assert {c: outcomes[c]["outcome"] for c in everybody} == dict.fromkeys(
            everybody, "answered"
        )
        assert {c: watch.sounds(c).count(START) for c in everybody} == dict.fromkeys(everybody, 1)


async def test_an_active_paused_past_its_lease_sends_nothing_when_it_wakes_and_exits_3(
    lab_paths: LabPaths, pair: Pair, watch: AriWatch, music: MusicLog
) -> None:
    """SIGSTOP of the active for 6 s (the lease is 3 s): the standby takes over meanwhile.
    After SIGCONT the old active sends Asterisk not a single request or action (its taps see
    nothing but the close of its event socket), logs the lost lease and exits with 3; the new
    active goes on serving the callers, and the next caller too."""
    old, new = pair.first, pair.second
    with fast_agent(lab_paths) as fast:
        calls, line = await queue_line(lab_paths, old, watch, [number(10), number(11)])
        await music.wait_playing(line, 10)
        mark_new = len(new.lines)
        stopped_at = old.signal(signal.SIGSTOP)
        took_over = await logged_at(new, r"event=failover\.active ", TAKEOVER + 3, mark_new)
        recovered = await notes(new, "recovered", line, 5, mark_new)
        moh = {call: await moh_command(new, call, stopped_at) for call in line}
        figures = {
            "failover.active": took_over - stopped_at,
            **{f"music on hold for waiting {call}": at - stopped_at for call, at in moh.items()},
        }
        print(f"\nSIGSTOP -> the standby drives, seconds after the stop: {rounded(figures)}")
        assert max(figures.values()) <= TAKEOVER, rounded(figures)
        assert [recovered[call].get("queue") for call in line] == ["line", "line"]
        # The pause lasts 6 s, twice the lease, however soon the takeover came.
        await asyncio.sleep(stopped_at + 6.0 - time.time())
        mark_old = len(old.lines)
        woke_at = old.signal(signal.SIGCONT)
        assert await asyncio.to_thread(old.wait_exit, 10) == 3
        woke = old.since(mark_old)
        print("the old active after SIGCONT:\n" + "\n".join(woke))
        # Not a request since it was stopped (so none after the takeover): at most the close
        # of its event socket, which is no command. Not an AMI action either.
        sent = [s.what for s in old.ari_tap.sent(stopped_at)]
        assert sent in ([], ["websocket close"]), sent
        assert old.ami_tap.sent(stopped_at) == []
        assert any(" event=failover.lease_lost " in entry for entry in woke), woke
        assert not [entry for entry in woke if " event=ari.command_failed " in entry], woke
        assert not [entry for entry in woke if " event=ari.connected " in entry], woke
        # The old daemon's event socket closing did not take the app from the new active.
        post(new, "/api/agents/agent4/sign-in")
        served = await notes(new, "answered", line, 20, mark_new)
        assert list(served) == line, "the line was not answered in its order"
        calls[number(19)] = caller(lab_paths, number(19), "1")
        latecomer = await watch.channel_of(number(19))
        arrived = await asyncio.to_thread(new.wait_log, rf"event=call.arrived call={latecomer} ")
        assert log_time(log_fields(arrived)) > woke_at
        await notes(new, "answered", [latecomer], 20, mark_new)
        codes = await asyncio.gather(*calls.values())
        assert dict(zip(calls, codes, strict=True)) == dict.fromkeys(calls, 0)
        assert fast.answered_count() == 3


async def test_a_rolling_upgrade_hands_every_caller_to_the_standby_on_music(
    lab_paths: LabPaths, pair: Pair, watch: AriWatch, music: MusicLog
) -> None:
    """SIGTERM of the active with three callers waiting and one in the second menu: it hands
    them back to the dialplan (music, the app tried each second) and releases the lease; the
    standby takes over at once. No waiting caller hears anything but music for more than a
    moment, the menu caller hears that menu again, nobody is hung up, the line keeps its
    order."""
    old, new = pair.first, pair.second
    with fast_agent(lab_paths) as fast:
        calls, line = await queue_line(lab_paths, old, watch, [number(i) for i in (20, 21, 22)])
        calls[number(29)] = caller(lab_paths, number(29), "2,w12,9")
        menu = await watch.channel_of(number(29))
        await watch.played(menu, MORE)
        await music.wait_playing(line, 10)
        joined = {
            call: log_time(note) for call, note in (await notes(old, "queue_join", line)).items()
        }

        mark_new = len(new.lines)
        stopped_at = old.signal(signal.SIGTERM)
        assert await asyncio.to_thread(old.wait_exit, 15) == 0
        handed = {
            c: log_time(n) for c, n in (await notes(old, "handed_back", [*line, menu])).items()
        }
        took_over = await logged_at(new, r"event=failover\.active ", 5, mark_new)
        recovered = await notes(new, "recovered", [*line, menu], 10, mark_new)
        moh = {call: await moh_command(new, call, stopped_at) for call in line}
        again = ari_time(await watch.wait_for(started(menu, MORE, stopped_at), timeout=10))
        last_back = max(handed.values())
        # What each waiting caller heard from the handback until the new active's music had
        # played a second: stretches without music on hold, as AMI reported them.
        silences = {
            call: music.silences(call, handed[call] - 0.5, moh[call] + 1.0) for call in line
        }
        longest = {call: max([0.0, *(s for _, s in gaps)]) for call, gaps in silences.items()}
        figures = {
            "failover.active after the last handback": took_over - last_back,
            **{f"handback -> music from the new active, {c}": moh[c] - handed[c] for c in line},
            f"handback -> the menu again, {menu}": again - handed[menu],
            **{f"longest silence, {call}": seconds for call, seconds in longest.items()},
        }
        print(f"\nSIGTERM -> the standby drives, seconds: {rounded(figures)}")
        # The lease was released, not left to expire: the standby took it at its next try.
        assert took_over - last_back <= 1.5, rounded(figures)
        assert max(moh[c] - handed[c] for c in line) <= 3.0, rounded(figures)
        assert again - handed[menu] <= 3.0, rounded(figures)
        assert max(longest.values()) <= 0.5, silences
        for call in line:
            note = recovered[call]
            assert (note["node"], note.get("queue")) == ("line", "line"), note
            # The wait counts from joining the line, under the old active.
            assert float(note["waited"]) >= log_time(note) - joined[call] - 0.5, note
        assert recovered[menu]["node"] == "more", recovered[menu]
        assert new.health()[1]["role"] == "active"

        post(new, "/api/agents/agent4/sign-in")
        served = await notes(new, "answered", line, 20, mark_new)
        assert list(served) == line, "the line was not answered in its order"
        codes = await asyncio.gather(*calls.values())
        assert dict(zip(calls, codes, strict=True)) == dict.fromkeys(calls, 0)
        assert fast.answered_count() == len(line)
        new.wait_log(rf"event=call.menu_choice call={menu} plan=failover node=more option=9", 5)
        outcomes = await notes(new, "ended", [*line, menu], 10, mark_new)
        assert {c: n["outcome"] for c, n in outcomes.items()} == {
            **dict.fromkeys(line, "answered"),
            menu: "completed",
        }
        everybody = [*line, menu]
        assert {c: watch.sounds(c).count(START) for c in everybody} == dict.fromkeys(everybody, 1)
        assert fallback(watch, everybody) == []


# Seen on the lab (Redis 7.0, SIGSTOP 5 s, lease 3 s): when Redis answers again, the active
# logs failover.lease_lost and exits 3 at once; the standby logs failover.active token=3 one
# full lease later (token 2 was never anybody's to drive with), so nobody drives for 3 s.
# Both waiting callers were recovered by the standby with their waits.
async def test_a_redis_outage_loses_nothing_and_the_active_keeps_the_lease(
    lab_paths: LabPaths, pair: Pair, redis_server: RedisServer, watch: AriWatch, music: MusicLog
) -> None:
    """Redis paused (SIGSTOP) for 5 s while callers wait: nobody can take the lease from a
    Redis nobody reaches, so the active goes on and is still the active afterwards, the
    standby still the standby; the waiting callers are answered when an agent signs in."""
    active, standby = pair.first, pair.second
    held = holder_of(active)
    with fast_agent(lab_paths) as fast:
        calls, line = await queue_line(lab_paths, active, watch, [number(30), number(31)])
        await music.wait_playing(line, 10)
        mark_active, mark_standby = len(active.lines), len(standby.lines)
        redis_server.pause()
        try:
            await asyncio.sleep(5.0)  # the outage: longer than the lease
        finally:
            redis_server.resume()
        # The active renews every 0.5 s: within a second its lease is its own again, and it
        # goes on holding it.
        deadline = time.monotonic() + 2.0
        while (value := redis_server.get(LEASE)) != held and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        lost = [entry for entry in active.since(mark_active) if "failover.lease_lost" in entry]
        standby_is = log_fields(standby.wait_log(r"event=failover\.standby ", 1))["holder"]
        assert value == held and not lost, (
            f"lease {value!r}, fence {redis_server.get(LEASE + ':fence')}, the active held "
            f"{held!r}, the standby is {standby_is!r}; the active's log: "
            f"{active.since(mark_active)}"
        )
        await asyncio.sleep(1.5)  # past a renewal or two, the holder is still the same
        assert redis_server.get(LEASE) == held
        assert active.health()[1]["role"] == "active"
        assert standby.health()[1]["role"] == "standby"
        assert not [e for e in standby.since(mark_standby) if "failover.active" in e]
        # Nothing was lost: the line is answered, in its order, by the same active.
        post(active, "/api/agents/agent4/sign-in")
        served = await notes(active, "answered", line, 20, mark_active)
        assert list(served) == line, "the line was not answered in its order"
        codes = await asyncio.gather(*calls.values())
        assert dict(zip(calls, codes, strict=True)) == dict.fromkeys(calls, 0)
        assert fast.answered_count() == len(line)


async def test_the_active_serves_a_caller_arriving_while_redis_is_unreachable(
    lab_paths: LabPaths, pair: Pair, redis_server: RedisServer, watch: AriWatch
) -> None:
    """Redis paused for 5 s; a caller arrives 1 s into it. The active, which goes on driving
    while Redis is unreachable (its stores write from memory, off the event loop), answers
    them and plays the plan's start before Redis is back, and its /healthz keeps answering."""
    active = pair.first
    redis_server.pause()
    paused_at = time.time()
    try:
        await asyncio.sleep(1.0)
        call = caller(lab_paths, number(40), "2,9")
        channel = await watch.channel_of(number(40))
        try:
            greeted = await watch.played(channel, START, timeout=3)
        except AssertionError:
            health = await asyncio.to_thread(health_of, active)
            raise AssertionError(
                f"the caller heard no {START!r} within 3 s while Redis is paused; the "
                f"active's /healthz: {health}"
            ) from None
        assert ari_time(greeted) - paused_at < 5.0
        assert active.health()[1]["role"] == "active"
    finally:
        redis_server.resume()
    await watch.ended(channel, timeout=60)
    assert await call == 0


async def test_a_redis_restart_while_callers_wait_loses_nothing(
    lab_paths: LabPaths, credentials: dict[str, str], tmp_path: Path, watch: AriWatch,
    music: MusicLog,
) -> None:  # fmt: skip
    """One daemon (no failover) keeping its journal and live state in a Redis with an
    append-only file; two callers wait in `line`, nobody signed in. Redis is restarted
    (SIGTERM, started again on the same port): nobody is hung up, /healthz answers 200
    throughout, an agent who signs in afterwards answers both in their order, the journal in
    Redis holds each call's arrived, queue_join and answered notes, and the calls' live
    records are gone once they end."""
    server = RedisServer(tmp_path / "redis", persistent=True).start()
    daemon = redis_daemon(credentials, tmp_path / "daemon", PLANS, ROSTER, server.url)
    try:
        daemon.start()
        await asyncio.to_thread(daemon.wait_health, 200, 20, ari=True, ami=True)
        with fast_agent(lab_paths) as fast, HealthWatch(daemon) as health:
            calls, line = await queue_line(lab_paths, daemon, watch, [number(50), number(51)])
            await music.wait_playing(line, 10)
            before = server.live("call")
            assert sorted(before) == sorted(line), f"live call records before: {before}"
            mark = len(daemon.lines)
            restarted_at = time.time()
            down = await asyncio.to_thread(server.restart)
            after = server.live("call")
            assert after == before, f"the restart lost live records: {before} -> {after}"
            await asyncio.sleep(2.0)  # the callers go on waiting on the restarted Redis
            hung_up = [each for each, task in calls.items() if task.done()]
            assert not hung_up, f"hung up while waiting across the restart: {hung_up}"
            await music.wait_playing(line, 1)

            signed_in_at = time.time()
            post(daemon, "/api/agents/agent4/sign-in")
            served = await notes(daemon, "answered", line, 20)
            answered_in = {c: log_time(n) - signed_in_at for c, n in served.items()}
            assert list(served) == line, "the line was not answered in its order"
            codes = await asyncio.gather(*calls.values())
            assert dict(zip(calls, codes, strict=True)) == dict.fromkeys(calls, 0)
            assert fast.answered_count() == len(line)
            ended = await notes(daemon, "ended", line, 10)
            assert {c: n["outcome"] for c, n in ended.items()} == dict.fromkeys(line, "answered")
            # Each call's record goes when the call ends (dropped before or with `ended`).
            deadline = time.monotonic() + 2.0
            while (left := set(server.live("call")) & set(line)) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert not left, f"live call records left after the calls ended: {left}"
        figures = {
            "Redis down (SIGTERM -> PING answered)": down,
            **{f"sign-in -> answered {call}": seconds for call, seconds in answered_in.items()},
        }
        print(f"\nRedis restart with two callers waiting, seconds: {rounded(figures)}")
        print(f"/healthz polled {health.polls} times; not 200: {health.bad}")
        assert health.polls >= 20 and not health.bad, f"/healthz was not 200: {health.bad}"

        journal = server.journal()
        kinds = {call: [kind for c, kind, _ in journal if c == call] for call in line}
        wanted = ["arrived", "queue_join", "answered"]
        missing = {c: [k for k in wanted if k not in got] for c, got in kinds.items()}
        assert not any(missing.values()), f"notes missing from the Redis journal: {missing}"
        for call, got in kinds.items():
            assert [k for k in got if k in wanted] == wanted, f"{call}: journal kinds {got}"
        # Every note the daemon logged for the calls is in the journal, in the same order.
        noted = [log_fields(e) for e in daemon.lines if " event=call." in e]
        in_log = {c: [n["event"][5:] for n in noted if n.get("call") == c] for c in line}
        assert kinds == in_log, f"the Redis journal {kinds} is not what was logged {in_log}"
        logged = daemon.lines[mark:]
        trouble = [e for e in logged if " level=error " in e or "Traceback" in e]
        assert not trouble, f"the daemon logged errors after the restart at {restarted_at}: " + (
            "\n".join(trouble)
        )
        assert daemon.process is not None and daemon.process.poll() is None, "the daemon exited"
    finally:
        daemon.stop()
        server.stop()
