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
    assert f"{path}: ari.app: String should match pattern" in text
    assert f"{path}: htp: Extra inputs are not permitted" in text
