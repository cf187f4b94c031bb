"""Seeded synthesis."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest

from buildmock.core import ids
from buildmock.synth import Synth
from buildmock.synth.factory import iso


def _sample(synth: Synth) -> list[object]:
    return [
        synth.sha(),
        synth.person(),
        synth.branch(),
        synth.commit_message(),
        synth.slug(),
        synth.company_slug(),
        synth.token(ids.BASE32, 26, "bui_"),
        synth.integer(1, 10**9),
    ]


def test_same_seed_same_values() -> None:
    assert _sample(Synth(3, "x")) == _sample(Synth(3, "x"))


def test_seed_and_namespace_both_matter() -> None:
    assert _sample(Synth(3, "x")) != _sample(Synth(4, "x"))
    assert _sample(Synth(3, "x")) != _sample(Synth(3, "y"))


def test_derive_depends_only_on_seed_and_parts() -> None:
    fresh = Synth(1, "v")
    used = Synth(1, "v")
    _sample(used)  # consuming the main stream must not change derived values
    assert _sample(fresh.derive("repo", "acme/api")) == _sample(used.derive("repo", "acme/api"))
    assert _sample(fresh.derive("repo", "acme/api")) != _sample(fresh.derive("repo", "acme/web"))


def test_shapes() -> None:
    synth = Synth(0, "shapes")
    assert re.fullmatch(r"[0-9a-f]{40}", synth.sha())
    assert ids.matcher("bui_", ids.BASE32, 26).match(synth.token(ids.BASE32, 26, "bui_"))
    name, user, email = synth.person()
    assert " " in name and "@" in email and user.islower()
    assert re.fullmatch(r"[a-z]+/[a-z]+-[a-z]+", synth.branch())
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", synth.company_slug())


def test_iso_is_utc_with_milliseconds() -> None:
    assert iso(1735689600.25) == "2025-01-01T00:00:00.250Z"


class _FakerWords(Synth):
    """The word and name draws as Faker's own ``word()`` / ``words(3)`` / ``first_name()``…
    make them (the reference)."""

    def _words(self, count: int) -> list[str]:
        return [self.faker.word()] if count == 1 else list(self.faker.words(count))

    def _pick(self, draw: str) -> str:
        return str(getattr(self.faker, draw)())


@pytest.mark.parametrize("seed", range(8))
def test_words_are_fakers_own_draws(seed: int) -> None:
    # Synth draws words from Faker's stream without Faker's per-call copy of its word list;
    # the values (and what the stream gives next) must be exactly Faker's.
    fast, reference = Synth(seed, "words"), _FakerWords(seed, "words")

    def draws(s: Synth) -> list[object]:
        return [
            (s.commit_message(), s.slug(2), s.branch(), s.word(), s.sentence(), s.person())
            for _ in range(20)
        ]

    assert draws(fast) == draws(reference)


@pytest.mark.parametrize("seed", range(4))
def test_weighted_draws_are_random_choices_own(seed: int) -> None:
    # ``weighted`` adds the weights up once per table: the values (and the stream after them) are
    # what ``random.choices(values, weights)`` gives.
    table = (("a", 0.8), ("b", 0.12), ("c", 0.05), ("d", 0.03))
    synth, reference = Synth(seed, "w"), Synth(seed, "w").rng
    drawn = [synth.weighted(table) for _ in range(300)]
    assert drawn == [reference.choices("abcd", weights=[0.8, 0.12, 0.05, 0.03])[0] for _ in drawn]
    assert set(drawn) == set("abcd") and synth.rng.random() == reference.random()
    assert Synth(seed, "w").weighted(list(table)) == Synth(seed, "w").weighted(table)


def test_iso_is_strftime_of_the_moment_to_the_microsecond() -> None:
    # ``iso`` writes the seconds with ``isoformat``: the text is what ``strftime`` gives, at the
    # edges too (a time that rounds up to the next second, the epoch, before it, years < 1000).
    rng = random.Random(2)
    times = [1735689600.9999997, 1735689600.0004999, 0.0, -1.5, 253402300799.0, -6e10, -3e10]
    times += [rng.uniform(0, 4e9) for _ in range(2000)]
    for ts in times:
        whole = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        assert iso(ts) == whole + f"{int(ts * 1000) % 1000:03d}Z"
