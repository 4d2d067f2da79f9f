"""Offline text to speech for `say:` prompts: espeak-ng speaks, sox makes 8 kHz mono 16-bit WAV.

Files go to <out>/<plan>/<language>/<slug>.wav, the sound `ivr/<plan>/<language>/<slug>` the
core plays. A file that is already there (a generated one, or a recording with the same
name, in any format) is kept: record a better take, give it that name, and it wins.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ivr.plan.prompts import slug, spoken
from ivr.plan.spec import PlanSpec

# espeak-ng voice per plan language; anything else is passed to espeak-ng as it is.
VOICES = {"en": "en", "ru": "ru"}
TOOLS = ("espeak-ng", "sox")
INSTALL_HINT = "apt-get install espeak-ng sox"


class TtsError(Exception):
    """A prompt could not be made (a missing tool, an unknown voice)."""


@dataclass(frozen=True)
class Made:
    """One say: text and its file: `made` False when the file was already there."""

    path: Path
    text: str
    made: bool


def missing_tools() -> list[str]:
    """The tools `build` needs that are not installed."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def build(
    specs: Iterable[PlanSpec], out: Path, progress: Callable[[Made], None] = lambda m: None
) -> list[Made]:
    """Make a WAV file for every say: text of `specs` that has none yet."""
    missing = missing_tools()
    if missing:
        raise TtsError(f"{' and '.join(missing)} not found; install them: {INSTALL_HINT}")
    results = []
    for spec in specs:
        for language, text in spoken(spec):
            folder = out / spec.name / language
            name = slug(text)
            path = folder / f"{name}.wav"
            if not path.resolve().is_relative_to(out.resolve()):
                raise TtsError(f"{path} would leave {out}")  # the model's names forbid it
            exists = folder.is_dir() and any(p.suffix != ".part" for p in folder.glob(f"{name}.*"))
            if not exists:
                folder.mkdir(parents=True, exist_ok=True)
                speak(text, VOICES.get(language, language), path)
            result = Made(path, text, made=not exists)
            progress(result)
            results.append(result)
    return results


def speak(text: str, voice: str, path: Path) -> None:
    """Write `text` spoken by `voice` to `path` as 8 kHz mono 16-bit WAV."""
    with tempfile.TemporaryDirectory() as work:
        raw = Path(work) / "raw.wav"
        done = Path(work) / "out.wav"
        # The text goes in on stdin, never as an argument: text starting with '-' stays text.
        _run(["espeak-ng", "-v", voice, "-w", str(raw), "--stdin"], text)
        _run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(done)], None)
        # Same folder, then rename: a half-written file never looks finished.
        partial = path.with_suffix(".part")
        shutil.copyfile(done, partial)
        partial.replace(path)


def _run(command: list[str], stdin: str | None) -> None:
    try:
        subprocess.run(command, input=stdin, text=True, capture_output=True, check=True, timeout=60)
    except FileNotFoundError:
        raise TtsError(f"{command[0]} not found; install it: {INSTALL_HINT}") from None
    except subprocess.CalledProcessError as exc:
        why = (exc.stderr or exc.stdout or "").strip().splitlines()
        raise TtsError(f"{command[0]} failed: {why[-1] if why else exc.returncode}") from None
    except subprocess.TimeoutExpired:
        raise TtsError(f"{command[0]} took over a minute") from None
