#!/usr/bin/env python3
"""Derives Runnel's compact protocol schema files from Kafka's JSON message specs.

Reads ../shared/kafka-protocol/messages/*.json (or the folder given with --specs)
and writes one protocol/schema/<name>.schema per message: names, types, version
ranges, nullability, tags and defaults only. The build turns these committed files
into C++ (see gen_cpp.py), so a fresh clone never needs the specs themselves.

Schema grammar (one item per line, nesting by two-space indentation):
  file    := header-line { struct-block } { field-line }
  header  := KIND NAME [key=N] valid=RANGE flexible=RANGE [unstable-latest]
  struct  := "struct" NAME v=RANGE                  (a common struct; fields nested)
  field   := "field" NAME TYPE v=RANGE [null=RANGE] [tag=N tagv=RANGE]
             [flex=RANGE] [default=JSON] [zerocopy]  (an inline struct's fields nested)
  RANGE   := "none" | N "+" | N "-" M
"""
import argparse
import json
import os
import re
import sys

KIND_BY_TYPE = {"request": "request", "response": "response", "header": "header", "data": "data"}


def strip_comments(text):
    return re.sub(r"^\s*//.*$", "", text, flags=re.M)


def norm_range(r):
    r = (r or "none").strip()
    if r == "none":
        return "none"
    if r.endswith("+"):
        return f"{int(r[:-1])}+"
    if "-" in r:
        a, b = r.split("-")
        return f"{int(a)}-{int(b)}"
    return f"{int(r)}-{int(r)}"


def field_lines(field, depth):
    pad = "  " * depth
    parts = ["field", field["name"], field["type"], "v=" + norm_range(field.get("versions"))]
    if "nullableVersions" in field:
        parts.append("null=" + norm_range(field["nullableVersions"]))
    if "tag" in field:
        parts.append(f"tag={int(field['tag'])}")
        parts.append("tagv=" + norm_range(field.get("taggedVersions")))
    if "flexibleVersions" in field:
        parts.append("flex=" + norm_range(field["flexibleVersions"]))
    if "default" in field:
        parts.append("default=" + json.dumps(str(field["default"]).strip()))
    if field.get("zeroCopy"):
        parts.append("zerocopy")
    out = [pad + " ".join(parts)]
    for sub in field.get("fields", []):
        out.extend(field_lines(sub, depth + 1))
    return out


def derive(spec):
    kind = KIND_BY_TYPE[spec["type"]]
    head = [kind, spec["name"]]
    if "apiKey" in spec:
        head.append(f"key={int(spec['apiKey'])}")
    head.append("valid=" + norm_range(spec.get("validVersions")))
    head.append("flexible=" + norm_range(spec.get("flexibleVersions")))
    if spec.get("latestVersionUnstable"):
        head.append("unstable-latest")
    lines = ["# Derived from Kafka's message specs (Apache-2.0) by tools/protogen/derive_schema.py.",
             " ".join(head)]
    for cs in spec.get("commonStructs", []):
        lines.append(f"struct {cs['name']} v={norm_range(cs.get('versions'))}")
        for f in cs["fields"]:
            lines.extend(field_lines(f, 1))
    for f in spec.get("fields", []):
        lines.extend(field_lines(f, 0))
    return "\n".join(lines) + "\n"


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specs", default=os.path.join(root, "..", "shared", "kafka-protocol", "messages"))
    ap.add_argument("--out", default=os.path.join(root, "protocol", "schema"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    written = 0
    for name in sorted(os.listdir(args.specs)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(args.specs, name)) as f:
            spec = json.loads(strip_comments(f.read()))
        if spec["type"] not in KIND_BY_TYPE:
            sys.exit(f"{name}: unknown message type {spec['type']!r}")
        with open(os.path.join(args.out, snake(spec["name"]) + ".schema"), "w") as f:
            f.write(derive(spec))
        written += 1
    print(f"derive_schema: wrote {written} schema files to {args.out}")


if __name__ == "__main__":
    main()
