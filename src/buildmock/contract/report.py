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
from buildmock.contract.engine import Finding
from buildmock.contract.redact import Redactor

if TYPE_CHECKING:
    from buildmock.contract.runner import ContractReport

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


def summary(report: ContractReport) -> str:
    """The human summary printed after a run."""
    lines = []
    for run in report.runs:
        mode = ", read-only" if run.read_only else ""
        n = len(run.result.findings)
        lines.append(f"{run.api} ({run.target}{mode}): {run.result.scenarios} scenarios, {run.requests} requests, "
                     f"{n} finding{'s' * (n != 1)} in {run.seconds:.1f}s")  # fmt: skip
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
    if report.stopped_by_budget:
        lines.append("stopped early: --max-requests reached")
    lines.append("")
    verdict = {0: "OK", 1: "DRIFT", 2: "ERROR"}.get(report.exit_code, "?")
    lines.append(
        f"{verdict}: {report.reason}"
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
            }
            for run in report.runs
        ],
        "findings": [
            {**asdict(f), "kind_title": KINDS.get(f.kind, f.kind), "curl": _curl(f)}
            for f in report.findings
        ],
    }


def as_junit(report: ContractReport) -> str:
    """JUnit XML: a suite per API, a test case per operation with findings, a failure per finding."""
    suites = ET.Element("testsuites", name="buildmock contract")
    for run in report.runs:
        by_op: dict[str, list[Finding]] = defaultdict(list)
        for f in run.result.findings:
            by_op[f.operation].append(f)
        suite = ET.SubElement(suites, "testsuite", name=run.api, tests=str(max(len(by_op), 1)),
                              failures=str(len(by_op)), errors=str(len(run.result.errors)),
                              time=f"{run.seconds:.3f}")  # fmt: skip
        if not by_op:
            ET.SubElement(suite, "testcase", classname=run.api, name="conformance")
        for operation, findings in sorted(by_op.items()):
            case = ET.SubElement(suite, "testcase", classname=run.api, name=operation)
            for f in findings:
                failure = ET.SubElement(
                    case, "failure", type=f.kind, message=f"{KINDS.get(f.kind, f.kind)}: {_line(f)}"
                )
                failure.text = f"{f.title}\n\n{f.message}\n\nReproduce:\n{_curl(f)}"
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
        f"<td>{len(r.result.findings)}</td></tr>"
        for r in report.runs
    )
    body = []
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
        f"<th>requests</th><th>findings</th></tr>{rows}</table>{''.join(body)}"
        f"{'<h2>Errors</h2><ul>' + errors + '</ul>' if errors else ''}</body></html>\n"
    )


def write_reports(report: ContractReport, directory: Path, redactor: Redactor) -> list[Path]:
    """Write ``junit.xml``, ``report.json`` and ``report.html`` into ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    outputs = {
        JUNIT: as_junit(report),
        JSON_REPORT: json.dumps(redactor.data(as_json(report)), indent=2, ensure_ascii=False)
        + "\n",
        HTML_REPORT: as_html(report),
    }
    written = []
    for name, text in outputs.items():
        path = directory / name
        path.write_text(redactor.text(text), encoding="utf-8")
        written.append(path)
    return written
