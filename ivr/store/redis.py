"""The journal in one Redis stream, for daemons that share state through Redis."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.typing import EncodableT, FieldT

from ivr.store.history import (
    ARRIVED,
    NUMBER_FIELD,
    SUMMARY_FIELDS,
    CallerHistory,
    EarlierCall,
    HistoryQuery,
    has_history,
)
from ivr.store.port import Entry

STREAM = "ivr:journal"
# Stream ids follow `at` (ms), but an id can never go backwards, so a note stamped
# slightly earlier than the last one gets a later id: read this far past `end`.
SLACK_MS = 60_000
PAGE = 1000
# The last step of RedisJournal.rewrite: entries appended since the copy's last id, then the
# copy takes the stream's place (atomic: Redis runs a script alone).
SWAP = """
local rest = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+')
for _, entry in ipairs(rest) do redis.call('XADD', KEYS[2], entry[1], unpack(entry[2])) end
redis.call('RENAME', KEYS[2], KEYS[1])
return #rest
"""
# The screen pop's history (ivr/store/history.py) beside the stream, which has no index but
# time: per number a sorted set of its calls (score: arrival in ms), per such call a hash of
# its summary (at, topic, outcome, disposition); both expire with the journal's retention.
# `op` comes from history_op(); the writer's script (redis_writes.py) runs this too.
INDEX_NOTE = """
local function index_note(op)
  if op.caller then
    redis.call('ZADD', op.caller, op.score, op.call)
    redis.call('ZREMRANGEBYSCORE', op.caller, '-inf', '(' .. op.minid)
    redis.call('PEXPIRE', op.caller, op.keep)
    redis.call('HSET', op.summary, 'at', op.at)
    redis.call('PEXPIRE', op.summary, op.keep)
  elseif op.summary and redis.call('EXISTS', op.summary) == 1 then
    redis.call('HSET', op.summary, op.part, op.text)
  end
end
"""
INDEX = INDEX_NOTE + "index_note(cjson.decode(ARGV[1]))"


def callers_key(stream: str, number: str) -> str:
    """The sorted set of the calls from `number`."""
    return f"{stream}:caller:{number}"


def summary_key(stream: str, call_id: str) -> str:
    """The hash of a call's summary (only calls from a number with a history have one)."""
    return f"{stream}:call:{call_id}"


def history_op(
    stream: str, call_id: str, kind: str, fields: str, at: float, keep_seconds: float
) -> dict[str, Any] | None:
    """What a note adds to the history's index (INDEX_NOTE's `op`), or None for most notes:
    an arrival from a number, or a call's topic, outcome or disposition. `fields` is the
    note's JSON text, read only for these few kinds."""
    if kind == ARRIVED:
        number = json.loads(fields).get(NUMBER_FIELD, "")
        if not isinstance(number, str) or not has_history(number):
            return None
        return {
            "caller": callers_key(stream, number),
            "summary": summary_key(stream, call_id),
            "call": call_id,
            "score": int(at * 1000),
            "minid": max(0, int((at - keep_seconds) * 1000)),
            "keep": max(1, int(keep_seconds * 1000)),
            "at": repr(at),
        }
    summary = SUMMARY_FIELDS.get(kind)
    if summary is None:
        return None
    field, part = summary
    text = json.loads(fields).get(field, "")
    return {"summary": summary_key(stream, call_id), "part": part, "text": str(text)}


def connect(url: str, timeout: float = 2.0, retries: int = 6) -> redis.Redis:
    """A client for the stores: decoded replies, every request given up after `timeout`
    seconds (connecting after half of it), and requests that ride out a Redis restart.

    A local Redis restarts in well under a second: a request that meets a refused or broken
    connection is tried again `retries` times with backoff (about 1.5 s for 6) before it
    fails. A timeout is not tried again here; but a Redis that hangs accepts connections
    and never answers their handshake, which fails as a broken connection: each retry then
    costs another `timeout`. The daemon's writer (ivr/store/writer.py, off the event loop)
    asks for none and tries again itself. The timeouts are set here, never left to
    redis-py's defaults (none before 8.0).
    """
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout / 2,
        # Refused and broken connections only: redis-py's own default also tries timeouts again.
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries, (redis.ConnectionError,)),
        retry_on_error=[redis.ConnectionError],
    )


class RedisJournal:
    """XADD per note, ids in ms of `at`, retention by MINID~ on every append.

    The client is the synchronous `redis.Redis`: an XADD is one short round trip on a
    local network, far below what an await and a connection pool would save or cost.
    A client passed in must be made with decode_responses=True (as `from_url` does).
    """

    def __init__(self, client: redis.Redis, keep_days: float = 90, stream: str = STREAM) -> None:
        self.client = client
        self.keep_seconds = keep_days * 86400
        self.stream = stream
        self._index = client.register_script(INDEX)

    @classmethod
    def from_url(cls, url: str, keep_days: float = 90) -> RedisJournal:
        """Connect to `url` (redis://host:port/db)."""
        return cls(connect(url), keep_days)

    def append(self, call_id: str, kind: str, fields: dict[str, str], at: float) -> None:
        """XADD the note; approximate trimming keeps it O(1) amortised."""
        body: dict[FieldT, EncodableT] = {
            "at": repr(at),
            "call": call_id,
            "kind": kind,
            "fields": json.dumps(fields, ensure_ascii=False),
        }
        minid = str(int((at - self.keep_seconds) * 1000))
        ms = int(at * 1000)
        for attempt in range(3):
            try:
                self.client.xadd(self.stream, body, id=f"{ms}-*", minid=minid, approximate=True)
                break
            except redis.ResponseError:
                # `at` is older than the stream's last id (a clock step, another daemon's note):
                # file it just after the last one, which `read` allows for (SLACK_MS).
                last = cast(list[tuple[str, object]], self.client.xrevrange(self.stream, count=1))
                if attempt == 2 or not last:
                    raise
                ms = max(ms, int(last[0][0].split("-")[0]))
        op = history_op(self.stream, call_id, kind, str(body["fields"]), at, self.keep_seconds)
        if op is not None:
            self._index(args=[json.dumps(op)])

    def read(self, start: float, end: float) -> Iterator[Entry]:
        """Entries with `start <= at < end`, in stream order (which is `at` order but for skew)."""
        low: str = str(int(start * 1000))
        high = str(int(end * 1000) + SLACK_MS)
        while True:
            # decode_responses=True (from_url) makes every id, key and value a str.
            page = cast(
                list[tuple[str, dict[str, str]]],
                self.client.xrange(self.stream, low, high, count=PAGE),
            )
            for _id, body in page:
                at = float(body["at"])
                if start <= at < end:
                    yield Entry.stored(at, body["call"], body["kind"], body["fields"])
            if len(page) < PAGE:
                return
            low = "(" + page[-1][0]

    def caller_history(self, query: HistoryQuery) -> CallerHistory:
        """The number's earlier calls and its count today (history.py), off its sorted set."""
        numbers = query.numbers
        if not numbers or query.limit <= 0:
            return CallerHistory()
        first = self.client.pipeline(transaction=False)
        for number in numbers:  # one sorted set per spelling the network used
            key = callers_key(self.stream, number)
            first.zrevrangebyscore(key, "+inf", int(query.since * 1000), start=0,
                                   num=query.limit + 1, withscores=True)  # fmt: skip
            first.zcount(key, int(query.day_start * 1000), "+inf")
            first.zscore(key, query.current)
        answers = first.execute()
        found: dict[str, float] = {}
        today = 0
        for at in range(0, len(answers), 3):
            scored, count, current = cast(
                tuple[list[tuple[str, float]], int, float | None], tuple(answers[at : at + 3])
            )
            found.update(scored)
            today += count
            if current is not None and current >= int(query.day_start * 1000):
                today -= 1  # this call, when its arrival landed already
        newest = sorted(found, key=lambda call_id: found[call_id], reverse=True)
        ids = [call_id for call_id in newest if call_id != query.current][: query.limit]
        second = self.client.pipeline(transaction=False)
        for call_id in ids:
            second.hgetall(summary_key(self.stream, call_id))
        calls = []
        for call_id, summary in zip(ids, cast(list[dict[str, str]], second.execute()), strict=True):
            if not summary:
                continue  # expired with the journal, or erased since the set was read
            calls.append(EarlierCall(call_id, float(summary.get("at", 0.0)),
                                     summary.get("topic", ""), summary.get("outcome", ""),
                                     summary.get("disposition", "")))  # fmt: skip
        return CallerHistory(tuple(calls), max(0, int(today)))

    def _unindex(self, entry: Entry) -> None:
        """Take an arrival's call out of the history's index (erased, or its number masked)."""
        number = entry.fields.get(NUMBER_FIELD, "")
        if isinstance(number, str) and number:
            self.client.zrem(callers_key(self.stream, number), entry.call_id)
        self.client.delete(summary_key(self.stream, entry.call_id))

    def prune(self, before: float) -> int:
        """XTRIM MINID (exact); returns how many entries went."""
        return int(self.client.xtrim(self.stream, minid=str(int(before * 1000)), approximate=False))

    def close(self) -> None:
        """Nothing is buffered; close the connection."""
        self.client.close()

    # --- erasure and retention of callers' data (ivr/ops/) ---
    def _entries(self, high: str = "+") -> Iterator[tuple[str, Entry]]:
        """Every entry up to stream id `high`, with its id, oldest first."""
        low = "-"
        while True:
            page = cast(
                list[tuple[str, dict[str, str]]],
                self.client.xrange(self.stream, low, high, count=PAGE),
            )
            for entry_id, body in page:
                entry = Entry(float(body["at"]), body["call"], body["kind"],
                              json.loads(body["fields"]))  # fmt: skip
                yield entry_id, entry
            if len(page) < PAGE:
                return
            low = "(" + page[-1][0]

    def erase(self, doomed: Callable[[Entry], bool]) -> int:
        """XDEL every entry `doomed` says yes to; how many went. A full scan: for `ivr erase`."""
        ids = []
        for entry_id, entry in self._entries():
            if doomed(entry):
                ids.append(entry_id)
                if entry.kind == ARRIVED:
                    self._unindex(entry)
        for start in range(0, len(ids), PAGE):
            self.client.xdel(self.stream, *ids[start : start + PAGE])
        return len(ids)

    def rewrite(self, before: float, change: Callable[[Entry], dict[str, str] | None]) -> int:
        """Replace the fields of entries older than `before` where `change` gives new ones.

        A stream entry cannot be changed in place, nor added again under its old id behind
        newer ones: the stream is copied, changed, into a new key page by page, and one Lua
        step copies what was appended meanwhile and renames the copy over the stream, so a
        daemon appending all along loses nothing. Only when something changes."""
        high = str(int(before * 1000) + SLACK_MS)
        if not any(e.at < before and change(e) is not None for _, e in self._entries(high)):
            return 0
        copy = self.stream + ":rewrite"
        self.client.delete(copy)
        changed, last = 0, "0-0"
        for entry_id, entry in self._entries():
            new = change(entry) if entry.at < before else None
            changed += new is not None
            if (
                new is not None
                and entry.kind == ARRIVED
                and new.get(NUMBER_FIELD) != entry.fields.get(NUMBER_FIELD)
            ):
                self._unindex(entry)  # a masked number has no history
            fields = entry.fields if new is None else new
            self.client.xadd(copy, {"at": repr(entry.at), "call": entry.call_id,
                                    "kind": entry.kind,
                                    "fields": json.dumps(fields, ensure_ascii=False)},
                             id=entry_id)  # fmt: skip
            last = entry_id
        self.client.eval(SWAP, 2, self.stream, copy, last)
        return changed


CALLBACKS = "ivr:callbacks"


class RedisCallbacks:
    """Callback tasks in one Redis hash (id -> JSON); HSET is durable as Redis is configured."""

    def __init__(self, client: redis.Redis, key: str = CALLBACKS) -> None:
        self.client = client
        self.key = key

    @classmethod
    def from_url(cls, url: str) -> RedisCallbacks:
        """Connect to `url` (redis://host:port/db)."""
        return cls(connect(url))

    def save(self, task: dict[str, Any]) -> None:
        """Replace the task's JSON."""
        self.client.hset(self.key, task["id"], json.dumps(task))

    def load(self, since: float) -> list[dict[str, Any]]:
        """Every pending task, and the others requested at or after `since`."""
        values = cast(dict[str, str], self.client.hgetall(self.key))
        tasks = [json.loads(value) for value in values.values()]
        kept = [t for t in tasks if t["status"] == "pending" or t["requested_at"] >= since]
        return sorted(kept, key=lambda t: float(t["requested_at"]))

    def close(self) -> None:
        """Close the connection."""
        self.client.close()

    # --- erasure and retention of callers' data (ivr/ops/) ---
    def delete(self, task_ids: Iterable[str]) -> int:
        """HDEL these tasks; how many there were."""
        ids = list(task_ids)
        return int(self.client.hdel(self.key, *ids)) if ids else 0


LIVE = "ivr:live:"


# A write of a daemon whose lease token is no longer the newest is refused (fencing).
FENCED_PUT = """
if redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""
FENCED_DROP = """
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
"""


class StaleWrite(Exception):
    """The store refused a write: another daemon has taken the lease since."""


class RedisLive:
    """Live calls' and agents' records in one Redis hash per kind (key -> JSON). With a
    fence (the lease's counter and this daemon's token), writes of a daemon that lost the
    lease are refused."""

    def __init__(self, client: redis.Redis, prefix: str = LIVE) -> None:
        self.client = client
        self.prefix = prefix
        self.fence: tuple[str, Callable[[], int | None]] | None = None

    @classmethod
    def from_url(cls, url: str) -> RedisLive:
        """Connect to `url` (redis://host:port/db)."""
        return cls(connect(url))

    def put(self, kind: str, key: str, record: dict[str, Any]) -> None:
        """HSET the record's JSON; StaleWrite when fenced off."""
        value = json.dumps(record, ensure_ascii=False)
        if self.fence is None:
            self.client.hset(self.prefix + kind, key, value)
            return
        counter, token = self.fence
        written = self.client.eval(FENCED_PUT, 2, self.prefix + kind, counter, key, value,
                                   str(token()))  # fmt: skip
        if not written:
            raise StaleWrite(f"{kind} {key}: the lease has a newer holder")

    def drop(self, kind: str, key: str) -> None:
        """HDEL the record; StaleWrite when fenced off."""
        if self.fence is None:
            self.client.hdel(self.prefix + kind, key)
            return
        counter, token = self.fence
        if not self.client.eval(FENCED_DROP, 2, self.prefix + kind, counter, key, str(token())):
            raise StaleWrite(f"{kind} {key}: the lease has a newer holder")

    def load(self, kind: str) -> dict[str, dict[str, Any]]:
        """Every record of `kind`, by key."""
        values = cast(dict[str, str], self.client.hgetall(self.prefix + kind))
        return {key: json.loads(value) for key, value in values.items()}

    def close(self) -> None:
        """Close the connection."""
        self.client.close()
