"""YAML (and CSV rows) as a tree of values that remember where they were written.

Why not ``yaml.safe_load``: it throws the marks away, and every config error must name the file,
the line and the key path (``cohorts[0].pairs[3].mentee.timezone``). PyYAML still does all the
parsing: ``compose`` gives the node graph with marks (anchors, aliases and ``<<`` merge keys
resolved the YAML way) and ``SafeLoader`` constructs each scalar, so ``6`` is an int and
``2027-01-11`` a date exactly as ``safe_load`` would have it. CSV rows from an HR export are
wrapped in the same ``Node`` type, so one validator serves both sources.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NoReturn

import yaml

from rmcal.errors import ConfigError


@dataclass(eq=False)
class Node:
    """One value from a source file, with its line and its key path.

    ``value`` is ``dict[str, Node]`` for a mapping, ``list[Node]`` for a list, else the plain
    scalar. ``raw`` keeps a scalar's text as written: messages quote what the admin typed, and
    ``14:00`` stays a time even though YAML 1.1 reads it as the number 840. ``columns`` is set on
    the mappings built from a CSV row: it names the column behind each child key, because a CSV
    has no keys of its own to point at.
    """

    file: str
    line: int | None
    path: str
    value: Any
    raw: str | None = None
    columns: Mapping[str, str] | None = None
    key_lines: dict[str, int] = field(default_factory=dict)

    # -- shape -------------------------------------------------------------------------------

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    @property
    def is_null(self) -> bool:
        return self.value is None

    def child_path(self, key: str) -> str:
        if self.columns is not None:
            return self.columns.get(key, key)
        return f"{self.path}.{key}" if self.path else key

    def text_of(self) -> str:
        """What the admin wrote, for quoting in a message."""
        if self.raw is not None:
            return self.raw
        return str(self.value)

    def describe(self) -> str:
        """A short phrase for 'got ...' in type errors."""
        if self.is_map:
            return "a mapping"
        if self.is_list:
            return "a list"
        if self.value is None:
            return "nothing (an empty value)"
        if isinstance(self.value, bool):
            return f"the boolean {self.text_of()!r}"
        if isinstance(self.value, int | float):
            return f"the number {self.text_of()!r}"
        if isinstance(self.value, datetime | date):
            return f"the date {self.text_of()!r}"
        return repr(self.text_of())

    # -- errors ------------------------------------------------------------------------------

    def error(self, message: str, hint: str | None = None) -> ConfigError:
        """A ConfigError pointing at this value (the caller raises it)."""
        return ConfigError(
            message, file=self.file, line=self.line, key=self.path or None, hint=hint
        )

    def fail(self, message: str, hint: str | None = None) -> NoReturn:
        raise self.error(message, hint)

    # -- mappings ----------------------------------------------------------------------------

    def items(self) -> Iterator[tuple[str, Node]]:
        assert self.is_map
        yield from self.value.items()

    def get(self, key: str) -> Node | None:
        """The child ``key`` of a mapping; an explicit ``null`` counts as absent."""
        child = self.value.get(key) if self.is_map else None
        if child is None or child.is_null:
            return None
        return child

    def require(self, key: str, hint: str | None = None) -> Node:
        child = self.get(key)
        if child is not None:
            return child
        if self.columns is not None:
            raise ConfigError(
                "required value is empty",
                file=self.file,
                line=self.line,
                key=self.child_path(key),
                hint=hint,
            )
        present = self.value.get(key) if self.is_map else None
        if present is not None:
            present.fail("a value is required here", hint)
        self.fail(f"missing required key {key!r}", hint)

    def check_keys(self, allowed: Iterable[str], *, moved: Mapping[str, str] | None = None) -> None:
        """Reject keys this mapping does not know, suggesting the nearest known one.

        ``moved`` maps keys that are valid elsewhere to a hint saying where they belong.
        """
        known = list(allowed)
        for key in self.value:
            if key in known:
                continue
            hint = None
            if moved and key in moved:
                hint = moved[key]
            else:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                if close:
                    hint = f"did you mean {close[0]!r}?"
                elif known:
                    hint = "known keys: " + ", ".join(known)
            raise ConfigError(
                f"unknown key {key!r}",
                file=self.file,
                line=self.key_lines.get(key, self.line),
                key=self.child_path(key),
                hint=hint,
            )

    # -- plain data --------------------------------------------------------------------------

    def plain(self) -> Any:
        """The value as ``safe_load`` would give it (dicts, lists, scalars)."""
        if self.is_map:
            return {key: child.plain() for key, child in self.value.items()}
        if self.is_list:
            return [child.plain() for child in self.value]
        return self.value

    def lines(self) -> dict[str, int]:
        """Every key path under this node mapped to its line (for later error messages)."""
        out: dict[str, int] = {}
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            if node.path and node.line is not None:
                out.setdefault(node.path, node.line)
            if node.is_map:
                for key, child in node.value.items():
                    if key in node.key_lines:
                        out.setdefault(node.child_path(key), node.key_lines[key])
                    stack.append(child)
            elif node.is_list:
                stack.extend(node.value)
        return out


def decode(data: bytes, *, file: str) -> str:
    """A source file's bytes as text: UTF-8, a byte-order mark allowed (as Excel writes CSV)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"the file is not UTF-8 text (byte {exc.start})",
            file=file,
            hint="save it as UTF-8",
        ) from None


def load_yaml(text: str, file: str) -> Node | None:
    """Parse one YAML document into a ``Node`` tree; ``None`` for an empty document.

    Raises ``ConfigError`` for syntax errors (with the line PyYAML reports), duplicate keys,
    non-text keys, unsafe tags and recursive aliases.
    """
    # libyaml composes a 1,000-pair file ten times faster than PyYAML's pure-Python parser;
    # a file it refuses is parsed again by the pure one, whose messages the errors are worded on.
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        loader = fast(text)
        try:
            root = loader.get_single_node()
        except yaml.YAMLError:
            pass
        else:
            if root is None:
                return None
            return _Builder(loader, file).build(root, "", None)
        finally:
            loader.dispose()
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(exc, file) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML: {exc}", file=file) from None
        if root is None:
            return None
        return _Builder(loader, file).build(root, "", None)
    finally:
        loader.dispose()


def _syntax_error(exc: yaml.MarkedYAMLError, file: str) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "cannot be parsed"
    if exc.context:
        where = ""
        if exc.context_mark is not None and mark is not None and exc.context_mark.line != mark.line:
            where = f" on line {exc.context_mark.line + 1}"
        problem = f"{problem} ({exc.context}{where})"
    hint = None
    if "'\\t'" in problem:
        hint = "indent with spaces, not tabs"
    elif "mapping values are not allowed" in problem:
        hint = "put text containing ': ' in quotes, or check the indentation"
    return ConfigError(
        f"invalid YAML: {problem}",
        file=file,
        line=mark.line + 1 if mark is not None else None,
        hint=hint,
    )


class _Builder:
    """Turns composed PyYAML nodes into ``Node``s, constructing scalars with SafeLoader."""

    def __init__(self, loader: yaml.SafeLoader | yaml.CSafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.active: set[int] = set()  # collection nodes on the current path (alias cycles)
        self.flattened: set[int] = set()  # mappings already checked and merged (aliases)

    def build(self, node: yaml.Node, path: str, key_line: int | None) -> Node:
        line = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            return Node(self.file, line, path, self._scalar(node, path, line), raw=node.value)
        if id(node) in self.active:
            raise ConfigError(
                "an alias refers to a collection that contains it",
                file=self.file,
                line=line,
                key=path or None,
            )
        assert isinstance(node, yaml.CollectionNode)  # the only other kind besides scalars
        self.active.add(id(node))
        try:
            # A block collection starts on the line after its key; point at the key instead.
            line = key_line if key_line is not None and node.flow_style is not True else line
            if isinstance(node, yaml.SequenceNode):
                items = [
                    self.build(item, f"{path}[{i}]", None) for i, item in enumerate(node.value)
                ]
                return Node(self.file, line, path, items)
            assert isinstance(node, yaml.MappingNode)
            return self._mapping(node, path, line)
        finally:
            self.active.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: str, line: int) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(
                f"cannot read {node.value!r}: {problem}",
                file=self.file,
                line=line,
                key=path or None,
            ) from None
        except (ValueError, TypeError, OverflowError) as exc:
            # A scalar that looks like a date but is not one (2027-02-30) fails in datetime.
            what = "a valid date" if node.tag.endswith(":timestamp") else "a valid value"
            raise ConfigError(
                f"{node.value!r} is not {what} ({exc})",
                file=self.file,
                line=line,
                key=path or None,
            ) from None

    def _mapping(self, node: yaml.MappingNode, path: str, line: int) -> Node:
        if id(node) not in self.flattened:
            self._check_and_merge(node, path)
            self.flattened.add(id(node))
        children: dict[str, Node] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            key_line = key_node.start_mark.line + 1
            children[key] = self.build(value_node, _join(path, key), key_line)
            key_lines[key] = key_line
        return Node(self.file, line, path, children, key_lines=key_lines)

    def _check_and_merge(self, node: yaml.MappingNode, path: str) -> None:
        """Reject keys given twice (PyYAML keeps the last silently), then apply ``<<``."""
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self._key(key_node, path)
            key_line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"duplicate key {key!r} (first given on line {seen[key]})",
                    file=self.file,
                    line=key_line,
                    key=_join(path, key) or None,
                    hint="give each key once",
                )
            seen[key] = key_line
        try:
            # ``<<: *anchor`` merge keys, resolved exactly as SafeLoader resolves them.
            self.loader.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(exc, self.file) from None

    def _key(self, key_node: yaml.Node, path: str) -> str:
        if not isinstance(key_node, yaml.ScalarNode):
            raise ConfigError(
                "a key must be plain text, not a list or mapping",
                file=self.file,
                line=key_node.start_mark.line + 1,
                key=path or None,
            )
        return str(key_node.value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
