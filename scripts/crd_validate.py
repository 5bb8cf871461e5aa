#!/usr/bin/env python3
"""Validate Kubernetes custom resources offline against the openAPIV3Schema of their CRDs.

Why: the example AnalysisTemplates, Rollouts, Canaries and MetricTemplates must be accepted by
the real Argo Rollouts / Flagger CRDs, and no API server runs here. The CRD schemas are turned
into JSON Schema (draft-07) and checked with the `jsonschema` package.

Strict mode (default) adds `additionalProperties: false` to every object schema that lists
`properties` and does not carry `x-kubernetes-preserve-unknown-fields`, so a misspelled field is
reported the way `kubectl apply --validate=strict` would report it, instead of being pruned.

Usage: crd_validate.py --crd CRD.yaml [--crd ...] [--self-test] RESOURCE.yaml...
Exit status: 0 when every document validated, 1 otherwise.
"""
import argparse
import copy
import sys

import jsonschema
import yaml


def convert(node, strict):
    """Translate one OpenAPI v3 (Kubernetes structural) schema node to JSON Schema."""
    if isinstance(node, list):
        return [convert(n, strict) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: convert(v, strict) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = convert(value, strict)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = convert(value, strict)
        elif key.startswith("x-kubernetes-") or key in ("nullable", "format"):
            continue
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if (
        strict
        and not preserve
        and "properties" in out
        and "additionalProperties" not in out
    ):
        out["additionalProperties"] = False
    return out


def load_crds(paths, strict):
    """Map (group, version, kind) to a JSON Schema for every served version of every CRD."""
    table = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for doc in yaml.safe_load_all(handle):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                spec = doc["spec"]
                for version in spec.get("versions", []):
                    schema = version.get("schema", {}).get("openAPIV3Schema")
                    if not schema or not version.get("served", True):
                        continue
                    converted = convert(schema, strict)
                    converted["$schema"] = "http://json-schema.org/draft-07/schema#"
                    # metadata is validated by the API server itself, not by the CRD schema.
                    converted.setdefault("properties", {})["metadata"] = {"type": "object"}
                    key = (spec["group"], version["name"], spec["names"]["kind"])
                    table[key] = converted
    return table


def schema_for(table, doc):
    api_version = doc.get("apiVersion", "")
    group, _, version = api_version.rpartition("/")
    return table.get((group, version, doc.get("kind")))


def errors_for(table, doc):
    schema = schema_for(table, doc)
    if schema is None:
        return None
    validator = jsonschema.Draft7Validator(schema)
    return [
        "/".join(str(p) for p in err.absolute_path) + ": " + err.message
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    ]


def self_test(table, docs):
    """Prove the check is not vacuous: a typo'd copy of each validated document must be rejected."""
    failures = 0
    for path, doc in docs:
        broken = copy.deepcopy(doc)
        broken.setdefault("spec", {})["thisFieldDoesNotExist"] = True
        if not errors_for(table, broken):
            print(f"SELF-TEST FAIL {path}: {doc['kind']} with an unknown spec field was accepted")
            failures += 1
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crd", action="append", required=True, help="CRD YAML file")
    parser.add_argument("--no-strict", action="store_true", help="allow unknown fields")
    parser.add_argument("--self-test", action="store_true", help="also check typos are caught")
    parser.add_argument("resources", nargs="+")
    args = parser.parse_args()

    table = load_crds(args.crd, strict=not args.no_strict)
    if not table:
        print("no CRD schemas found", file=sys.stderr)
        return 1
    failures = 0
    checked = []
    for path in args.resources:
        with open(path, encoding="utf-8") as handle:
            docs = [d for d in yaml.safe_load_all(handle) if d]
        for doc in docs:
            name = f"{path}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            errs = errors_for(table, doc)
            if errs is None:
                print(f"FAIL {name}: no CRD schema for {doc.get('apiVersion')} {doc.get('kind')}")
                failures += 1
            elif errs:
                failures += 1
                print(f"FAIL {name}")
                for err in errs:
                    print(f"    {err}")
            else:
                print(f"ok   {name}")
                checked.append((path, doc))
    if args.self_test:
        failures += self_test(table, checked)
    print(f"{len(checked)} resource(s) valid, {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
