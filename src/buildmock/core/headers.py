"""A read-only, case-insensitive view of an ASGI header list, built for nothing per request."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TypeVar, overload

_T = TypeVar("_T")


#: Header names as looked up -> as ASGI spells them (the names handlers ask for are few).
_NAMES: dict[str, bytes] = {}
_MAX_NAMES = 256


class HeaderView(Mapping[str, str]):
    """``name -> value`` over ``[(name, value), …]`` (lower-case byte names, latin-1 values), as
    Starlette's ``Headers`` reads it: names are case-insensitive and the first of repeated headers
    wins. Nothing is decoded until it is looked up."""

    __slots__ = ("_raw",)

    def __init__(self, raw: Sequence[tuple[bytes, bytes]]) -> None:
        self._raw = raw

    @overload
    def get(self, key: str, /) -> str | None: ...
    @overload
    def get(self, key: str, default: str | _T, /) -> str | _T: ...

    def get(self, key: str, default: object = None, /) -> object:
        """The first value of header ``key`` (any case), else ``default``."""
        wanted = _NAMES.get(key)
        if wanted is None:
            wanted = key.lower().encode("latin-1")
            if len(_NAMES) < _MAX_NAMES:
                _NAMES[key] = wanted
        for name, value in self._raw:
            if name == wanted:
                return value.decode("latin-1")
        return default

    def __getitem__(self, key: str) -> str:
        found: str | None = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        seen: set[bytes] = set()
        for name, _ in self._raw:
            if name not in seen:
                seen.add(name)
                yield name.decode("latin-1")

    def __len__(self) -> int:
        return len({name for name, _ in self._raw})
