"""YAML loading that remembers where every value stood, so errors can name line and column."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

import yaml

from ivr.plan.errors import Problem

Path = tuple[str | int, ...]


@dataclass
class Source:
    """A parsed YAML document and the 1-based (line, column) of every path in it."""

    file: str
    data: Any
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[Problem] = field(default_factory=list)

    def where(self, path: Path) -> tuple[int, int]:
        """The position of the deepest part of `path` that exists in the file."""
        best = self.positions.get((), (1, 1))
        prefix: Path = ()
        for part in path:
            candidate = (*prefix, part)
            if candidate in self.positions:
                prefix = candidate
                best = self.positions[candidate]
            elif isinstance(part, str) and part.isdigit():
                # Menu keys are text in the model but may be numbers in the YAML.
                as_number = (*prefix, int(part))
                if as_number in self.positions:
                    prefix = as_number
                    best = self.positions[prefix]
        return best

    def problem(self, path: Path, message: str, fix: str = "", warning: bool = False) -> Problem:
        """A problem located at `path`."""
        line, column = self.where(path)
        return Problem(self.file, line, column, message, fix, warning)


def yaml_files(paths: Iterable[FilePath]) -> list[FilePath]:
    """The files named, folders expanded to their *.yaml and *.yml files."""
    files: list[FilePath] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")))
        else:
            files.append(path)
    return files


def parse(text: str, file: str) -> Source:
    """Parse one YAML document; a syntax error comes back as a located Problem."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Source(file, None, {(): (1, 1)})
        _check_size(node, file)
        data = loader.construct_document(node)
    except RecursionError:
        raise SourceError(
            Problem(
                file,
                1,
                1,
                "YAML syntax: the document nests too deeply",
                "flatten it: plans need a few levels only",
            )
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "the YAML cannot be read"
        raise SourceError(
            Problem(file, line, column, f"YAML syntax: {what}", _yaml_fix(what))
        ) from None
    except yaml.YAMLError as exc:
        raise SourceError(Problem(file, 1, 1, f"YAML syntax: {exc}")) from None
    finally:
        loader.dispose()
    source = Source(file, data)
    _index(node, (), source, loader, set())
    return source


class SourceError(Exception):
    """The file is not readable YAML."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def _yaml_fix(what: str) -> str:
    if "tab" in what or "'\\t'" in what:
        return "indent with spaces, not tabs"
    if "mapping values" in what:
        return "put a space after each ':' and quote text that contains ': '"
    return "check the indentation and quoting on this line and the one before"


# Aliases (*name) can make a small file stand for a huge or endless document.
MAX_VALUES = 100_000


def _check_size(root: yaml.Node, file: str) -> None:
    """Refuse documents that refer to themselves or expand past MAX_VALUES values."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_:
            mark = node.start_mark
            raise SourceError(
                Problem(
                    file,
                    mark.line + 1,
                    mark.column + 1,
                    "YAML syntax: an alias refers to the block that contains it",
                    "copy the values instead of using an alias",
                )
            )
        open_.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        open_.discard(key)
        sizes[key] = total
        if total > MAX_VALUES:
            raise SourceError(
                Problem(
                    file,
                    1,
                    1,
                    f"YAML syntax: the document expands to over {MAX_VALUES} values",
                    "use fewer aliases (*name)",
                )
            )
        return total

    size(root)


def _index(
    node: yaml.Node, path: Path, source: Source, loader: yaml.SafeLoader, indexed: set[int]
) -> None:
    source.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if id(node) in indexed:
        return  # an alias of a block already indexed: its first place is where to look
    indexed.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = _key(key_node, loader)
            if key in seen:
                line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                source.duplicates.append(
                    Problem(
                        source.file,
                        line,
                        column,
                        f"'{key}' is listed twice in the same block",
                        "keep one of them: YAML would silently use the last",
                    )
                )
            seen.add(key)
            _index(value_node, (*path, key), source, loader, indexed)
            # A key's own position is where the mistake usually is (an unknown field).
            source.positions[(*path, key)] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index(item, (*path, index), source, loader, indexed)


def _key(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_object(node)
        return value if isinstance(value, str | int) else str(value)
    return f"<{node.tag}>"
