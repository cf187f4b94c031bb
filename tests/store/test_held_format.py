"""The Redis store's keys carry the version of the held forms: changing a form must bump it."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from starlette.testclient import TestClient

from buildmock.settings import Settings
from buildmock.store.redis import FORMAT
from tests.cases import CASES
from tests.conftest import advance, make_app

#: The digest of :func:`_held_shapes` each store format was recorded with.
SHAPES = {2: "5d86086b9d717118960eefe5f41449f030daee22761410cef4ae484c6f4b58b8"}


def _shape(value: Any) -> Any:
    """What a held value's layout is, without its values: types, keys and tuple positions."""
    if isinstance(value, dict):
        return {str(key): _shape(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        shapes = [_shape(item) for item in value]
        if shapes and all(shape == shapes[0] for shape in shapes):
            return ["*", shapes[0]]  # a list of one kind of thing, however long
        return shapes
    return type(value).__name__


def _held_shapes() -> dict[str, dict[str, list[str]]]:
    """Every vendor's held records, fixtures, a create of each outcome and a finished build, as
    the distinct shapes of each kind."""
    shapes = {}
    for name, case in sorted(CASES.items()):
        app = make_app(name, seed=3, fixtures=Settings().fixtures)
        with TestClient(app) as client:
            for prefer in (None, case.failure_outcome):
                made = case.create(client, case.headers, prefer)
                assert made.status_code == case.create_status, made.text
            advance(client, case.settle)
            records = app.mock.runtimes[name].store.dump()["records"]
        shapes[name] = {
            kind: sorted({orjson.dumps(_shape(record)).decode() for _, _, record in rows})
            for kind, rows in records.items()
        }
    return shapes


def test_the_held_forms_are_those_of_the_store_format() -> None:
    digest = hashlib.sha256(orjson.dumps(_held_shapes(), option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert SHAPES.get(FORMAT) == digest, (
        "a held form changed: an older buildmock's records in Redis would be misread. Bump "
        f"buildmock.store.redis.FORMAT (now {FORMAT}) and record {digest} for it in SHAPES"
    )


def test_a_layout_change_changes_the_shape() -> None:
    """Stainless's target from before FORMAT 2 (SHAs first) and after (times first) differ."""
    before = ("success", "success", "a" * 40, "b" * 40, 1, 2, None, 3, 4, 5, 0.0, 1.0, 2.0, 3.0)
    after = ("success", "success", 0.0, 1.0, 2.0, 3.0)
    assert _shape(before) != _shape(after)
    assert _shape([1, 2, 3]) == _shape([4]) == ["*", "int"]
