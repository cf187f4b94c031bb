"""HeaderView reads an ASGI header list as Starlette's Headers does."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from buildmock.core.headers import HeaderView

RAW = [
    (b"host", b"example"),
    (b"authorization", b"Bearer first"),
    (b"authorization", b"Bearer second"),
    (b"x-caf\xe9", b"cr\xe8me"),
]


@pytest.mark.parametrize(
    "name", ["host", "Authorization", "AUTHORIZATION", "x-caf\xe9", "X-Missing"]
)
def test_lookups_match_starlette(name: str) -> None:
    view, reference = HeaderView(RAW), Headers(raw=RAW)
    assert view.get(name) == reference.get(name)
    assert view.get(name, "none") == reference.get(name, "none")
    assert (name in view) == (name in reference)
    if name in reference:
        assert view[name] == reference[name]
    else:
        with pytest.raises(KeyError):
            view[name]


def test_names_are_listed_once_in_order() -> None:
    view = HeaderView(RAW)
    assert list(view) == ["host", "authorization", "x-caf\xe9"]
    assert len(view) == 3
    assert 1 not in view  # type: ignore[operator]
