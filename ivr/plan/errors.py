"""Plan problems as ops staff read them: file:line:column, what is wrong, how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or doubtful, when `warning`) in a plan file."""

    file: str
    line: int
    column: int
    message: str
    fix: str = ""
    warning: bool = False

    def __str__(self) -> str:
        level = "warning" if self.warning else "error"
        text = f"{self.file}:{self.line}:{self.column}: {level}: {self.message}"
        return printable(f"{text}; {self.fix}" if self.fix else text)


def printable(text: str) -> str:
    """`text` safe for a terminal and a log: control characters (a file's text can reach a
    message) and lone surrogates (a YAML "\\ud800") as escapes."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode()
        for ch in text
    )


class PlanError(Exception):
    """A plan that must not go live, with every problem found in it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
