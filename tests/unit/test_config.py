"""Settings: the file, environment overrides, and secrets that never print."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_config_loads_and_the_environment_overrides_it() -> None:
    settings = load_settings(
        ROOT / "config" / "ivr.yaml",
        {"IVR_ARI_PASSWORD": "from-env", "IVR_HTTP_LISTEN": "0.0.0.0:9090"},
    )
    assert settings.ari.password.get_secret_value() == "from-env"
    assert settings.http.port == 9090 and settings.http.host == "0.0.0.0"
    assert settings.dialplans == (ROOT / "dialplans").resolve()
    assert "from-env" not in repr(settings) and "from-env" in settings.secrets()


def test_a_wrong_setting_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ivr.yaml"
    path.write_text("ari: {app: 'bad app name'}\nhtp: {}\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path, {})
    text = str(error.value)
    assert f"{path}:1:7: error: ari.app: String should match pattern" in text
    assert f"{path}:2:1: error: htp: unknown setting; did you mean 'http'?" in text


def _refusal(path: Path, text: bytes | str, environ: dict[str, str] | None = None) -> str:
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ or {})
    return str(error.value)


def test_schema_errors_name_line_and_column_and_suggest_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "ivr.yaml"
    text = _refusal(path, "ari:\n  url: http://pbx\nstore:\n  journal_day: 30\n")
    assert text.startswith(
        f"{path}:4:3: error: store.journal_day: unknown setting; did you mean 'journal_days'? "
        "known here: sqlite, redis_url, journal_days"
    )


def test_a_comment_in_latin1_is_refused_with_its_place_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "ivr.yaml"
    text = _refusal(path, b"ari:\n  # caf\xe9 au lait\n  url: http://pbx\n")
    assert text.startswith(f"{path}:2:8: error: byte 0xe9 is not UTF-8 text; save the file")


def test_a_yaml_typo_never_prints_the_line_it_is_on(tmp_path: Path) -> None:
    path = tmp_path / "ivr.yaml"
    token = "tok-8c1f0e2d7a9b"
    text = _refusal(path, f"api:\n  tokens: [{token}\nari:\n  url: http://pbx\n")
    assert text.startswith(f"{path}:3:") and "YAML syntax" in text
    assert token not in text


def test_a_secret_in_a_wrong_place_is_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "ivr.yaml"
    text = _refusal(path, "ami:\n  port: s3cret-secret-value\n")
    assert text.startswith(f"{path}:2:3: error: ami.port: ")
    assert "s3cret" not in text


def test_an_override_from_the_environment_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "ivr.yaml"
    text = _refusal(path, "ami: {}\n", {"IVR_AMI_PORT": "five"})
    assert text.startswith(f"{path}: error: ami.port (from $IVR_AMI_PORT): ")


@pytest.mark.parametrize(
    "content",
    [
        "- just\n- a list\n",
        "ari: [1, 2]\n",
        "ari: {url: !!timestamp 2026-01-01}\n",
        "store: {journal_days: 9" + "9" * 5000 + "}\n",
        'log: {level: "info\x07"}\n',
        "ари: {}\n",
    ],
)
def test_odd_files_are_refused_with_a_located_message(tmp_path: Path, content: str) -> None:
    path = tmp_path / "ivr.yaml"
    text = _refusal(path, content)
    assert text.startswith(f"{path}:")
    assert "Traceback" not in text


def test_the_event_loop_is_uvloop_unless_asyncio_is_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "ivr.yaml"
    path.write_text("ari: {url: http://pbx}\n")
    assert load_settings(path, {}).event_loop == "uvloop"
    path.write_text("event_loop: asyncio\n")
    assert load_settings(path, {}).event_loop == "asyncio"
    text = _refusal(path, "event_loop: tokio\n")
    assert text.startswith(f"{path}:1:1: error: event_loop: Input should be 'uvloop' or 'asyncio'")
