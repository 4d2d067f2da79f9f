"""The recordings API: supervisors only, every listen logged, no way out of the folder."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer

from ivr.http.app import make_app
from ivr.http.recordings import RecordingAccess
from ivr.journal.metrics import Metrics
from ivr.recordings.files import path_for, write_sidecar

MOSCOW = ZoneInfo("Europe/Moscow")
ALICE = "alice-supervisor-token-0001"
AGENT = "agent-token-0001"
SECRET = b"TOP SECRET, NOT A RECORDING"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Api:
    """The daemon's HTTP app over a real socket; requests go out byte for byte as written."""

    server: TestServer
    folder: Path

    async def get(self, target: str, token: str | None = ALICE, **headers: str) -> Reply:
        reader, writer = await asyncio.open_connection(self.server.host, self.server.port)
        lines = [f"GET {target} HTTP/1.1", "Host: test", "Connection: close"]
        if token is not None:
            lines.append(f"Authorization: Bearer {token}")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        raw = await reader.read()
        writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode().split("\r\n")
        fields = dict(line.split(": ", 1) for line in header_lines)
        if fields.get("Transfer-Encoding") == "chunked":
            body = _unchunk(body)
        return Reply(int(status_line.split()[1]), fields, body)


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        length = int(size, 16)
        if length == 0:
            break
        out, body = out + rest[:length], rest[length + 2 :]
    return out


def recording(folder: Path, call_id: str, start: datetime, **fields: Any) -> Path:
    wav = path_for(folder, call_id, start)
    sidecar = {
        "call_id": call_id,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=3)).isoformat(),
        "queue": "sales",
        "team": "shop",
        "agent": "agent1",
        "topic": "returns",
        "caller_number": "79001234567",
        "retention_days": 90,
        "survey": {},
        **fields,
    }
    write_sidecar(wav, sidecar)
    wav.write_bytes(b"RIFF" + call_id.encode() * 1000)
    return wav


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    folder = tmp_path / "recordings"
    folder.mkdir()
    (tmp_path / "secret.wav").write_bytes(SECRET)
    (tmp_path / "secret.json").write_text('{"call_id": "secret"}')
    access = RecordingAccess(folder, {"alice": ALICE}, MOSCOW)
    app = make_app(lambda: {"ok": True, "ari": True}, Metrics(), None, [AGENT], recordings=access)
    server = TestServer(app)
    await server.start_server()
    yield Api(server, folder)
    await server.close()


def tree(folder: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in folder.parent.rglob("*")}


def listened(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [r.__dict__["fields"] for r in caplog.records if r.getMessage() == "recording.listened"]


@pytest.mark.parametrize("token", [None, "", AGENT, "alice", ALICE[:-1], ALICE + "x"])
@pytest.mark.parametrize(
    "target", ["/api/recordings", "/api/recordings/c1", "/api/recordings/c1/meta"]
)
async def test_without_a_supervisors_token_nothing_is_served_logged_or_written(
    api: Api, caplog: pytest.LogCaptureFixture, token: str | None, target: str
) -> None:
    caplog.set_level(logging.DEBUG)
    recording(api.folder, "c1", datetime(2026, 5, 1, 10, tzinfo=MOSCOW))
    before = tree(api.folder)

    reply = await api.get(target, token)

    if token == AGENT:  # a known token of another role: refused, and the refusal logged
        assert reply.status == 403 and b"RIFF" not in reply.body
        assert b"needs supervisor" in reply.body
    else:
        assert reply.status == 401 and b"RIFF" not in reply.body
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert tree(api.folder) == before
    assert [r for r in caplog.records if r.getMessage().startswith("recording")] == []


async def test_a_supervisor_listens_and_the_listen_is_logged_with_their_name(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    wav = recording(api.folder, "1700000000.42", datetime(2026, 5, 1, 10, tzinfo=MOSCOW))

    reply = await api.get("/api/recordings/1700000000.42")

    assert reply.status == 200 and reply.body == wav.read_bytes()
    assert reply.headers["Content-Type"] == "audio/wav"
    [entry] = listened(caplog)
    assert entry["supervisor"] == "alice" and entry["call"] == "1700000000.42"
    assert datetime.fromisoformat(str(entry["at"])).tzinfo is not None
    # A player's later ranges of the same listen are not counted again.
    part = await api.get("/api/recordings/1700000000.42", Range="bytes=100-199")
    assert part.status == 206 and part.body == wav.read_bytes()[100:200]
    assert len(listened(caplog)) == 1


async def test_meta_and_listing_give_the_sidecar_and_where_to_listen(api: Api) -> None:
    recording(api.folder, "c1", datetime(2026, 5, 1, 10, tzinfo=MOSCOW), survey={"csat": 2})

    meta = (await api.get("/api/recordings/c1/meta")).json()
    listing = (await api.get("/api/recordings")).json()

    assert meta["call_id"] == "c1" and meta["survey"] == {"csat": 2}
    assert meta["url"] == "/api/recordings/c1" and meta["meta_url"] == "/api/recordings/c1/meta"
    assert listing == [meta]


async def test_the_listing_filters_by_time_agent_queue_topic_and_score(api: Api) -> None:
    day = datetime(2026, 5, 1, 10, tzinfo=MOSCOW)
    recording(api.folder, "early", day.replace(hour=0, minute=30), survey={"csat": 5, "nps": 9})
    recording(api.folder, "bad", day, agent="agent2", survey={"csat": 1, "nps": 3})
    recording(api.folder, "mid", day, queue="support", topic="delivery", survey={"csat": 3})
    recording(api.folder, "nextday", day + timedelta(days=1))

    async def ids(query: str) -> list[str]:
        reply = await api.get(f"/api/recordings?{query}")
        assert reply.status == 200, reply.body
        return sorted(item["call_id"] for item in reply.json())

    assert await ids("") == ["bad", "early", "mid", "nextday"]
    assert await ids("from=2026-05-01&to=2026-05-02") == ["bad", "early", "mid"]  # Moscow days
    assert await ids("from=2026-04-30T21:30:00%2B00:00&to=2026-05-01T09:00") == ["early"]
    assert await ids("agent=agent2") == ["bad"]
    assert await ids("queue=support&topic=delivery") == ["mid"]
    assert await ids("kind=csat&max_score=2") == ["bad"]
    assert await ids("kind=csat&min_score=3") == ["early", "mid"]
    assert await ids("kind=nps") == ["bad", "early"]
    assert await ids("limit=1") == ["early"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("max_score=2", b"need kind"),
        ("kind=csat&max_score=two", b"whole number"),
        ("from=yesterday", b"ISO 8601"),
    ],
)
async def test_a_bad_filter_is_a_400_that_says_why(api: Api, query: str, message: bytes) -> None:
    reply = await api.get(f"/api/recordings?{query}")
    assert reply.status == 400 and message in reply.body


@pytest.mark.parametrize(
    "target",
    [
        "/api/recordings/..",
        "/api/recordings/../secret",
        "/api/recordings/../../secret",
        "/api/recordings/%2e%2e",
        "/api/recordings/%2e%2e%2fsecret",
        "/api/recordings/%2E%2E%2F%2E%2E%2Fsecret",
        "/api/recordings/..%2fsecret/meta",
        "/api/recordings/%2Ftmp%2Fsecret",
        "/api/recordings//etc/passwd",
        "/api/recordings/secret%00",
        "/api/recordings/.secret",
        "/api/recordings/c1.wav%2f..%2f..%2f..%2f..%2fsecret",
        "/api/recordings/%252e%252e%252fsecret",
    ],
)
async def test_no_spelling_of_a_path_reaches_a_file_outside_the_folder(
    api: Api, target: str
) -> None:
    recording(api.folder, "c1", datetime(2026, 5, 1, 10, tzinfo=MOSCOW))
    reply = await api.get(target)
    assert reply.status in (400, 401, 404), reply.status
    assert SECRET not in reply.body and b"call_id" not in reply.body


async def test_symlinks_pointing_outside_the_folder_are_never_followed(
    api: Api, tmp_path: Path
) -> None:
    real = recording(api.folder, "real", datetime(2026, 5, 1, 10, tzinfo=MOSCOW))
    (real.parent / "evil.wav").symlink_to(tmp_path / "secret.wav")
    (real.parent / "evil.json").symlink_to(tmp_path / "secret.json")
    outside = tmp_path / "outside" / "01"
    outside.mkdir(parents=True)
    (outside / "sneaky.wav").write_bytes(SECRET)
    (outside / "sneaky.json").write_text('{"call_id": "sneaky"}')
    (real.parent.parent / "02").symlink_to(outside)  # a whole day folder pointing out

    for target in ("evil", "evil/meta", "sneaky", "sneaky/meta"):
        reply = await api.get(f"/api/recordings/{target}")
        assert reply.status == 404 and SECRET not in reply.body, target
    listing = (await api.get("/api/recordings")).json()
    assert [item["call_id"] for item in listing] == ["real"]


async def test_desk_routes_let_in_api_and_supervisor_tokens_and_no_path_reaches_recordings(
    api: Api,
) -> None:
    assert (await api.get("/api/queues", AGENT)).status == 503  # let in: no roster is loaded
    assert (await api.get("/api/queues", ALICE)).status == 503  # supervisors see the desk
    assert (await api.get("/api/queues/../recordings", AGENT)).status in (403, 404)
    assert (await api.get("/api/queues/%2e%2e/recordings", AGENT)).status in (400, 403, 404)
    assert (await api.get("/healthz", None)).status == 200


async def test_without_recordings_the_api_is_as_before(tmp_path: Path) -> None:
    app = make_app(lambda: {"ok": True, "ari": True}, Metrics(), None, [AGENT])
    server = TestServer(app)
    await server.start_server()
    try:
        client = Api(server, tmp_path)
        assert (await client.get("/api/recordings", ALICE)).status == 401
        assert (await client.get("/api/recordings", AGENT)).status == 404
        assert (await client.get("/api/agents", AGENT)).status == 503
    finally:
        await server.close()
