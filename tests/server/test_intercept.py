"""Prefer answers, scenario rules and pins, in-process, with the fast path on and off."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from starlette.testclient import TestClient

from buildmock.server.operations import resolve
from tests.cases import CASES, VendorCase
from tests.conftest import CONTROL_TOKEN, advance, make_app
from tests.test_vendor_contract_shared import _body as body_of


@pytest.fixture
def vclient(case: VendorCase) -> Iterator[TestClient]:
    """A client of a fresh mock of ``case``'s vendor."""
    with TestClient(make_app(case.name), headers=CONTROL_TOKEN) as c:
        yield c


def counts(client: TestClient, case: VendorCase) -> dict[str, int]:
    state = client.get("/__buildmock/state").json()
    return dict(state["vendors"][case.name])


def settle(client: TestClient, case: VendorCase, created: Any) -> Any:
    advance(client, case.settle)
    return client.get(case.get_path(created.json()), headers=case.headers).json()


# -- Prefer -------------------------------------------------------------------------------


@pytest.mark.parametrize("generic", ["success", "failure"])
def test_generic_outcomes_on_every_vendor(
    vclient: TestClient, case: VendorCase, generic: str
) -> None:
    created = case.create(vclient, case.headers, generic)
    assert created.status_code == case.create_status, created.text
    finished = settle(vclient, case, created)
    assert case.status(finished) == (case.success if generic == "success" else case.failure)


def test_undocumented_code_is_a_400_listing_the_documented_ones(
    vclient: TestClient, case: VendorCase
) -> None:
    response = vclient.get(case.unknown_path, headers={**case.headers, "Prefer": "code=418"})
    assert response.status_code == 400
    assert case.is_error(body_of(response))
    if response.content and case.name != "escape":
        assert "404" in response.text and "418" in response.text


def test_documented_error_code_in_the_vendor_shape_changes_nothing(
    vclient: TestClient, case: VendorCase
) -> None:
    created = case.create(vclient, case.headers, None)
    before = counts(vclient, case)
    path = case.get_path(created.json())
    response = vclient.get(path, headers={**case.headers, "Prefer": "code=404"})
    assert response.status_code == 404
    assert case.is_error(body_of(response))
    assert counts(vclient, case) == before
    assert vclient.get(path, headers=case.headers).status_code == 200


def test_dynamic_false_answers_the_static_example_and_changes_nothing(
    vclient: TestClient, case: VendorCase
) -> None:
    created = case.create(vclient, case.headers, None)
    path = case.get_path(created.json())
    before = counts(vclient, case)
    first = vclient.get(path, headers={**case.headers, "Prefer": "dynamic=false"})
    second = vclient.get(path, headers={**case.headers, "Prefer": "dynamic=false"})
    assert first.status_code == 200 and first.content == second.content
    assert first.content != vclient.get(path, headers=case.headers).content
    assert counts(vclient, case) == before


def test_named_example_and_unknown_example() -> None:
    case = CASES["stainless"]
    with TestClient(make_app("stainless"), headers=CONTROL_TOKEN) as client:
        spec = client.app.mock.specs["stainless"]  # type: ignore[attr-defined]
        named = spec["components"]["examples"]["completed_build"]["value"]
        answer = client.get(
            "/stainless/v0/builds/bui_x",
            headers={**case.headers, "Prefer": "example=completed_build"},
        )
        assert (answer.status_code, answer.json()) == (200, named)
        unknown = client.get(
            "/stainless/v0/builds/bui_x", headers={**case.headers, "Prefer": "example=nope"}
        )
        assert unknown.status_code == 400 and "completed_build" in unknown.json()["error"]


def test_bad_prefer_value_is_a_400_in_the_vendor_shape(
    vclient: TestClient, case: VendorCase
) -> None:
    response = vclient.get(case.unknown_path, headers={**case.headers, "Prefer": "latency=forever"})
    assert response.status_code == 400 and case.is_error(body_of(response))


def test_latency_delays_the_answer() -> None:
    case = CASES["stainless"]
    with TestClient(make_app("stainless"), headers=CONTROL_TOKEN) as client:
        started = time.perf_counter()
        response = client.get(
            case.unknown_path, headers={**case.headers, "Prefer": "latency=200ms"}
        )
        assert time.perf_counter() - started >= 0.2
        assert response.status_code == 404
        recorded = client.get("/__buildmock/requests").json()["requests"][-1]
        assert recorded["latency_ms"] == 200.0 and recorded["applied"] == ["latency=200ms"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_static_answer_validates_against_its_spec(name: str) -> None:
    mock = make_app(name).mock
    for operation in mock.operations.operations(name):
        for code in operation.codes():
            if code >= 400:
                continue
            media = operation.media(code)
            if media is None:
                continue
            schema = resolve(mock.specs[name], media.get("schema") or {})
            validator = OAS30Validator(
                {**schema, "components": mock.specs[name].get("components", {})}
            )
            for example in [None, *operation.example_names(code)]:
                errors = list(validator.iter_errors(operation.example(code, example)))
                assert not errors, (operation.operation_id, code, example, errors[0].message)


# -- scenario rules -----------------------------------------------------------------------


def add_rule(client: TestClient, **rule: Any) -> dict[str, Any]:
    response = client.post("/__buildmock/scenarios", json=rule)
    assert response.status_code == 201, response.text
    return dict(response.json())


def statuses(client: TestClient, case: VendorCase, count: int) -> list[int]:
    return [client.get(case.unknown_path, headers=case.headers).status_code for _ in range(count)]


def test_pin_once_n_times_and_until_cleared(vclient: TestClient, case: VendorCase) -> None:
    add_rule(vclient, vendor=case.name, fault="503", times=1)
    assert statuses(vclient, case, 2) == [503, 404]
    add_rule(vclient, vendor=case.name, fault="502", times=2)
    assert statuses(vclient, case, 3) == [502, 502, 404]
    rule = add_rule(vclient, vendor=case.name, fault="500")
    assert statuses(vclient, case, 3) == [500, 500, 500]
    listed = vclient.get("/__buildmock/scenarios").json()["rules"]
    assert [r["id"] for r in listed] == [rule["id"]] and listed[0]["applied"] == 3
    assert vclient.delete(f"/__buildmock/scenarios/{rule['id']}").status_code == 200
    assert statuses(vclient, case, 1) == [404]


def test_pinned_outcome_for_a_client_that_cannot_set_headers(
    vclient: TestClient, case: VendorCase
) -> None:
    add_rule(vclient, vendor=case.name, outcome="failure")
    created = case.create(vclient, case.headers, None)
    assert created.status_code == case.create_status, created.text
    assert case.status(settle(vclient, case, created)) == case.failure


def test_every_nth_and_operation_match() -> None:
    case = CASES["stainless"]
    with TestClient(make_app("stainless"), headers=CONTROL_TOKEN) as client:
        add_rule(client, vendor="stainless", operation="retrieve_build", every=3, fault="500")
        assert statuses(client, case, 6) == [404, 404, 500, 404, 404, 500]
        listed = client.get("/stainless/v0/builds?project=acme-api", headers=case.headers)
        assert listed.status_code == 200


def _pattern(seed: int) -> list[int]:
    case = CASES["vela"]
    with TestClient(make_app("vela", seed=seed), headers=CONTROL_TOKEN) as client:
        add_rule(client, vendor="vela", probability=0.5, fault="503")
        add_rule(client, vendor="vela", latency="1ms-3ms")
        found = statuses(client, case, 24)
        delays = [r["latency_ms"] for r in client.get("/__buildmock/requests").json()["requests"]]
        return found + delays


def test_faults_are_drawn_from_the_seed() -> None:
    first, again, other = _pattern(7), _pattern(7), _pattern(8)
    assert first == again
    assert first != other
    assert {503, 404} <= set(first[:24])


@pytest.mark.parametrize(
    ("rule", "message"),
    [({"vendor": "jenkins", "fault": "500"}, "not served"),
     ({"vendor": "vela", "operation": "nope", "fault": "500"}, "no operation"),
     ({"fault": "explode"}, "explode"), ({"vendor": "vela"}, "needs an action"),
     ({"vendor": "vela", "fault": "500", "colour": "red"}, "colour"),
     ({"operation": "x", "fault": "500"}, "needs a vendor"),
     ({"rate_limit": {"requests": 0}}, "rate_limit")],
)  # fmt: skip
def test_bad_rules_are_400(rule: dict[str, Any], message: str) -> None:
    with TestClient(make_app(), headers=CONTROL_TOKEN) as client:
        response = client.post("/__buildmock/scenarios", json=rule)
        assert response.status_code == 400 and message in response.json()["error"], response.text
        assert client.get("/__buildmock/scenarios").json()["rules"] == []
