"""Languages a caller can switch to are languages the plan speaks."""

from __future__ import annotations

from ivr.plan.errors import Problem
from ivr.plan.nodes import LanguageNode
from ivr.plan.source import Path, Source
from ivr.plan.spec import PlanSpec


def check_languages(spec: PlanSpec, source: Source) -> list[Problem]:
    """An error for each language a language node sets or offers that no prompt is written in.

    A caller who picks it would hear every prompt in another language than the one they chose.
    """
    spoken = {spec.language} | {lang for versions in spec.prompts.values() for lang in versions}
    problems: list[Problem] = []
    for name, node in spec.nodes.items():
        if not isinstance(node, LanguageNode):
            continue
        named: list[tuple[Path, str]] = [
            (("options", digits), lang) for digits, lang in node.options.items()
        ]
        if node.set is not None:
            named.append((("set",), node.set))
        for path, lang in named:
            if lang in spoken:
                continue
            what = f"option '{path[1]}'" if path[0] == "options" else "'set'"
            problems.append(
                source.problem(
                    ("nodes", name, *path),
                    f"{what} switches to language '{lang}', but no prompt of the plan has a "
                    f"'{lang}' version and the plan's language is '{spec.language}'",
                    f"add {lang}: versions to the prompts under prompts:, or switch to one of "
                    f"the plan's languages ({', '.join(sorted(spoken))})",
                )
            )
    return problems
