"""One route table per app: path templates as a segment tree, answering an operation, a 404 or a
405 with the methods the path allows."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

T = TypeVar("T")

_PARAM = re.compile(r"^\{[^{}/]+\}$")
#: What a segment holding a parameter of a schema type must look like (Connexion's convertors).
_SHAPES = {"integer": r"[+-]?[0-9]+", "number": r"[+-]?[0-9]*(\.[0-9]*)?"}


@functools.cache
def _shape(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass
class _Node(Generic[T]):
    literal: dict[str, _Node[T]] = field(default_factory=dict)
    #: Parameter children by what a segment must look like ("" any, else a pattern).
    params: dict[str, _Node[T]] = field(default_factory=dict)
    #: Segments mixing text and parameters (``v{n}.json``): a pattern per segment.
    partial: list[tuple[re.Pattern[str], _Node[T]]] = field(default_factory=list)
    #: A parameter spanning the rest of the path (``{path:path}``-like, ``format: path``).
    rest: _Node[T] | None = None
    methods: dict[str, T] | None = None
    names: tuple[str, ...] = ()
    concrete: int = 0  # literal segments of the template ending here


class Match(NamedTuple, Generic[T]):
    """The answer for a method and path: ``target`` and its path parameters, or ``status``
    404 / 405 with ``allow`` (the methods the path has)."""

    status: int
    target: T | None = None
    params: Mapping[str, str] = {}
    allow: tuple[str, ...] = ()


_NOT_FOUND: Match[Any] = Match(404)

#: Routed paths remembered (then forgotten all at once), and the longest path remembered.
SEEN_PATHS, SEEN_PATH_LENGTH = 4096, 512


def template_names(template: str) -> tuple[str, ...]:
    """The parameter names of a path template, in order."""
    return tuple(re.findall(r"\{([^{}/]+)\}", template))


class Router(Generic[T]):
    """Path templates -> per-method targets. A concrete segment beats a parameter; of several
    templates matching a path, the one with the most concrete segments wins (OpenAPI)."""

    def __init__(self) -> None:
        self.root: _Node[T] = _Node()
        #: Answers for paths seen lately: clients poll the same few URLs (a build until it ends),
        #: and a walk over templates sharing a prefix backtracks. Bounded in entries and key size.
        self._seen: dict[tuple[str, str], Match[T]] = {}

    def add(
        self, template: str, methods: Mapping[str, T], types: Mapping[str, str] | None = None
    ) -> None:
        """Route ``template`` (``/a/{b}``); ``methods`` are upper-case HTTP methods; ``types``
        gives parameters' schema types: an ``integer`` or ``number`` matches only digits (as
        Connexion's Starlette convertors do), a ``path`` may span the rest of the path."""
        types = types or {}
        node = self.root
        concrete = 0
        segments = template.split("/")[1:]
        for index, segment in enumerate(segments):
            if _PARAM.match(segment):
                name = segment[1:-1]
                if types.get(name) == "path" and index == len(segments) - 1:
                    node.rest = node.rest or _Node()
                    node = node.rest
                else:
                    node = node.params.setdefault(_SHAPES.get(types.get(name, ""), ""), _Node())
            elif "{" in segment:
                pattern = re.compile(
                    "".join(
                        "([^/]+)" if part.startswith("{") else re.escape(part)
                        for part in re.split(r"(\{[^{}/]+\})", segment)
                        if part
                    )
                )
                for known, child in node.partial:
                    if known.pattern == pattern.pattern:
                        node = child
                        break
                else:
                    child = _Node()
                    node.partial.append((pattern, child))
                    node = child
            else:
                concrete += 1
                node = node.literal.setdefault(segment, _Node())
        node.methods = {**(node.methods or {}), **methods}
        node.names = template_names(template)
        node.concrete = concrete
        self._seen.clear()

    def match(self, method: str, path: str) -> Match[T]:
        """Route ``method`` (upper case) and ``path`` (starting with ``/``)."""
        key = (method, path)
        seen = self._seen.get(key)
        if seen is not None:
            return seen
        answer = self._match(method, path)
        if len(path) <= SEEN_PATH_LENGTH:
            if len(self._seen) >= SEEN_PATHS:
                self._seen.clear()
            self._seen[key] = answer
        return answer

    def _match(self, method: str, path: str) -> Match[T]:
        found: list[tuple[_Node[T], list[str]]] = []
        self._walk(self.root, path.split("/")[1:], 0, [], found)
        if not found:
            return _NOT_FOUND
        if len(found) == 1:
            chosen = found
        else:
            best = max(node.concrete for node, _ in found)
            chosen = [(node, values) for node, values in found if node.concrete == best]
        for node, values in chosen:
            assert node.methods is not None
            target = node.methods.get(method)
            if target is None and method == "HEAD":
                target = node.methods.get("GET")
            if target is not None:
                return Match(200, target, dict(zip(node.names, values, strict=True)))
        allow: list[str] = []
        for node, _ in chosen:
            assert node.methods is not None
            allow.extend(m for m in node.methods if m not in allow)
        return Match(405, allow=tuple(allow))

    def _walk(
        self,
        node: _Node[T],
        segments: list[str],
        index: int,
        values: list[str],
        found: list[tuple[_Node[T], list[str]]],
    ) -> None:
        if index == len(segments):
            if node.methods is not None:
                found.append((node, list(values)))
            return
        segment = segments[index]
        child = node.literal.get(segment)
        if child is not None:
            self._walk(child, segments, index + 1, values, found)
        if not segment:
            return
        for shape, child in node.params.items():
            if shape and not _shape(shape).fullmatch(segment):
                continue
            values.append(segment)
            self._walk(child, segments, index + 1, values, found)
            values.pop()
        for pattern, partial in node.partial:
            matched = pattern.fullmatch(segment)
            if matched is not None:
                values.extend(matched.groups())
                self._walk(partial, segments, index + 1, values, found)
                del values[len(values) - len(matched.groups()) :]
        if node.rest is not None and node.rest.methods is not None:
            found.append((node.rest, [*values, "/".join(segments[index:])]))
