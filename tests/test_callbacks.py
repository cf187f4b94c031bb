"""Callback targets: resolved, every address checked, the checked address used, never the mock.

Deliveries go through an injected transport (``tests/callback_sink.Sink``, an
``httpx.MockTransport``) and, where a name must resolve somewhere in particular, an injected
resolver; the dispatcher's worker is drained, never slept on. The real resolver is tested on names
this machine answers itself, and one test at the end goes through a real server process to a real
socket.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpx
import pytest

from buildmock.callbacks import (
    Address,
    CallbackDispatcher,
    Target,
    pinned_target,
    refusal,
    resolve_host,
)
from tests.callback_sink import Sink
from tests.cases import CASES
from tests.cases.base import TOKEN
from tests.conftest import CONTROL
from tests.process import serving
from tests.receiver import Receiver


class Names:
    """An injected resolver: a fixed table (answers given in turn, the last repeating); records
    every look-up."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[Address]:
        self.asked.append(host)
        answers = self.table.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return [ipaddress.ip_address(a) for a in answer]


def test_loopback_name_is_resolved_and_pinned_to_its_address() -> None:
    target = pinned_target("http://localhost:9999/cb?x=1")
    assert isinstance(target, Target)
    assert target.url.startswith(("http://127.", "http://[::1]")) and target.url.endswith(
        ":9999/cb?x=1"
    )
    assert target.host_header == "localhost:9999" and target.server_name == "localhost"


def test_the_real_resolver_reads_literals_and_local_names() -> None:
    assert resolve_host("[::1]", 80) == [ipaddress.ip_address("::1")]
    assert resolve_host("127.0.0.9", 80) == [ipaddress.ip_address("127.0.0.9")]
    assert resolve_host("localhost", 80) and all(
        a.is_loopback for a in resolve_host("localhost", 80)
    )


@pytest.mark.parametrize(
    ("url", "extra", "reason"),
    [
        ("http://127.0.0.1:8080/__buildmock/reset", (), "the mock itself"),
        ("http://[::1]:8080/x", (), "the mock itself"),
        ("http://127.0.0.2:8080/x", (), "the mock itself"),
        ("http://nothing-here.localhost:9/cb", (), "does not resolve"),
        ("http://10.9.9.9:80/cb", ("10.0.0.0/16",), "allow-list"),
        ("http://rebound.localhost:9/cb", (), "resolves to 192.0.2.7, which is not on"),
        ("http://hooks.example:9/cb", ("10.0.0.0/8",), "not on the callback allow-list"),  # a name
        ("http://hooks.example:9/cb", ("hooks.example.org",), "not on the callback allow-list"),
    ],
)
def test_refused_targets(url: str, extra: tuple[str, ...], reason: str) -> None:
    names = Names(
        {"rebound.localhost": [["127.0.0.1", "192.0.2.7"]], "hooks.example": [["10.0.0.5"]]}
    )
    refused = refusal(url, extra) or pinned_target(url, extra, ("127.0.0.1", 8080), names)
    assert isinstance(refused, str) and reason in refused


def test_mock_bound_elsewhere_still_refuses_its_own_address() -> None:
    refused = pinned_target("http://10.1.2.3:8080/x", ("10.0.0.0/8",), own=("10.1.2.3", 8080))
    assert isinstance(refused, str) and "the mock itself" in refused
    other_port = pinned_target("http://10.1.2.3:8081/x", ("10.0.0.0/8",), own=("10.1.2.3", 8080))
    assert isinstance(other_port, Target) and other_port.url == "http://10.1.2.3:8081/x"


def test_https_keeps_the_name_for_tls() -> None:
    target = pinned_target("https://localhost/hook")
    assert isinstance(target, Target) and target.server_name == "localhost"
    assert target.host_header == "localhost"


# -- the dispatcher, delivering in memory --------------------------------------------------------


def dispatcher(sink: Sink, names: Names | None = None, **options: Any) -> CallbackDispatcher:
    """A manual-clock dispatcher at time 0 rendering ``{"key": key}``, delivering into ``sink``."""
    kwargs: dict[str, Any] = {
        "retry_delay": 0.0,
        **({"resolve": names} if names else {}),
        **options,
    }
    return CallbackDispatcher(now=lambda: 0.0, render=lambda key: {"key": key},
                              transport=sink.transport, **kwargs)  # fmt: skip


def test_a_listed_name_is_resolved_once_and_called_at_the_checked_address() -> None:
    sink = Sink()
    # A name that answers differently the second time (DNS rebinding) gets no second look-up.
    names = Names({"hooks.example": [["10.0.0.5"], ["127.0.0.1"]]})
    callbacks = dispatcher(sink, names, allow=("hooks.example",), own=("127.0.0.1", 9000))
    callbacks.schedule("1", "https://hooks.example:9000/done?x=1", 0.0)
    assert callbacks.drain()
    (delivery,) = sink.deliveries
    assert str(delivery.url) == "https://10.0.0.5:9000/done?x=1"
    assert (delivery.host, delivery.sni, delivery.body) == (
        "hooks.example:9000",
        "hooks.example",
        {"key": "1"},
    )
    assert names.asked == ["hooks.example"]
    assert callbacks.describe()["delivered"] == 1


def test_nothing_is_sent_where_any_address_is_refused() -> None:
    sink = Sink()
    names = Names({"api.localhost": [["127.0.0.1", "169.254.169.254"]]})
    callbacks = dispatcher(sink, names, allow=("10.0.0.0/8",))
    callbacks.schedule("1", "http://api.localhost/x", 0.0)
    callbacks.schedule("2", "http://10.0.0.6/x", 0.0)
    assert callbacks.drain()
    assert [str(d.url) for d in sink.deliveries] == ["http://10.0.0.6/x"]
    state = callbacks.describe()
    assert (state["refused"], state["delivered"]) == (1, 1)
    assert state["recent"][0]["detail"] == (
        "host api.localhost resolves to 169.254.169.254, which is not on the allow-list"
    )


def test_a_due_callback_waits_for_tick_and_is_delivered_once() -> None:
    sink = Sink()
    now = [0.0]
    callbacks = CallbackDispatcher(now=lambda: now[0], render=lambda key: {"key": key},
                                   transport=sink.transport)  # fmt: skip
    callbacks.schedule("a", "http://127.0.0.1:9911/a", 10.0)
    assert callbacks.tick() == 0 and callbacks.drain() and sink.got() == []
    now[0] = 10.0
    assert callbacks.tick() == 1 and callbacks.tick() == 0
    assert callbacks.drain() and sink.got() == [("/a", {"key": "a"})]


def test_the_injected_transport_outlives_each_delivery() -> None:
    closed = []

    class Tracked(httpx.MockTransport):
        def close(self) -> None:
            closed.append(True)

    transport = Tracked(lambda request: httpx.Response(204))
    callbacks = CallbackDispatcher(now=lambda: 0.0, render=lambda key: {}, transport=transport)
    for key in "ab":
        callbacks.schedule(key, f"http://127.0.0.1:9911/{key}", 0.0)
    assert callbacks.drain() and callbacks.describe()["delivered"] == 2
    assert closed == [], "the dispatcher borrows a transport; its owner closes it"


def test_close_stops_a_delivery_between_its_tries() -> None:
    sink = Sink([503])
    callbacks = dispatcher(sink, retry_delay=30.0)
    callbacks.schedule("1", "http://127.0.0.1:9911/x", 0.0)
    sink.wait_for(1)
    callbacks.close()  # wakes the worker from its 30 s wait
    assert callbacks.drain(timeout=5.0)
    assert len(sink.got()) == 1
    assert callbacks.describe()["recent"][-1]["outcome"] == "dropped"


# -- end to end: a real server process calls a real socket back ----------------------------------


def test_a_served_mock_calls_a_real_receiver_back() -> None:
    cocktail = CASES["cocktail"]
    receiver = Receiver()
    try:
        with serving("--api", "cocktail", "--clock", "manual", "--token", TOKEN) as (base, _):
            made = httpx.post(f"{base}/cocktail/v1/build/run/1", params={"callbackUrl": receiver.url("/done")},
                              headers={**cocktail.headers, "Prefer": "outcome=DONE"})  # fmt: skip
            assert made.status_code == 200, made.text
            moved = httpx.post(
                f"{base}/__buildmock/clock/advance", json={"seconds": 600}, headers=CONTROL
            )
            assert moved.status_code == 200, moved.text
            ((path, body),) = receiver.wait_for(1)
            run = made.json()["result"]["buildRunSeq"]
            assert (path, body["buildRunSeq"], body["runState"]) == ("/done", run, "DONE")
    finally:
        receiver.close()
