"""Validation helpers shared by the Python suite: load generated manifests,
validate custom resources strictly against the CRDs in ../shared/crds (as an
API server would, treating an undeclared field as an error), and run
kubernetes-validate on built-in kinds."""

import copy
import pathlib
import subprocess
import sys

import jsonschema
import yaml

from conftest import CRDS

BUILTIN_GROUPS = ("v1", "apps/v1", "policy/v1", "networking.k8s.io/v1")


def load_objects(out_dir):
    """Every object of a build directory: [(path, object)], in file order."""
    objects = []
    for path in sorted(pathlib.Path(out_dir).glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                objects.append((path, doc))
    return objects


def _strict(schema):
    """Copy of an OpenAPI v3 schema where objects with declared properties
    reject undeclared ones, unless they preserve unknown fields."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def crd_schemas():
    """{(apiVersion, kind): strict schema} for every CRD in ../shared/crds."""
    schemas = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group = crd["spec"]["group"]
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = _strict(version["schema"]["openAPIV3Schema"])
            # The API server checks metadata itself; the CRD declares it loosely.
            schema.setdefault("properties", {})["apiVersion"] = {"type": "string"}
            schema["properties"]["kind"] = {"type": "string"}
            schema["properties"]["metadata"] = {"type": "object"}
            schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def crd_errors(obj, schemas=None):
    """Validation errors of one custom resource (a list of strings)."""
    schemas = schemas or crd_schemas()
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key not in schemas:
        return [f"no CRD for {key}"]
    validator = jsonschema.Draft7Validator(schemas[key])
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]


def kubernetes_validate(paths, version):
    """Runs kubernetes-validate --strict; returns (returncode, output)."""
    exe = pathlib.Path(sys.executable).with_name("kubernetes-validate")
    proc = subprocess.run(
        [str(exe), "--strict", "--quiet", "-k", version, *map(str, paths)],
        capture_output=True,
        text=True,
    )
    return proc.returncode, proc.stdout + proc.stderr
