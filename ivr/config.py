"""The daemon's settings (`config/ivr.yaml`); environment variables override the file."""

from __future__ import annotations

import difflib
import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from ivr.callbacks.book import CallbackRules
from ivr.callbacks.numbers import known_country
from ivr.passwords import is_password_hash
from ivr.plan.errors import Problem, printable
from ivr.plan.source import Source, SourceError, parse
from ivr.schedule.parse import known_zone
from ivr.schedule.schedule import Schedule


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_in_paths(cls, value: object) -> object:
        # The OS cannot take a path with a NUL byte: say so here, with the setting's line.
        if isinstance(value, Path) and "\0" in str(value):
            raise ValueError("a path cannot contain a NUL character (\\0)")
        return value


class AriSettings(_Section):
    """Asterisk REST Interface: call control through the Stasis app."""

    url: str = "http://127.0.0.1:8088"
    user: str = "ivr"
    password: SecretStr = SecretStr("")
    app: str = Field("ivr", pattern=r"^[A-Za-z0-9_-]+$")


class AmiSettings(_Section):
    """Asterisk Manager Interface: presence, recording, health."""

    host: str = "127.0.0.1"
    port: int = 5038
    user: str = "ivr"
    secret: SecretStr = SecretStr("")
    ping_interval: float = Field(10.0, gt=0)


class HttpSettings(_Section):
    """The daemon's own HTTP listener: /healthz, /metrics and the API."""

    listen: str = Field("127.0.0.1:8080", pattern=r"^[^:]+:[0-9]{1,5}$")

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


class ApiSettings(_Section):
    """Who may use the HTTP API (agents, queues): bearer tokens, never logged."""

    tokens: list[SecretStr] = Field(default_factory=list)
    # Whether the last of `tokens` came from IVR_API_TOKEN (it has its own warning).
    _env_token: bool = PrivateAttr(False)

    @property
    def env_token(self) -> bool:
        """Whether the last token came from IVR_API_TOKEN."""
        return self._env_token


class ScreenPopSettings(_Section):
    """Where the screen pop goes when an agent answers (the CRM or the agents' desktop app)."""

    url: str | None = Field(None, pattern=r"^https?://")
    # The pop's `previous`: the caller's last calls from the journal, at most this many...
    previous_calls: int = Field(5, ge=0, le=50)
    # ...of the last this many days (and never past store.caller_number_days: masked numbers
    # have no history).
    previous_days: float = Field(90.0, gt=0, le=3660)


class LogSettings(_Section):
    """How the daemon logs."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["keyvalue", "json"] = "keyvalue"


class ReconnectSettings(_Section):
    """Capped exponential backoff for the ARI and AMI links."""

    initial: float = Field(0.5, gt=0)
    maximum: float = Field(5.0, gt=0)


# --- store section (journal store; issues 5 and 7) ---
class StoreSettings(_Section):
    """Where the call journal is kept: the SQLite file, or Redis when `redis_url` is set."""

    sqlite: Path = Path("../var/ivr.sqlite3")
    redis_url: str | None = Field(None, pattern=r"^(redis|rediss|unix)://")
    journal_days: int = Field(90, gt=0, description="how long journal entries are kept")
    caller_number_days: int = Field(
        30, gt=0, le=3650, description="after this, journal entries keep calls, not numbers"
    )
    timeout_seconds: float = Field(
        2.0, gt=0, le=60, description="every Redis request and SQLite lock wait gives up after this"
    )
    buffer_notes: int = Field(
        100_000, ge=100, le=10_000_000,
        description="journal notes held in memory while the store is slow or down; past it, "
        "new notes are dropped and counted",
    )  # fmt: skip


# --- end store section ---


# --- recordings section (quality control; issue 6) ---
SUPERVISOR_NAME = r"^[A-Za-z0-9_.-]{1,40}$"
SurveyKind = Annotated[str, Field(pattern=r"^(csat|nps)$")]


def _alert_defaults() -> dict[str, int]:
    return {"csat": 2, "nps": 6}


class RecordingsSettings(_Section):
    """Where call recordings are kept, who may listen, and when a bad survey score alerts."""

    folder: Path = Path("../recordings")
    timezone: str = Field("UTC", description="the time zone of the YYYY/MM/DD folders")
    supervisors: dict[Annotated[str, Field(pattern=SUPERVISOR_NAME)], SecretStr] = Field(
        default_factory=dict, description="supervisor name -> bearer token for /api/recordings"
    )
    survey_alert_url: str | None = Field(None, pattern=r"^https?://")
    alert_at: dict[SurveyKind, Annotated[int, Field(ge=0, le=10)]] = Field(
        default_factory=_alert_defaults,
        description="a survey score at or under this, per kind, is posted to survey_alert_url",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not known_zone(value):
            raise ValueError(f"unknown time zone '{value[:60]}' (try Europe/Moscow or UTC)")
        return value

    @field_validator("supervisors")
    @classmethod
    def _long_tokens(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        # These tokens open customers' voices: refuse ones short enough to guess. The message
        # names nobody: a name and token swapped by mistake would print the token.
        if any(len(token.get_secret_value()) < 16 for token in value.values()):
            raise ValueError("every supervisor token needs at least 16 characters")
        return value


def _supervisors_from(text: str) -> dict[str, str]:
    """`IVR_SUPERVISORS="alice:TOKEN,bob:TOKEN"` as a mapping."""
    pairs = [item.strip().partition(":") for item in text.split(",") if item.strip()]
    if any(not sep or not name.strip() or not token.strip() for name, sep, token in pairs):
        # Never echo the value: it is made of tokens.
        raise ConfigError("IVR_SUPERVISORS: write name:token pairs separated by commas")
    return {name.strip(): token.strip() for name, _, token in pairs}


# --- end recordings section ---


# --- principals section (who may do what; issue 16) ---
PRINCIPAL_NAME = r"^[A-Za-z0-9_.@-]{1,64}$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"


class PrincipalSettings(_Section):
    """Someone who may use the API or the web page: a name, a role, a token and/or a password."""

    name: str = Field(pattern=PRINCIPAL_NAME)
    role: Literal["agent", "supervisor", "website", "ops"]
    agent: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="role agent")
    token: SecretStr | None = Field(None, description="a bearer token (16+ characters)")
    token_env: str | None = Field(None, pattern=ENV_NAME, description="the token's variable")
    password: SecretStr | None = Field(None, description="a hash made by `ivr principal hash`")
    password_env: str | None = Field(None, pattern=ENV_NAME, description="the password's")

    @model_validator(mode="after")
    def _complete(self) -> PrincipalSettings:
        if (self.role == "agent") != (self.agent is not None):
            raise ValueError(
                "role agent needs `agent:` (the agent id in the roster), and only role agent "
                "takes one"
            )
        if self.token is None and self.token_env is None and self.password is None \
                and self.password_env is None:  # fmt: skip
            raise ValueError("give a token (token or token_env) or a password (password or "
                             "password_env)")  # fmt: skip
        if self.token is not None and len(self.token.get_secret_value()) < 16:
            # Never echo the value: it is the token.
            raise ValueError("a token needs at least 16 characters (try: openssl rand -hex 24)")
        if self.password is not None and not is_password_hash(self.password.get_secret_value()):
            raise ValueError(
                "password must be a hash made by `ivr principal hash` (a password in plain "
                "text does not belong in the file; password_env may hold one)"
            )
        return self


class SessionSettings(_Section):
    """Web sign-ins: how long a session lasts, its cookie, and failed tries allowed."""

    hours: float = Field(8.0, gt=0, le=24 * 30, description="a session expires after this")
    secure_cookie: Literal["auto", "always"] = Field(
        "auto", description="always: behind a TLS proxy; auto: when the request came over TLS"
    )
    failed_sign_ins: int = Field(
        5, ge=1, le=1000, description="per name and per address in 15 minutes, then 429"
    )


# --- end principals section ---


class CallbackSettings(_Section):
    """How the shop calls customers back, and where voicemail messages are kept."""

    dial: str = Field(
        "PJSIP/{number}@trunk",
        pattern=r"^[A-Z][A-Za-z0-9]{1,9}/[A-Za-z0-9_.@:+-]*\{number\}[A-Za-z0-9_.@:+-]*$",
        description="the dial string for the customer; {number} is the validated number",
    )
    caller_id: str = Field("", pattern=r"^\+?[0-9]{0,15}$", description="shown to the customer")
    ring_seconds: float = Field(30.0, gt=0, le=120)
    retry_minutes: float = Field(5.0, gt=0, description="between attempts")
    max_attempts: int = Field(3, ge=1, le=10)
    per_number_per_day: int = Field(3, ge=1, le=100, description="caller and web requests")
    max_open_per_queue: int = Field(
        200, ge=1, le=100_000, description="pending tasks a queue takes from callers and the web"
    )
    max_days_ahead: float = Field(14.0, gt=0, le=365, description="how far a window may reach")
    country: str = Field("RU", description="numbers without +country are of this country")
    international: bool = Field(False, description="call back numbers of other country codes")
    hours: str | None = Field(
        None, description="a schedule of the roster: callbacks are made only while it is open"
    )
    voicemail_folder: Path = Path("../voicemail")
    voicemail_days: int = Field(
        30, ge=1, le=3650, description="a voicemail message is deleted this long after it was left"
    )

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if not known_country(value):
            raise ValueError(f"unknown country {value!r}: write an ISO 3166 code such as RU")
        return value

    def rules(self, schedules: Mapping[str, Schedule] | None) -> CallbackRules:
        """The callback book's rules (the daemon's and `ivr simulate`'s), calling only while
        the roster's schedule named by `hours:` is open (at any time without a roster or
        such a schedule: the daemon logs `callbacks.unknown_hours`)."""
        hours = None
        if self.hours is not None and schedules is not None:
            hours = schedules.get(self.hours)
        return CallbackRules(
            retry_delay=self.retry_minutes * 60,
            max_attempts=self.max_attempts,
            per_number_per_day=self.per_number_per_day,
            hours=hours,
            dial=self.dial,
            caller_id=self.caller_id,
            ring_seconds=self.ring_seconds,
            country=self.country,
            international=self.international,
            max_open_per_queue=self.max_open_per_queue,
            max_days_ahead=self.max_days_ahead,
        )


class FailoverSettings(_Section):
    """Active and standby: two daemons for one Asterisk, the active holding a lease in Redis
    (`store.redis_url`). Off: one daemon, no lease, and a Redis outage never stops calls."""

    enabled: bool = False
    # A loaded 2-core machine stalls its event loop for well under a second; renewing every
    # 0.5 s leaves five chances before a 3 s lease runs out, and a standby that asks every
    # 0.5 s takes over within about 3.5 s of the active's death.
    lease_seconds: float = Field(3.0, ge=1, le=60, description="the lease's expiry")
    renew_seconds: float = Field(0.5, gt=0, le=20, description="how often it is renewed")

    @model_validator(mode="after")
    def _renew_within_lease(self) -> FailoverSettings:
        if self.renew_seconds * 2 > self.lease_seconds:
            raise ValueError(
                "failover.renew_seconds must be at most half of lease_seconds, so that one "
                "missed renewal does not lose the lease"
            )
        return self


class Settings(_Section):
    """Everything `ivr run` needs. Relative paths are relative to the config file."""

    ari: AriSettings = AriSettings()
    ami: AmiSettings = AmiSettings()
    http: HttpSettings = HttpSettings()
    api: ApiSettings = ApiSettings()
    screen_pop: ScreenPopSettings = ScreenPopSettings()
    log: LogSettings = LogSettings()
    reconnect: ReconnectSettings = ReconnectSettings()
    store: StoreSettings = StoreSettings()  # store section
    recordings: RecordingsSettings = RecordingsSettings()  # recordings section
    callbacks: CallbackSettings = CallbackSettings()
    failover: FailoverSettings = FailoverSettings()
    principals: list[PrincipalSettings] = Field(default_factory=list)  # principals section
    sessions: SessionSettings = SessionSettings()  # principals section
    dialplans: Path = Path("../dialplans")
    agents: Path = Path("../agents")
    drain_seconds: float = Field(8.0, ge=0, le=60, description="grace for calls on SIGTERM")
    # uvloop by default: on the lab (bench/live.py --event-loop, 2026-12-02) the daemon held
    # one more step of 20 calls/s on it in both rounds, and spent 4-6 % less CPU a call.
    # `asyncio` is Python's own loop: for a platform without uvloop, or to rule it out.
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop", description="the event loop the daemon runs on: uvloop or asyncio"
    )
    reload_poll_seconds: float = Field(2.0, gt=0, description="how often to look for plan edits")

    @model_validator(mode="after")
    def _failover_needs_redis(self) -> Settings:
        if self.failover.enabled and not self.store.redis_url:
            raise ValueError(
                "failover.enabled needs store.redis_url: the lease lives in Redis, and both "
                "daemons must share the store to take each other's calls over"
            )
        return self

    @field_validator("principals")  # principals section
    @classmethod
    def _unique_principals(cls, value: list[PrincipalSettings]) -> list[PrincipalSettings]:
        names = [p.name for p in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"principal names must be unique; {', '.join(twice)} appears twice")
        return value

    def secrets(self) -> list[str]:
        """Values that must never be logged."""
        tokens = [token.get_secret_value() for token in self.api.tokens]
        redis = urllib.parse.urlparse(self.store.redis_url or "").password or ""
        supervisors = [t.get_secret_value() for t in self.recordings.supervisors.values()]
        return [
            self.ari.password.get_secret_value(),
            self.ami.secret.get_secret_value(),
            redis,
            *tokens,
            *supervisors,
            *(p.token.get_secret_value() for p in self.principals if p.token is not None),
            *(p.password.get_secret_value() for p in self.principals if p.password is not None),
        ]


# Environment variables that override the file (secrets belong here, not in git).
ENVIRONMENT = {
    "IVR_ARI_URL": ("ari", "url"),
    "IVR_ARI_USER": ("ari", "user"),
    "IVR_ARI_PASSWORD": ("ari", "password"),
    "IVR_ARI_APP": ("ari", "app"),
    "IVR_AMI_HOST": ("ami", "host"),
    "IVR_AMI_PORT": ("ami", "port"),
    "IVR_AMI_USER": ("ami", "user"),
    "IVR_AMI_SECRET": ("ami", "secret"),
    "IVR_HTTP_LISTEN": ("http", "listen"),
    "IVR_LOG_LEVEL": ("log", "level"),
    "IVR_REDIS_URL": ("store", "redis_url"),
    "IVR_SURVEY_ALERT_URL": ("recordings", "survey_alert_url"),
}


class ConfigError(Exception):
    """The config file cannot be used; the message says where and why."""


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the config file, apply environment overrides, resolve relative paths."""
    environ = os.environ if environ is None else environ
    source = _read_source(path)
    raw = {} if source.data is None else source.data
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}:1:1: error: the config must be a mapping of sections")
    from_environment: set[tuple[str, str]] = set()
    for name, (section, key) in ENVIRONMENT.items():
        if environ.get(name):
            block = raw.setdefault(section, {})
            if not isinstance(block, dict):
                line, column = source.where((section,))
                raise ConfigError(f"{path}:{line}:{column}: error: {section}: must be a mapping")
            block[key] = environ[name]
            from_environment.add((section, key))
    if environ.get("IVR_SUPERVISORS"):  # recordings section
        recordings = raw.setdefault("recordings", {})
        if isinstance(recordings, dict):
            recordings["supervisors"] = {
                **(recordings.get("supervisors") or {}),
                **_supervisors_from(environ["IVR_SUPERVISORS"]),
            }
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_schema_message(exc, source, from_environment)) from None
    if environ.get("IVR_API_TOKEN"):
        settings.api.tokens.append(SecretStr(environ["IVR_API_TOKEN"]))
        settings.api._env_token = True
    _principal_secrets(settings, source, environ)  # principals section
    if not settings.dialplans.is_absolute():
        settings.dialplans = (path.parent / settings.dialplans).resolve()
    if not settings.agents.is_absolute():
        settings.agents = (path.parent / settings.agents).resolve()
    if not settings.store.sqlite.is_absolute():  # store section
        settings.store.sqlite = (path.parent / settings.store.sqlite).resolve()
    if not settings.recordings.folder.is_absolute():  # recordings section
        settings.recordings.folder = (path.parent / settings.recordings.folder).resolve()
    if not settings.callbacks.voicemail_folder.is_absolute():
        folder = (path.parent / settings.callbacks.voicemail_folder).resolve()
        settings.callbacks.voicemail_folder = folder
    return settings


def _principal_secrets(settings: Settings, source: Source, environ: Mapping[str, str]) -> None:
    """Fill principals' tokens and passwords named by `token_env`/`password_env`."""
    for index, principal in enumerate(settings.principals):
        for field_name in ("token", "password"):
            variable = getattr(principal, f"{field_name}_env")
            if variable is None:
                continue
            value = environ.get(variable, "")
            line, column = source.where(("principals", index, f"{field_name}_env"))
            where = f"{source.file}:{line}:{column}: error: principals.{index}.{field_name}_env"
            if not value:
                raise ConfigError(
                    f"{where}: {variable} is not set in the environment; set it (the service "
                    f"reads /etc/shop-ivr/env) or remove {field_name}_env"
                )
            if field_name == "token" and len(value) < 16:
                raise ConfigError(f"{where}: {variable} needs at least 16 characters")
            setattr(principal, field_name, SecretStr(value))


def _read_source(path: Path) -> Source:
    """The config file as located YAML; ConfigError naming file, line and column otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{path}:{line}:{column}: error: byte 0x{data[exc.start]:02x} is not UTF-8 text; "
            "save the file as UTF-8 (a comment in another encoding is enough to break it)"
        ) from None
    try:
        # The plans' YAML reader: it names line and column, and its messages never quote the
        # line itself (PyYAML's own would print a typo'd line, token included).
        return parse(text, str(path))
    except SourceError as exc:
        raise ConfigError(str(exc.problem)) from None


def _schema_message(
    exc: ValidationError, source: Source, from_environment: set[tuple[str, str]]
) -> str:
    """Pydantic's errors as `file:line:column: error: section.key: message`, one per line.

    Values are never shown: a key and a secret swapped by mistake would print the secret."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = tuple(str(part) for part in error["loc"])
        where = ".".join(loc) or "the config"
        message = str(error["msg"]).removeprefix("Value error, ")
        if loc[:2] in from_environment:
            name = next(n for n, place in ENVIRONMENT.items() if place == loc[:2])
            lines.append(printable(f"{source.file}: error: {where} (from ${name}): {message}"))
            continue
        line, column = source.where(_source_path(loc))
        if error["type"] == "extra_forbidden":
            message = f"unknown setting; {_known_settings(loc)}"
        lines.append(str(Problem(source.file, line, column, f"{where}: {message}")))
    return "\n".join(lines)


def _known_settings(loc: tuple[str, ...]) -> str:
    """What may stand where an unknown key stands, the likeliest first."""
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return "check the spelling"
        model = annotation
    known = list(model.model_fields)
    close = difflib.get_close_matches(loc[-1], known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}known here: {', '.join(known)}"


def _source_path(loc: tuple[str, ...]) -> tuple[str | int, ...]:
    # Pydantic names list items by index as text; the located YAML keeps them as ints.
    return tuple(int(part) if part.isascii() and part.isdigit() else part for part in loc)
