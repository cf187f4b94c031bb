"""Seeded synthesis."""

from __future__ import annotations

import re

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
