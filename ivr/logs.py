"""Structured logs: one line per event, key=value (or JSON), secrets and control characters out."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable

_BARE = re.compile(r"^[A-Za-z0-9_.:/@+\-]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def event(
    logger: logging.Logger, name: str, level: int = logging.INFO, /, **fields: object
) -> None:
    """Log event `name` with its fields."""
    if logger.isEnabledFor(level):
        logger.log(level, name, extra={"fields": fields})


class _Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = [s for s in secrets if len(s) >= 4]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class KeyValueFormatter(logging.Formatter):
    """`ts=... level=info event=call.arrived call=... key=value`, values quoted and escaped."""

    def __init__(self, redact: _Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        # Masked before escaping: a secret holding `"`, `\` or a newline is escaped into
        # a different text, which masking afterwards would not find.
        pairs = _pairs(record)
        return " ".join(f"{key}={_value(self.redact(str(value)))}" for key, value in pairs)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def __init__(self, redact: _Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        fields = {key: self.redact(str(value)) for key, value in _pairs(record)}
        return json.dumps(fields, ensure_ascii=False)


def _pairs(record: logging.LogRecord) -> list[tuple[str, object]]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    pairs: list[tuple[str, object]] = [
        ("ts", f"{stamp}.{int(record.msecs):03d}Z"),
        ("level", record.levelname.lower()),
        ("event", record.getMessage()),
    ]
    fields = getattr(record, "fields", None)
    if isinstance(fields, dict):
        pairs.extend(fields.items())
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        pairs.append(("error", f"{type(exc).__name__}: {exc}"))
    return pairs


def _value(value: object) -> str:
    text = str(value)
    if _BARE.fullmatch(text):
        return text
    # Quote, and escape what could break the line or fake another field.
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text) + '"'


def setup(level: str = "info", fmt: str = "keyvalue", secrets: Iterable[str] = ()) -> None:
    """Send every log line to stderr in the chosen format, with `secrets` masked."""
    redact = _Redactor(secrets)
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter(redact) if fmt == "json" else KeyValueFormatter(redact)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Library chatter (and aioswagger's URLs, which carry ARI's api_key) stays out.
    for noisy in ("aioari", "aioswagger11", "panoramisk", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
