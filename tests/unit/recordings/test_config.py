"""The config's recordings section: folder beside the config, supervisors, survey alerts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.config import ConfigError, load_settings

TOKEN = "s3cret-supervisor-token"


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config" / "ivr.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_keep_recordings_beside_the_config_and_alert_on_low_scores(
    tmp_path: Path,
) -> None:
    settings = load_settings(config(tmp_path, "log: {level: info}\n"), environ={})
    recordings = settings.recordings
    assert recordings.folder == (tmp_path / "recordings").resolve()
    assert recordings.supervisors == {} and recordings.survey_alert_url is None
    assert recordings.alert_at == {"csat": 2, "nps": 6}
    assert recordings.timezone == "UTC"


def test_supervisor_tokens_come_from_the_file_or_environment_and_are_never_logged(
    tmp_path: Path,
) -> None:
    path = config(tmp_path, f"recordings: {{supervisors: {{alice: {TOKEN}}}, folder: /srv/rec}}\n")
    environ = {"IVR_SUPERVISORS": "bob:another-long-token-1, carol:yet-another-token-2"}
    settings = load_settings(path, environ)
    tokens = {k: v.get_secret_value() for k, v in settings.recordings.supervisors.items()}
    assert tokens == {"alice": TOKEN, "bob": "another-long-token-1", "carol": "yet-another-token-2"}
    assert settings.recordings.folder == Path("/srv/rec")
    assert set(tokens.values()) <= set(settings.secrets())
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("recordings: {supervisors: {alice: short}}\n", {}, "at least 16 characters"),
        ("", {"IVR_SUPERVISORS": "swapped-token-without-a-name"}, "name:token pairs"),
        ("recordings: {survey_alert_url: 'ftp://x'}\n", {}, "survey_alert_url"),
        ("recordings: {alert_at: {ces: 2}}\n", {}, "alert_at"),
        ("recordings: {timezone: Mars/Olympus}\n", {}, "unknown time zone"),
        (f"recordings: {{supervisors: {{'a b': {TOKEN}}}}}\n", {}, "supervisors"),
    ],
)
def test_a_wrong_recordings_setting_is_named_and_no_token_is_printed(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        load_settings(config(tmp_path, text or "log: {}\n"), environ)
    assert "swapped-token" not in str(error.value) and TOKEN not in str(error.value)


def test_the_survey_alert_url_may_come_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        config(tmp_path, "recordings: {alert_at: {csat: 1}}\n"),
        {"IVR_SURVEY_ALERT_URL": "https://crm.example/alerts"},
    )
    assert settings.recordings.survey_alert_url == "https://crm.example/alerts"
    assert settings.recordings.alert_at == {"csat": 1}
