"""`ivr erase --number` and the retention of callers' numbers, on a real SQLite file and a
real redis-server, with recordings and voicemail on disk."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ivr.callbacks.numbers import number_key
from ivr.calls.ports import CallbackStore
from ivr.cli.main import main
from ivr.ops.erase import erase_number
from ivr.ops.retention import MASK, forget_numbers
from ivr.recordings.files import path_for, write_sidecar
from ivr.store.port import JournalStore
from ivr.store.redis import RedisCallbacks, RedisJournal
from ivr.store.sqlite import SqliteCallbacks, SqliteJournal
from tests.unit.conftest import free_port

DAY = 86_400.0
NOW = 1_790_000_000.0
IVAN = "79001234567"  # as the network sends it
OLGA = "79007654321"


@pytest.fixture(params=["sqlite", "redis"])
def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[JournalStore, CallbackStore]]:
    if request.param == "sqlite":
        journal: JournalStore = SqliteJournal(tmp_path / "ivr.sqlite3", batch=3)
        callbacks: CallbackStore = SqliteCallbacks(tmp_path / "ivr.callbacks.sqlite3")
    else:
        url = request.getfixturevalue("redis_url")
        journal = RedisJournal.from_url(url, keep_days=3650)
        journal.client.flushdb()
        callbacks = RedisCallbacks.from_url(url)
    yield journal, callbacks
    journal.close()
    callbacks.close()


def a_call(journal: JournalStore, call_id: str, caller: str, at: float) -> None:
    """The notes of a call answered by an agent, as the core writes them."""
    journal.append(call_id, "arrived", {"number": "100", "plan": "shop", "version": "v1",
                   "caller_number": caller, "caller_name": "Ivan"}, at)  # fmt: skip
    journal.append(call_id, "menu_choice", {"plan": "shop", "node": "start", "option": "2",
                   "target": "returns"}, at + 5)  # fmt: skip
    journal.append(call_id, "answered", {"queue": "returns", "agent": "agent1",
                   "caller_number": caller, "var_order": "12345"}, at + 30)  # fmt: skip
    journal.append(call_id, "ended", {"outcome": "answered", "plan": "shop", "node": "returns",
                   "seconds": "90"}, at + 90)  # fmt: skip


def task(task_id: str, number: str, status: str, at: float) -> dict[str, Any]:
    return {"id": task_id, "number": number, "queue": "returns", "status": status,
            "requested_at": at, "source": "web"}  # fmt: skip


def recording(root: Path, name: str, **meta: Any) -> Path:
    wav = path_for(root, name, datetime.fromtimestamp(NOW, UTC))
    write_sidecar(wav, {"call_id": name, "end": "2026-09-21T00:00:00+00:00", **meta})
    wav.write_bytes(b"RIFF")
    return wav


def entries(journal: JournalStore) -> list[Any]:
    return list(journal.read(0, NOW + 10 * DAY))


def test_a_number_goes_from_every_place_in_any_spelling(
    stores: tuple[JournalStore, CallbackStore], tmp_path: Path
) -> None:
    journal, callbacks = stores
    a_call(journal, "c-ivan", IVAN, NOW)
    a_call(journal, "c-olga", OLGA, NOW + 100)
    a_call(journal, "c-ivan2", "8" + IVAN[1:], NOW + 200)  # his trunk's national spelling
    journal.append("cb-1", "callback_queued", {"task": "t1", "queue": "returns", "attempt": "1"},
                   NOW + 300)  # fmt: skip
    callbacks.save(task("t1", "+" + IVAN, "done", NOW))
    callbacks.save(task("t2", "+" + OLGA, "pending", NOW))
    rec, vm = tmp_path / "recordings", tmp_path / "voicemail"
    ivan_rec = recording(rec, "c-ivan", caller_number=IVAN, retention_days=90)
    comment = recording(rec, "c-ivan-comment", retention_days=90)  # a survey comment
    write_sidecar(comment, {"call_id": "c-ivan", "name": "c-ivan-comment", "retention_days": 90})
    olga_rec = recording(rec, "c-olga", caller_number=OLGA, retention_days=90)
    ivan_vm = recording(
        vm, "vm-1", call_id="c-ivan2", caller_number="+7 (900) 123-45-67", task="t1"
    )

    erased = erase_number("8 900 123-45-67", journal, callbacks,
                          [("recordings", rec), ("voicemail", vm)])  # fmt: skip

    assert erased.number == "+79001234567"
    assert (erased.calls, erased.journal_entries, erased.callback_tasks) == (2, 9, 1)
    assert sorted(erased.files["recordings"]) == sorted(
        [ivan_rec, ivan_rec.with_suffix(".json"), comment, comment.with_suffix(".json")]
    )
    assert erased.files["voicemail"] == [ivan_vm, ivan_vm.with_suffix(".json")]
    left = entries(journal)
    assert {e.call_id for e in left} == {"c-olga"}
    assert IVAN[1:] not in json.dumps([e.fields for e in left])
    assert [t["id"] for t in callbacks.load(0)] == ["t2"]
    assert olga_rec.exists() and olga_rec.with_suffix(".json").exists()
    again = erase_number(IVAN, journal, callbacks, [("recordings", rec), ("voicemail", vm)])
    assert not again.found


def test_retention_masks_old_numbers_keeps_the_calls_and_drops_finished_old_tasks(
    stores: tuple[JournalStore, CallbackStore],
) -> None:
    journal, callbacks = stores
    a_call(journal, "old", IVAN, NOW - 40 * DAY)
    a_call(journal, "new", OLGA, NOW - 1 * DAY)
    callbacks.save(task("done-old", IVAN, "done", NOW - 40 * DAY))
    callbacks.save(task("open-old", IVAN, "pending", NOW - 40 * DAY))
    callbacks.save(task("done-new", OLGA, "done", NOW - 1 * DAY))

    masked = forget_numbers(journal, callbacks, NOW - 30 * DAY)

    assert (masked.journal_entries, masked.callback_tasks) == (2, 1)
    by_call = {(e.call_id, e.kind): e.fields for e in entries(journal)}
    assert len(by_call) == 8  # every note is still there: reports count the calls
    assert by_call[("old", "arrived")]["caller_number"] == MASK
    assert by_call[("old", "arrived")]["caller_name"] == MASK
    assert by_call[("old", "answered")]["caller_number"] == MASK
    assert by_call[("new", "arrived")]["caller_number"] == OLGA
    assert [e.at for e in entries(journal)] == sorted(e.at for e in entries(journal))
    assert sorted(t["id"] for t in callbacks.load(0)) == ["done-new", "open-old"]
    # Once masked, a second run changes nothing.
    assert forget_numbers(journal, callbacks, NOW - 30 * DAY).journal_entries == 0


def test_redis_rewrite_keeps_what_is_appended_meanwhile_and_reads_by_time(redis_url: str) -> None:
    journal = RedisJournal.from_url(redis_url, keep_days=3650)
    journal.client.flushdb()
    a_call(journal, "old", IVAN, NOW - 40 * DAY)
    appended: list[bool] = []

    def change(entry: Any) -> dict[str, str] | None:
        # A daemon appending while the copy is made: nothing of it may be lost.
        if not appended:
            a_call(journal, "during", OLGA, NOW)
            appended.append(True)
        return {**entry.fields, "caller_number": MASK} if "caller_number" in entry.fields else None

    assert journal.rewrite(NOW - 30 * DAY, change) == 2
    assert [e.call_id for e in journal.read(NOW - 41 * DAY, NOW - 39 * DAY)] == ["old"] * 4
    assert [e.call_id for e in journal.read(NOW - DAY, NOW + DAY)] == ["during"] * 4
    journal.append("later", "ended", {"outcome": "lost", "plan": "shop", "node": "start",
                   "seconds": "1"}, NOW + 500)  # fmt: skip
    assert [e.call_id for e in journal.read(NOW + 400, NOW + 600)] == ["later"]
    journal.close()


@pytest.mark.parametrize(
    "spelling", ["+79001234567", "79001234567", "89001234567", "9001234567", "+7 (900) 123-45-67"]
)
def test_every_spelling_of_a_number_is_one_key(spelling: str) -> None:
    assert number_key(spelling) == "+79001234567"


def test_foreign_and_odd_numbers_keep_their_own_key() -> None:
    assert number_key("+4915112345678") == "+4915112345678"
    assert number_key("4915112345678") == "+4915112345678"
    assert number_key("anonymous") == ""


def test_the_command_says_what_went_and_exits_0_then_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "ivr.yaml"
    config.write_text(
        f"http: {{listen: '127.0.0.1:{free_port()}'}}\n"  # no daemon answers there
        "store: {sqlite: var/ivr.sqlite3}\n"
        "recordings: {folder: rec}\ncallbacks: {voicemail_folder: vm}\n"
    )
    journal = SqliteJournal(tmp_path / "var" / "ivr.sqlite3")
    a_call(journal, "c-ivan", IVAN, NOW)
    journal.close()
    wav = recording(tmp_path / "rec", "c-ivan", caller_number=IVAN, retention_days=90)

    assert main(["erase", "--number", "+7 900 123 45 67", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "journal: 4 entries (1 calls)" in out
    assert f"removed {wav}" in out and not wav.exists()
    assert main(["erase", "--number", IVAN, "--config", str(config)]) == 1
    assert main(["erase", "--number", IVAN, "--config", str(tmp_path / "none.yaml")]) == 2


def test_the_command_masks_older_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "ivr.yaml"
    config.write_text("store: {sqlite: var/ivr.sqlite3}\n")
    journal = SqliteJournal(tmp_path / "var" / "ivr.sqlite3")
    a_call(journal, "c-ivan", IVAN, NOW)  # long ago, as the wall clock goes
    journal.close()
    assert main(["erase", "--older-than", "30", "--config", str(config)]) == 0
    assert "journal: 2 entries masked" in capsys.readouterr().out


@pytest.mark.parametrize("days", ["-5", "0", "thirty"])
def test_older_than_a_typo_masks_nothing(
    days: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # -5 once masked every number: all entries are older than five days from now.
    config = tmp_path / "ivr.yaml"
    config.write_text("store: {sqlite: var/ivr.sqlite3}\n")
    journal = SqliteJournal(tmp_path / "var" / "ivr.sqlite3")
    a_call(journal, "c-ivan", IVAN, time.time() - 3600)
    journal.close()
    with pytest.raises(SystemExit) as refused:
        main(["erase", "--older-than", days, "--config", str(config)])
    assert refused.value.code == 2 and "--older-than" in capsys.readouterr().err
    journal = SqliteJournal(tmp_path / "var" / "ivr.sqlite3")
    assert any(IVAN in str(e.fields) for e in journal.read(0, time.time() + 60))
    journal.close()
