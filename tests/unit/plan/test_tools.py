"""The offline tools: `ivr schema`, `ivr try --script`, `ivr graph` and `ivr prompts build`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ivr.cli.main import main
from ivr.plan.load import load_plan
from ivr.plan.nodes import NODE_KINDS
from ivr.plan.prompts import slug, spoken
from ivr.plan.schema import plan_schema, schema_text

ROOT = Path(__file__).resolve().parents[3]
SHOP = ROOT / "dialplans" / "shop.yaml"


def test_the_shipped_schema_is_the_generated_one() -> None:
    shipped = (ROOT / "dialplans" / "plan.schema.json").read_text(encoding="utf-8")
    assert shipped == schema_text(), "run: ivr schema -o dialplans/plan.schema.json"


def test_the_example_plan_points_editors_at_the_schema() -> None:
    first = SHOP.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=plan.schema.json"


def test_the_schema_knows_every_node_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == plan_schema()
    [node] = printed["properties"]["nodes"]["patternProperties"].values()
    assert set(node["discriminator"]["mapping"]) == {
        "menu",
        "play",
        "collect",
        "lookup",
        "language",
        "when",
        "tag",
        "queue",
        "transfer",
        "voicemail",
        "callback",
        "survey",
        "hangup",
        "goto",
    }


def test_the_example_plan_passes_check_and_uses_every_node_kind(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--strict", str(ROOT / "dialplans")]) == 0
    assert "ok: 1 plan(s), 0 warning(s)" in capsys.readouterr().out
    plan, _ = load_plan(SHOP)
    kinds = {node.type for node in plan.spec.nodes.values()}
    assert kinds == set(NODE_KINDS)


def run_try(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["try", str(SHOP), *args]) == 0
    return capsys.readouterr().out


def test_try_an_order_status_with_the_backends_answer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    answer = tmp_path / "answer.json"
    answer.write_text('{"status": "shipped"}', encoding="utf-8")
    out = run_try(
        capsys,
        "--caller",
        "+4930123456",
        "--at",
        "2026-12-30 12:00",
        "--script",
        "1,1,12345#,t,4,9",
        "--lookup-answer",
        str(answer),
    )
    assert "2026-12-30 12:00 Wed Europe/Moscow" in out
    assert f"lookups: every lookup gets the JSON of {answer}" in out
    assert 'hears "Please enter your order number, then press the hash key."' in out
    assert "lookup GET http://127.0.0.1:8099/orders order=12345 caller=+4930123456" in out
    assert "lookup answered (200): order_shipped" in out
    assert 'hears "Your order has been shipped and is on its way."' in out
    assert "the caller presses 4\n" in out and "the caller presses 9\n" in out
    assert out.endswith(
        "call went to: the IVR hung up (completed)\n"
        "plan: shop, node: survey, language: en\n"
        "tags: order_status\n"
        "variables: order=12345 status=shipped\n"
    )


def test_try_without_an_answer_says_lookups_fail(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_try(
        capsys, "--caller", "+4930123456", "--at", "2026-12-30 12:00", "--script", "1,1,12345#"
    )
    assert "every lookup fails and goes to its fallback" in out
    assert "lookup failed (no answer): fallback backend_down" in out
    assert "call went to: queue order_status (skills order_status=1)" in out


def test_try_after_hours_in_russian(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_try(capsys, "--caller", "+74951112233", "--at", "2026-12-29 22:30", "--script", "2,2")
    assert 'hears "Для русского языка нажмите 2. For English, press 1."' in out
    assert 'hears "Сейчас мы закрыты.' in out
    # Closed at night: the outsourced partner's agents take the call.
    assert 'hears "Сейчас на ваш звонок ответит команда наших партнёров."' in out
    assert "call went to: queue partner" in out
    assert "language: ru" in out


def test_try_silence_and_a_hang_up(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_try(
        capsys, "--caller", "+4930123456", "--at", "2026-12-30 12:00", "--script", "t,t,h"
    )
    assert out.count("(the caller says nothing)") == 2
    assert "language no input" in out
    assert "call went to: the caller hung up" in out


def test_try_a_transfer(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_try(capsys, "--caller", "+4930123456", "--at", "2026-12-30 12:00", "--script", "1,4")
    assert "call went to: transferred to PJSIP/+74951234567@trunk" in out
    assert "tags: wholesale" in out


def test_try_a_vip_and_a_script_that_ends_early(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_try(capsys, "--caller", "+79161112233", "--at", "2026-12-30 12:00", "--script", "")
    assert "call went to: queue operator, priority 9" in out
    out = run_try(capsys, "--caller", "+4930123456", "--at", "2026-12-30 12:00", "--script", "")
    assert "the caller hangs up" in out


def test_try_refuses_a_number_without_a_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["try", str(SHOP), "--number", "555", "--script", "1"]) == 1


def test_graph_draws_an_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "shop.svg"
    assert main(["graph", str(SHOP), "-o", str(out)]) == 0
    svg = out.read_text(encoding="utf-8").replace("&#45;", "-")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for text in (
        "main_menu",
        "press 1",
        "order_lookup",
        "fallback",
        "= shipped",
        "shop-hours closed",
        "queue order_status",
        "PJSIP/+74951234567@trunk",
    ):
        assert text in svg, text


def test_graph_writes_dot_text(tmp_path: Path) -> None:
    out = tmp_path / "shop.dot"
    assert main(["graph", str(SHOP), "-o", str(out)]) == 0
    dot = out.read_text(encoding="utf-8")
    assert dot.startswith('digraph "shop" {')
    assert '"main_menu" -> "orders" [label="press 1"];' in dot


def test_prompts_build_makes_8khz_mono_wav_files(tmp_path: Path) -> None:
    missing = [tool for tool in ("espeak-ng", "sox", "soxi") if shutil.which(tool) is None]
    assert not missing, f"{', '.join(missing)} missing: apt-get install espeak-ng sox"
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        """
name: tiny
numbers: ["300"]
prompts:
  hello: {en: "say:Hello there", ru: "say:Здравствуйте"}
nodes:
  start: {type: play, prompt: [hello, "say:-Goodbye"], next: bye}
  bye: {type: hangup}
""",
        encoding="utf-8",
    )
    out = tmp_path / "prompts"
    assert main(["prompts", "build", str(plan), "--out", str(out)]) == 0
    files = sorted(out.rglob("*.wav"))
    expected = sorted(
        out / "tiny" / lang / f"{slug(text)}.wav"
        for lang, text in [("en", "Hello there"), ("ru", "Здравствуйте"), ("en", "-Goodbye")]
    )
    assert files == expected
    for wav in files:
        rate = subprocess.run(["soxi", "-r", str(wav)], capture_output=True, text=True, check=True)
        channels = subprocess.run(
            ["soxi", "-c", str(wav)], capture_output=True, text=True, check=True
        )
        bits = subprocess.run(["soxi", "-b", str(wav)], capture_output=True, text=True, check=True)
        assert (rate.stdout.strip(), channels.stdout.strip(), bits.stdout.strip()) == (
            "8000",
            "1",
            "16",
        )


def test_prompts_build_keeps_files_that_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        'name: tiny\nnumbers: ["300"]\nnodes:\n  start: {type: hangup, prompt: "say:Hi"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "prompts"
    recorded = out / "tiny" / "en" / f"{slug('Hi')}.sln16"
    recorded.parent.mkdir(parents=True)
    recorded.write_bytes(b"a real recording")
    assert main(["prompts", "build", str(plan), "--out", str(out)]) == 0
    assert "0 made, 1 kept" in capsys.readouterr().out
    assert sorted(p.name for p in recorded.parent.iterdir()) == [recorded.name]


def test_every_say_text_of_the_example_has_a_language_espeak_knows() -> None:
    plan, _ = load_plan(SHOP)
    languages = {lang for lang, _ in spoken(plan.spec)}
    assert languages == {"en", "ru"}


def test_try_at_new_year_says_who_is_on_shift_and_which_overflow_applies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    roster = SHOP.parent.parent / "agents"
    weekday = run_try(capsys, "--roster", str(roster), "--at", "2026-11-25 12:00", "--script", "h")
    assert "team shop: on duty (shift shop-shift)" in weekday
    assert "no in-house team on duty" not in weekday
    new_year = run_try(capsys, "--roster", str(roster), "--at", "2027-01-01 12:00", "--script", "h")
    assert "team shop: off duty (shift shop-shift)" in new_year
    assert "team callpoint: on duty (shift partner-shift)" in new_year
    assert "queue returns: no in-house team on duty; overflow steps that apply: night" in new_year
