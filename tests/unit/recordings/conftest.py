"""A fake ARI that serves stored recordings, as Asterisk 22 does over HTTP."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

USER, PASSWORD = "ivr", "ari-password-123"


@dataclass
class FakeAri:
    """Stored recordings by name; every request's raw path and method, in order."""

    url: str = ""
    stored: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    fail_with: int | None = None

    def app(self) -> web.Application:
        async def get_file(request: web.Request) -> web.StreamResponse:
            return await self._serve(request)

        async def delete(request: web.Request) -> web.Response:
            self._authorise(request)
            self.requests.append(("DELETE", request.raw_path))
            name = request.match_info["name"]
            if self.stored.pop(name, None) is None:
                raise web.HTTPNotFound()
            return web.Response(status=204)

        app = web.Application()
        app.router.add_get("/ari/recordings/stored/{name}/file", get_file)
        app.router.add_delete("/ari/recordings/stored/{name}", delete)
        return app

    def _authorise(self, request: web.Request) -> None:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            raise web.HTTPUnauthorized()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        self._authorise(request)
        self.requests.append(("GET", request.raw_path))
        if self.fail_with:
            return web.Response(status=self.fail_with, text="ARI is unwell")
        body = self.stored.get(request.match_info["name"])
        if body is None:
            raise web.HTTPNotFound(text='{"message": "Recording not found"}')
        response = web.StreamResponse(headers={"Content-Type": "audio/wav"})
        await response.prepare(request)
        for start in range(0, len(body), 10_000):  # in pieces, as a long file comes
            await response.write(body[start : start + 10_000])
        await response.write_eof()
        return response


@pytest.fixture
async def ari() -> AsyncIterator[FakeAri]:
    fake = FakeAri()
    server = TestServer(fake.app())
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()
