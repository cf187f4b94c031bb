"""The pieces of the contract runner: strict specs, drift paths, redaction, spec loading, targets."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from buildmock.contract.auth import headers_from_spec, mock_headers
from buildmock.contract.drift import json_path
from buildmock.contract.redact import MASK, Redactor, parse_header
from buildmock.contract.runner import (
    ContractError,
    ContractOptions,
    load_spec,
    run_contract,
    target_url,
)
from buildmock.contract.strict import SUFFIX, close_responses
from buildmock.settings import SPECS_DIR


def _stainless() -> dict[str, Any]:
    return yaml.safe_load((SPECS_DIR / "stainless.yaml").read_text())


def test_strict_closes_response_objects_only_and_leaves_the_input_alone() -> None:
    spec = _stainless()
    before = copy.deepcopy(spec)
    strict = close_responses(spec)
    assert spec == before
    schemas = strict["components"]["schemas"]
    assert schemas[f"Build{SUFFIX}"]["additionalProperties"] is False
    assert schemas[f"BuildList{SUFFIX}"]["properties"]["data"]["items"]["$ref"].endswith(
        f"Build{SUFFIX}"
    )
    assert (
        "additionalProperties" not in schemas["Build"]
    )  # request-side/original components untouched
    get = strict["paths"]["/v0/builds/{buildId}"]["get"]
    assert get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        f"Build{SUFFIX}"
    )
    assert "content" in get["responses"]["404"]  # shared responses are inlined, then closed
    post = strict["paths"]["/v0/builds"]["post"]
    assert post["requestBody"] == before["paths"]["/v0/builds"]["post"]["requestBody"]


def test_strict_keeps_all_of_members_open() -> None:
    spec = {"openapi": "3.0.3", "paths": {"/x": {"get": {"responses": {"200": {"content": {"application/json": {
        "schema": {"allOf": [{"$ref": "#/components/schemas/A"}, {"type": "object", "properties": {"b": {}}}]}}}}}}}},
        "components": {"schemas": {"A": {"type": "object", "properties": {"a": {}}}}}}  # fmt: skip
    schema = close_responses(spec)["paths"]["/x"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    assert schema["allOf"][0] == {"$ref": "#/components/schemas/A"}
    assert "additionalProperties" not in schema["allOf"][1] and "additionalProperties" not in schema


def test_json_path() -> None:
    assert json_path([]) == "$"
    assert (
        json_path(["data", 0, "targets", "python", "status"]) == "$.data[0].targets.python.status"
    )
    assert json_path(["weird key"]) == '$["weird key"]'


def test_redactor_masks_header_values_in_every_encoding_and_nothing_else() -> None:
    redactor = Redactor.for_headers(
        {"Authorization": "Bearer abc123secret", "X-Team": "1", "X-Quote": "it's a/b&c"}
    )
    text = (
        "curl -H 'Authorization: Bearer abc123secret' -H 'X-Team: 1' -H 'X-Quote: it'\"'\"'s a/b&c' "
        "token=abc123secret version 1.0 took 1.526s X-Team: 12 "
        '{"X-Team": "1", "x-quote": "it\'s a/b&c"} ?x-quote=it%27s%20a%2Fb%26c'
    )
    assert redactor.text(text) == (
        f"curl -H 'Authorization: {MASK}' -H 'X-Team: {MASK}' -H 'X-Quote: {MASK}' "
        f"token={MASK} version 1.0 took 1.526s X-Team: 12 "
        f'{{"X-Team": "{MASK}", "x-quote": "{MASK}"}} ?x-quote={MASK}'
    )
    assert redactor.data({"k": ["abc123secret", 1], "v": "1.0"}) == {"k": [MASK, 1], "v": "1.0"}
    # Short values are masked only next to their header's name: a digit elsewhere is left alone.
    assert (
        Redactor.for_headers({"user-id": "1"}).text('<?xml version="1.0"?> 1')
        == '<?xml version="1.0"?> 1'
    )
    assert parse_header("Authorization:  Bearer x ") == ("Authorization", "Bearer x")
    with pytest.raises(ValueError):
        parse_header("bad header: x")


def test_mock_headers_from_table_or_spec() -> None:
    assert mock_headers("stainless", {}, "t") == {"Authorization": "Bearer t"}
    schemes = {
        "Key": {"type": "http", "scheme": "bearer"},
        "Org": {"type": "apiKey", "in": "header", "name": "X-Org"},
    }
    spec = {"security": [{"Key": [], "Org": []}], "components": {"securitySchemes": schemes}}
    assert headers_from_spec(spec, "t") == {"Authorization": "Bearer t", "X-Org": "t"}


def test_unusable_specs(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("openapi: [\n")
    (tmp_path / "notapi.yaml").write_text("hello: world\n")
    with pytest.raises(ContractError, match="not YAML"):
        load_spec(tmp_path, "broken")
    with pytest.raises(ContractError, match="not an OpenAPI document"):
        load_spec(tmp_path, "notapi")
    with pytest.raises(ContractError, match="unusable"):
        load_spec(tmp_path, "missing")
    options = ContractOptions(base_url="http://127.0.0.1:9", apis=("broken",), specs=tmp_path)
    with pytest.raises(ContractError, match="unusable"):
        run_contract(options, progress=None)


def test_target_url() -> None:
    assert target_url("http://h:1/stainless", "stainless", many=False) == "http://h:1/stainless"
    assert target_url("http://h:1/", "nuon", many=True) == "http://h:1/nuon"
    assert (
        target_url("https://{api}.example.test/v1", "nuon", many=True)
        == "https://nuon.example.test/v1"
    )
