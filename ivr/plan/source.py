"""YAML loading that remembers where every value stood, so errors can name line and column."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator
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
            elif isinstance(part, str) and part.isascii() and part.isdigit():
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


def decode(data: bytes, file: str) -> str:
    """A file's bytes as UTF-8 text; SourceError at the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8", errors="replace")
        line, column = _line_column(good, len(good))
        raise SourceError(
            Problem(
                file,
                line,
                column,
                f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be read",
                "save the file as UTF-8 (an editor's 'encoding' setting; a Latin-1 or "
                "Windows-1251 file must be converted)",
            )
        ) from None


def parse(text: str, file: str) -> Source:
    """Parse one YAML document; anything unreadable in it comes back as a located Problem."""
    with without_cyclic_gc():
        return _parse(text, file)


@contextlib.contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: a document's values are all alive until it is
    read, and the collector, walking them again and again as they pile up, would make
    reading a big plan take time quadratic in its size (a 60,000-node plan: twice as long)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse(text: str, file: str) -> Source:
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise SourceError(_reader_problem(exc, text, file)) from None
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
    except _ValueError as exc:
        raise SourceError(exc.problem(file)) from None
    except yaml.reader.ReaderError as exc:
        raise SourceError(_reader_problem(exc, text, file)) from None
    except yaml.MarkedYAMLError as exc:
        exc = _pure_python_error(text) or exc
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = _with_character(exc.problem or "the YAML cannot be read", text, line, column)
        raise SourceError(
            Problem(file, line, column, f"YAML syntax: {what}", _yaml_fix(what))
        ) from None
    except yaml.YAMLError as exc:
        raise SourceError(Problem(file, 1, 1, f"YAML syntax: {exc}")) from None
    finally:
        loader.dispose()
    source = Source(file, data)
    _index(node, source, loader)
    return source


class SourceError(Exception):
    """The file is not readable YAML."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def _pure_python_error(text: str) -> yaml.MarkedYAMLError | None:
    """The syntax error as pure-Python PyYAML words it (it names what it expected and found);
    asked only once libyaml has found the file broken."""
    if _SafeBase is yaml.SafeLoader or _flow_depth(text) > 40:
        return None  # pure Python scans deep [ and { nesting in quadratic time
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError:
        return None
    try:
        loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        return exc
    except (yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()
    return None


def _flow_depth(text: str) -> int:
    """How deep [ and { nest at most (brackets in quotes and comments count too)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(depth - 1, 0)
    return deepest


def _with_character(what: str, text: str, line: int, column: int) -> str:
    """libyaml's "found character that cannot start any token", with the character named."""
    if what != "found character that cannot start any token":
        return what
    lines = text.split("\n")
    row = lines[line - 1] if 0 < line <= len(lines) else ""
    found = row[column - 1] if 0 < column <= len(row) else ""
    return f"found character {found!r} that cannot start any token" if found else what


def _yaml_fix(what: str) -> str:
    if "tab" in what or "'\\t'" in what:
        return "indent with spaces, not tabs"
    if "mapping values" in what:
        return "put a space after each ':' and quote text that contains ': '"
    return "check the indentation and quoting on this line and the one before"


# Aliases (*name) can make a small file stand for a huge or endless document: at most this
# many values more than the file writes out.
MAX_VALUES = 100_000

# What a scalar of each tag is, for the message when its text cannot be that.
_TAG_WORDS = {
    "tag:yaml.org,2002:timestamp": ("a date or time", "write a real date as YYYY-MM-DD"),
    "tag:yaml.org,2002:int": ("a whole number", "write a number of at most a few digits"),
    "tag:yaml.org,2002:float": ("a number", "write a number such as 1.5"),
    "tag:yaml.org,2002:bool": ("true or false", "write true or false"),
}


class _ValueError(Exception):
    """A scalar whose text YAML's tag cannot turn into a value (2026-02-30, a 5,000-digit
    number, `!!timestamp soon`), with where it stands."""

    def __init__(self, node: yaml.Node, reason: str) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason

    def problem(self, file: str) -> Problem:
        mark = self.node.start_mark
        shown = str(self.node.value) if isinstance(self.node, yaml.ScalarNode) else ""
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        what, fix = _TAG_WORDS.get(self.node.tag, ("a value of " + self.node.tag, ""))
        return Problem(
            file,
            mark.line + 1,
            mark.column + 1,
            f"'{_printable(shown)}' is not {what}: {_printable(self.reason)}",
            f"{fix}, or put the text in quotes" if fix else "put the text in quotes",
        )


# libyaml parses about ten times faster than pure Python and caps nesting depth by itself.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[valid-type,misc]
    """PyYAML's safe loader, with its constructors' Python errors turned into located ones.

    PyYAML lets ValueError (2026-02-30, over 4,300 digits) and AttributeError (`!!timestamp`
    on other text) out of its constructors with no mark.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            raise _ValueError(node, _reason(exc)) from None


def _reader_problem(exc: yaml.reader.ReaderError, text: str, file: str) -> Problem:
    """A character YAML does not allow (a control character, U+FFFE...), where it stands."""
    line, column = _line_column(text, exc.position)
    return Problem(
        file,
        line,
        column,
        f"YAML syntax: the file holds the character {_codepoint(exc.character)}, "
        "which YAML does not allow",
        "delete it or retype the text around it (it may be invisible in an editor)",
    )


# Python refuses to print integers past 4,300 digits; a hex or binary literal is read without
# that limit, and its value would break every message that shows it.
_MAX_INT_BITS = 14_000


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    value: int = yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    if abs(value).bit_length() > _MAX_INT_BITS:
        raise ValueError("it has over 4,000 digits")
    return value


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _reason(exc: Exception) -> str:
    if isinstance(exc, AttributeError | KeyError | IndexError):
        return "it does not have that form"
    text = str(exc).split(";")[0]  # Python's int limit adds advice about sys.set_int_max_str_digits
    return text or type(exc).__name__


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def _codepoint(character: Any) -> str:
    code = ord(character) if isinstance(character, str) else int(character)
    return f"U+{code:04X}"


def _line_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a character position in `text`."""
    before = text[:position]
    line_start = before.rfind("\n") + 1
    return before.count("\n") + 1, position - line_start + 1


def _check_size(root: yaml.Node, file: str) -> None:
    """Refuse documents that refer to themselves or that aliases expand by over MAX_VALUES.

    Walked with a stack of its own: a deep document must not exhaust Python's.
    """
    sizes: dict[int, int] = {}
    open_: set[int] = set()
    # (node, children visited): a node is sized once all its children are.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        children = _children(node)
        if expanded:
            open_.discard(key)
            total = 1 + sum(sizes[id(child)] for child in children)
            sizes[key] = total
            # Values written out once each are the file's own size, however big; only what
            # aliases add on top counts against the limit.
            if total > MAX_VALUES + len(sizes):
                raise SourceError(
                    Problem(
                        file,
                        1,
                        1,
                        f"YAML syntax: the document expands to over {MAX_VALUES} values",
                        "use fewer aliases (*name)",
                    )
                )
            continue
        if key in sizes:
            continue
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
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children) if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _index(root: yaml.Node, source: Source, loader: yaml.SafeLoader) -> None:
    """Record where every path of the document starts, and keys given twice in a block."""
    indexed: set[int] = set()
    stack: list[tuple[yaml.Node, Path]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        source.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if id(node) in indexed:
            continue  # an alias of a block already indexed: its first place is where to look
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
                            f"'{_printable(str(key))[:60]}' is listed twice in the same block",
                            "keep one of them: YAML would silently use the last",
                        )
                    )
                seen.add(key)
                # A key's own position is where the mistake usually is (an unknown field).
                source.positions[(*path, key)] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                stack.append((value_node, (*path, key)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, index)) for index, item in enumerate(node.value))


def _key(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_object(node)
        return value if isinstance(value, str | int) else str(value)
    return f"<{node.tag}>"
