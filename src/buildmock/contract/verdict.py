"""Evidence, or no green: which operations were verified, and why a run that verified too little is inconclusive."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from buildmock.contract.engine import Evidence
from buildmock.core.openapi import METHODS

#: Exit codes, one meaning each (the README's table).
EXIT_OK, EXIT_FINDINGS, EXIT_ERROR, EXIT_INCONCLUSIVE = 0, 1, 2, 3

#: "Too little was verified": fewer than this share of the selected operations had a 2xx judged. Below
#: it (or with nothing verified, or when a budget stopped the run first) a run is inconclusive, never OK.
MIN_VERIFIED_SHARE = 0.5


def iter_parameters(spec: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``("METHOD /path", parameter)`` for every operation and parameter (``$ref``s resolved), and
    ``("METHOD /path", {})`` once per operation so operations without parameters are seen too."""
    shared = (spec.get("components") or {}).get("parameters") or {}
    for path, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method, operation in item.items():
            if method not in METHODS or not isinstance(operation, dict):
                continue
            label = f"{method.upper()} {path}"
            yield label, {}
            for param in [*(item.get("parameters") or ()), *(operation.get("parameters") or ())]:
                if isinstance(param, dict) and isinstance(param.get("$ref"), str):
                    param = shared.get(param["$ref"].rsplit("/", 1)[-1], {})
                if isinstance(param, dict) and param:
                    yield label, param


def operations(spec: Mapping[str, Any]) -> dict[str, set[str]]:
    """``{"METHOD /path": {its path parameter names}}`` for every operation of an OpenAPI spec."""
    found: dict[str, set[str]] = {}
    for label, param in iter_parameters(spec):
        names = found.setdefault(label, set())
        if param.get("in") == "path":
            names.add(str(param.get("name")))
    return found


@dataclass(frozen=True)
class Verdict:
    """What a run's evidence supports: conclusive (cause empty) or inconclusive with a one-line cause."""

    verified: tuple[str, ...]
    unverified: tuple[str, ...]
    cause: str = ""

    @property
    def inconclusive(self) -> bool:
        """Whether the run cannot say the API conforms."""
        return bool(self.cause)


#: Answers to the coverage phase's undocumented-method probes, which say nothing about auth or ids.
_METHOD_PROBES = frozenset({405, 501})

#: Share of the answers (method probes aside) that makes one kind of refusal the run's cause.
DOMINANT_SHARE = 0.9


def _mostly(codes: Mapping[int, int], wanted: Iterable[int]) -> bool:
    """Whether nothing succeeded and at least :data:`DOMINANT_SHARE` of the answers have a ``wanted`` code."""
    wanted = set(wanted)
    answers = {code: n for code, n in codes.items() if code not in _METHOD_PROBES}
    total = sum(answers.values())
    if not total or any(200 <= code < 300 for code in answers):
        return False
    return sum(n for code, n in answers.items() if code in wanted) >= DOMINANT_SHARE * total


def judge(
    selected: Mapping[str, set[str]],
    evidence: Mapping[str, Evidence],
    *,
    budget: str = "",
    cut_short: bool = False,
) -> Verdict:
    """Which of the ``selected`` operations (label -> path parameter names) a check judged a 2xx of, and why not.

    Inconclusive when nothing or too little (:data:`MIN_VERIFIED_SHARE`) was verified, or when ``budget``
    stopped the run before every operation was. ``budget`` names it (``--max-requests 300``), if one did;
    ``cut_short`` says it refused requests mid-run, leaving phases unfinished: inconclusive whatever was verified.
    """
    verified = tuple(op for op in selected if op in evidence and evidence[op].verified)
    unverified = tuple(op for op in selected if op not in verified)
    enough = bool(verified) and len(verified) >= MIN_VERIFIED_SHARE * len(selected)
    if not cut_short and (not unverified or (enough and not budget)):
        return Verdict(verified, unverified)
    codes: dict[int, int] = {}
    for op in selected:
        for code, n in (evidence[op].codes if op in evidence else {}).items():
            codes[code] = codes.get(code, 0) + n
    n, total = len(unverified), len(selected)
    if not codes:
        cause = "no response was received"
    elif not verified and _mostly(codes, (401, 403)):
        cause = "credentials refused: every response was 401/403 (check the -H credentials)"
    elif not verified and _mostly(codes, (404,)):
        cause = "wrong base URL? every response was 404 (is --base-url the API's root?)"
    elif budget and cut_short:
        cause = (
            f"stopped early by {budget} before its phases finished "
            f"({len(verified)} of {total} operations verified so far)"
        )
    elif budget:
        cause = f"stopped early by {budget}: {n} of {total} operations not verified"
    elif all(
        _mostly(evidence[op].codes, range(400, 500)) and 404 in evidence[op].codes
        for op in unverified
        if op in evidence
    ):
        cause = (
            f"no test data: {n} of {total} operations never found a resource (404 for the ids tried); "
            "pass ids that exist with --set-path/--set-query NAME=VALUE"
        )
    else:
        cause = f"too little verified: {n} of {total} operations never answered 2xx"
    return Verdict(verified, unverified, cause)
