"""Seeded Faker factories: the same seed and the same calls give the same data in any process."""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import random
import threading
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

from faker import Faker
from faker.generator import Generator

from buildmock.core import ids

T = TypeVar("T")

#: ``Draws.weighted``'s tables: options -> (values, cumulative weights).
_CUMULATIVE: dict[Any, tuple[Sequence[Any], list[float], float]] = {}

#: The synth of the request being served, when the server gives each request its own.
REQUEST_SYNTH: ContextVar[Synth | None] = ContextVar("buildmock_request_synth", default=None)

_BRANCH_WORDS = ("feature", "fix", "chore", "release", "refactor", "docs")
_COMMIT_VERBS = ("Add", "Fix", "Update", "Remove", "Refactor", "Bump", "Improve", "Document")


class Draws:
    """The primitive draws from one seeded ``random.Random``, unlocked: a :class:`Synth` makes each
    under its lock, or hands this out for a batch of them (:meth:`Synth.batch`)."""

    __slots__ = ("rng",)

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options``."""
        return self.rng.choice(options)

    def chance(self, probability: float) -> bool:
        """True with the given probability."""
        return self.rng.random() < probability

    def weighted(self, options: Sequence[tuple[T, float]]) -> T:
        """One of ``options``, each ``(value, weight)``, drawn by weight: what
        ``random.choices(values, weights)`` draws (one ``random()`` bisected into the cumulative
        weights), with the weights added up once per ``options`` and none of its per-call checks."""
        cached = isinstance(options, tuple)  # a literal table (a list is added up every time)
        found = _CUMULATIVE.get(options) if cached else None
        if found is None:
            values, weights = zip(*options, strict=True)
            cumulative = list(itertools.accumulate(weights))
            total = cumulative[-1] + 0.0
            if not 0.0 < total < math.inf:
                raise ValueError("weights must add up to a positive, finite total")
            found = values, cumulative, total
            if cached and len(_CUMULATIVE) < 256:  # callers pass a few literal tables
                _CUMULATIVE[options] = found
        table, cumulative, total = found
        return table[bisect.bisect(cumulative, self.rng.random() * total, 0, len(table) - 1)]

    def uniform(self, low: float, high: float) -> float:
        """A float in ``[low, high]``."""
        return self.rng.uniform(low, high)

    def integer(self, low: int, high: int) -> int:
        """An int in ``[low, high]``."""
        return self.rng.randint(low, high)

    def uniform_of(self, low: float, high: float) -> Callable[[], float]:
        """A drawer of floats in ``[low, high]``: each call one value of :meth:`uniforms`."""
        draw, span = self.rng.random, high - low
        return lambda: low + span * draw()

    def integer_of(self, low: int, high: int) -> Callable[[], int]:
        """A drawer of ints in ``[low, high]``: each call one value of :meth:`integers`.

        Each is 32 more random bits than the span needs, reduced modulo the span (uniform to
        within 2**-32): several times cheaper than ``randint`` for the run and job ids of a build.
        """
        span = high - low + 1
        if span < 1:
            raise ValueError("integers() needs low <= high")
        bits, width = self.rng.getrandbits, span.bit_length() + 32
        return lambda: low + bits(width) % span

    def uniforms(self, low: float, high: float, count: int) -> list[float]:
        """``count`` floats in ``[low, high]``, drawn together."""
        draw = self.uniform_of(low, high)
        return [draw() for _ in range(count)]

    def integers(self, low: int, high: int, count: int) -> list[int]:
        """``count`` ints in ``[low, high]``, drawn together (see :meth:`integer_of`)."""
        draw = self.integer_of(low, high)
        return [draw() for _ in range(count)]

    def token(self, alphabet: str, length: int, prefix: str = "") -> str:
        """``prefix`` followed by ``length`` characters of ``alphabet``."""
        return ids.prefixed(self.rng, prefix, alphabet, length)

    def sha(self) -> str:
        """A 40-hex git SHA."""
        return ids.sha(self.rng)


class _Batch:
    """``with synth.batch() as draw``: the lock held, the unlocked draws handed out (a class,
    not a ``contextmanager`` generator: a build's create pays for entering it)."""

    __slots__ = ("_draws", "_lock")

    def __init__(self, lock: threading.Lock, draws: Draws) -> None:
        self._lock, self._draws = lock, draws

    def __enter__(self) -> Draws:
        self._lock.acquire()
        return self._draws

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class Synth:
    """A seeded source of realistic values: one stream for new records, derived ones for names.

    ``Faker(use_weighting=False)`` is used throughout: it is about ten times faster on names and
    the distribution does not matter for a mock.
    """

    def __init__(self, seed: int, namespace: str) -> None:
        self.seed = seed
        self.namespace = namespace
        self._draws = Draws(random.Random(f"{seed}:{namespace}"))
        self._faker: Faker | None = None
        self._generator: Any = None
        self._lock = threading.Lock()

    @property
    def faker(self) -> Faker:
        """The seeded Faker, made on first use: making one costs milliseconds, and most derived
        synths (parents named from an id) only draw from ``rng``."""
        if self._faker is None:
            self._faker = Faker(use_weighting=False)
            self._faker.seed_instance(f"{self.seed}:{self.namespace}")
        return self._faker

    @property
    def fake(self) -> Any:
        """The seeded Faker's one generator (its only locale's), called directly: the same
        draws, without the proxy's per-attribute dispatch (most of a draw's cost). Typed ``Any``:
        its providers' methods are added at run time."""
        if self._generator is None:
            (generator,) = self.faker.factories  # one locale: one generator
            assert isinstance(generator, Generator)
            self._generator = generator
        return self._generator

    def reseed(self, namespace: str) -> None:
        """Start this synth over as if it had been made as ``Synth(seed, namespace)``."""
        self.namespace = namespace
        self.rng.seed(f"{self.seed}:{namespace}")
        if self._faker is not None:
            self._faker.seed_instance(f"{self.seed}:{namespace}")

    def derive(self, *parts: object) -> Synth:
        """A synth whose values depend only on the seed, the namespace and ``parts``.

        Used for parents the API cannot create (projects, repos, components…): the same name
        always gets the same details, whatever was created before.
        """
        return Synth(self.seed, ":".join([self.namespace, *map(str, parts)]))

    @property
    def rng(self) -> random.Random:
        """The seeded stream every primitive draws from (its state is what a snapshot keeps)."""
        return self._draws.rng

    def batch(self) -> _Batch:
        """This synth's primitives with its lock held once for all of them: for a caller drawing
        many values in a row (a build's ids and timings), the same values as one call each."""
        return _Batch(self._lock, self._draws)

    # -- primitives (each one draw of :class:`Draws` under the lock) -----------------------

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options``."""
        with self._lock:
            return self._draws.choice(options)

    def chance(self, probability: float) -> bool:
        """True with the given probability."""
        with self._lock:
            return self._draws.chance(probability)

    def weighted(self, options: Sequence[tuple[T, float]]) -> T:
        """One of ``options``, each ``(value, weight)``, drawn by weight."""
        with self._lock:
            return self._draws.weighted(options)

    def uniform(self, low: float, high: float) -> float:
        """A float in ``[low, high]``."""
        with self._lock:
            return self._draws.uniform(low, high)

    def integer(self, low: int, high: int) -> int:
        """An int in ``[low, high]``."""
        with self._lock:
            return self._draws.integer(low, high)

    def uniforms(self, low: float, high: float, count: int) -> list[float]:
        """``count`` floats in ``[low, high]`` (see :meth:`Draws.uniforms`)."""
        with self._lock:
            return self._draws.uniforms(low, high, count)

    def integers(self, low: int, high: int, count: int) -> list[int]:
        """``count`` ints in ``[low, high]`` (see :meth:`Draws.integers`)."""
        with self._lock:
            return self._draws.integers(low, high, count)

    def token(self, alphabet: str, length: int, prefix: str = "") -> str:
        """``prefix`` followed by ``length`` characters of ``alphabet``."""
        with self._lock:
            return self._draws.token(alphabet, length, prefix)

    def sha(self) -> str:
        """A 40-hex git SHA."""
        with self._lock:
            return self._draws.sha()

    def hex(self, length: int) -> str:
        """``length`` hex digits."""
        return self.token(ids.HEX, length)

    # -- faker-backed values ---------------------------------------------------------------

    def _words(self, count: int) -> list[str]:
        """``count`` words as ``faker.words(count)`` draws them (the same draws from the same
        stream), without the copy of the whole word list Faker makes on every call (lock held)."""
        words = _lorem_words(self.fake)
        if count == 1:  # Faker draws a single word with ``choice``
            return [self.fake.random.choice(words)]
        draw = self.fake.random.random
        # ``random.choices(words, k=count)`` unweighted: one ``random()`` scaled to an index each.
        size = float(len(words))
        return [words[math.floor(draw() * size)] for _ in range(count)]

    def _pick(self, draw: str) -> str:
        """``fake.<draw>()`` for a provider method that is one ``random_element`` of a fixed list
        (:data:`_ELEMENTS`): the same draw, without Faker's dispatch and weighting checks (lock held)."""
        return str(self.fake.random.choice(_elements(self.fake, draw)))

    def slug(self, words: int = 2) -> str:
        """A lowercase hyphenated slug such as ``acme-api``."""
        with self._lock:
            return "-".join(self._words(1)[0].lower() for _ in range(words))

    def company_slug(self) -> str:
        """An organisation slug such as ``hoffman-group``."""
        with self._lock:
            name = self.fake.company().lower()
        cleaned = "".join(c if c.isalnum() else "-" for c in name)
        return "-".join(part for part in cleaned.split("-") if part)[:39]

    def person(self) -> tuple[str, str, str]:
        """A ``(full name, username, email)`` triple that belong together."""
        with self._lock:
            first, last = self._pick("first_name"), self._pick("last_name")
            domain = self._pick("free_email_domain")
        user = f"{first[0]}{last}".lower()
        return f"{first} {last}", user, f"{first}.{last}@{domain}".lower()

    def branch(self) -> str:
        """A git branch name such as ``feature/refund-flow``."""
        with self._lock:
            kind = self.rng.choice(_BRANCH_WORDS)
            return f"{kind}/{self._words(1)[0]}-{self._words(1)[0]}"

    def commit_message(self) -> str:
        """A one-line commit message such as ``Fix retry budget in webhook client``."""
        with self._lock:
            words = " ".join(self._words(3))
            return f"{self.rng.choice(_COMMIT_VERBS)} {words}"

    def sentence(self) -> str:
        """A short sentence."""
        with self._lock:
            return str(self.fake.sentence(nb_words=8))

    def word(self) -> str:
        """One lowercase word."""
        with self._lock:
            return self._words(1)[0].lower()


_LOREM: list[tuple[str, ...]] = []
#: Faker methods that draw one element of a provider's list, and that list's attribute.
_ELEMENTS = {
    "first_name": "first_names",
    "last_name": "last_names",
    "free_email_domain": "free_email_domains",
}
_ELEMENT_CACHE: dict[str, tuple[str, ...]] = {}


def _elements(faker: Any, draw: str) -> tuple[str, ...]:
    """What ``faker.<draw>()`` picks from, as Faker's ``random_element`` sees it unweighted: a
    dict's keys in order, a sequence as is (every synth's Faker has the same locale)."""
    found = _ELEMENT_CACHE.get(draw)
    if found is None:
        elements = getattr(getattr(faker, draw).__self__, _ELEMENTS[draw])
        found = _ELEMENT_CACHE[draw] = tuple(
            elements.keys() if isinstance(elements, dict) else elements
        )
    return found


def _lorem_words(faker: Any) -> tuple[str, ...]:
    """The word list ``faker.word()`` draws from (every synth's Faker has the same locale)."""
    if not _LOREM:
        _LOREM.append(tuple(faker.get_words_list()))
    return _LOREM[0]


#: The first unix second of year 10 000, which ``datetime`` cannot write.
_YEAR_10000 = 253_402_300_800.0


@functools.lru_cache(maxsize=4096)  # lists render the same stored times again and again
def iso(ts: float) -> str:
    """Unix seconds as ISO-8601 UTC with milliseconds and a ``Z``, as most vendors send."""
    if 0.0 <= ts < _YEAR_10000:
        # The second ``datetime.fromtimestamp`` lands in: it rounds to the microsecond, half to
        # even, carrying into the next second. Each new create's time is a new ``ts``, but
        # seldom a new second, whose text is kept.
        second = int(ts)
        if round((ts - second) * 1e6) >= 1_000_000:
            second += 1
        return f"{_whole_second(second)}.{int(ts * 1000) % 1000:03d}Z"
    moment = datetime.fromtimestamp(ts, UTC)
    # ``isoformat`` writes what ``strftime("%Y-%m-%dT%H:%M:%S")`` does for four-digit years, faster.
    text = (
        moment.isoformat(timespec="seconds")[:19]
        if moment.year >= 1000
        else moment.strftime("%Y-%m-%dT%H:%M:%S")
    )
    return f"{text}.{int(ts * 1000) % 1000:03d}Z"


@functools.lru_cache(maxsize=256)
def _whole_second(second: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of a unix second from 1970 on."""
    return datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds")[:19]
