"""Voicemail messages (and survey comments) copied from the PBX, with their sidecars."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ivr.calls.commands import Note
from ivr.recordings.prune import prune
from ivr.recordings.voicemail import VoicemailKeeper, list_voicemails

AT = datetime(2026, 11, 23, 21, 5, tzinfo=UTC).timestamp()


async def fake_fetch(name: str, dest: Path) -> int:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(b"RIFF" + name.encode())
    return len(name) + 4


async def test_a_message_is_copied_with_its_caller_and_callback_task(tmp_path: Path) -> None:
    keeper = VoicemailKeeper(tmp_path, fake_fetch)
    fields = {"name": "vm-1.2", "mailbox": "shop", "caller_number": "79001234567"}
    keeper.record(Note("1.2", "voicemail", fields), AT)
    keeper.record(Note("1.2", "callback_requested", {"task": "t1", "source": "voicemail"}), AT)
    await keeper.close()
    [message] = list_voicemails(tmp_path)
    assert message["file"] == "2026/11/23/vm-1.2.wav"
    assert (message["caller_number"], message["task"]) == ("79001234567", "t1")
    assert (tmp_path / message["file"]).read_bytes() == b"RIFFvm-1.2"


async def test_survey_comments_kept_beside_recordings_are_pruned_with_them(tmp_path: Path) -> None:
    comments = VoicemailKeeper(tmp_path, fake_fetch, kind="survey_comment", keep_days=90)
    comments.record(Note("1.3", "survey_comment", {"name": "comment-1.3"}), AT)
    comments.record(Note("1.3", "voicemail", {"name": "not-this-one"}), AT)
    await comments.close()
    assert [p.name for p in tmp_path.rglob("*.wav")] == ["comment-1.3.wav"]
    log = logging.getLogger("test")
    assert prune(tmp_path, datetime.fromtimestamp(AT, UTC) + timedelta(days=89), log) == []
    gone = prune(tmp_path, datetime.fromtimestamp(AT, UTC) + timedelta(days=91), log)
    assert sorted(p.name for p in gone) == ["comment-1.3.json", "comment-1.3.wav"]
