"""`POST /api/erase {"number": ...}`: the running daemon lets go of a number before `ivr erase`
removes it from the store and the files: its callback tasks leave the book in memory (or a
later save would write them back), and it says how many calls of the number are up now."""

from __future__ import annotations

from aiohttp import web

from ivr.callbacks.numbers import DEFAULT_COUNTRY, number_key
from ivr.http.site import Site, json_body


def add_erase_routes(
    app: web.Application, site: Site | None, country: str = DEFAULT_COUNTRY
) -> None:
    """POST /api/erase."""

    async def erase(request: web.Request) -> web.Response:
        if site is None:
            raise web.HTTPServiceUnavailable(text="the daemon is not serving calls")
        body = await json_body(request)
        number = body.get("number") if isinstance(body, dict) else None
        if not isinstance(number, str) or not number_key(number, country):
            raise web.HTTPBadRequest(text='give "number" as text with digits')
        key = number_key(number, country)
        # Gone from memory only: `ivr erase` deletes them from the store next.
        tasks = site.switchboard.callback_book.let_go(lambda n: number_key(n, country) == key)
        if tasks is None:
            raise web.HTTPConflict(
                text="a callback to this number is being dialled; try again when it ends"
            )
        calls = [
            c
            for c in site.switchboard.calls.values()
            if number_key(c.caller.number, country) == key
        ]
        return web.json_response(
            {"number": key, "callback_tasks": len(tasks), "calls_up": len(calls)}
        )

    app.router.add_post("/api/erase", erase)
