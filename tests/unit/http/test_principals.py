"""Principals in the config: roles, tokens and password hashes (from the file or the
environment), refused with file:line:column and the fix; the older api.tokens, IVR_API_TOKEN
and recordings.supervisors keep working with one warning each."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.cli.main import main
from ivr.config import ConfigError, load_settings
from ivr.http.app import make_app
from ivr.http.principals import LEGACY, Credential, Directory, Principal, directory_from
from ivr.journal.metrics import Metrics
from ivr.passwords import hash_password, is_password_hash, verify_password

HASH = hash_password("correct horse battery", salt=b"fixed-salt-for-tests")
CONFIG = f"""
principals:
  - {{name: anna, role: agent, agent: agent1, password_env: IVR_ANNA_PASSWORD}}
  - {{name: olga, role: supervisor, token_env: IVR_OLGA_TOKEN, password: "{HASH}"}}
  - {{name: website, role: website, token: shop-website-token-0001}}
  - {{name: ops, role: ops, token_env: IVR_OPS_TOKEN}}
"""
ENVIRON = {
    "IVR_ANNA_PASSWORD": "anna's own password",
    "IVR_OLGA_TOKEN": "olga-supervisor-token-01",
    "IVR_OPS_TOKEN": "ops-operations-token-01",
}


def settings_of(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Any:
    path = tmp_path / "ivr.yaml"
    path.write_text(text)
    return load_settings(path, ENVIRON if environ is None else environ)


def refusal(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as error:
        settings_of(tmp_path, text, environ)
    return str(error.value)


def test_principals_come_from_the_file_and_the_environment_and_are_never_logged(
    tmp_path: Path,
) -> None:
    settings = settings_of(tmp_path, CONFIG)
    directory, warnings = directory_from(settings)
    assert warnings == []
    assert directory.by_token("olga-supervisor-token-01") == Principal("olga", "supervisor")
    assert directory.by_token("ops-operations-token-01") == Principal("ops", "ops")
    assert directory.by_token("shop-website-token-0001") == Principal("website", "website")
    assert directory.by_password("anna", "anna's own password") == Principal(
        "anna", "agent", "agent1"
    )
    assert directory.by_password("olga", "correct horse battery") == Principal("olga", "supervisor")
    secrets = settings.secrets()
    for value in (*ENVIRON.values(), "shop-website-token-0001", HASH):
        assert value in secrets and value not in repr(settings)


@pytest.mark.parametrize(
    ("entry", "line", "words"),
    [
        ("{name: anna, role: agent, token: anna-agent-token-0001}", 3,
         "principals.0: role agent needs `agent:`"),
        ("{name: olga, role: supervisor, agent: agent1, token: olga-supervisor-token-01}", 3,
         "only role agent takes one"),
        ("{name: olga, role: boss, token: olga-supervisor-token-01}", 3,
         "principals.0.role: Input should be 'agent', 'supervisor', 'website' or 'ops'"),
        ("{name: olga, role: supervisor}", 3, "give a token (token or token_env) or a password"),
        ("{name: olga, role: supervisor, token: short}", 3, "at least 16 characters"),
        ("{name: olga, role: supervisor, password: hunter2hunter2}", 3,
         "password must be a hash made by `ivr principal hash`"),
        ("{name: 'olga smith', role: supervisor, token: olga-supervisor-token-01}", 3,
         "principals.0.name: String should match pattern"),
        ("{name: olga, role: supervisor, token_env: IVR_NOT_SET}", 3,
         "principals.0.token_env: IVR_NOT_SET is not set in the environment; set it"),
    ],
)  # fmt: skip
def test_a_wrong_principal_is_named_with_its_line_and_the_fix(
    tmp_path: Path, entry: str, line: int, words: str
) -> None:
    text = refusal(tmp_path, f"\nprincipals:\n  - {entry}\n")
    assert f"{tmp_path / 'ivr.yaml'}:{line}:" in text and words in text, text
    # Secrets are never echoed, even a wrong one.
    for secret in ("hunter2hunter2", "short", "olga-supervisor-token-01"):
        assert secret not in text


def test_two_principals_of_one_name_are_refused(tmp_path: Path) -> None:
    text = refusal(tmp_path, CONFIG + "  - {name: ops, role: ops, token: another-ops-token-01}\n")
    assert "principal names must be unique; ops appears twice" in text


def test_the_older_tokens_keep_their_rights_with_a_warning_each(tmp_path: Path) -> None:
    text = ("api: {tokens: [old-api-token-0001]}\n"
            "recordings: {supervisors: {alice: alice-supervisor-token}}\n")  # fmt: skip
    settings = settings_of(tmp_path, text, {"IVR_API_TOKEN": "env-api-token-0001"})
    directory, warnings = directory_from(settings)
    assert directory.by_token("old-api-token-0001") == Principal("api.tokens[0]", LEGACY)
    assert directory.by_token("env-api-token-0001") == Principal("IVR_API_TOKEN", LEGACY)
    assert directory.by_token("alice-supervisor-token") == Principal("alice", "supervisor")
    assert len(warnings) == 3
    assert warnings[0].startswith("api.tokens is deprecated") and "principals:" in warnings[0]
    assert warnings[1].startswith("IVR_API_TOKEN is deprecated")
    assert warnings[2].startswith("recordings.supervisors (and IVR_SUPERVISORS) is deprecated")
    assert all("token-0001" not in w and "alice-supervisor-token" not in w for w in warnings)


def test_a_token_finds_its_own_principal_and_nothing_near_it_finds_any() -> None:
    people = [Credential(Principal(f"p{i}", "ops"), f"token-number-{i:04d}-abcdef")
              for i in range(50)]  # fmt: skip
    directory = Directory(people)
    assert directory.by_token("token-number-0037-abcdef") == Principal("p37", "ops")
    for near in ("", "token-number-0037-abcde", "token-number-0037-abcdefX",
                 " token-number-0037-abcdef", "TOKEN-NUMBER-0037-ABCDEF"):  # fmt: skip
        assert directory.by_token(near) is None, near


def test_password_hashes_verify_only_their_password_and_odd_hashes_are_refused() -> None:
    hashed = hash_password("correct horse battery")
    assert is_password_hash(hashed) and hashed != hash_password("correct horse battery")
    assert verify_password("correct horse battery", hashed)
    assert not verify_password("correct horse batter", hashed)
    prefix, n, r, p, salt, digest = hashed.split("$")
    for odd in (f"{prefix}${2**30}${r}${p}${salt}${digest}",  # gigabytes of memory
                f"{prefix}$1000${r}${p}${salt}${digest}",  # not a power of two
                f"md5${n}${r}${p}${salt}${digest}", f"{prefix}${n}${r}${p}$!!${digest}",
                "", "scrypt$$$$$"):  # fmt: skip
        assert not is_password_hash(odd) and not verify_password("x", odd), odd


def test_ivr_principal_hash_reads_the_password_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    assert main(["principal", "hash"]) == 0
    printed = capsys.readouterr().out.strip()
    assert verify_password("a long enough password", printed)
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["principal", "hash"]) == 1
    assert "at least 10 characters" in capsys.readouterr().err


async def test_the_daemon_s_principals_open_the_api_as_configured(tmp_path: Path) -> None:
    settings = settings_of(tmp_path, CONFIG)
    directory, _ = directory_from(settings)
    app = make_app(lambda: {"ok": True}, Metrics(), None, principals=directory)
    async with TestClient(TestServer(app)) as client:
        ops = {"Authorization": "Bearer ops-operations-token-01"}
        website = {"Authorization": "Bearer shop-website-token-0001"}
        assert (await client.get("/api/line", headers=ops)).status == 503  # no site: let in
        refused = await client.get("/api/line", headers=website)
        assert refused.status == 403
        assert (await refused.json())["message"] == "needs supervisor, or ops"
        # /metrics and /healthz stay open, as Prometheus reads them.
        assert (await client.get("/metrics")).status == 200
        assert (await client.get("/healthz")).status == 200
