"""Lookup URLs are fixed http(s) addresses; call variables travel in params only."""

from __future__ import annotations

from urllib.parse import urlsplit

from ivr.plan.errors import Problem
from ivr.plan.nodes import LookupNode
from ivr.plan.source import Source
from ivr.plan.spec import PlanSpec


def check_urls(spec: PlanSpec, source: Source) -> list[Problem]:
    """An error for each lookup URL that is not http(s), holds variables or a password."""
    problems = []
    for name, node in spec.nodes.items():
        if not isinstance(node, LookupNode):
            continue
        path = ("nodes", name, "url")
        try:
            parts = urlsplit(node.url)
            host = parts.hostname
            _ = parts.port
        except ValueError:
            parts, host = None, None
        if parts is None or parts.scheme not in ("http", "https") or not host:
            problems.append(
                source.problem(
                    path,
                    f"lookup url '{node.url}' is not an http(s) URL",
                    "write it as http://host:port/path, for example http://127.0.0.1:8099/orders",
                )
            )
        elif "{" in node.url or "}" in node.url:
            problems.append(
                source.problem(
                    path,
                    f"lookup url '{node.url}' cannot hold variables",
                    "send call variables with params: {name: variable}",
                )
            )
        elif parts.username is not None or parts.password is not None:
            problems.append(
                source.problem(
                    path,
                    "lookup url holds a user name or password",
                    "plan files are no place for secrets: let the backend trust the daemon's "
                    "address instead",
                )
            )
    return problems
