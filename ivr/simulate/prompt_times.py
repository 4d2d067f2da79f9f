"""How long a prompt plays in a simulation: the length of its audio file when one is found
(a WAV header, or the size of raw 8 kHz gsm/ulaw/alaw/sln), else a stated default."""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path

# Bytes per second of Asterisk's raw formats at 8 kHz.
RAW_RATES = {".gsm": 1650.0, ".ulaw": 8000.0, ".alaw": 8000.0, ".sln": 16000.0}
DIGIT_SECONDS = 0.6  # `digits:` items: one short sound per digit


class PromptTimes:
    """Seconds of each media item (`sound:NAME`, `digits:N`), looked up once and kept."""

    def __init__(self, folders: Sequence[Path] = (), default: float = 2.5) -> None:
        self.folders = [f for f in folders if f.is_dir()]
        self.default = default
        self._seconds: dict[str, float] = {}

    def seconds(self, media: Sequence[str]) -> float:
        """How long a playback of `media` lasts."""
        total = 0.0
        known = self._seconds
        for item in media:
            found = known.get(item)
            if found is None:
                found = known[item] = self._look_up(item)
            total += found
        return total

    def _look_up(self, item: str) -> float:
        scheme, _, name = item.partition(":")
        if scheme == "digits":
            return DIGIT_SECONDS * max(1, len(name))
        if scheme != "sound" or ".." in name:
            return self.default
        # `ivr prompts build` files are prompts/<plan>/<lang>/<hash>.wav, played as ivr/...
        names = [name, name.removeprefix("ivr/")] if name.startswith("ivr/") else [name]
        for folder in self.folders:
            for candidate in names:
                for sub in ("", "en/"):
                    seconds = _file_seconds(folder / f"{sub}{candidate}")
                    if seconds is not None:
                        return seconds
        return self.default


def _file_seconds(stem: Path) -> float | None:
    wav = stem.with_name(stem.name + ".wav")
    if wav.is_file():
        try:
            with wave.open(str(wav), "rb") as audio:
                return audio.getnframes() / float(audio.getframerate() or 8000)
        except (wave.Error, EOFError, OSError):
            return None
    for suffix, rate in RAW_RATES.items():
        raw = stem.with_name(stem.name + suffix)
        if raw.is_file():
            return raw.stat().st_size / rate
    return None
