"""What the request path reads from a request: numbers no JSON document can hold are a 400."""

from __future__ import annotations

import re
from pathlib import Path

import fastjsonschema
import pytest
import yaml
from starlette.testclient import TestClient

from buildmock.core.errors import ApiError
from buildmock.server.operation import (
    _DRAFT4,
    Body,
    Param,
    Schema,
    _check,
    _compile,
    _param,
    _prepare,
    parse_body,
    resolve,
)
from tests.cases import CASES
from tests.conftest import make_app

STAINLESS = CASES["stainless"]


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(make_app("stainless"))


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
def test_a_number_parameter_that_is_not_finite_is_a_400(client: TestClient, value: str) -> None:
    response = client.get(
        "/stainless/v0/builds",
        params={"project": "acme-api", "limit": value},
        headers=STAINLESS.headers,
    )
    assert response.status_code == 400, response.text
    assert "is not of type 'number'" in response.json()["error"]


def test_finite_numbers_still_read(client: TestClient) -> None:
    response = client.get(
        "/stainless/v0/builds",
        params={"project": "acme-api", "limit": "2.5"},
        headers=STAINLESS.headers,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"project": "acme-api", "revision": NaN}', "NaN is not a JSON number"),
        (b'{"project": "acme-api", "revision": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"project": "acme-api", "revision": 1e999}', "1e999 is out of range"),
    ],
)
def test_a_body_with_a_number_json_lacks_is_a_400(
    client: TestClient, body: bytes, says: str
) -> None:
    response = client.post(
        "/stainless/v0/builds",
        content=body,
        headers={**STAINLESS.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert says in response.json()["error"]


def test_a_media_type_matches_as_fnmatch_matches_it() -> None:
    # Media types without glob characters are looked up; the rest (and anything not found) still
    # go through ``fnmatch``, so a listed ``[x]`` stays a character class.
    check = Schema({"type": "object"}, None, request_body=True)
    body = Body(
        ("application/json", "application/*+json", "text/[xy]"), check, True, False, "b", None
    )
    assert body.literal_types == frozenset({"application/json"})
    for given in ("application/json", "Application/JSON; charset=utf-8", "application/vnd.a+json",
                  "text/x"):  # fmt: skip
        assert parse_body(body, given, b"{}") == {}
    for refused in ("text/plain", "text/[xy]", "application/jsonx"):
        with pytest.raises(ApiError, match="Invalid Content-type"):
            parse_body(body, refused, b"{}")


_BODIES = [
    {"project": "acme-api", "revision": "main"},
    {"project": "acme-api", "revision": "0123abcd"},
    {"project": "acme-api", "revision": "0123abcd", "branch": "b"},
    {"project": "acme-api", "revision": {"a.yml": {"content": "x"}}, "branch": "b"},
    {"project": "acme-api", "revision": {}, "branch": "b"},
    {"project": "", "revision": "main"},
    {"project": "a", "revision": "m", "enable_ai_commit_message": True, "commit_message": "x"},
    {"project": "a", "revision": "m", "enable_ai_commit_message": False, "commit_message": "x"},
    {"project": "a", "revision": "m", "targets": ["python", "cobol"]},
    {"event": "push", "branch": "main"},
    {"event": "nope"},
    {"number": "1"},
    {},
    [],
    "main",
    None,
]


@pytest.mark.parametrize("vendor", ["stainless", "vela", "nuon"])
def test_a_compiled_check_gives_fastjsonschemas_own_verdicts(vendor: str) -> None:
    # The request path runs fastjsonschema's generated module with a cheaper exception class:
    # every schema of the spec accepts and refuses exactly what ``fastjsonschema.compile`` does.
    spec = yaml.safe_load((Path(__file__).parents[2] / "specs" / f"{vendor}.yaml").read_text())
    components = _prepare(spec["components"], True)
    for name in spec["components"]["schemas"]:
        document = {**_prepare({"$ref": f"#/components/schemas/{name}"}, True)}
        document.update({"$schema": _DRAFT4, "components": components})
        ours = _compile(document, {})
        theirs = fastjsonschema.compile(document, use_default=False, detailed_exceptions=False)
        # ``_Refused`` is built by ``Exception.__init__``, which takes no keywords: the generated
        # code must raise with the message alone.
        code = fastjsonschema.compile_to_code(
            document, use_default=False, detailed_exceptions=False
        )
        raises = [line for line in code.splitlines() if "JsonSchemaValueException(" in line]
        assert not [line for line in raises if re.search(r", *[a-z_]+=", line)], name
        for value in _BODIES:
            verdicts = []
            for check in (ours, theirs):
                try:
                    check(value)
                    verdicts.append(True)
                except fastjsonschema.JsonSchemaException:
                    verdicts.append(False)
            assert verdicts[0] == verdicts[1], (name, value)


#: Path and query values a plain string parameter may be sent, the awkward ones included.
_STRINGS = ["main", "", " ", "null", "None", "123", "-1.5", "true", "ü", "a/b", "%2F", "x" * 300]


def _spec_params(vendor: str) -> list[Param]:
    spec = yaml.safe_load((Path(__file__).parents[2] / "specs" / f"{vendor}.yaml").read_text())
    found = []
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for raw in [*operation.get("parameters", []), *item.get("parameters", [])]:
                definition = resolve(spec, raw)
                if definition["in"] in ("path", "query"):
                    found.append(_param(spec, definition, lambda key: True))
    return found


@pytest.mark.parametrize("vendor", sorted(CASES))
def test_a_plain_string_parameter_skips_only_what_could_not_refuse_it(vendor: str) -> None:
    # ``plain`` parameters are taken as sent, without coercing and checking: that must be what
    # coercing and checking would have given, for any string.
    params = _spec_params(vendor)
    plain = [p for p in params if p.plain]
    assert plain, "every vendor has plain string parameters (ids, names)"
    for param in plain:
        for value in _STRINGS:
            assert param.coerce([value]) == value, (param.name, value)
            _check(param, value)  # raises on a refusal
    for param in params:
        if param.plain:
            continue
        constrained = set(param.schema) - {"type", "description", "title", "example", "examples"}
        assert param.schema.get("type") != "string" or constrained or param.nullable, param.name
