"""Whatever a plan file holds, checking it ends in a verdict (a Plan or PlanError), no crash."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.cli.main import main
from ivr.plan.errors import PlanError
from ivr.plan.load import parse_plan
from ivr.plan.nodes import NODE_KINDS
from ivr.plan.schema_problems import FIELD_NAMES

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_TEXT = (ROOT / "dialplans" / "shop.yaml").read_text(encoding="utf-8")
EXAMPLE = yaml.safe_load(EXAMPLE_TEXT)
WORDS = [
    *FIELD_NAMES,
    *NODE_KINDS,
    "start",
    "shop-hours",
    "vip",
    "en",
    "ru",
    "sound:hello",
    "say:Hello",
    "http://127.0.0.1:8099/orders",
    "^[0-9]+$",
    "(",
    "shop:start",
    "#",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(WORDS),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
)
keys = st.one_of(st.sampled_from(WORDS), st.text(max_size=10), st.integers(0, 20))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=6)),
    max_leaves=40,
)


def verdict(text: str) -> None:
    try:
        parse_plan(text, "fuzz.yaml")
    except PlanError as exc:
        assert exc.problems, "a PlanError always says what is wrong"
        for problem in exc.problems:
            assert problem.line >= 1 and problem.column >= 1
            assert problem.message


def dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, values, max_size=8))
def test_random_documents(data: dict[Any, Any]) -> None:
    verdict(dump(data))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_random_values_at_the_top(data: Any) -> None:
    verdict(dump(data))


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*path, index))
    return found


EXAMPLE_PATHS = _paths(EXAMPLE)[1:]


@st.composite
def mutated_examples(draw: st.DrawFn) -> Any:
    data = yaml.safe_load(EXAMPLE_TEXT)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(EXAMPLE_PATHS))
        parent: Any = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            last = path[-1]
            action = draw(st.sampled_from(["replace", "delete", "rename", "copy"]))
            if action == "replace":
                parent[last] = draw(values)
            elif action == "delete":
                del parent[last]
            elif action == "rename" and isinstance(parent, dict):
                parent[draw(keys)] = parent.pop(last)
            elif action == "copy":
                parent[last] = draw(st.sampled_from(EXAMPLE_PATHS))[-1]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the way there
    return data


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_examples())
def test_mutations_of_the_example_plan(data: Any) -> None:
    verdict(dump(data))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutations_of_the_example_text(data: st.DataObject) -> None:
    text = EXAMPLE_TEXT
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 8))
        insert = data.draw(
            st.sampled_from(
                [
                    "",
                    ":",
                    " ",
                    "\n",
                    "\t",
                    "-",
                    "[",
                    "{",
                    "&a",
                    "*a",
                    '"',
                    "'",
                    "#",
                    "!!",
                    "  ",
                    "x",
                ]
            )
        )
        text = text[:at] + insert + text[at + cut :]
    verdict(text)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_examples())
def test_ivr_check_answers_with_an_exit_status(data: Any) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan.yaml"
        path.write_text(dump(data), encoding="utf-8")
        assert main(["check", str(path)]) in (0, 1)


PLAN = "name: shop\nnumbers: ['100']\n"


@pytest.mark.parametrize(
    "text",
    [
        PLAN + "nodes:\n  start: " + "[" * 900 + "]" * 900 + "\n",  # nests too deeply
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"  # a billion laughs
        + "".join(
            f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n"
            for p, n in zip("abcde", "bcdef", strict=True)
        ),
        "a: &a [1, *a]\n",  # an alias inside itself
        PLAN + "timezone: '" + "a/" * 3000 + "b'\nnodes: {start: {type: hangup}}\n",
        PLAN
        + "schedules: {s: {timezone: '"
        + "a/" * 3000
        + "b'}}\nnodes: {start: {type: hangup}}\n",
        PLAN + "prompts: {x: {}}\nnodes: {start: {type: hangup, prompt: x}}\n",
        PLAN + "nodes: {start: {type: menu, prompt: x, options: {1: start}}}\n",
    ],
)
def test_hostile_documents(text: str) -> None:
    verdict(text)
