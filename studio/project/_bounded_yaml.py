"""Reading untrusted YAML within bounds: file size, nesting depth and alias expansion.

A screenplay is a file someone sent you. PyYAML's ``safe_load`` refuses to build
arbitrary objects but not to expand a "billion laughs" of nested anchors (3 GB and 73 s
for a 1 kB file) or to recurse 10,000 brackets deep into a ``RecursionError``. The
loader here composes the node graph once, refusing past the limits with the line where
the limit was crossed; the caller indexes lines and finds duplicate keys on the same
graph, then constructs plain data from it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = [
    "DEFAULT_MAX_ALIAS_NODES",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "MAX_BYTES_VARIABLE",
    "LimitExceeded",
    "YamlLimits",
    "compose_bounded",
    "construct_plain",
    "limits_from_environment",
]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # 10 MiB: a 300-episode show is under 2 MiB
DEFAULT_MAX_DEPTH = 64  # a screenplay nests 6 levels deep
DEFAULT_MAX_ALIAS_NODES = 10_000  # nodes that aliases may add by repetition, in all
MAX_BYTES_VARIABLE = "STUDIO_SCREENPLAY_MAX_BYTES"


@dataclass(frozen=True)
class YamlLimits:
    """Bounds on a YAML document.

    Attributes:
        max_bytes: Largest file read, in bytes.
        max_depth: Deepest nesting of mappings and sequences.
        max_alias_nodes: Nodes that ``*alias`` references may add, counted as if every
            alias were written out in full (so nested anchors cannot multiply).
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    max_alias_nodes: int = DEFAULT_MAX_ALIAS_NODES


def limits_from_environment(environ: Mapping[str, str] | None = None) -> YamlLimits:
    """The default limits, with ``STUDIO_SCREENPLAY_MAX_BYTES`` when it is set.

    Raises:
        ValueError: the variable is not a positive whole number (the message names it).
    """
    raw = (os.environ if environ is None else environ).get(MAX_BYTES_VARIABLE, "").strip()
    if not raw:
        return YamlLimits()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{MAX_BYTES_VARIABLE} must be a whole number of bytes, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{MAX_BYTES_VARIABLE} must be positive, got {value}")
    return YamlLimits(max_bytes=value)


class LimitExceeded(yaml.MarkedYAMLError):  # type: ignore[misc]  # PyYAML has no stubs here
    """A document crossed one of the :class:`YamlLimits` (``problem`` says which)."""


class _BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]
    def __init__(self, stream: str, limits: YamlLimits) -> None:
        super().__init__(stream)
        self._limits = limits
        self._depth = 0
        self._open_anchors: set[str] = set()
        self._alias_nodes = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._count_alias(event)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > self._limits.max_depth:
            raise LimitExceeded(
                problem=f"nesting deeper than {self._limits.max_depth} levels; a screenplay needs 6",
                problem_mark=event.start_mark,
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.discard(anchor)

    def _count_alias(self, event: yaml.AliasEvent) -> None:
        if event.anchor in self._open_anchors:
            raise LimitExceeded(
                problem=f"alias *{event.anchor} refers to the node that contains it (a recursive alias)",
                problem_mark=event.start_mark,
            )
        node = self.anchors.get(event.anchor)
        if node is None:
            return  # PyYAML reports the undefined alias itself
        self._alias_nodes += _expanded_size(node, self._sizes)
        if self._alias_nodes > self._limits.max_alias_nodes:
            raise LimitExceeded(
                problem=(
                    f"aliases expand to more than {self._limits.max_alias_nodes:,} nodes "
                    f"(alias *{event.anchor}); write the repeated parts out instead of nesting anchors"
                ),
                problem_mark=event.start_mark,
            )

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # int() of 5,000 digits and dates like 2024-13-45 raise ValueError from deep
        # inside PyYAML, with no line: give them the node's line.
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as error:
            shown = str(node.value)
            shown = shown if len(shown) <= 24 else shown[:20] + "..."
            reason = str(error).split(";")[0]
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value {shown!r}: {reason}", node.start_mark
            ) from error


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Nodes under ``node`` with every alias written out; memoised, so linear in the graph."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    total = 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            total += _expanded_size(key, sizes) + _expanded_size(value, sizes)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            total += _expanded_size(item, sizes)
    sizes[id(node)] = total
    return total


def compose_bounded(text: str, limits: YamlLimits) -> tuple[yaml.Node | None, _BoundedLoader]:
    """Compose one YAML document into its node graph, within ``limits``.

    Returns:
        The root node (``None`` for an empty document) and the loader, to construct with.

    Raises:
        LimitExceeded: depth or alias expansion past the limits, or a recursive alias.
        yaml.YAMLError: the text is not YAML.
    """
    loader = _BoundedLoader(text, limits)
    try:
        return loader.get_single_node(), loader
    except BaseException:
        loader.dispose()
        raise


def construct_plain(node: yaml.Node | None, loader: _BoundedLoader) -> Any:
    """Plain Python data (dicts, lists, scalars) from a node graph :func:`compose_bounded` made."""
    try:
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()
