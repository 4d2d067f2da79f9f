"""The Redis backend of the store's writer: a batch of writes lands in one Lua script, which
Redis runs alone (all of it or, when it never ran, none), with this writer's mark: the `seq` of
its last write that landed. A batch tried again after a timeout (when the script may have run
after all, say in a Redis that was stopped and resumed) skips what landed: no note twice."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, cast

from ivr.store.history import CallerHistory, HistoryQuery
from ivr.store.port import Entry
from ivr.store.redis import (
    CALLBACKS,
    INDEX_NOTE,
    LIVE,
    STREAM,
    RedisCallbacks,
    RedisJournal,
    RedisLive,
    connect,
    history_op,
)
from ivr.store.writes import NoteWrite, Pending, PruneWrite, RecordWrite, TaskWrite, Write

MARK_DAYS = 1  # a writer's mark outlives its daemon by this long

# KEYS[1]: the writer's mark; ARGV[1]: the writes as JSON objects (op, seq, and their fields).
# Returns {the seq of the last write landed, seqs refused by the fence, the error that stopped
# the batch or ''}. A note stamped before the stream's last entry (a clock step, another
# daemon's note) goes just after it, as RedisJournal.append files it; `read` allows for that.
# A note of the screen pop's history (an arrival, a topic, an outcome) also indexes it.
APPLY = (
    INDEX_NOTE
    + """
local done = tonumber(redis.call('GET', KEYS[1]) or '0')
local last = done
local refused = {}
local failure = ''
local function note(op, ms)
  return redis.pcall('XADD', op.stream, 'MINID', '~', op.minid, ms .. '-*', 'at', op.at,
                     'call', op.call, 'kind', op.kind, 'fields', op.fields)
end
for _, op in ipairs(cjson.decode(ARGV[1])) do
  if op.seq > done then
    local reply
    if op.op == 'note' then
      reply = note(op, op.ms)
      if type(reply) == 'table' and reply.err
          and string.find(reply.err, 'equal or smaller', 1, true) then
        local top = redis.call('XREVRANGE', op.stream, '+', '-', 'COUNT', 1)
        reply = note(op, string.match(top[1][1], '^%d+'))
      end
      if op.history and not (type(reply) == 'table' and reply.err) then
        index_note(op.history)
      end
    elseif op.op == 'prune' then
      reply = redis.pcall('XTRIM', op.stream, 'MINID', op.minid)
    elseif op.fence and redis.call('GET', op.fence) ~= op.token then
      table.insert(refused, op.seq)
    elseif op.value then
      reply = redis.pcall('HSET', op.hash, op.key, op.value)
    else
      reply = redis.pcall('HDEL', op.hash, op.key)
    end
    if type(reply) == 'table' and reply.err then
      failure = reply.err
      break
    end
    last = op.seq
  end
end
if last > done then redis.call('SET', KEYS[1], last, 'EX', ARGV[2]) end
return {last, refused, failure}
"""
)


class StoreError(Exception):
    """Redis refused a write (the batch stops there; the writer tries again)."""


class RedisBackend:
    """The journal stream, the live hashes and the callbacks hash, through one client."""

    def __init__(self, url: str, timeout: float, writer_id: str) -> None:
        # Writes are tried again by the writer, with backoff: one timeout per attempt here.
        self.client = connect(url, timeout, retries=0)
        self.script = self.client.register_script(APPLY)
        self.mark = f"ivr:writer:{writer_id}"
        # Reads (at start, at a takeover) ride out a restart, for a bounded while.
        self.reader = connect(url, timeout, retries=2)
        self.live = RedisLive(self.reader)
        self.callbacks = RedisCallbacks(self.reader)
        self.journal = RedisJournal(self.reader)

    def group(self, write: Write) -> str:
        """One group: every write lands through the same script."""
        return "redis"

    def apply(self, writes: Sequence[Pending]) -> list[Pending]:
        """Run the script; raises on a timeout or an error (what landed is not run again)."""
        ops = [op(pending) for pending in writes]
        reply = cast(list[Any], self.script(keys=[self.mark],
                                            args=[json.dumps(ops), MARK_DAYS * 86400]))  # fmt: skip
        _last, refused, failure = reply
        if failure:
            raise StoreError(str(failure))
        gone = {int(seq) for seq in refused}
        return [pending for pending in writes if pending.seq in gone]

    def load_records(self, kind: str) -> dict[str, dict[str, Any]]:
        """HGETALL of the kind's hash."""
        return self.live.load(kind)

    def load_tasks(self, since: float) -> list[dict[str, Any]]:
        """HGETALL of the callbacks hash, filtered."""
        return self.callbacks.load(since)

    def read_journal(self, start: float, end: float) -> Iterator[Entry]:
        """Journal entries with `start <= at < end`, in stream order, a page at a time."""
        return self.journal.read(start, end)

    def caller_history(self, query: HistoryQuery) -> CallerHistory:
        """Earlier calls from a number (the index the script keeps beside the stream)."""
        return self.journal.caller_history(query)

    def index_history(self) -> bool:
        """Nothing to build: the script indexes notes as they land."""
        return False

    def close(self) -> None:
        """Close the connections."""
        self.client.close()
        self.reader.close()


def op(pending: Pending) -> dict[str, Any]:
    """One write as the script reads it."""
    write = pending.write
    match write:
        case NoteWrite():
            note: dict[str, Any] = {
                "op": "note",
                "seq": pending.seq,
                "stream": STREAM,
                "ms": str(int(write.at * 1000)),
                "minid": str(max(0, int((write.at - write.keep_seconds) * 1000))),
                "at": repr(write.at),
                "call": write.call_id,
                "kind": write.kind,
                "fields": write.fields,
            }
            history = history_op(STREAM, write.call_id, write.kind, write.fields, write.at,
                                 write.keep_seconds)  # fmt: skip
            if history is not None:  # left out, not null: cjson's null is true in Lua
                note["history"] = history
            return note
        case PruneWrite():
            return {"op": "prune", "seq": pending.seq, "stream": STREAM,
                    "minid": str(max(0, int(write.before * 1000)))}  # fmt: skip
        case RecordWrite():
            fenced: dict[str, Any] = {
                "op": "record",
                "seq": pending.seq,
                "hash": LIVE + write.kind,
                "key": write.key,
            }
            if write.record is not None:
                fenced["value"] = write.record
            if write.fence is not None:
                fenced["fence"], fenced["token"] = write.fence
            return fenced
        case TaskWrite():
            task: dict[str, Any] = {"op": "task", "seq": pending.seq, "hash": CALLBACKS,
                                    "key": write.task_id}  # fmt: skip
            if write.task is not None:
                task["value"] = write.task
            return task
