"""The bounded in-memory store: what only it does (the protocol both stores keep is tested in
test_protocol.py)."""

from __future__ import annotations

import threading

import pytest

from buildmock.store import MemoryStore, open_store


def test_replace_keeps_the_place_in_order() -> None:
    store = MemoryStore()
    for key in "abc":
        store.insert("build", key, {"k": key})
    store.replace("build", "a", {"k": "A"})
    assert [r["k"] for _, r in store.scan("build")] == ["c", "b", "A"]


def test_cap_evicts_the_oldest_per_kind() -> None:
    store = MemoryStore(cap=3)
    for i in range(10):
        store.insert("build", str(i), {"i": i})
    store.insert("project", "p", {})
    assert store.counts() == {"build": 3, "project": 1}
    assert [r["i"] for _, r in store.scan("build")] == [9, 8, 7]
    assert store.evictions() == {"build": 7}


def test_counters_are_per_name_and_cleared() -> None:
    store = MemoryStore()
    assert [store.next_value("a"), store.next_value("a"), store.next_value("b")] == [1, 2, 1]
    store.clear()
    assert store.next_value("a") == 1
    assert store.counts() == {}


def test_concurrent_inserts_lose_nothing_and_repeat_no_counter() -> None:
    store = MemoryStore(cap=100_000)
    values: list[int] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        for i in range(500):
            store.insert("build", f"{t}-{i}", {})
            value = store.next_value("n")
            with lock:
                values.append(value)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.counts()["build"] == 4000
    assert sorted(values) == list(range(1, 4001))


def test_open_store_knows_memory_only() -> None:
    assert isinstance(open_store("memory://", "x"), MemoryStore)
    with pytest.raises(ValueError):
        open_store("redis://localhost", "x")
    with pytest.raises(ValueError):
        MemoryStore(cap=0)


def test_scan_where_uses_an_index_kept_up_to_date() -> None:
    store = MemoryStore(cap=4)
    for i in range(6):
        store.insert("build", str(i), {"i": i, "p": "a" if i % 2 else "b", "t": [i % 3]})
    # 0 and 1 were evicted; the index (built here) sees only what the table holds.
    assert [r["i"] for _, r in store.scan("build", where={"p": "a"})] == [5, 3]
    store.insert("build", "6", {"i": 6, "p": "a", "t": [0]})  # evicts 2
    store.insert("build", "3", {"i": 33, "p": "b", "t": [0]})  # re-insert moves 3 to b
    assert [r["i"] for _, r in store.scan("build", where={"p": "a"})] == [6, 5]
    assert [r["i"] for _, r in store.scan("build", where={"p": "b"})] == [33, 4]
    assert store.replace("build", "4", {"i": 4, "p": "a", "t": [1]})
    assert [r["i"] for _, r in store.scan("build", where={"p": "a"})] == [6, 5, 4]
    assert store.delete("build", "5")
    assert [r["i"] for _, r in store.scan("build", where={"p": "a", "t": [0]})] == [6]
    seq = next(store.scan("build", where={"p": "a"}))[0]
    assert [r["i"] for _, r in store.scan("build", where={"p": "a"}, before=seq)] == [4]
    assert [r["i"] for _, r in store.scan("build", where={"p": "zz"})] == []
    store.clear()
    assert list(store.scan("build", where={"p": "a"})) == []
