"""The plans' `say:` prompts on the lab PBX: spoken once into a cache, installed where Asterisk
looks for `sound:ivr/<plan>/<language>/<slug>`.

The files land in the chroot's /usr/share/asterisk/sounds/ivr/<plan>/<language>/<slug>.wav.
A channel in language `ru` makes Asterisk try sounds/ru/ivr/... first and then sounds/ivr/...,
so one folder serves every language. The cache (`<lab>/prompts`) outlives a rebuilt chroot,
and a repeated `ivr lab up` only compares files. A recording in the checkout's `prompts/`
with a prompt's name (any format) is installed instead of the spoken file: it wins, as in
`ivr prompts build`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ivr import tts
from ivr.lab.paths import REPO, LabPaths
from ivr.plan.errors import PlanError
from ivr.plan.load import plan_files, read_plan
from ivr.plan.prompts import FOLDER
from ivr.plan.spec import PlanSpec

SOUNDS = "/usr/share/asterisk/sounds"
RECORDINGS = REPO / "prompts"


@dataclass
class Installed:
    """What an install did: files spoken now, copied into the chroot, removed, and plan files
    that could not be read (their prompts are not there)."""

    wanted: int = 0
    made: int = 0
    copied: int = 0
    removed: int = 0
    skipped: list[str] = field(default_factory=list)


def default_sources() -> list[Path]:
    """The shop's plans and every folder of test plans."""
    tests = REPO / "tests" / "dialplans"
    folders = [tests, *sorted(p for p in tests.rglob("*") if p.is_dir())]
    return [REPO / "dialplans", *folders]


def target(paths: LabPaths) -> Path:
    """The chroot's folder for the plans' prompts (sounds/ivr)."""
    return paths.inside(f"{SOUNDS}/{FOLDER}")


def specs(sources: Iterable[Path]) -> tuple[list[PlanSpec], list[str]]:
    """The plans of `sources` as far as their prompts go, and the files that failed the schema.

    Only the schema matters here: a plan with a dangling goto still has texts to speak.
    """
    found: list[PlanSpec] = []
    skipped: list[str] = []
    for path in plan_files([p for p in sources if p.exists()]):
        try:
            found.append(read_plan(path).spec)
        except PlanError as exc:
            skipped.append(f"{path}: {exc.problems[0] if exc.problems else 'unreadable'}")
    return found, skipped


def install(
    paths: LabPaths,
    sources: Iterable[Path] | None = None,
    recordings: Path = RECORDINGS,
    prune: bool | None = None,
) -> Installed:
    """Speak (once) and install the `say:` prompts of the plans in `sources` (default: all).

    Pruning (the default with the default sources) leaves the folder holding exactly those
    prompts: files of texts no plan says any more are removed. Raises tts.TtsError when
    espeak-ng or sox is missing.
    """
    if prune is None:
        prune = sources is None
    plans, skipped = specs(default_sources() if sources is None else sources)
    cache = paths.root / "prompts"
    result = Installed(skipped=skipped)
    made = tts.build(plans, cache)
    result.made = sum(m.made for m in made)
    out = target(paths)
    wanted: set[Path] = set()
    for item in made:
        relative = item.path.relative_to(cache)
        source = _recording(recordings, relative) or item.path
        destination = out / relative.with_suffix(source.suffix)
        wanted.add(destination)
        if _copy(source, destination, out):
            result.copied += 1
    result.wanted = len(wanted)
    if prune and out.is_dir():
        result.removed = _prune(out, wanted)
    return result


def _recording(recordings: Path, relative: Path) -> Path | None:
    folder = recordings / relative.parent
    if not folder.is_dir():
        return None
    takes = sorted(p for p in folder.glob(f"{relative.stem}.*") if p.suffix != ".part")
    return takes[0] if takes else None


def _copy(source: Path, destination: Path, top: Path) -> bool:
    """Copy when missing or different; world-readable, so Asterisk (its own user) can open it."""
    _folders(destination.parent, top)
    there = destination.stat() if destination.exists() else None
    here = source.stat()
    if there and there.st_size == here.st_size and int(there.st_mtime) == int(here.st_mtime):
        if there.st_mode & 0o777 != 0o644:
            os.chmod(destination, 0o644)
        return False
    # A temporary name, then rename: Asterisk never opens half a file.
    partial = destination.with_name(destination.name + ".part")
    shutil.copy2(source, partial)
    os.chmod(partial, 0o644)
    partial.replace(destination)
    return True


def _folders(folder: Path, top: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        os.chmod(folder, 0o755)
        if folder == top or top not in folder.parents:
            return
        folder = folder.parent


def _prune(out: Path, wanted: set[Path]) -> int:
    removed = 0
    for path in sorted(out.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
            removed += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed
