"""Derive ``snapshots/nuon.json`` from a checkout of nuonco/nuon-python (openapi-python-client output).

Run: ``python -m tests.fidelity.derive_nuon <nuon-python checkout> <version> <commit>``. It reads the
generated sources with ``ast`` (nothing is imported or copied): each model class's attributes, their JSON
keys (from ``to_dict``), their types and whether they have a default (required when not), enum classes, and
the status, response and request models of every component-build operation in ``nuon/api``. The output holds derived
facts only: JSON Schema (draft 7) definitions of the response models and their closure, and the operations.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("snapshots") / "nuon.json"

#: An operation is a component-build operation when its success model is (a list of, or a page of) builds.
BUILD_MODEL = "ComponentBuild"

SCALARS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "Any": {},
    "datetime.datetime": {"type": "string", "format": "date-time"},
    "datetime.date": {"type": "string", "format": "date"},
}


def _split_union(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _split_union(node.left) + _split_union(node.right)
    return [node]


class Deriver:
    """Reads model and operation sources of one nuon-python checkout."""

    def __init__(self, root: Path) -> None:
        self.models = root / "nuon" / "models"
        self.api = root / "nuon" / "api"
        self.by_class: dict[str, Path] = {}
        for path in self.models.glob("*.py"):
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.ClassDef):
                    self.by_class[node.name] = path
        self.definitions: dict[str, Any] = {}

    def schema(self, node: ast.expr) -> dict[str, Any]:
        """JSON Schema of one annotation (``str | None | Unset``, ``list[X]``, a model name, …)."""
        members = [m for m in _split_union(node) if ast.unparse(m) != "Unset"]
        nullable = any(ast.unparse(m) == "None" for m in members)
        members = [m for m in members if ast.unparse(m) != "None"]
        schemas = [self._single(m) for m in members]
        result = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        if nullable:
            result = {"anyOf": [result, {"type": "null"}]}
        return result

    def _single(self, node: ast.expr) -> dict[str, Any]:
        text = ast.unparse(node)
        if text in SCALARS:
            return dict(SCALARS[text])
        if isinstance(node, ast.Subscript):
            outer = ast.unparse(node.value)
            if outer == "list":
                return {"type": "array", "items": self.schema(node.slice)}
            if outer == "dict" and isinstance(node.slice, ast.Tuple):
                return {"type": "object", "additionalProperties": self.schema(node.slice.elts[1])}
        if text in self.by_class:
            self.define(text)
            return {"$ref": f"#/definitions/{text}"}
        raise ValueError(f"unknown annotation {text}")

    def define(self, name: str) -> None:
        """Add model or enum ``name`` (and everything it refers to) to the definitions."""
        if name in self.definitions:
            return
        self.definitions[name] = {}
        tree = ast.parse(self.by_class[name].read_text())
        cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
        bases = {ast.unparse(b) for b in cls.bases}
        if "Enum" in bases:
            values = [
                ast.literal_eval(s.value)
                for s in cls.body
                if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)
            ]
            kind = "integer" if "int" in bases or "IntEnum" in bases else "string"
            self.definitions[name] = {"type": kind, "enum": values}
            return
        keys = self._json_keys(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        extra: dict[str, Any] | bool = False
        for stmt in cls.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            attr = stmt.target.id
            if attr == "additional_properties":
                extra = self._single(stmt.annotation).get("additionalProperties", {})
                continue
            key = keys.get(attr, attr)
            properties[key] = self.schema(stmt.annotation)
            if stmt.value is None:
                required.append(key)
        definition: dict[str, Any] = {"type": "object"}
        if properties:
            definition["properties"] = properties
        if required:
            definition["required"] = required
        if not properties:
            # A pure map. Models with properties keep unknown keys too (Nuon's schema leaves them open), but
            # the strict harness closes those: a field Nuon's schema lacks is a mismatch.
            definition["additionalProperties"] = extra if extra is not False else {}
        self.definitions[name] = definition

    @staticmethod
    def _json_keys(cls: ast.ClassDef) -> dict[str, str]:
        """Attribute -> JSON key, read from the ``field_dict`` assignments of ``to_dict``."""
        keys: dict[str, str] = {}
        for node in ast.walk(cls):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Subscript)
                and ast.unparse(node.targets[0].value) == "field_dict"
                and isinstance(node.value, ast.Name)
            ):
                keys[node.value.id] = ast.literal_eval(node.targets[0].slice)
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "field_dict.update":
                arg = node.args[0] if node.args else None
                if isinstance(arg, ast.Dict):
                    for k, v in zip(arg.keys, arg.values, strict=True):
                        if k is not None and isinstance(v, ast.Name):
                            keys[v.id] = ast.literal_eval(k)
        return keys

    def operation(self, path: Path) -> tuple[str, dict[str, Any]] | None:
        """``("METHOD /url", facts)`` of one ``nuon/api`` module when it is a component-build operation."""
        tree = ast.parse(path.read_text())
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        statuses: dict[int, str] = {}
        for node in ast.walk(functions["_parse_response"]):
            if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
                status = ast.literal_eval(node.test.comparators[0])
                calls = [
                    c
                    for c in ast.walk(node)
                    if isinstance(c, ast.Call) and ast.unparse(c.func).endswith(".from_dict")
                ]
                if not calls:  # a scalar or empty answer
                    statuses[status] = "-"
                    continue
                model = ast.unparse(calls[0].func).removesuffix(".from_dict")
                is_list = any(isinstance(n, ast.For) for n in node.body)
                statuses[status] = f"{model}[]" if is_list else model
        success = min(statuses)
        model = statuses[success]
        if BUILD_MODEL not in model:
            return None
        request = {}
        for node in ast.walk(functions["_get_kwargs"]):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value in ("method", "url"):
                        if isinstance(value, ast.Call):  # "/v1/…/{id}".format(…)
                            value = value.func.value  # type: ignore[attr-defined]
                        request[key.value] = ast.literal_eval(value)
        errors = sorted({m for s, m in statuses.items() if s >= 400})
        entry: dict[str, Any] = {
            "status": success,
            "schema": model,
            "error_statuses": sorted(s for s in statuses if s >= 400),
            "client_module": str(path.relative_to(self.api.parent.parent)),
        }
        if errors:
            entry["error_schema"] = errors[0]
        kwargs = functions["_get_kwargs"].args
        entry["parameters"] = {a.arg: {"in": "path", "required": True} for a in kwargs.args}
        for arg, default in zip(kwargs.kwonlyargs, kwargs.kw_defaults, strict=True):
            if arg.arg != "body":
                fact: dict[str, Any] = {"in": "query", "required": default is None}
                if isinstance(default, ast.Constant):
                    fact["default"] = default.value
                entry["parameters"][arg.arg] = fact
        body = next((a for a in kwargs.args + kwargs.kwonlyargs if a.arg == "body"), None)
        if body is not None and body.annotation is not None:
            entry["request"] = ast.unparse(body.annotation)
            self.define(entry["request"])
        for name in [model.removesuffix("[]"), *errors]:
            self.define(name)
        if model.endswith("[]"):
            self.definitions[model] = {
                "type": "array",
                "items": {"$ref": f"#/definitions/{model[:-2]}"},
            }
        return f"{request['method'].upper()} {request['url']}", entry


def derive(root: Path, version: str, commit: str) -> dict[str, Any]:
    """The snapshot document for the checkout at ``root``."""
    deriver = Deriver(root)
    found = (
        deriver.operation(path)
        for path in sorted(deriver.api.rglob("*.py"))
        if path.name != "__init__.py"
    )
    operations = dict(sorted(op for op in found if op is not None))
    previous = json.loads(SNAPSHOT.read_text()) if SNAPSHOT.exists() else {}
    return {
        "source": {
            "name": "nuonco/nuon-python",
            "version": version,
            "commit": commit,
            "url": f"https://github.com/nuonco/nuon-python/tree/{commit}",
            "derived": (
                "python -m tests.fidelity.derive_nuon: ast reading of nuon/models (attributes, JSON keys from"
                " to_dict, annotations, defaults -> required; Enum classes -> enum) and nuon/api (status and"
                " model parsed by _parse_response) of the generated client; the spec Nuon serves at /oapi/v3"
                " is what the generator read; an operation is a build operation when its success model is a component"
                " build, a list of them or a page of them"
            ),
        },
        "operations": operations,
        "not_modelled": previous.get("not_modelled", {}),
        "definitions": dict(sorted(deriver.definitions.items())),
    }


def main(argv: list[str]) -> None:
    """Write the snapshot from ``argv``: checkout, version, commit."""
    root, version, commit = Path(argv[0]), argv[1], argv[2]
    SNAPSHOT.write_text(json.dumps(derive(root, version, commit), indent=1, sort_keys=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
