"""Drift reports: a human summary grouped by operation and kind, JUnit XML, JSON and an HTML page."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from buildmock import __version__
from buildmock.contract.drift import KINDS
from buildmock.contract.engine import Evidence, Finding

if TYPE_CHECKING:
    from buildmock.contract.runner import ApiRun, ContractReport

JUNIT, JSON_REPORT, HTML_REPORT = "junit.xml", "report.json", "report.html"


def _curl(finding: Finding) -> str:
    """The reproduction command alone (Schemathesis may append warnings after a blank line)."""
    return finding.reproduce.strip().split("\n\n")[0].strip()


def grouped(findings: list[Finding]) -> dict[str, dict[str, list[Finding]]]:
    """``{"api: METHOD /path": {kind: [findings]}}``, kinds in :data:`KINDS` order."""
    out: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for f in findings:
        out[f"{f.api}: {f.operation}" if f.api else f.operation][f.kind].append(f)
    order = list(KINDS)
    return {
        op: {
            k: kinds[k]
            for k in sorted(kinds, key=lambda k: order.index(k) if k in order else len(order))
        }
        for op, kinds in sorted(out.items())
    }


def _line(f: Finding) -> str:
    where = f.path or "(response)"
    if f.kind == "check_failed":
        return f"{f.check}: {f.title}" + (f" (status {f.status})" if f.status is not None else "")
    return f"{where}: spec says {f.expected or '?'}; got {f.actual or '?'}"


#: The summary's last line starts with one of these, by exit code.
VERDICTS = {0: "OK", 1: "DRIFT", 2: "ERROR", 3: "INCONCLUSIVE"}


def _statuses(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.items()) or "no response"


def operations_of(run: ApiRun) -> list[dict[str, Any]]:
    """Per operation: verified or not, responses by status class and phase, checks that judged a 2xx body."""
    evidence = run.result.operation_evidence()
    out = []
    for op in (*run.verdict.verified, *run.verdict.unverified):
        total = evidence.get(op)
        phases = run.result.evidence.get(op, {})
        out.append({
            "operation": op,
            "verified": op in run.verdict.verified,
            "statuses": total.statuses if total else {},
            "codes": {str(code): n for code, n in sorted(total.codes.items())} if total else {},
            "success_checks": sorted(total.success_checks) if total else [],
            "phases": {ph: {"statuses": ev.statuses, "success_checks": sorted(ev.success_checks)}
                       for ph, ev in sorted(phases.items())},
        })  # fmt: skip
    return out


def summary(report: ContractReport) -> str:
    """The human summary printed after a run."""
    lines = []
    for run in report.runs:
        mode = ", read-only" if run.read_only else ""
        n = len(run.result.findings)
        verdict = run.verdict
        lines.append(f"{run.api} ({run.target}{mode}): {run.result.scenarios} scenarios, {run.requests} requests, "
                     f"{n} finding{'s' * (n != 1)} in {run.seconds:.1f}s; {len(verdict.verified)} of "
                     f"{len(verdict.verified) + len(verdict.unverified)} operations verified")  # fmt: skip
        evidence = run.result.operation_evidence()
        for op in verdict.unverified:
            answered = _statuses(evidence[op].statuses) if op in evidence else "no request sent"
            lines.append(f"  not verified: {op} ({answered})")
    for operation, kinds in grouped(report.findings).items():
        lines.append("")
        lines.append(operation)
        for kind, findings in kinds.items():
            lines.append(f"  {KINDS.get(kind, kind)} ({len(findings)})")
            for f in findings:
                lines.append(f"    - {_line(f)}")
                lines.append(f"      {_curl(f)}")
    for error in report.errors:
        lines.append(f"error: {error.splitlines()[0] if error else error}")
    for note in report.notes:
        lines.append(f"note: {note}")
    if report.stopped_by_budget:
        lines.append(f"stopped early: {report.budget} reached")
    lines.append("")
    lines.append(
        f"{VERDICTS.get(report.exit_code, '?')}: {report.reason}"
        + (" (strict: response objects closed)" if report.strict else "")
    )
    return "\n".join(lines)


def as_json(report: ContractReport) -> dict[str, Any]:
    """The JSON report's content."""
    return {
        "tool": f"buildmock {__version__}",
        "exit_code": report.exit_code,
        "reason": report.reason,
        "strict": report.strict,
        "stopped_by_budget": report.stopped_by_budget,
        "budget": report.budget,
        "apis": [
            {
                "api": run.api,
                "target": run.target,
                "read_only": run.read_only,
                "scenarios": run.result.scenarios,
                "requests": run.requests,
                "seconds": round(run.seconds, 3),
                "stop_reason": run.result.stop_reason,
                "errors": run.result.errors,
                "notes": run.notes,
                "inconclusive": run.verdict.cause,
                "verified": len(run.verdict.verified),
                "not_verified": list(run.verdict.unverified),
                "operations": operations_of(run),
            }
            for run in report.runs
        ],
        "findings": [
            {**asdict(f), "kind_title": KINDS.get(f.kind, f.kind), "curl": _curl(f)}
            for f in report.findings
        ],
    }


def as_junit(report: ContractReport) -> str:
    """JUnit XML: a suite per API, a test case per operation and phase (failed, passed, or skipped as not verified)."""
    suites = ET.Element("testsuites", name="buildmock contract")
    for run in report.runs:
        by_case: dict[tuple[str, str], list[Finding]] = defaultdict(list)
        for f in run.result.findings:
            by_case[(f.operation, f.phase)].append(f)
        cases: dict[tuple[str, str], str] = {}  # (operation, phase) -> "" or why it is skipped
        for op in (*run.verdict.verified, *run.verdict.unverified):
            phases: dict[str, Evidence | None] = {"": None}
            phases = dict(run.result.evidence.get(op) or phases)
            for phase, evidence in phases.items():
                cases[(op, phase)] = "" if evidence is not None and evidence.verified else (
                    "not verified: no check judged a 2xx response ("
                    + (_statuses(evidence.statuses) if evidence is not None else "no request sent") + ")"
                )  # fmt: skip
        for key in by_case:
            cases[key] = ""
        failed = sum(1 for key in cases if key in by_case)
        skipped = sum(1 for key, why in cases.items() if why and key not in by_case)
        suite = ET.SubElement(suites, "testsuite", name=run.api, tests=str(len(cases) + len(run.result.errors)),
                              failures=str(failed), errors=str(len(run.result.errors)), skipped=str(skipped),
                              time=f"{run.seconds:.3f}")  # fmt: skip
        for (operation, phase), why in sorted(cases.items()):
            classname = f"{run.api}.{phase}" if phase else run.api
            case = ET.SubElement(suite, "testcase", classname=classname, name=operation)
            findings = by_case.get((operation, phase), [])
            for f in findings:
                failure = ET.SubElement(
                    case, "failure", type=f.kind, message=f"{KINDS.get(f.kind, f.kind)}: {_line(f)}"
                )
                failure.text = f"{f.title}\n\n{f.message}\n\nReproduce:\n{_curl(f)}"
            if why and not findings:
                ET.SubElement(case, "skipped", message=why)
        for error in run.result.errors:
            case = ET.SubElement(suite, "testcase", classname=run.api, name="run error")
            ET.SubElement(
                case, "error", message=error.splitlines()[0] if error else ""
            ).text = error
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def as_html(report: ContractReport) -> str:
    """A self-contained HTML page: the summary table, then findings grouped by operation and kind."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(r.api)}</td><td>{e(r.target)}</td><td>{r.result.scenarios}</td><td>{r.requests}</td>"
        f"<td>{len(r.result.findings)}</td><td>{len(r.verdict.verified)}</td>"
        f"<td>{e(', '.join(r.verdict.unverified))}</td></tr>"
        for r in report.runs
    )
    body = []
    for r in report.runs:
        body.append(f"<h2>{e(r.api)}: operations</h2><table><tr><th>operation</th><th>verified</th>"
                    "<th>responses</th><th>checks that judged a 2xx body</th></tr>")  # fmt: skip
        for op in operations_of(r):
            body.append(
                f"<tr><td>{e(op['operation'])}</td><td>{'yes' if op['verified'] else 'NOT VERIFIED'}</td>"
                f"<td>{e(_statuses(op['statuses']))}</td><td>{e(', '.join(op['success_checks']))}</td></tr>"
            )
        body.append("</table>")
    notes = "".join(f"<li>{e(x)}</li>" for x in report.notes)
    for operation, kinds in grouped(report.findings).items():
        body.append(f"<h2>{e(operation)}</h2>")
        for kind, findings in kinds.items():
            body.append(f"<h3>{e(KINDS.get(kind, kind))} ({len(findings)})</h3><ul>")
            for f in findings:
                body.append(
                    f"<li><code>{e(f.path or '(response)')}</code> — spec: {e(f.expected or f.title)}; "
                    f"got: {e(f.actual or str(f.status))}<pre>{e(_curl(f))}</pre>"
                    f"<details><summary>details</summary><pre>{e(f.message)}</pre></details></li>"
                )
            body.append("</ul>")
    errors = "".join(f"<li><pre>{e(x)}</pre></li>" for x in report.errors)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>buildmock contract report</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:4px 8px}pre{background:#f6f6f6;padding:6px;white-space:pre-wrap}</style></head><body>"
        f"<h1>buildmock contract: {e(report.reason)}</h1><p>exit code {report.exit_code}"
        f"{' · strict' if report.strict else ''}</p><table><tr><th>API</th><th>target</th><th>scenarios</th>"
        f"<th>requests</th><th>findings</th><th>verified</th><th>not verified</th></tr>{rows}</table>"
        f"{'<h2>Notes</h2><ul>' + notes + '</ul>' if notes else ''}{''.join(body)}"
        f"{'<h2>Errors</h2><ul>' + errors + '</ul>' if errors else ''}</body></html>\n"
    )


def write_reports(report: ContractReport, directory: Path) -> list[Path]:
    """Write ``junit.xml``, ``report.json`` and ``report.html`` into ``directory`` (created if needed).

    The report's text was redacted when it was collected, so each format escapes it its own way here.
    """
    directory.mkdir(parents=True, exist_ok=True)
    outputs = {
        JUNIT: as_junit(report),
        JSON_REPORT: json.dumps(as_json(report), indent=2, ensure_ascii=False) + "\n",
        HTML_REPORT: as_html(report),
    }
    written = []
    for name, text in outputs.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
