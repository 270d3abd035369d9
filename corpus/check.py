"""Check writer JSONL files: schema, label vocabulary, clause labels, and no 12-word run shared
by two emails (within and across all files given). usage: check.py FILE.jsonl [FILE.jsonl ...]"""
from __future__ import annotations

import json
import re
import sys
from collections import defaultdict

SUBS = {
    "Maintenance": {"plumbing", "electrical", "hvac", "appliance", "cleaning", "general_repair"},
    "Complaint": {"noise_complaint", "neighbor_dispute", "parking", "security"},
    "Utilities": {None}, "Lease": {None}, "Move-in/out": {None}, "Payment": {None}, "Amenity": {None},
}
ROLES = {"new_matter", "same_matter", "detail", "not_request"}
FORMATS = {"plain", "html", "qp", "multipart"}
WORD = re.compile(r"[a-z0-9áéíóúñàâçèêëîïôûüœ']+")
N = 12


def problems(rec: dict, where: str) -> list[str]:
    out = []
    for key in ("id", "from_name", "from_email", "subject", "body", "labels", "format"):
        if key not in rec:
            out.append(f"{where}: missing {key}")
    if out:
        return out
    if rec["format"] not in FORMATS:
        out.append(f"{where}: format must be one of {sorted(FORMATS)}")
    lab = rec["labels"]
    for key in ("tickets", "unit", "building", "floor"):
        if key not in lab:
            out.append(f"{where}: labels missing {key}")
    for i, t in enumerate(lab.get("tickets", [])):
        cat, sub = t.get("category"), t.get("subcategory")
        if cat not in SUBS:
            out.append(f"{where}: ticket {i}: bad category {cat!r}")
        elif sub not in SUBS[cat]:
            out.append(f"{where}: ticket {i}: bad subcategory {sub!r} for {cat}")
        if t.get("urgency") not in ("1", "2", "3"):
            out.append(f"{where}: ticket {i}: urgency must be the string '1', '2' or '3'")
        if not isinstance(t.get("requires_contractor"), bool):
            out.append(f"{where}: ticket {i}: requires_contractor must be true/false")
    u = lab.get("unit")
    if u is not None and not re.fullmatch(r"Unit [A-Z0-9-]+", u):
        out.append(f"{where}: unit {u!r} must look like 'Unit 4C' (upper case) or null")
    for key in ("building", "floor"):
        v = lab.get(key)
        if v is not None and (not isinstance(v, str) or v != v.upper()):
            out.append(f"{where}: {key} {v!r} must be an upper-case string or null")
    ntk = len(lab.get("tickets", []))
    clauses = rec.get("clauses")
    if ntk >= 2 and not clauses:
        out.append(f"{where}: an email with {ntk} tickets needs clause labels")
    for j, c in enumerate(clauses or []):
        if c.get("role") not in ROLES:
            out.append(f"{where}: clause {j}: role must be one of {sorted(ROLES)}")
        if not c.get("text") or c["text"] not in rec["body"]:
            out.append(f"{where}: clause {j}: text must be copied exactly from the body")
        tk = c.get("ticket")
        if c.get("role") == "not_request":
            if tk is not None:
                out.append(f"{where}: clause {j}: a not_request clause has ticket null")
        elif not isinstance(tk, int) or not 0 <= tk < ntk:
            out.append(f"{where}: clause {j}: ticket must be an index into tickets (0..{ntk-1})")
    if clauses:
        new = [c.get("ticket") for c in clauses if c.get("role") == "new_matter"]
        if sorted(new) != list(range(ntk)):
            out.append(f"{where}: each ticket needs exactly one new_matter clause (got {new})")
    return out


def new_text(body: str) -> str:
    lines = [ln for ln in body.splitlines() if not ln.lstrip().startswith(">")]
    return "\n".join(lines)


def main(paths: list[str]) -> int:
    errors: list[str] = []
    seen_ids: set[str] = set()
    shingles: dict[tuple[str, ...], set[str]] = defaultdict(set)
    count = 0
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{path}:{n}"
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    errors.append(f"{where}: not JSON: {exc}")
                    continue
                count += 1
                errors += problems(rec, where)
                rid = rec.get("id")
                if rid in seen_ids:
                    errors.append(f"{where}: duplicate id {rid}")
                seen_ids.add(rid)
                words = WORD.findall(new_text(rec.get("body", "")).lower())
                for i in range(len(words) - N + 1):
                    shingles[tuple(words[i : i + N])].add(f"{rid}")
    for sh, ids in shingles.items():
        if len(ids) > 1:
            errors.append(f"12-word run shared by {sorted(ids)}: {' '.join(sh)!r}")
    for e in errors[:200]:
        print(e)
    print(f"{count} emails, {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
