#!/usr/bin/env python3
"""Self-check for spec/003_lekobookings.yaml (restored from a flattened seed).

Usage (from the repo root, or anywhere):
    python3 scripts/check_restored.py [YAML] [SEED] [--report]

Defaults (resolved relative to the repo root = parent of this script's dir):
    YAML = spec/003_lekobookings.yaml
    SEED = spec/seeds/003_d11363c82bcf96cc.txt (the repository's verbatim copy)

Checks:
  1. whitespace-split token sequence of YAML == that of SEED
  2. YAML parses; prints operationIds under paths and component schema names
  3. a few structural assertions (required/properties placement etc.)
With --report, also prints path+method -> operationId, parameters, response codes.
Exits non-zero on any mismatch.
"""
import os
import sys

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_YAML = os.path.join(REPO_ROOT, "spec", "003_lekobookings.yaml")
DEFAULT_SEED = os.path.join(REPO_ROOT, "spec", "seeds", "003_d11363c82bcf96cc.txt")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check_tokens(yaml_path, seed_path):
    with open(yaml_path, encoding="utf-8") as f:
        got = f.read().split()
    with open(seed_path, encoding="utf-8") as f:
        want = f.read().split()
    if got != want:
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                fail("token %d differs: yaml=%r seed=%r" % (i, g, w))
        fail("token count differs: yaml=%d seed=%d" % (len(got), len(want)))
    print("tokens: OK (%d tokens identical)" % len(got))


def structural_checks(doc):
    errs = []
    exp_top = ["openapi", "info", "servers", "security", "tags", "paths", "components"]
    if list(doc) != exp_top:
        errs.append("top-level keys %r != %r" % (list(doc), exp_top))
    comp = doc.get("components", {})
    if list(comp) != ["securitySchemes", "parameters", "schemas", "responses"]:
        errs.append("components keys: %r" % list(comp))
    s = comp.get("schemas", {})
    for name, sch in s.items():
        if "required" in sch and "properties" in sch:
            missing = [r for r in sch["required"] if r not in sch["properties"]]
            if missing:
                print("note: schema %s requires non-declared properties %r" % (name, missing))
        for pname, p in (sch.get("properties") or {}).items():
            if not isinstance(p, dict):
                errs.append("schema %s property %s is not a mapping" % (name, pname))
            elif pname != "required" and "required" in p and isinstance(p["required"], list):
                errs.append("schema %s: 'required' list landed inside property %s" % (name, pname))
    b = s.get("Booking", {})
    if not (isinstance(b.get("required"), list) and "properties" in b):
        errs.append("Booking: required not sibling of properties")
    if "status" not in s.get("BookingOrder", {}).get("required", []):
        errs.append("BookingOrder.required lacks status")
    r = s.get("BookEventErrorResponse", {}).get("allOf", [])
    ok = (len(r) == 2 and r[0] == {"$ref": "#/components/schemas/Error"}
          and r[1].get("type") == "object"
          and r[1]["properties"]["errors"]["type"] == "array"
          and r[1]["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/BookEventError"})
    if not ok:
        errs.append("BookEventErrorResponse shape unexpected: %r" % r)
    resp = comp.get("responses", {})
    if sorted(resp) != ["400", "403", "404"]:
        errs.append("components.responses keys %r" % list(resp))
    for code, rv in resp.items():
        mt = rv.get("content", {}).get("application/json", {})
        if mt.get("schema") != {"$ref": "#/components/schemas/Errors"} or "example" not in mt:
            errs.append("components.responses.%s shape unexpected: %r" % (code, rv))
    for path, item in doc.get("paths", {}).items():
        for m, op in item.items():
            if m not in METHODS:
                errs.append("path %s has non-method key %r" % (path, m))
                continue
            for k in ("operationId", "responses"):
                if k not in op:
                    errs.append("%s %s lacks %s" % (m, path, k))
    for name, sch in s.items():
        for k in ("pattern", "example", "description"):
            if k in sch and not isinstance(sch[k], str):
                errs.append("schema %s.%s parsed as %s" % (name, k, type(sch[k]).__name__))
    return errs


def report(doc):
    print("\n== operations ==")
    for path, item in doc["paths"].items():
        for m, op in item.items():
            params = []
            for p in op.get("parameters", []):
                params.append(p["$ref"] if "$ref" in p else "%s(in=%s)" % (p["name"], p["in"]))
            rb = op.get("requestBody")
            rbs = ""
            if rb:
                sch = rb["content"]["application/json"]["schema"]
                rbs = sch.get("$ref") or "inline %s required=%s" % (sch.get("type"), sch.get("required"))
            print("%-6s %-32s %s" % (m.upper(), path, op["operationId"]))
            print("         params:    %s" % ", ".join(params))
            if rbs:
                print("         body:      %s" % rbs)
            print("         responses: %s" % ", ".join(
                "%s%s" % (c, "->" + r["$ref"] if "$ref" in r else "") for c, r in op["responses"].items()))
            if "security" in op:
                print("         security:  %s" % op["security"])
    print("\n== schemas: required / properties ==")
    for name, sch in doc["components"]["schemas"].items():
        if "properties" in sch or "required" in sch or "allOf" in sch:
            print("%-26s required=%s" % (name, sch.get("required")))
            if "properties" in sch:
                print("%-26s properties=%s" % ("", list(sch["properties"])))
            if "allOf" in sch:
                print("%-26s allOf=%s" % ("", sch["allOf"]))
    print("\n== components.responses ==")
    for code, rv in doc["components"]["responses"].items():
        mt = rv["content"]["application/json"]
        print("%s: schema=%s example=%s" % (code, mt["schema"], mt["example"]))


def main(argv):
    want_report = "--report" in argv
    args = [a for a in argv if a != "--report"]
    yaml_path = args[0] if len(args) > 0 else DEFAULT_YAML
    seed_path = args[1] if len(args) > 1 else DEFAULT_SEED
    check_tokens(yaml_path, seed_path)
    with open(yaml_path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    ops = [op["operationId"] for item in doc["paths"].values()
           for m, op in item.items() if m in METHODS]
    print("operationIds (%d): %s" % (len(ops), ops))
    schemas = list(doc["components"]["schemas"])
    print("component schemas (%d): %s" % (len(schemas), schemas))
    errs = structural_checks(doc)
    if want_report:
        report(doc)
    if errs:
        for e in errs:
            print("FAIL: " + e)
        return 1
    print("structure: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
