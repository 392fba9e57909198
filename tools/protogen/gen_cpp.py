#!/usr/bin/env python3
"""Generates C++ message codecs from Runnel's protocol/schema/*.schema files.

Usage: gen_cpp.py SCHEMA_DIR OUT_DIR
SCHEMA_DIR's *.schema files and those of its immediate subdirectories are read.
Writes OUT_DIR/protocol/messages/<api>.h and .cc (one pair per API key, holding
its request and response; one pair per header or data type), api_table.h/.cc
(the list of APIs, their versions and header versions), all_messages.h, and
OUT_DIR/protocol/messages/testing/<api>_random.cc (random fill, for tests).
Files are only rewritten when their content changes, to keep rebuilds short.
"""
import json
import os
import re
import shlex
import sys

CPP_KEYWORDS = {"default", "class", "new", "delete", "operator", "template", "this", "private",
                "public", "protected", "namespace", "union", "register", "auto", "int", "long",
                "short", "char", "bool", "float", "double", "void", "return", "case", "switch"}
INT_TYPES = {"int8": "int8_t", "int16": "int16_t", "uint16": "uint16_t", "int32": "int32_t",
             "uint32": "uint32_t", "int64": "int64_t", "float64": "double", "bool": "bool"}
SCALARS = set(INT_TYPES) | {"string", "bytes", "records", "uuid"}


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


class Range:
    def __init__(self, text):
        self.text = text
        if text == "none":
            self.lo, self.hi = None, None
        elif text.endswith("+"):
            self.lo, self.hi = int(text[:-1]), 32767
        else:
            a, b = text.split("-")
            self.lo, self.hi = int(a), int(b)

    def empty(self):
        return self.lo is None

    def contains(self, v):
        return not self.empty() and self.lo <= v <= self.hi

    def cond(self, var="schema_version", within=None):
        """A C++ condition for `var` in this range, simplified against the range `within`."""
        if self.empty():
            return "false"
        parts = []
        if within is None or self.lo > within[0]:
            parts.append(f"{var} >= {self.lo}")
        if self.hi != 32767 and (within is None or self.hi < within[1]):
            parts.append(f"{var} <= {self.hi}")
        return " && ".join(parts) if parts else "true"


class Field:
    def __init__(self, attrs, children):
        self.name = attrs["name"]
        self.cname = snake(self.name)
        if self.cname in CPP_KEYWORDS:
            self.cname += "_"
        self.type = attrs["type"]
        self.versions = Range(attrs["v"])
        self.nullable = Range(attrs.get("null", "none"))
        self.tag = int(attrs["tag"]) if "tag" in attrs else None
        self.tagged = Range(attrs.get("tagv", "none"))
        self.flex_override = Range(attrs["flex"]) if "flex" in attrs else None
        self.default = attrs.get("default")
        self.children = children
        self.is_array = self.type.startswith("[]")
        self.base = self.type[2:] if self.is_array else self.type
        self.is_struct = self.base not in SCALARS


class Struct:
    def __init__(self, name, fields, versions):
        self.name = name
        self.fields = fields
        self.versions = versions
        self.cname = None  # set by the message, which resolves clashes


class Message:
    def __init__(self, path):
        self.path = path
        self.structs = {}  # spec name -> Struct
        self.order = []    # definition order (dependencies first)
        lines = []
        with open(path) as f:
            for raw in f:
                if not raw.strip() or raw.lstrip().startswith("#"):
                    continue
                depth = (len(raw) - len(raw.lstrip(" "))) // 2
                lines.append((depth, shlex.split(raw.strip())))
        head = lines[0][1]
        self.kind, self.name = head[0], head[1]
        opts = dict(p.split("=", 1) for p in head[2:] if "=" in p)
        self.api_key = int(opts["key"]) if "key" in opts else None
        self.valid = Range(opts["valid"])
        self.flexible = Range(opts["flexible"])
        self.unstable_latest = "unstable-latest" in head
        self.cname = snake(self.name)
        pos = 1
        top_fields = []
        common = []
        while pos < len(lines):
            depth, toks = lines[pos]
            assert depth == 0, (path, toks)
            if toks[0] == "struct":
                attrs = dict(p.split("=", 1) for p in toks[2:])
                pos, fields = self._parse_fields(lines, pos + 1, 1)
                common.append(Struct(toks[1], fields, Range(attrs["v"])))
            else:
                pos, fields = self._parse_fields(lines, pos, 0)
                top_fields.extend(fields)
        for s in common:
            self._register(s)
        self.root = Struct(self.name, top_fields, self.valid)
        self._collect(self.root)
        self.root.cname = self.cname
        self._name_structs()

    def _parse_fields(self, lines, pos, depth):
        fields = []
        while pos < len(lines) and lines[pos][0] >= depth:
            d, toks = lines[pos]
            if d > depth or toks[0] != "field":
                break
            attrs = {"name": toks[1], "type": toks[2]}
            for p in toks[3:]:
                if "=" in p:
                    k, v = p.split("=", 1)
                    attrs[k] = v
                else:
                    attrs[p] = True
            pos, children = self._parse_fields(lines, pos + 1, depth + 1)
            fields.append(Field(attrs, children))
        return pos, fields

    def _register(self, struct):
        assert struct.name not in self.structs, (self.path, struct.name)
        self.structs[struct.name] = struct

    def _collect(self, struct):
        for f in struct.fields:
            if f.is_struct and f.children:
                self._register(Struct(f.base, f.children, f.versions))
                self._collect(self.structs[f.base])

    def _name_structs(self):
        field_names = set()

        def walk(s):
            for f in s.fields:
                field_names.add(f.cname)
        for s in list(self.structs.values()) + [self.root]:
            walk(s)
        for s in self.structs.values():
            cname = snake(s.name)
            if cname in field_names or cname == self.cname:
                cname += "_data"
            s.cname = cname
        # Order: a struct after every struct its fields use.
        done = set()

        def visit(s):
            if s.name in done:
                return
            done.add(s.name)
            for f in s.fields:
                if f.is_struct:
                    visit(self.structs[f.base])
            self.order.append(s)
        for s in self.structs.values():
            visit(s)
        self.order.append(self.root)


def cpp_default(f):
    """The C++ initializer (inside braces) of a field's default value; '' value-initializes."""
    d = f.default
    nullable = not f.nullable.empty() and (f.is_array or f.is_struct or f.base in ("string", "bytes", "records"))
    if nullable:
        # As in Kafka, a nullable field is null by default only when its default says so.
        if d == "null":
            return ""
        if f.base == "string" and d not in (None, ""):
            return "std::in_place, " + json.dumps(d)
        return "std::in_place"
    if f.is_array or f.is_struct or f.base in ("bytes", "records", "uuid"):
        return ""
    if f.base == "string":
        return "" if d in (None, "", "null") else json.dumps(d)
    if d is None:
        return ""
    if f.base == "bool":
        return "true" if d.lower() == "true" else ""
    if f.base == "float64":
        return d
    v = int(d, 16) if d.lower().startswith("0x") else int(d)
    if f.base == "int64" and v == -(2 ** 63):
        return "INT64_MIN"
    if f.base == "int32" and v == -(2 ** 31):
        return "INT32_MIN"
    return str(v) if v != 0 else ""


def is_null_default(f):
    return f.default == "null" and not f.nullable.empty()


class Gen:
    def __init__(self, msg):
        self.m = msg

    def ctype(self, f, elem=False):
        base = f.base
        if f.is_struct:
            t = self.m.structs[base].cname
        elif base in INT_TYPES:
            t = INT_TYPES[base]
        elif base == "string":
            t = "std::string"
        elif base in ("bytes", "records"):
            t = "bytes"
        elif base == "uuid":
            t = "uuid"
        else:
            raise SystemExit(f"{self.m.path}: unknown type {base}")
        if elem:
            return t
        if f.is_array:
            t = f"std::vector<{t}>"
        nullable = not f.nullable.empty() and (f.is_array or f.is_struct or base in ("string", "bytes", "records"))
        if nullable:
            t = f"std::optional<{t}>"
        return t

    def nullable_ever(self, f):
        return not f.nullable.empty() and (f.is_array or f.is_struct or f.base in ("string", "bytes", "records"))

    # ---- declarations
    def decl_struct(self, s, out, indent):
        p = " " * indent
        out.append(f"{p}struct {s.cname} {{")
        for f in s.fields:
            init = cpp_default(f)
            out.append(f"{p}    {self.ctype(f)} {f.cname}{{{init}}};")
        out.append(f"{p}    tagged_fields unknown_tags;")
        out.append("")
        out.append(f"{p}    void encode(writer& w, int16_t version) const;")
        out.append(f"{p}    void decode(reader& r, int16_t version);")
        out.append(f"{p}    bool operator==(const {s.cname}&) const = default;")
        out.append(f"{p}}};")

    def header(self):
        m = self.m
        out = []
        for s in m.order:
            self.decl_struct(s, out, 4)
            out.append("")
        return out

    # ---- encode
    def flex_expr(self, f):
        """Whether this field is written in its compact form at `version`."""
        if f.flex_override is not None:
            return f.flex_override.cond()
        return "flexible"

    def enc_value(self, f, expr, out, p, elem=False):
        base = f.base
        fx = self.flex_expr(f)
        if f.is_array and not elem:
            nullable = self.nullable_ever(f)
            if nullable:
                # A null in a version where the array cannot be null is written as empty.
                out.append(f"{p}if (!{expr}) {{")
                out.append(f"{p}    const int32_t none = ({f.nullable.cond()}) ? -1 : 0;")
                out.append(f"{p}    if ({fx}) w.write_compact_array_length(none); else w.write_array_length(none);")
                out.append(f"{p}}} else {{")
                inner = f"(*{expr})"
                self.enc_array_body(f, inner, out, p + "    ")
                out.append(f"{p}}}")
            else:
                self.enc_array_body(f, expr, out, p)
            return
        if f.is_struct:
            if not elem and self.nullable_ever(f):
                out.append(f"{p}if (!{expr}) {{")
                out.append(f"{p}    if ({f.nullable.cond()}) w.write_int8(-1); else {{ w.write_int8(1); {self.m.structs[f.base].cname}{{}}.encode(w, schema_version); }}")
                out.append(f"{p}}} else {{ w.write_int8(1); {expr}->encode(w, schema_version); }}")
            else:
                out.append(f"{p}{expr}.encode(w, schema_version);")
            return
        if base in INT_TYPES:
            fn = {"float64": "float64", "bool": "bool"}.get(base, base)
            out.append(f"{p}w.write_{fn}({expr});")
            return
        if base == "uuid":
            out.append(f"{p}w.write_uuid({expr});")
            return
        kind = "string" if base == "string" else "bytes"
        if not elem and self.nullable_ever(f):
            # A null in a version where the field cannot be null is written as empty.
            empty = "std::string_view()" if kind == "string" else "bytes_view()"
            out.append(f"{p}if ({f.nullable.cond()}) {{")
            out.append(f"{p}    if ({fx}) w.write_compact_nullable_{kind}({expr}); else w.write_nullable_{kind}({expr});")
            out.append(f"{p}}} else {{")
            val = f"({expr} ? {kind}_value_of(*{expr}) : {empty})"
            out.append(f"{p}    if ({fx}) w.write_compact_{kind}({val}); else w.write_{kind}({val});")
            out.append(f"{p}}}")
        else:
            out.append(f"{p}if ({fx}) w.write_compact_{kind}({expr}); else w.write_{kind}({expr});")

    def enc_array_body(self, f, expr, out, p):
        fx = self.flex_expr(f)
        out.append(f"{p}if ({fx}) w.write_compact_array_length(static_cast<int32_t>({expr}.size())); "
                   f"else w.write_array_length(static_cast<int32_t>({expr}.size()));")
        out.append(f"{p}for (const auto& e : {expr}) {{")
        self.enc_value(f, "e", out, p + "    ", elem=True)
        out.append(f"{p}}}")

    def default_expr(self, f):
        t = self.ctype(f)
        if is_null_default(f):
            return "std::nullopt"
        init = cpp_default(f)
        return f"{t}{{{init}}}"

    def enc_struct(self, s, qual):
        out = [f"void {qual}::encode(writer& w, int16_t schema_version) const {{"]
        within = (s.versions.lo, s.versions.hi) if not s.versions.empty() else None
        uses_flex = any(f.flex_override is None and (f.base in ("string", "bytes", "records") or f.is_array)
                        for f in s.fields) or True
        out.append(f"    const bool flexible = {self.m.flexible.cond()};")
        out.append("    (void)flexible; (void)schema_version;")
        tagged = []
        for f in s.fields:
            if f.tag is not None:
                tagged.append(f)
            inline_cond = f.versions.cond(within=within)
            if f.tag is not None:
                # Tagged-only in its tagged versions; some fields are also inline in older versions.
                inline_cond = f"({inline_cond}) && !({f.tagged.cond()} && flexible)"
            if inline_cond == "false":
                continue
            body = []
            self.enc_value(f, f.cname, body, "        ")
            if inline_cond == "true":
                out.extend(l[4:] for l in body)
            else:
                out.append(f"    if ({inline_cond}) {{")
                out.extend(body)
                out.append("    }")
        out.append("    if (flexible) {")
        out.append("        uint32_t count = static_cast<uint32_t>(unknown_tags.size());")
        for f in tagged:
            cond = f"({f.tagged.cond()}) && ({f.versions.cond()})"
            out.append(f"        const bool has_{f.cname} = {cond} && !({f.cname} == {self.default_expr(f)});")
            out.append(f"        count += has_{f.cname} ? 1 : 0;")
        out.append("        w.write_unsigned_varint(count);")
        # Known and unknown tags are written in ascending tag order.
        out.append("        auto unknown = unknown_tags.begin();")
        out.append("        auto flush_unknown_below = [&](uint64_t limit) {")
        out.append("            for (; unknown != unknown_tags.end() && unknown->tag < limit; ++unknown) {")
        out.append("                w.write_unsigned_varint(unknown->tag);")
        out.append("                w.write_unsigned_varint(static_cast<uint32_t>(unknown->data.size()));")
        out.append("                w.write_raw(unknown->data);")
        out.append("            }")
        out.append("        };")
        out.append("        (void)flush_unknown_below;")
        for f in sorted(tagged, key=lambda f: f.tag):
            out.append(f"        if (has_{f.cname}) {{")
            out.append(f"            flush_unknown_below({f.tag});")
            out.append("            writer tw;")
            out.append("            {")
            out.append("                writer& outer = w;")
            out.append("                writer& w = tw;")
            out.append("                (void)outer;")
            body = []
            self.enc_value(f, f.cname, body, "                ")
            out.extend(body)
            out.append("            }")
            out.append(f"            w.write_unsigned_varint({f.tag});")
            out.append("            w.write_unsigned_varint(static_cast<uint32_t>(tw.size()));")
            out.append("            w.write_raw(tw.buffer());")
            out.append("        }")
        out.append("        flush_unknown_below(UINT64_MAX);")
        out.append("    }")
        out.append("}")
        return out

    # ---- decode
    def dec_value(self, f, target, out, p, elem=False):
        base = f.base
        fx = self.flex_expr(f)
        if f.is_array and not elem:
            out.append(f"{p}{{")
            out.append(f"{p}    const int32_t n = ({fx}) ? r.read_compact_array_length() : r.read_array_length();")
            nullable = self.nullable_ever(f)
            out.append(f"{p}    if (n < 0) {{")
            if nullable:
                out.append(f"{p}        if ({f.nullable.cond()}) {target}.reset(); else r.fail(decode_error::null_not_allowed);")
            else:
                out.append(f"{p}        r.fail(decode_error::null_not_allowed);")
            out.append(f"{p}    }} else {{")
            vec = target
            if nullable:
                out.append(f"{p}        {target}.emplace();")
                vec = f"(*{target})"
            out.append(f"{p}        {vec}.clear();")
            out.append(f"{p}        for (int32_t i = 0; i < n && r.ok(); ++i) {{")
            out.append(f"{p}            auto& e = {vec}.emplace_back();")
            out.append(f"{p}            r.charge(sizeof(e));")
            self.dec_value(f, "e", out, p + "            ", elem=True)
            out.append(f"{p}        }}")
            out.append(f"{p}    }}")
            out.append(f"{p}}}")
            return
        if f.is_struct:
            if not elem and self.nullable_ever(f):
                out.append(f"{p}if (r.read_int8() < 0) {{")
                out.append(f"{p}    if ({f.nullable.cond()}) {target}.reset(); else r.fail(decode_error::null_not_allowed);")
                out.append(f"{p}}} else {{")
                out.append(f"{p}    {target}.emplace().decode(r, schema_version);")
                out.append(f"{p}}}")
            else:
                out.append(f"{p}{target}.decode(r, schema_version);")
            return
        if base in INT_TYPES:
            out.append(f"{p}{target} = r.read_{base}();")
            return
        if base == "uuid":
            out.append(f"{p}{target} = r.read_uuid();")
            return
        kind = "string" if base == "string" else "bytes"
        if not elem and self.nullable_ever(f):
            out.append(f"{p}if ({fx}) {target} = r.read_compact_nullable_{kind}(); else {target} = r.read_nullable_{kind}();")
            out.append(f"{p}if (!{target} && !({f.nullable.cond()})) r.fail(decode_error::null_not_allowed);")
        else:
            out.append(f"{p}if ({fx}) {target} = r.read_compact_{kind}(); else {target} = r.read_{kind}();")

    def dec_struct(self, s, qual):
        out = [f"void {qual}::decode(reader& r, int16_t schema_version) {{"]
        within = (s.versions.lo, s.versions.hi) if not s.versions.empty() else None
        out.append(f"    const bool flexible = {self.m.flexible.cond()};")
        out.append("    (void)flexible; (void)schema_version;")
        tagged = [f for f in s.fields if f.tag is not None]
        for f in s.fields:
            inline_cond = f.versions.cond(within=within)
            if f.tag is not None:
                inline_cond = f"({inline_cond}) && !({f.tagged.cond()} && flexible)"
            if inline_cond == "false":
                continue
            body = []
            self.dec_value(f, f.cname, body, "        ")
            if inline_cond == "true":
                out.extend(l[4:] for l in body)
            else:
                out.append(f"    if ({inline_cond}) {{")
                out.extend(body)
                out.append("    }")
        out.append("    if (flexible) {")
        out.append("        unknown_tags.clear();")
        out.append("        const uint32_t count = r.read_unsigned_varint();")
        out.append("        for (uint32_t i = 0; i < count && r.ok(); ++i) {")
        out.append("            const uint32_t tag = r.read_unsigned_varint();")
        out.append("            const uint32_t size = r.read_unsigned_varint();")
        out.append("            const bytes_view data = r.read_span(size);")
        out.append("            if (!r.ok()) break;")
        # A tag this version does not define (or no tag of ours) is kept as
        # an unknown tagged field; each known tag decodes only its own field.
        out.append("            bool known = false;")
        if tagged:
            out.append("            switch (tag) {")
            for f in sorted(tagged, key=lambda f: f.tag):
                out.append(f"            case {f.tag}:")
                out.append(f"                if (({f.tagged.cond()}) && ({f.versions.cond()})) {{")
                out.append("                    known = true;")
                out.append("                    reader tr = r.nested(data);")
                out.append("                    {")
                out.append("                        reader& r = tr;")
                body = []
                self.dec_value(f, f.cname, body, "                        ")
                out.extend(body)
                out.append("                        r.expect_end();")
                out.append("                    }")
                out.append("                    if (!tr.ok()) r.fail(tr.error());")
                out.append("                }")
                out.append("                break;")
            out.append("            default:")
            out.append("                break;")
            out.append("            }")
        out.append("            if (!known) {")
        out.append("                r.charge(sizeof(tagged_field) + data.size());")
        out.append("                if (!r.ok()) break;")
        out.append("                unknown_tags.push_back(tagged_field{tag, bytes(data.begin(), data.end())});")
        out.append("            }")
        out.append("        }")
        out.append("    }")
        out.append("}")
        return out

    def source(self, ns_qual):
        out = []
        for s in self.m.order:
            q = f"{ns_qual}_types::{s.cname}" if s is not self.m.root else ns_qual
            out.extend(self.enc_struct(s, q))
            out.append("")
            out.extend(self.dec_struct(s, q))
            out.append("")
        return out

    # ---- random fill for tests
    def rand_value(self, f, target, out, p, elem=False):
        base = f.base
        if f.is_array and not elem:
            nullable = self.nullable_ever(f)
            vec = target
            if nullable:
                out.append(f"{p}if (({f.nullable.cond()}) && rng.chance(8)) {{ {target}.reset(); }} else {{")
                out.append(f"{p}    {target}.emplace();")
                vec = f"(*{target})"
                p2 = p + "    "
            else:
                p2 = p
            out.append(f"{p2}{{")
            out.append(f"{p2}    const size_t n = rng.array_length(depth);")
            out.append(f"{p2}    for (size_t i = 0; i < n; ++i) {{")
            out.append(f"{p2}        auto& e = {vec}.emplace_back();")
            self.rand_value(f, "e", out, p2 + "        ", elem=True)
            out.append(f"{p2}    }}")
            out.append(f"{p2}}}")
            if nullable:
                out.append(f"{p}}}")
            return
        if f.is_struct:
            sname = self.m.structs[f.base].cname
            if not elem and self.nullable_ever(f):
                out.append(f"{p}if (({f.nullable.cond()}) && rng.chance(4)) {{ {target}.reset(); }} "
                           f"else {{ fill_random(rng, {target}.emplace(), schema_version, depth + 1); }}")
            else:
                out.append(f"{p}fill_random(rng, {target}, schema_version, depth + 1);")
            del sname
            return
        if base in INT_TYPES:
            out.append(f"{p}{target} = rng.value<{INT_TYPES[base]}>();")
            return
        if base == "uuid":
            out.append(f"{p}{target} = rng.uuid_value();")
            return
        fn = "string_value" if base == "string" else "bytes_value"
        if not elem and self.nullable_ever(f):
            out.append(f"{p}if (({f.nullable.cond()}) && rng.chance(4)) {target}.reset(); else {target} = rng.{fn}();")
        else:
            out.append(f"{p}{target} = rng.{fn}();")

    def rand_source(self, ns_qual):
        out = []
        for s in self.m.order:
            q = f"{ns_qual}::{s.cname}" if s is not self.m.root else ns_qual
            out.append(f"void fill_random(random_source& rng, {q}& m, int16_t schema_version, int depth) {{")
            out.append("    (void)rng; (void)schema_version; (void)depth;")
            out.append(f"    const bool flexible = {self.m.flexible.cond()};")
            out.append("    (void)flexible; (void)schema_version;")
            for f in s.fields:
                body = []
                self.rand_value(f, f"m.{f.cname}", body, "        ")
                out.append(f"    if ({f.versions.cond()}) {{")
                out.extend(body)
                out.append("    }")
            out.append("    if (flexible) rng.unknown_tags(m.unknown_tags);")
            out.append("}")
            out.append("")
        return out


def api_base_name(msg):
    n = msg.name
    for suffix in ("Request", "Response"):
        if n.endswith(suffix) and msg.kind in ("request", "response"):
            return n[: -len(suffix)]
    return n


def write_if_changed(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path) as f:
            if f.read() == text:
                return
    with open(path, "w") as f:
        f.write(text)


PRELUDE = "// Generated by tools/protogen/gen_cpp.py from protocol/schema. Do not edit.\n"


def message_decl(msg, gen):
    # Nested structs live in a namespace of their own, complete before the
    # message struct that holds them (std::optional of a struct that is still
    # incomplete in its enclosing class cannot be emplaced), and are aliased
    # into the message struct.
    out = [f"namespace {msg.cname}_types {{"]
    for s in msg.order:
        if s is msg.root:
            continue
        gen.decl_struct(s, out, 0)
        out.append("")
    out.append(f"}} // namespace {msg.cname}_types")
    out.append("")
    out.append(f"struct {msg.cname} {{")
    for s in msg.order:
        if s is not msg.root:
            out.append(f"    using {s.cname} = {msg.cname}_types::{s.cname};")
    out.append("")
    if msg.api_key is not None:
        out.append(f"    static constexpr int16_t api_key = {msg.api_key};")
    out.append(f"    static constexpr int16_t min_version = {msg.valid.lo};")
    out.append(f"    static constexpr int16_t max_version = {msg.valid.hi};")
    first_flex = -1 if msg.flexible.empty() else msg.flexible.lo
    out.append(f"    // The first flexible version, or -1 if none is.")
    out.append(f"    static constexpr int16_t first_flexible_version = {first_flex};")
    out.append(f"    static constexpr std::string_view message_name = \"{msg.name}\";")
    out.append("")
    for f in msg.root.fields:
        init = cpp_default(f)
        out.append(f"    {gen.ctype(f)} {f.cname}{{{init}}};")
    out.append("    tagged_fields unknown_tags;")
    out.append("")
    out.append("    void encode(writer& w, int16_t version) const;")
    out.append("    void decode(reader& r, int16_t version);")
    out.append(f"    bool operator==(const {msg.cname}&) const = default;")
    out.append("};")
    return out


def main():
    schema_dir, out_dir = sys.argv[1], sys.argv[2]
    msgs = []
    for name in sorted(os.listdir(schema_dir)):
        path = os.path.join(schema_dir, name)
        if name.endswith(".schema"):
            msgs.append(Message(path))
        elif os.path.isdir(path):
            # Runnel's own record schemas (metadata/) share the grammar; their
            # code is generated next to the Kafka messages'.
            for sub in sorted(os.listdir(path)):
                if sub.endswith(".schema"):
                    msgs.append(Message(os.path.join(path, sub)))
    # Group into units: one per API (request + response), one per header/data type.
    units = {}
    for m in msgs:
        unit = snake(api_base_name(m))
        units.setdefault(unit, []).append(m)
    mdir = os.path.join(out_dir, "protocol", "messages")
    for unit, ms in sorted(units.items()):
        ms.sort(key=lambda m: {"request": 0, "response": 1}.get(m.kind, 2))
        h = [PRELUDE, "#pragma once", "", '#include "protocol/messages/message_support.h"', "",
             "namespace runnel::proto {", ""]
        cc = [PRELUDE, f'#include "protocol/messages/{unit}.h"', "", "namespace runnel::proto {", ""]
        rnd = [PRELUDE, f'#include "protocol/messages/{unit}.h"', '#include "protocol/messages/testing/random_source.h"',
               "", "namespace runnel::proto::testing {", ""]
        for m in ms:
            g = Gen(m)
            h.extend(message_decl(m, g))
            h.append("")
            cc.extend(g.source(m.cname))
            rnd.extend(g.rand_source(m.cname))
        h += ["} // namespace runnel::proto", ""]
        cc += ["} // namespace runnel::proto", ""]
        rnd += ["} // namespace runnel::proto::testing", ""]
        write_if_changed(os.path.join(mdir, unit + ".h"), "\n".join(h))
        write_if_changed(os.path.join(mdir, unit + ".cc"), "\n".join(cc))
        write_if_changed(os.path.join(mdir, "testing", unit + "_random.cc"), "\n".join(rnd))
    # Random-fill declarations for every struct, for the tests.
    decl = [PRELUDE, "#pragma once", "", '#include "protocol/messages/all_messages.h"',
            '#include "protocol/messages/testing/random_source.h"', "", "namespace runnel::proto::testing {", ""]
    for m in msgs:
        for s in m.order:
            q = f"{m.cname}::{s.cname}" if s is not m.root else m.cname
            decl.append(f"void fill_random(random_source& rng, {q}& m, int16_t version, int depth = 0);")
    decl += ["", "} // namespace runnel::proto::testing", ""]
    write_if_changed(os.path.join(mdir, "testing", "fill_random.h"), "\n".join(decl))
    # The umbrella header and the API table.
    allh = [PRELUDE, "#pragma once", ""] + [f'#include "protocol/messages/{u}.h"' for u in sorted(units)] + [""]
    write_if_changed(os.path.join(mdir, "all_messages.h"), "\n".join(allh))
    apis = []
    for unit, ms in sorted(units.items()):
        req = [m for m in ms if m.kind == "request"]
        rsp = [m for m in ms if m.kind == "response"]
        if req:
            assert rsp and req[0].api_key == rsp[0].api_key, unit
            apis.append((req[0].api_key, unit, req[0], rsp[0]))
    apis.sort()
    t = [PRELUDE, "#pragma once", "", "#include <array>", "#include <cstdint>", "#include <string_view>",
         "#include <tuple>", "", '#include "protocol/messages/all_messages.h"', "", "namespace runnel::proto {", "",
         "// Every API key in the specs, with Kafka's numbers.", "enum class api_key : int16_t {"]
    for key, unit, req, rsp in apis:
        t.append(f"    {unit} = {key},")
    t += ["};", "",
          "// A request type and its response type, with the API's numbers.",
          "template <typename Request, typename Response>",
          "struct api_pair {",
          "    using request_type = Request;",
          "    using response_type = Response;",
          "    static constexpr int16_t key = Request::api_key;",
          "    static constexpr int16_t min_version = Request::min_version;",
          "    static constexpr int16_t max_version = Request::max_version;",
          "    static_assert(Request::api_key == Response::api_key);",
          "    static_assert(Request::max_version == Response::max_version);",
          "};", ""]
    for key, unit, req, rsp in apis:
        t.append(f"using {unit}_api = api_pair<{req.cname}, {rsp.cname}>;")
    t += ["", "// Every API, in key order, for code that iterates over them at compile time.",
          "using all_apis = std::tuple<" + ", ".join(f"{u}_api" for _, u, _, _ in apis) + ">;", "",
          "struct api_info {",
          "    int16_t key;",
          "    std::string_view name;",
          "    int16_t min_version;",
          "    int16_t max_version;",
          "    int16_t first_flexible_request;  // -1: never flexible",
          "    int16_t first_flexible_response; // -1: never flexible",
          "    bool latest_version_unstable;",
          "};", "",
          f"inline constexpr std::array<api_info, {len(apis)}> api_infos{{{{"]
    for key, unit, req, rsp in apis:
        ff_req = -1 if req.flexible.empty() else req.flexible.lo
        ff_rsp = -1 if rsp.flexible.empty() else rsp.flexible.lo
        t.append(f"    {{{key}, \"{api_base_name(req)}\", {req.valid.lo}, {req.valid.hi}, {ff_req}, {ff_rsp}, "
                 f"{'true' if req.unstable_latest else 'false'}}},")
    t += ["}};", "",
          "// The API with this key, or nullptr.",
          "const api_info* find_api(int16_t key);",
          "// The request header version a request of this API and version uses (0, 1 or 2).",
          "int16_t request_header_version(int16_t key, int16_t version);",
          "// The response header version (0 or 1); ApiVersions always answers with 0.",
          "int16_t response_header_version(int16_t key, int16_t version);", "",
          "} // namespace runnel::proto", ""]
    write_if_changed(os.path.join(mdir, "api_table.h"), "\n".join(t))
    c = [PRELUDE, '#include "protocol/messages/api_table.h"', "", "namespace runnel::proto {", "",
         "const api_info* find_api(int16_t key) {",
         "    for (const auto& a : api_infos) {",
         "        if (a.key == key) return &a;",
         "    }",
         "    return nullptr;",
         "}", "",
         "int16_t request_header_version(int16_t key, int16_t version) {",
         "    // ControlledShutdown v0 predates the client id.",
         f"    if (key == static_cast<int16_t>(api_key::controlled_shutdown) && version == 0) return 0;",
         "    const api_info* a = find_api(key);",
         "    return a && a->first_flexible_request >= 0 && version >= a->first_flexible_request ? 2 : 1;",
         "}", "",
         "int16_t response_header_version(int16_t key, int16_t version) {",
         "    // ApiVersions answers with header v0 so that a client of any age can read the answer.",
         f"    if (key == static_cast<int16_t>(api_key::api_versions)) return 0;",
         "    const api_info* a = find_api(key);",
         "    return a && a->first_flexible_response >= 0 && version >= a->first_flexible_response ? 1 : 0;",
         "}", "",
         "} // namespace runnel::proto", ""]
    write_if_changed(os.path.join(mdir, "api_table.cc"), "\n".join(c))
    # The list of generated sources, for CMake.
    listing = [f"protocol/messages/{u}.cc" for u in sorted(units)] + ["protocol/messages/api_table.cc"]
    write_if_changed(os.path.join(out_dir, "generated_sources.txt"), "\n".join(listing) + "\n")
    rlist = [f"protocol/messages/testing/{u}_random.cc" for u in sorted(units)]
    write_if_changed(os.path.join(out_dir, "generated_random_sources.txt"), "\n".join(rlist) + "\n")


if __name__ == "__main__":
    main()
