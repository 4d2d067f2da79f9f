"""`ivr check` tells "errors found" (1) apart from "could not run" (2), and says why briefly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ivr.site_load
from ivr.cli.main import main

GOOD = 'name: shop\nnumbers: ["100"]\nnodes:\n  start: {type: hangup}\n'
# A menu retrying without a no_input prompt: a warning only.
WARNED = (
    'name: shop\nnumbers: ["100"]\nnodes:\n'
    '  start: {type: menu, prompt: sound:hello, options: {"1": bye}}\n'
    "  bye: {type: hangup}\n"
)


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["check", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_clean_files_exit_0_and_errors_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "shop.yaml"
    plan.write_text(GOOD)
    assert check(capsys, str(plan), "--roster", str(tmp_path / "none"))[0] == 0
    plan.write_text(GOOD.replace("hangup", "hang_up"))
    status, out, _ = check(capsys, str(plan))
    assert status == 1
    assert f"{plan}:4:3: error: nodes.start: unknown node type 'hang_up'" in out


def test_strict_counts_warnings_as_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "shop.yaml"
    plan.write_text(WARNED)
    status, out, _ = check(capsys, str(plan))
    assert status == 0 and ": warning: menu 'start' has no no_input prompt" in out
    assert check(capsys, "--strict", str(plan))[0] == 1


def test_a_missing_file_is_could_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = check(capsys, str(tmp_path / "nothere.yaml"))
    assert status == 2
    assert err == f"ivr check: {tmp_path / 'nothere.yaml'}: no such plan file or folder\n"
    status, _, err = check(capsys, str(tmp_path))  # a folder without plans
    assert status == 2 and "no plan files (*.yaml, *.yml) found" in err


def test_an_unreadable_folder_is_could_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shop.yaml").write_text(GOOD)

    def refused(path: object) -> object:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "scandir", refused)  # as root, chmod 000 would not stop us
    status, out, err = check(capsys, str(tmp_path))
    assert status == 2
    assert err == f"ivr check: cannot read the plan folder {tmp_path}: Permission denied\n"
    assert out == ""


def test_a_checker_that_crashes_is_could_not_run_with_a_short_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shop.yaml").write_text(GOOD)

    def broken(files: object) -> object:
        raise ZeroDivisionError("a checker bug")

    monkeypatch.setattr(ivr.site_load, "book_from", broken)
    status, out, err = check(capsys, str(tmp_path))
    assert status == 2
    assert "ivr check: internal error: ZeroDivisionError: a checker bug" in err
    assert "Traceback" not in err + out
    status, _, err = check(capsys, "--debug", str(tmp_path))
    assert status == 2 and "Traceback (most recent call last)" in err
