"""Strict schema validation of rendered objects, offline.

Built-in kinds: the strict JSON schemas that the kubernetes-validate package bundles
(unknown fields are errors). Custom resources: the ``openAPIV3Schema`` of the exact
CRDs the chart targets (fetched and cached by ``coinstream.crds``), turned into JSON Schema with unknown fields
forbidden wherever the CRD does not say ``x-kubernetes-preserve-unknown-fields``.
CEL rules (``x-kubernetes-validations``) are not evaluated.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml
from coinstream import crds
from referencing import Registry, Resource

# ---- built-in kinds -------------------------------------------------------------


def _k8s_schema_dir(version: str) -> Path:
    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    path = base / f"v{version}-local-strict"
    if not path.is_dir():
        raise FileNotFoundError(f"kubernetes-validate has no strict schemas for {version} under {base}")
    return path


@functools.cache
def _definitions(version: str) -> Resource:
    return Resource.from_contents(json.loads((_k8s_schema_dir(version) / "_definitions.json").read_text()))


@functools.cache
def builtin_validator(version: str, api_version: str, kind: str):
    group_version = api_version.split("/")
    if len(group_version) == 1:
        suffix = group_version[0]
    else:
        suffix = f"{group_version[0].split('.')[0]}-{group_version[1]}"
    path = _k8s_schema_dir(version) / f"{kind.lower()}-{suffix}.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    # Both carry an $id; the $refs ("/api/_definitions.json#/$defs/...") resolve against them.
    registry = _definitions(version) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


# ---- custom resources -------------------------------------------------------------


class _CrdLoader(yaml.SafeLoader):
    """YAML 1.1 reads a bare ``=`` as the obsolete value tag; the API server (YAML 1.2) reads a string."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_scalar)


@functools.cache
def _fetched_crds() -> tuple[tuple[Path, ...], str]:
    """Fetched once per session; a failure too, so every test says it at once."""
    try:
        return tuple(crds.ensure()), ""
    except crds.FetchError as exc:
        return (), str(exc)


def crd_folders() -> tuple[Path, ...]:
    folders, error = _fetched_crds()
    if error:
        raise crds.ArtifactUnavailable(f"the operators' CRDs are not available: {error}")
    return folders


def _python_regex(pattern: str) -> str:
    """Go (RE2) allows a global flag group anywhere, e.g. ^(?i)x; Python wants it first."""
    for flags in ("(?i)", "(?s)", "(?m)"):
        if flags in pattern:
            pattern = flags + pattern.replace(flags, "")
    return pattern


def openapi_to_jsonschema(node, top: bool = True):
    """A CRD's structural schema as strict JSON Schema (draft 2020-12)."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(n, False) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            out[key] = {k: openapi_to_jsonschema(v, False) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = openapi_to_jsonschema(value, False) if isinstance(value, dict) else value
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [openapi_to_jsonschema(v, False) for v in value]
        elif key == "pattern":
            out[key] = _python_regex(value)
        elif key.startswith("x-kubernetes-") or key in ("nullable", "format", "description", "example", "externalDocs"):
            continue
        else:
            out[key] = copy.deepcopy(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = out.get("anyOf", []) + [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else out["type"] + ["null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields") or node.get("x-kubernetes-embedded-resource")
    if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    if top:
        out.setdefault("properties", {})["metadata"] = {"type": "object"}
    return out


@functools.cache
def crd_validators() -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    """(apiVersion, kind) -> validator, for every served version of every CRD of the chart's operators."""
    found = {}
    folders = crd_folders()
    for path in sorted(p for folder in folders for p in folder.glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=_CrdLoader):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            for version in doc["spec"]["versions"]:
                if not version.get("served"):
                    continue
                schema = openapi_to_jsonschema(version["schema"]["openAPIV3Schema"])
                jsonschema.Draft202012Validator.check_schema(schema)
                found[(f"{group}/{version['name']}", kind)] = jsonschema.Draft202012Validator(schema)
    if not found:
        raise FileNotFoundError(f"no CustomResourceDefinition under {', '.join(map(str, folders))}")
    return found


# ---- both ------------------------------------------------------------------------


def validate(doc: dict, version: str) -> list[str]:
    """Schema errors of one rendered object ([] when valid); unknown kinds are an error."""
    api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
    name = f"{kind}/{doc.get('metadata', {}).get('name', '?')}"
    validator = crd_validators().get((api_version, kind)) or builtin_validator(version, api_version, kind)
    if validator is None:
        return [f"{name}: no schema for {api_version} {kind} (neither Kubernetes {version} nor the operators' CRDs)"]
    return [
        f"{name}: {'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]


# ---- the same schemas for kubeconform ---------------------------------------------


def kubeconform_suffix(api_version: str) -> str:
    """kubeconform's {{ .KindSuffix }}: -<first label of the group>-<version>, or -<version>."""
    group, _, version = api_version.rpartition("/")
    return f"-{group.split('.')[0]}-{version}" if group else f"-{version}"


def write_kubeconform_schemas(dest: Path, version: str, kinds: set[tuple[str, str]]) -> str:
    """Self-contained schema files kubeconform can read offline (its default location is remote):
    Kubernetes' own with their $defs inlined, and the CRDs converted as above.
    Returns the -schema-location template."""
    dest.mkdir(parents=True, exist_ok=True)
    prefix = '"/api/_definitions.json#/$defs/'
    definitions = None
    for api_version, kind in sorted(kinds):
        target = dest / f"{kind.lower()}{kubeconform_suffix(api_version)}.json"
        crd = crd_validators().get((api_version, kind))
        if crd is not None:
            schema = dict(crd.schema, **{"$schema": "https://json-schema.org/draft/2020-12/schema"})
            target.write_text(json.dumps(schema))
            continue
        source = _k8s_schema_dir(version) / target.name  # kubernetes-validate uses the same names
        if not source.is_file():
            continue  # kubeconform then reports the kind as missing: an error without -ignore-missing-schemas
        if definitions is None:
            definitions = json.loads(
                (_k8s_schema_dir(version) / "_definitions.json").read_text().replace(prefix, '"#/$defs/')
            )["$defs"]
        schema = json.loads(source.read_text().replace(prefix, '"#/$defs/'))
        schema.pop("$id", None)
        schema["$defs"] = definitions
        target.write_text(json.dumps(schema))
    return str(dest) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"
