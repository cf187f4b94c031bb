"""Fixture files: unknown fields, bad values, alias bombs, speeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildmock.fixtures import FixtureError, excerpt
from buildmock.server import create_app
from buildmock.settings import FIXTURES_DIR, Settings


def _load(tmp_path: Path, api: str, text: str) -> None:
    (tmp_path / f"{api}.yaml").write_text(text)
    create_app(Settings(apis=(api,), fixtures=tmp_path, clock="manual"))


@pytest.mark.parametrize(
    ("api", "text", "expected"),
    [
        ("vela", "builds:\n  - {org: github, repo: octocat, event: push, brnach: main}\n",
         "builds[0].brnach: unknown field; did you mean 'branch'?"),
        ("stainless", "builds:\n  - {project: acme-api, revision: main, commit_mesage: x}\n",
         "builds[0].commit_mesage: unknown field; did you mean 'commit_message'?"),
        ("stainless", "builds:\n  - {project: acme-api, revision: main, outcom: failure}\n",
         "did you mean 'outcome'?"),
        ("stainless", "buidls:\n  - {project: acme-api, revision: main}\n",
         "buidls: unknown section; did you mean 'builds'?"),
        ("stainless", "builds:\n  - {project: acme-api, revision: main, age: yesterday}\n",
         "builds[0].age: must be a number of seconds from 0 to 315360000, not 'yesterday'"),
        ("stainless", "builds:\n  - {project: acme-api, revision: main, age: .nan}\n",
         "builds[0].age: must be a number of seconds"),
        ("stainless", "builds:\n  - {project: acme-api, revision: main, age: -5}\n",
         "builds[0].age: must be a number of seconds"),
        ("stainless", "builds:\n  - {project: acme-api, revision: main, age: true}\n",
         "builds[0].age: must be a number of seconds"),
    ],
)  # fmt: skip
def test_fixture_errors_name_file_and_field(
    tmp_path: Path, api: str, text: str, expected: str
) -> None:
    with pytest.raises(FixtureError) as error:
        _load(tmp_path, api, text)
    assert str(error.value).startswith(str(tmp_path / f"{api}.yaml"))
    assert expected in str(error.value)


def test_alias_bomb_is_refused_with_a_short_message(tmp_path: Path) -> None:
    rows = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    rows += [
        f"{b}: &{b} [{', '.join(['*' + a] * 9)}]" for a, b in zip("abcdef", "bcdefg", strict=True)
    ]
    text = "\n".join(rows) + "\nbuilds:\n  - {project: acme-api, revision: *g}\n"
    with pytest.raises(FixtureError) as error:
        _load(tmp_path, "stainless", text)
    assert "expands to more than" in str(error.value) and len(str(error.value)) < 300


def test_long_values_are_quoted_as_an_excerpt(tmp_path: Path) -> None:
    text = f"builds:\n  - {{project: acme-api, revision: main, age: '{'x' * 100_000}'}}\n"
    with pytest.raises(FixtureError) as error:
        _load(tmp_path, "stainless", text)
    assert len(str(error.value)) < 400
    assert len(excerpt("y" * 10_000)) <= 60 and len(excerpt(list(range(10_000)))) <= 60


@pytest.mark.parametrize("speed", [0.001, 2.0, 10.0, 1_000_000.0])
def test_bundled_fixtures_load_at_any_speed(speed: float) -> None:
    app = create_app(Settings(fixtures=FIXTURES_DIR, clock="manual", speed=speed))
    assert all(sum(rt.store.counts().values()) > 0 for rt in app.mock.runtimes.values())
