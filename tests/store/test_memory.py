"""The bounded in-memory store: what only it does (the protocol both stores keep is tested in
test_protocol.py)."""

from __future__ import annotations

import sys
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


def test_gets_without_the_lock_race_evictions_and_deletes_safely() -> None:
    """``get`` takes no lock: readers racing a writer that evicts, deletes and replaces the very
    keys they read never fail, never see a record under another key, and leave the table and the
    recency order in step."""
    store = MemoryStore(cap=50)
    errors: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        for i in range(20_000):
            store.insert("build", str(i % 400), {"n": i % 400})
            if i % 7 == 0:
                store.delete("build", str((i * 13) % 400))
        done.set()

    def read() -> None:
        try:
            while not done.is_set():
                for key in range(400):
                    record = store.get("build", str(key))
                    assert record is None or record["n"] == key
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write), *(threading.Thread(target=read) for _ in range(3))]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch between any two steps, not every 5 ms
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors
    assert set(store._recency["build"]) == set(store._kinds["build"])
    assert len(store._kinds["build"]) <= 50


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
