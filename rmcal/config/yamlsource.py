"""YAML (and CSV rows) as a tree of values that remember where they were written.

Why not ``yaml.safe_load``: it throws the marks away, and every config error must name the file,
the line and the key path (``cohorts[0].pairs[3].mentee.timezone``). PyYAML still does all the
parsing: ``compose`` gives the node graph with marks (anchors, aliases and ``<<`` merge keys
resolved the YAML way) and ``SafeLoader`` constructs each scalar, so ``6`` is an int and
``2027-01-11`` a date exactly as ``safe_load`` would have it. CSV rows from an HR export are
wrapped in the same ``Node`` type, so one validator serves both sources.

A config is input from outside, so parsing is bounded: values nest at most ``MAX_DEPTH`` levels
(PyYAML's composer recurses and would crash on a deeply nested flow collection), a document
holds at most ``MAX_VALUES`` values once anchors, aliases and ``<<`` merges are expanded, and
aliases may add at most ``ALIAS_RATIO`` times the values written (or ``ALIAS_FLOOR``, whichever
is more): a few hundred bytes of aliases can otherwise expand to gigabytes, and the ratio stops
such a bomb after a few thousand values, not a hundred thousand. Every text value is free of control
characters and lone surrogates, which a double-quoted YAML escape (``"\\x1b"``, ``"\\ud800"``)
can produce even when the file's bytes are clean.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NoReturn

import yaml

from rmcal.config.files import describe_char, first_forbidden
from rmcal.errors import ConfigError

MAX_DEPTH = 50  # a real config nests six levels; PyYAML's composer recurses twice per level
MAX_VALUES = 100_000  # a 5,000-pair config holds about 60,000 values
ALIAS_RATIO = 4  # values added by aliases, per value written (an alias per pair stays far below)
ALIAS_FLOOR = 10_000
MERGE = "tag:yaml.org,2002:merge"


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
        """A ConfigError pointing at this value (the caller raises it); a long quoted value is
        shortened, so that a 10,000-character name makes a readable line, not a wall."""
        return ConfigError(
            abbreviate(message),
            file=self.file,
            line=self.line,
            key=self.path or None,
            hint=abbreviate(hint) if hint else None,
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


_QUOTE_SHOWN = 60
_LONG_QUOTE = re.compile("'[^'\\n]{80,}'|\"[^\"\\n]{80,}\"")


def abbreviate(message: str) -> str:
    """Shorten every quoted run in ``message`` of 80 characters or more to its start and length."""

    def short(match: re.Match[str]) -> str:
        quoted = match.group(0)
        inner = quoted[1:-1]
        return f"{quoted[0]}{inner[:_QUOTE_SHOWN]}...{quoted[0]} ({len(inner):,} characters)"

    return _LONG_QUOTE.sub(short, message)


def load_yaml(text: str, file: str) -> Node | None:
    """Parse one YAML document into a ``Node`` tree; ``None`` for an empty document.

    Raises ``ConfigError`` for syntax errors (with the line PyYAML reports), duplicate keys,
    non-text keys, unsafe tags, recursive aliases, nesting deeper than ``MAX_DEPTH``, more than
    ``MAX_VALUES`` values, and control characters or surrogates in text.
    """
    fast = _fast_compose(text)
    if fast is not None:
        loader, root, composed = fast
        try:
            return None if root is None else _Builder(loader, file, composed).build(root, "", None)
        finally:
            loader.dispose()
    bounded: _BoundedLoader | None = None
    try:
        try:
            bounded = _BoundedLoader(text, file)
            root = bounded.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(exc, file) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML: {exc}", file=file) from None
        if root is None:
            return None
        return _Builder(bounded, file, bounded.composed).build(root, "", None)
    finally:
        if bounded is not None:
            bounded.dispose()


def _fast_compose(text: str) -> tuple[Any, yaml.Node | None, int] | None:
    """libyaml's composer when it is installed and the document keeps to the limits: the loader,
    the root node and how many nodes it composed.

    libyaml composes a 1,000-pair file about ten times faster than PyYAML's pure-Python
    parser. None sends the text to the bounded pure-Python loader, whose messages the errors
    are worded on: a file libyaml refuses, nested deeper than ``MAX_DEPTH`` or holding more
    than ``MAX_VALUES`` values. (libyaml stops nesting at 1,000 levels itself, so composing
    never recurses deeply.)
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is None:
        return None
    loader = fast(text)
    try:
        root = loader.get_single_node()
        composed = _within_limits(root)
    except yaml.YAMLError:
        composed = None
    if composed is None:
        loader.dispose()
        return None
    return loader, root, composed


def _within_limits(root: yaml.Node | None) -> int | None:
    """How many distinct nodes ``root`` holds, or None when it is nested deeper than
    ``MAX_DEPTH`` or holds more than ``MAX_VALUES`` nodes (as the bounded loader counts).

    Walked in document order without recursion, so each node is met first where it is written
    (an alias can only name an anchor written before it); what aliases add is counted by
    ``_Builder``.
    """
    if root is None:
        return 0
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if depth > MAX_DEPTH or len(seen) > MAX_VALUES:
            return None
        if isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                stack.append((value, depth + 1))
                stack.append((key, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in reversed(node.value))
    return len(seen)


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a depth limit and a value count on the composer."""

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self.file = file
        self.depth = 0
        self.composed = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        mark = self.peek_event().start_mark
        self.depth += 1
        self.composed += 1
        try:
            if self.depth > MAX_DEPTH:
                raise ConfigError(
                    f"values are nested more than {MAX_DEPTH} levels deep",
                    file=self.file,
                    line=mark.line + 1,
                    hint="a config needs a handful of levels; check the brackets",
                )
            if self.composed > MAX_VALUES:
                raise ConfigError(
                    f"the file holds more than {MAX_VALUES:,} values",
                    file=self.file,
                    line=mark.line + 1,
                    hint="list many pairs in an HR export (pairs_csv:) instead",
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


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
    """Turns composed PyYAML nodes into ``Node``s, constructing scalars with SafeLoader.

    Aliases are expanded here (each use becomes its own ``Node``, with its own key path), so
    this is where the alias budget is kept: every ``Node`` built counts towards ``MAX_VALUES``,
    every one built again (through an alias) towards the alias budget, and nesting through
    aliases counts towards ``MAX_DEPTH``.
    """

    def __init__(self, loader: Any, file: str, composed: int) -> None:
        self.loader = loader
        self.file = file
        self.seen: set[int] = set()  # nodes built once; building one again is an alias's doing
        self.repeated = 0
        self.alias_budget = max(ALIAS_FLOOR, ALIAS_RATIO * composed)
        self.active: set[int] = set()  # collection nodes on the current path (alias cycles)
        self.flattened: set[int] = set()  # mappings already checked and merged (aliases)
        self.merging: set[int] = set()  # mappings whose merge keys are being resolved
        self.scalars: dict[int, Any] = {}  # scalar values by node (immutable), for aliases
        self.built = 0
        self.depth = 0

    def build(self, node: yaml.Node, path: str, key_line: int | None) -> Node:
        line = node.start_mark.line + 1
        self.built += 1
        if id(node) in self.seen:
            self.repeated += 1
        else:
            self.seen.add(id(node))
        if self.repeated > self.alias_budget:
            raise ConfigError(
                f"aliases expand the file by more than {self.alias_budget:,} values",
                file=self.file,
                line=line,
                key=path or None,
                hint="an alias is for a small shared block, such as a window; use fewer",
            )
        if self.built > MAX_VALUES:
            raise ConfigError(
                f"the file expands to more than {MAX_VALUES:,} values "
                "(each use of an alias counts again)",
                file=self.file,
                line=line,
                key=path or None,
                hint="use fewer aliases, or list many pairs in an HR export (pairs_csv:)",
            )
        if isinstance(node, yaml.ScalarNode):
            return Node(self.file, line, path, self._scalar(node, path, line), raw=node.value)
        if id(node) in self.active:
            raise ConfigError(
                "an alias refers to a collection that contains it",
                file=self.file,
                line=line,
                key=path or None,
            )
        if self.depth >= MAX_DEPTH:
            raise ConfigError(
                f"values are nested more than {MAX_DEPTH} levels deep (aliases included)",
                file=self.file,
                line=line,
                key=path or None,
            )
        assert isinstance(node, yaml.CollectionNode)  # the only other kind besides scalars
        self.active.add(id(node))
        self.depth += 1
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
            self.depth -= 1
            self.active.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: str, line: int) -> Any:
        if id(node) in self.scalars:  # an alias of a scalar already read and checked
            return self.scalars[id(node)]
        try:
            value = self.loader.construct_object(node, deep=True)
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
        if isinstance(value, str):
            self._check_text(value, line=line, path=path)
        self.scalars[id(node)] = value
        return value

    def _check_text(self, text: str, *, line: int, path: str) -> None:
        """Refuse a control character or lone surrogate written as a YAML escape."""
        index = first_forbidden(text)
        if index is not None:
            bad = text[index]
            raise ConfigError(
                f"the character {describe_char(bad)} is not allowed in text: {text[:40]!r}",
                file=self.file,
                line=line,
                key=path or None,
                hint="remove the escape; text values may hold tabs and line breaks only",
            )

    def _mapping(self, node: yaml.MappingNode, path: str, line: int) -> Node:
        self._flatten(node, path)
        children: dict[str, Node] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            key_line = key_node.start_mark.line + 1
            children[key] = self.build(value_node, _join(path, key), key_line)
            key_lines[key] = key_line
        return Node(self.file, line, path, children, key_lines=key_lines)

    def _flatten(self, node: yaml.MappingNode, path: str) -> None:
        """Reject keys given twice (PyYAML keeps the last silently), then apply ``<<``.

        Merge keys are resolved here rather than by PyYAML's ``flatten_mapping``: its older
        releases copy every merged entry each time a mapping is merged, so a chain of mappings
        that each merge the previous one twice doubles per link. Here each key is kept once,
        with the YAML precedence (the mapping's own keys, then the merged mappings in the
        order listed), so a mapping never holds more entries than it has distinct keys.
        """
        if id(node) in self.flattened:
            return
        if id(node) in self.merging or len(self.merging) >= MAX_DEPTH:
            raise ConfigError(
                "merge keys (<<) refer back to the mapping that uses them, or nest too deeply",
                file=self.file,
                line=node.start_mark.line + 1,
                key=path or None,
            )
        self.merging.add(id(node))
        try:
            own: list[tuple[yaml.Node, yaml.Node]] = []
            merged: list[yaml.MappingNode] = []
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == MERGE:
                    merged.extend(self._merge_sources(node, value_node))
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
                own.append((key_node, value_node))
            entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
            for source in merged:
                self._flatten(source, path)
                for key_node, value_node in source.value:
                    entries.setdefault(self._key(key_node, path), (key_node, value_node))
            for key_node, value_node in own:
                entries[self._key(key_node, path)] = (key_node, value_node)
            if merged:
                node.value = list(entries.values())
        finally:
            self.merging.discard(id(node))
        self.flattened.add(id(node))

    def _merge_sources(self, node: yaml.MappingNode, value: yaml.Node) -> list[yaml.MappingNode]:
        """The mappings a ``<<`` key names: one mapping, or a list of mappings."""
        if isinstance(value, yaml.MappingNode):
            return [value]
        if isinstance(value, yaml.SequenceNode) and all(
            isinstance(item, yaml.MappingNode) for item in value.value
        ):
            return list(value.value)
        raise ConfigError(
            "a merge key (<<) needs a mapping or a list of mappings",
            file=self.file,
            line=value.start_mark.line + 1,
        )

    def _key(self, key_node: yaml.Node, path: str) -> str:
        if not isinstance(key_node, yaml.ScalarNode):
            raise ConfigError(
                "a key must be plain text, not a list or mapping",
                file=self.file,
                line=key_node.start_mark.line + 1,
                key=path or None,
            )
        key = str(key_node.value)
        self._check_text(key, line=key_node.start_mark.line + 1, path=path)
        return key


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
