"""Training-time data for the triage model: every labelled email run through the rules once.

Sources: the corpus (``corpus/train/*.jsonl``, one fold per writer, by file prefix) and the two
labelled sets in ``../shared/corpus`` (read in place, never copied into the repo). For each email:
the rules' action items (text, subject, decisions, matched rules), the location, and the labels,
with every rule item paired to the labelled ticket it stands for (as the shared scorer pairs
them, then by the clause labels, then in order), which is what the item filter learns.
Scoring mirrors ``../shared/tools/score_classifier.py`` line for line (same pairing and metrics).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from propdesk.core.classify import classify_item
from propdesk.core.items import action_items
from propdesk.core.location import UNIT_NOT_SPECIFIED, extract_location
from propdesk.core.rules import load_rules
from propdesk.mail.parse import parse_message

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" if (ROOT.parent / "shared").is_dir() else Path("/work/shared")
EXTRA_SETS = {
    "dev": SHARED / "corpus" / "tenant",
    "released": SHARED / "corpus" / "tenant-released-1",
}
sys.path.insert(0, str(SHARED / "tools"))
import score_classifier as scorer  # noqa: E402  (the shared scorer's own pairing)


@dataclass
class Item:
    text: str
    subject: str
    category: str
    subcategory: str | None
    urgency: str
    requires_contractor: bool
    matched_rules: tuple[str, ...]
    first_clause: str
    label: dict[str, Any] | None = None  # the labelled ticket this rule item stands for


@dataclass
class Email:
    source: str  # fold: "a", "b", ... or "dev" / "released"
    name: str
    subject: str
    new_text: str
    not_ticket: str | None
    items: list[Item]
    unit: str | None
    building: str | None
    floor: str | None
    labels: dict[str, Any]
    clauses: list[dict[str, Any]] = field(default_factory=list)


def _analyse(raw: bytes, rules: Any) -> tuple[Any, list[Item], Any]:
    msg = parse_message(raw)
    vocab = rules.vocabulary
    items: list[Item] = []
    if msg.not_ticket is None:
        for ai in action_items(msg.subject, msg.new_text, vocab):
            c = classify_item(ai, vocab)
            items.append(
                Item(
                    c.text,
                    msg.subject,
                    c.category,
                    c.subcategory,
                    c.urgency,
                    c.requires_contractor,
                    c.matched_rules,
                    ai.clauses[0].text,
                )
            )
    loc = extract_location(msg.subject, msg.new_text, msg.signature, vocab)
    return msg, items, loc


def _pair(email: Email) -> None:
    """Which rule item stands for which labelled ticket (None: a ticket nobody asked for)."""
    lt = [dict(t, subcategory=scorer.norm_sub(t["subcategory"])) for t in email.labels["tickets"]]
    pt = [{"category": i.category, "subcategory": i.subcategory} for i in email.items]
    pairs = {j: i for i, j in scorer.match(lt, pt)}
    free_l = [i for i in range(len(lt)) if i not in pairs.values()]
    free_p = [j for j in range(len(pt)) if j not in pairs]
    by_clause: dict[int, int] = {}
    for j in free_p:
        text = email.items[j].text
        for cl in email.clauses:
            opens = cl.get("ticket") is not None and cl["role"] in ("new_matter", "same_matter")
            overlaps = cl["text"][:60] in text or text[:60] in cl["text"]
            taken = cl["ticket"] in by_clause.values()
            if opens and overlaps and cl["ticket"] in free_l and not taken:
                by_clause[j] = cl["ticket"]
                break
    pairs.update(by_clause)
    free_l = [i for i in free_l if i not in by_clause.values()]
    rest = [j for j in free_p if j not in by_clause]
    has_clauses = bool(email.clauses)
    if not has_clauses:  # no clause labels: leftover items stand for leftover tickets in order
        for j, i in zip(rest, free_l, strict=False):
            pairs[j] = i
    for j, item in enumerate(email.items):
        item.label = lt[pairs[j]] if j in pairs else None


def _records(tmp: Path) -> list[tuple[str, Path, dict[str, Any], list[dict[str, Any]]]]:
    out = []
    for src_dir in sorted(
        {p.name.split("-")[0] for p in (ROOT / "corpus" / "train").glob("*.jsonl")}
    ):
        files = sorted((ROOT / "corpus" / "train").glob(f"{src_dir}-*.jsonl"))
        dest = tmp / src_dir
        subprocess.run(
            [sys.executable, str(ROOT / "corpus" / "build.py"), str(dest), *map(str, files)],
            check=True,
            capture_output=True,
        )
        labels = json.loads((dest / "labels.json").read_text())
        clauses_path = dest / "clauses.json"
        clauses = json.loads(clauses_path.read_text()) if clauses_path.exists() else {}
        for name, lab in labels.items():
            cl = clauses.get(name) or clauses.get(name.removesuffix(".eml")) or []
            out.append((src_dir, dest / "emails" / name, lab, cl))
    for tag, d in EXTRA_SETS.items():
        labels = json.loads((d / "labels.json").read_text())
        for name, lab in labels.items():
            out.append((tag, d / "emails" / name, lab, []))
    return out


def load(cache: Path | None = None) -> list[Email]:
    """Every labelled email with the rules' items; cached (delete the cache after a rules edit)."""
    if cache is not None and cache.exists():
        return pickle.loads(cache.read_bytes())
    rules = load_rules(None, model=False)
    emails: list[Email] = []
    with tempfile.TemporaryDirectory() as tmp:
        for source, path, lab, cl in _records(Path(tmp)):
            msg, items, loc = _analyse(path.read_bytes(), rules)
            unit = None if loc.unit_number == UNIT_NOT_SPECIFIED else loc.unit_number
            e = Email(
                source,
                path.name,
                msg.subject,
                msg.new_text,
                None if msg.not_ticket is None else str(msg.not_ticket.value),
                items,
                unit,
                loc.building,
                loc.floor,
                lab,
                cl,
            )
            _pair(e)
            emails.append(e)
    if cache is not None:
        cache.write_bytes(pickle.dumps(emails))
    return emails


def metrics(emails: list[Email], preds: list[list[dict[str, Any]]]) -> dict[str, float]:
    """The shared scorer's metrics for predicted tickets (dicts with the JSON contract's keys)."""
    n_lab = n_cat = n_sub = n_urg = n_con = n_pred = n_spur = 0
    n_em = n_em_ok = n_pem = n_pem_ok = count_ok = unit_ok = unit_n = 0
    for e, pt in zip(emails, preds, strict=True):
        lab = e.labels
        lt = [dict(t, subcategory=scorer.norm_sub(t["subcategory"])) for t in lab["tickets"]]
        count_ok += len(pt) == len(lt)
        n_lab += len(lt)
        n_pred += len(pt)
        pairs = scorer.match(lt, pt)
        n_spur += len(pt) - len(pairs)
        for i, j in pairs:
            n_cat += 1
            n_sub += scorer.norm_sub(pt[j].get("subcategory")) == lt[i]["subcategory"]
            n_urg += str(pt[j].get("urgency")) == lt[i]["urgency"]
            n_con += bool(pt[j].get("requires_contractor")) == lt[i]["requires_contractor"]
            if str(pt[j].get("urgency")) == "1":
                n_pem_ok += lt[i]["urgency"] == "1"
        n_em += sum(t["urgency"] == "1" for t in lt)
        n_em_ok += sum(
            lt[i]["urgency"] == "1" and str(pt[j].get("urgency")) == "1" for i, j in pairs
        )
        n_pem += sum(str(t.get("urgency")) == "1" for t in pt)
        if lt:
            unit_n += 1
            unit_ok += scorer.norm_unit(pt[0].get("unit_number") if pt else None) == lab["unit"]
    return {
        "ticket_count_exact": count_ok / len(emails),
        "category_recall": n_cat / n_lab,
        "subcategory_recall": n_sub / n_lab,
        "urgency_recall": n_urg / n_lab,
        "contractor_recall": n_con / n_lab,
        "spurious_ticket_rate": n_spur / max(n_pred, 1),
        "emergency_recall": n_em_ok / max(n_em, 1),
        "emergency_precision": n_pem_ok / max(n_pem, 1),
        "unit_exact": unit_ok / max(unit_n, 1),
    }


def rule_tickets(e: Email) -> list[dict[str, Any]]:
    return [
        {
            "category": i.category,
            "subcategory": i.subcategory,
            "urgency": i.urgency,
            "requires_contractor": i.requires_contractor,
        }
        for i in e.items
    ]


if __name__ == "__main__":
    data = load(Path("/tmp/triage_cache.pkl"))
    for src in sorted({e.source for e in data}):
        part = [e for e in data if e.source == src]
        m = metrics(part, [rule_tickets(e) for e in part])
        print(src, len(part), {k: round(v, 3) for k, v in m.items()})
