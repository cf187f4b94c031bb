"""Behaviour every vendor shares, parametrized over ``tests/cases``: one test body, every vendor."""

from __future__ import annotations

import json

import pytest
import yaml
from starlette.testclient import TestClient

from buildmock.settings import SPECS_DIR
from tests.cases import CASES, VendorCase
from tests.conftest import CONTROL, advance, make_app


def test_create_then_get_and_list_see_it(client: TestClient, case: VendorCase) -> None:
    created = case.create(client, case.headers, None)
    assert created.status_code == case.create_status, created.text
    build = created.json()
    got = client.get(case.get_path(build), headers=case.headers)
    assert got.status_code == 200, got.text
    assert case.identity(got.json()) == case.identity(build)
    listed = client.get(case.list_path(build), headers=case.headers)
    assert listed.status_code == 200, listed.text
    assert case.identity(build) in [case.identity(b) for b in case.list_items(listed.json())]


def test_lifecycle_runs_to_success_under_manual_clock(client: TestClient, case: VendorCase) -> None:
    build = case.create(
        client, case.headers, "success" if case.success == "success" else None
    ).json()
    first = case.status(client.get(case.get_path(build), headers=case.headers).json())
    assert first not in (case.success, case.failure)
    advance(client, case.settle)
    final = client.get(case.get_path(build), headers=case.headers).json()
    assert case.status(final) == case.success


def test_forced_failure_ends_in_failure(client: TestClient, case: VendorCase) -> None:
    build = case.create(client, case.headers, case.failure_outcome).json()
    advance(client, case.settle)
    final = client.get(case.get_path(build), headers=case.headers).json()
    assert case.status(final) == case.failure


def test_time_stands_still_without_advancing(client: TestClient, case: VendorCase) -> None:
    build = case.create(client, case.headers, None).json()
    once = client.get(case.get_path(build), headers=case.headers).content
    twice = client.get(case.get_path(build), headers=case.headers).content
    assert once == twice


def _session(case: VendorCase, seed: int) -> list[bytes]:
    with TestClient(make_app(case.name, seed=seed)) as c:
        bodies = []
        for prefer in (None, None, case.failure_outcome):
            created = case.create(c, case.headers, prefer)
            bodies.append(created.content)
            advance(c, 7)
            bodies.append(c.get(case.get_path(created.json()), headers=case.headers).content)
        bodies.append(c.get(case.list_path(created.json()), headers=case.headers).content)
        return bodies


def test_same_seed_same_bytes(case: VendorCase) -> None:
    assert _session(case, 7) == _session(case, 7)


def test_different_seed_different_data(case: VendorCase) -> None:
    assert _session(case, 7) != _session(case, 8)


def test_missing_credentials_is_401_in_vendor_shape(client: TestClient, case: VendorCase) -> None:
    response = client.get(case.unknown_path, headers=case.anonymous)
    assert response.status_code == 401
    assert case.is_error(_body(response))


def test_wrong_token_is_401(client: TestClient, case: VendorCase) -> None:
    wrong = {
        k: ("Bearer nope" if k.lower() == "authorization" else v) for k, v in case.headers.items()
    }
    if wrong == case.headers:
        wrong = case.anonymous
    response = client.get(case.unknown_path, headers=wrong)
    assert response.status_code == 401
    assert case.is_error(_body(response))


def test_unknown_id_is_404_in_vendor_shape(client: TestClient, case: VendorCase) -> None:
    response = client.get(case.unknown_path, headers=case.headers)
    assert response.status_code == 404
    assert case.is_error(_body(response))


def test_unknown_path_is_404_in_vendor_shape(client: TestClient, case: VendorCase) -> None:
    response = client.get(f"/{case.name}/no/such/path", headers=case.headers)
    assert response.status_code == 404
    assert case.is_error(_body(response))


def test_wrong_method_is_405_with_allow(client: TestClient, case: VendorCase) -> None:
    method, path = case.wrong_method
    response = client.request(method, path, headers=case.headers)
    assert response.status_code == 405
    assert response.headers["allow"]
    assert method not in response.headers["allow"]
    assert case.is_error(_body(response))


#: Vendors documenting an operation with a JSON body (Cocktail's API takes none).
JSON_CASES = sorted(name for name, c in CASES.items() if c.json_endpoint is not None)


@pytest.mark.parametrize("name", JSON_CASES)
def test_body_that_is_not_json_is_400(name: str) -> None:
    case = CASES[name]
    assert case.json_endpoint is not None
    method, path = case.json_endpoint
    with TestClient(make_app(name)) as client:
        for raw in (b"{not json", b"\xff\xfe\x00garbage", b""):
            response = client.request(
                method,
                path,
                content=raw,
                headers={**case.headers, "Content-Type": "application/json"},
            )
            assert response.status_code == 400, (raw, response.text)
            assert case.is_error(_body(response))


@pytest.mark.parametrize("name", JSON_CASES)
def test_number_too_long_for_python_is_400(name: str) -> None:
    """Python refuses to read integers of over 4300 digits (a ValueError, not a JSON error)."""
    case = CASES[name]
    assert case.json_endpoint is not None
    method, path = case.json_endpoint
    raw = b'{"x": ' + b"9" * 5000 + b"}"
    with TestClient(make_app(name)) as client:
        response = client.request(
            method, path, content=raw, headers={**case.headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert case.is_error(_body(response))
        control = client.post("/__buildmock/clock/advance", content=raw, headers=CONTROL)
        assert control.status_code == 400, control.text


@pytest.mark.parametrize("name", JSON_CASES)
def test_wrong_content_type_is_400(name: str) -> None:
    case = CASES[name]
    assert case.json_endpoint is not None
    method, path = case.json_endpoint
    with TestClient(make_app(name)) as client:
        response = client.request(
            method, path, content=b"a=1", headers={**case.headers, "Content-Type": "text/plain"}
        )
    assert response.status_code == 400
    assert case.is_error(_body(response))


def test_reset_returns_to_initial_state(client: TestClient, case: VendorCase) -> None:
    case.create(client, case.headers, None)
    before = (
        client.get("/__buildmock/state", headers=CONTROL)
        .json()["vendors"][case.name]
        .get(case.kind, 0)
    )
    assert before >= 1
    client.post("/__buildmock/reset", headers=CONTROL)
    after = (
        client.get("/__buildmock/state", headers=CONTROL)
        .json()["vendors"][case.name]
        .get(case.kind, 0)
    )
    assert after == before - 1


def test_store_evicts_oldest_at_cap(case: VendorCase) -> None:
    with TestClient(make_app(case.name, cap=3)) as c:
        builds = [case.create(c, case.headers, None).json() for _ in range(5)]
        assert (
            c.get("/__buildmock/state", headers=CONTROL).json()["vendors"][case.name][case.kind]
            <= 3
        )
        assert c.get(case.get_path(builds[0]), headers=case.headers).status_code == 404
        assert c.get(case.get_path(builds[-1]), headers=case.headers).status_code == 200


def test_spec_is_served_as_authored_and_ui_points_at_it(
    client: TestClient, case: VendorCase
) -> None:
    authored = json.loads(json.dumps(yaml.safe_load((SPECS_DIR / f"{case.name}.yaml").read_text())))
    for document in ("openapi.json", "openapi.yaml"):
        response = client.get(f"/{case.name}/{document}")
        assert response.status_code == 200
        served = yaml.safe_load(response.text)
        # The authored document, ``$ref``s and named components kept; only ``servers`` is where
        # this mock serves it.
        assert served.pop("servers") == [{"url": f"/{case.name}"}]
        assert served == {k: v for k, v in authored.items() if k != "servers"}
        assert "$ref" in response.text and served["components"]["schemas"]
    ui = client.get(f"/{case.name}/ui/")
    assert ui.status_code == 200 and "swagger" in ui.text.lower()
    assert "openapi.json" in ui.text


def _body(response: object) -> object:
    content = response.content  # type: ignore[attr-defined]
    if not content:
        return ""
    try:
        return response.json()  # type: ignore[attr-defined]
    except ValueError:
        return content.decode("utf-8", "replace")
