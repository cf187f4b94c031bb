"""Regenerate ``snapshots/stainless.json`` from Stainless's TypeScript SDK (maintenance tool, not a test).

``python -m tests.fidelity.refresh_stainless [VERSION]`` packs ``@stainless-api/sdk@VERSION`` from npm,
turns the build resources' response types into JSON Schema with ``ts-json-schema-generator`` (also
from npm), reads the operations from the resource classes, and rewrites the snapshot; ``git diff``
then shows what the vendor changed. Needs Node.js, npm and the npm registry.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("snapshots") / "stainless.json"
PACKAGE = "@stainless-api/sdk"
GENERATOR = "ts-json-schema-generator@2.10.0"

#: Response type of each operation, by the SDK method that calls it.
RESPONSES = {
    "builds.create": "Build",
    "builds.retrieve": "Build",
    "builds.list": "BuildsPage",
    "builds.compare": "BuildCompareResponse",
    "builds.diagnostics.list": "BuildDiagnosticsPage",
    "builds.targetOutputs.retrieve": "TargetOutputRetrieveResponse",
}

ENTRY = """
import type { Build, BuildCompareResponse } from './src/resources/builds/builds';
import type { BuildDiagnostic } from './src/resources/builds/diagnostics';
import type { TargetOutputRetrieveResponse } from './src/resources/builds/target-outputs';
import type { PageResponse } from './src/core/pagination';
export type BuildsPage = PageResponse<Build>;
export type BuildDiagnosticsPage = PageResponse<BuildDiagnostic>;
export type Roots = {
  a: Build; b: BuildCompareResponse; c: BuildsPage; d: BuildDiagnosticsPage;
  e: TargetOutputRetrieveResponse;
};
"""

_CALL = re.compile(
    r"^  (\w+)\([^)]*\)[^{]*\{\n(?:.*\n)*?.*?this\._client\.(get|post|put|patch|delete|getAPIList)"
    r"\((?:path)?[`'](/[^`']*)[`']",
    re.MULTILINE,
)


def _run(*args: str, cwd: Path) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def _operations(src: Path) -> dict[str, str]:
    """``"METHOD /path"`` -> SDK method name, for every resource method of the SDK."""
    found = {}
    for file in sorted((src / "resources").rglob("*.ts")):
        text = file.read_text()
        resource = file.relative_to(src / "resources").with_suffix("").as_posix()
        resource = re.sub(r"(\w+)/\1$", r"\1", resource)  # builds/builds.ts is ``builds``
        resource = re.sub(r"-(\w)", lambda m: m.group(1).upper(), resource.replace("/", "."))
        for name, verb, route in _CALL.findall(text):
            method = "GET" if verb == "getAPIList" else verb.upper()
            route = re.sub(r"\$\{(\w+)\}", lambda m: "{" + m.group(1) + "}", route)
            found[f"{method} {route.replace('{buildID}', '{buildId}')}"] = f"{resource}.{name}"
    return found


def _definitions(root: Path, npx: str) -> dict[str, Any]:
    """JSON Schema of every response type the build resources return."""
    # The generator reads a nested interface named ``URL`` as the global URL type; rename it.
    outputs = root / "src" / "resources" / "builds" / "target-outputs.ts"
    outputs.write_text(re.sub(r"\bURL\b(?=[ ;\n{])", "UrlOutput", outputs.read_text()))
    (root / "entry.ts").write_text(ENTRY)
    raw = _run(npx, "--yes", GENERATOR, "--path", "entry.ts", "--type", "Roots", "--no-type-check",
               "--expose", "export", cwd=root)  # fmt: skip
    text = raw.replace("UrlOutput", "URL")
    for generic, name in (
        ("PageResponse%3CBuild%3E", "BuildsPage"),
        ("PageResponse<Build>", "BuildsPage"),
        ("PageResponse%3CBuildDiagnostic%3E", "BuildDiagnosticsPage"),
        ("PageResponse<BuildDiagnostic>", "BuildDiagnosticsPage"),
    ):
        text = text.replace(generic, name)
    definitions: dict[str, Any] = json.loads(text)["definitions"]
    definitions.pop("Roots", None)
    for page in ("BuildsPage", "BuildDiagnosticsPage"):
        # The TS page type declares both fields; the Go SDK marks neither ``api:"required"`` and
        # both SDKs end paging on a missing cursor, so only ``data`` is required (see "source").
        definitions[page]["required"] = ["data"]
    return definitions


def main(version: str = "0.5.0") -> None:
    """Pack the SDK, derive the snapshot, write it."""
    npm, npx = shutil.which("npm"), shutil.which("npx")
    if not npm or not npx:
        sys.exit("npm and npx are needed")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tarball = _run(npm, "pack", "--silent", f"{PACKAGE}@{version}", cwd=work).strip()
        _run("tar", "xzf", tarball, cwd=work)
        root = work / "package"
        operations = _operations(root / "src")
        definitions = _definitions(root, npx)
    old = json.loads(SNAPSHOT.read_text()) if SNAPSHOT.exists() else {}
    build_ops = {op: m for op, m in operations.items() if m.startswith("builds.")}
    snapshot = {
        "source": {**old.get("source", {}), "name": f"npm {PACKAGE}", "version": version},
        "operations": {
            op: {"status": 200, "schema": RESPONSES.get(method, "?"), "sdk": method}
            for op, method in sorted(build_ops.items())
        },
        "not_modelled": {
            op: f"{method}: not a build operation (buildmock mocks build APIs)"
            for op, method in sorted(operations.items())
            if op not in build_ops
        },
        "definitions": dict(sorted(definitions.items())),
    }
    SNAPSHOT.write_text(json.dumps(snapshot, indent=1) + "\n")
    print(f"{SNAPSHOT}: {len(build_ops)} build operations, {len(definitions)} definitions")


if __name__ == "__main__":
    main(*sys.argv[1:2])
