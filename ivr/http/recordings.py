"""The quality-control API: supervisors find recordings by day, agent, queue, topic or survey
score, and listen to them. Every listen is logged with the supervisor's name."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from aiohttp import web

from ivr.http.principals import PRINCIPAL
from ivr.logs import event
from ivr.recordings.files import CALL_ID, day_folders, read_sidecar

log = logging.getLogger("ivr.recordings")

PREFIX = "/api/recordings"
DEFAULT_LIMIT = 500
MAX_LIMIT = 5000


@dataclass(frozen=True)
class RecordingAccess:
    """Where recordings are, the folders' time zone, and (before issue 16's principals) who
    may listen: name -> bearer token."""

    folder: Path
    supervisors: Mapping[str, str] = field(default_factory=dict)
    tz: tzinfo = UTC


@dataclass(frozen=True)
class Filters:
    """What a listing asks for; empty strings and None match everything."""

    start: datetime | None = None
    end: datetime | None = None
    agent: str = ""
    queue: str = ""
    topic: str = ""
    kind: str = ""
    min_score: int | None = None
    max_score: int | None = None
    limit: int = DEFAULT_LIMIT

    def match(self, sidecar: Mapping[str, Any]) -> bool:
        """Whether a recording's sidecar passes every filter."""
        for name in ("agent", "queue", "topic"):
            wanted = getattr(self, name)
            if wanted and sidecar.get(name) != wanted:
                return False
        if self.start or self.end:
            try:
                started = datetime.fromisoformat(str(sidecar.get("start")))
            except ValueError:
                return False
            if started.tzinfo is None:
                return False
            if (self.start and started < self.start) or (self.end and started >= self.end):
                return False
        if not self.kind:
            return True
        survey = sidecar.get("survey")
        score = survey.get(self.kind) if isinstance(survey, dict) else None
        if not isinstance(score, int):
            return False  # `kind` alone asks for recordings with that survey answered
        low = self.min_score if self.min_score is not None else score
        high = self.max_score if self.max_score is not None else score
        return low <= score <= high

    def may_hold(self, day: date) -> bool:
        """Whether a day folder can hold a match (a day's margin for time zones)."""
        if self.start and day < self.start.date() - timedelta(days=1):
            return False
        return not (self.end and day > self.end.date() + timedelta(days=1))


def add_recording_routes(app: web.Application, folder: Path, tz: tzinfo = UTC) -> None:
    """Add the recordings routes: supervisors only (ivr/http/access.py, checked before the
    handler runs); every listen is logged with the supervisor's name."""

    def supervisor(request: web.Request) -> str:
        return str(request[PRINCIPAL].name)

    async def listing(request: web.Request) -> web.Response:
        supervisor(request)
        filters = _filters(request.query, tz)
        found = await asyncio.to_thread(find, folder, filters)
        return web.json_response(found)

    async def audio(request: web.Request) -> web.StreamResponse:
        name = supervisor(request)
        call_id = _call_id(request)
        wav = _locate(folder, call_id, ".wav")
        # A player fetches in ranges; one listen is logged, not every piece of it.
        ranged = request.headers.get("Range", "bytes=0-").replace(" ", "")
        if request.method == "GET" and ranged.startswith("bytes=0-"):
            event(log, "recording.listened", supervisor=name, call=call_id,
                  at=datetime.now(UTC).isoformat())  # fmt: skip
        return web.FileResponse(
            wav,
            headers={
                "Content-Type": "audio/wav",
                "Content-Disposition": f'inline; filename="{call_id}.wav"',
                "Cache-Control": "no-store",
            },
        )

    async def meta(request: web.Request) -> web.Response:
        name = supervisor(request)
        call_id = _call_id(request)
        sidecar_file = _locate(folder, call_id, ".json")
        try:
            sidecar = read_sidecar(sidecar_file)
        except (OSError, ValueError):
            raise web.HTTPNotFound(text="no readable metadata for this recording") from None
        event(log, "recording.meta_viewed", supervisor=name, call=call_id)
        return web.json_response(
            _with_urls(sidecar, call_id), headers={"Cache-Control": "no-store"}
        )

    app.router.add_get(PREFIX, listing)
    app.router.add_get(PREFIX + "/{call_id}", audio)
    app.router.add_get(PREFIX + "/{call_id}/meta", meta)


def find(folder: Path, filters: Filters) -> list[dict[str, Any]]:
    """Sidecars (with their URLs) of the recordings matching `filters`, oldest first."""
    found: list[dict[str, Any]] = []
    for day in day_folders(folder):
        try:
            when = date(int(day.parent.parent.name), int(day.parent.name), int(day.name))
        except ValueError:
            continue
        if not filters.may_hold(when):
            continue
        for path in sorted(day.glob("*.json")):
            if path.is_symlink() or not CALL_ID.fullmatch(path.stem):
                continue
            try:
                sidecar = read_sidecar(path)
            except (OSError, ValueError):
                continue
            if filters.match(sidecar):
                found.append(_with_urls(sidecar, path.stem))
    found.sort(key=lambda s: str(s.get("start", "")))
    return found[: filters.limit]


def _with_urls(sidecar: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {**sidecar, "url": f"{PREFIX}/{call_id}", "meta_url": f"{PREFIX}/{call_id}/meta"}


def _call_id(request: web.Request) -> str:
    call_id = request.match_info["call_id"]
    if not CALL_ID.fullmatch(call_id):
        raise web.HTTPBadRequest(text="not a call id")
    return call_id


def _locate(folder: Path, call_id: str, suffix: str) -> Path:
    """The recording's file inside `folder`, newest day first; 404 when there is none.

    Symlinks are never followed, and whatever is found must resolve inside the folder.
    """
    root = folder.resolve()
    for day in reversed(list(day_folders(folder))):
        path = day / f"{call_id}{suffix}"
        if path.is_symlink() or not path.is_file():
            continue
        resolved = path.resolve()
        if root in resolved.parents:
            return resolved
    raise web.HTTPNotFound(text="no such recording")


def _filters(query: Mapping[str, str], tz: tzinfo) -> Filters:
    """Filters from the query string; 400 with the reason when one cannot be read."""
    kind = query.get("kind", "")
    min_score, max_score = _int(query, "min_score"), _int(query, "max_score")
    if (min_score is not None or max_score is not None) and not kind:
        raise web.HTTPBadRequest(text="min_score and max_score need kind (csat or nps)")
    limit = _int(query, "limit")
    return Filters(
        start=_moment(query.get("from"), tz, "from"),
        end=_moment(query.get("to"), tz, "to"),
        agent=query.get("agent", ""),
        queue=query.get("queue", ""),
        topic=query.get("topic", ""),
        kind=kind,
        min_score=min_score,
        max_score=max_score,
        limit=max(1, min(MAX_LIMIT, limit if limit is not None else DEFAULT_LIMIT)),
    )


def _int(query: Mapping[str, str], name: str) -> int | None:
    text = query.get(name)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be a whole number") from None


def _moment(text: str | None, tz: tzinfo, name: str) -> datetime | None:
    """A date (midnight, in the folders' time zone) or an ISO 8601 time (that zone if none)."""
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise web.HTTPBadRequest(
            text=f"{name} must be a date (2026-05-01) or an ISO 8601 time (2026-05-01T09:30+03:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)
