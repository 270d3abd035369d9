"""Train the triage model from the labelled corpus, cross-validate it, and write the weights.

    .venv/bin/python bench/train.py --cv            # leave-one-writer-out CV, rules vs model
    .venv/bin/python bench/train.py --curve         # learning curve (training size -> score)
    .venv/bin/python bench/train.py --write         # CV-calibrated thresholds + final weights

Needs the ``train`` extra (numpy, scikit-learn); the package itself never imports them.
Deterministic: fixed seeds, sorted inputs, liblinear/lbfgs solvers (no random state).
Cross-validation folds are the corpus' writers (file prefixes a-, b-, ...); each fold trains on
the other writers plus the shared dev and released sets and is scored on its writer alone.
"""

from __future__ import annotations

import argparse
import gzip
import json
import pickle
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
import triage_data as td

import propdesk.core.triage as triage_core
from propdesk.core.rules import load_rules
from propdesk.core.triage import Decision, decide, fallback_view, item_views, kind_key
from propdesk.core.triage_features import ItemView, features
from propdesk.core.triage_model import (
    DECISIONS,
    FORMAT,
    Calibration,
    TriageModel,
    model_from_document,
    packed_document,
)

_FEATURES: dict[ItemView, list[int]] = {}


def cached_features(view: ItemView) -> list[int]:
    """Training scores the same items many times: compute their features once."""
    got = _FEATURES.get(view)
    if got is None:
        got = _FEATURES[view] = features(view)
    return got


triage_core.features = cached_features  # same function, memoised for the threshold search

OUT = Path(__file__).resolve().parent.parent / "src" / "propdesk" / "rules" / "triage_model.json.gz"
SAFETY = dict(load_rules(model=False).vocabulary.safety)
C = {"keep": 0.5, "kind": 2.0, "urgency": 1.0, "contractor": 1.0}
GRID = [0.0, 0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 1.01]


def views(e: td.Email) -> list[ItemView]:
    if not e.items:
        return [fallback_view(e.subject, e.new_text)] if e.not_ticket is None else []
    return item_views(e.items, e.subject)


def item_labels(e: td.Email) -> list[dict[str, Any] | None]:
    """The labelled ticket each view stands for (a fallback view: the first labelled ticket)."""
    if not e.items:
        return (
            [e.labels["tickets"][0] if e.labels["tickets"] else None]
            if e.not_ticket is None
            else []
        )
    return [it.label for it in e.items]


def _matrix(rows: list[list[int]]) -> tuple[csr_matrix, np.ndarray]:
    """Rows of buckets as a sparse matrix over the buckets actually used (and those buckets)."""
    indptr = np.cumsum([0] + [len(r) for r in rows])
    idx = np.fromiter((b for r in rows for b in r), dtype=np.int64, count=int(indptr[-1]))
    used, cols = np.unique(idx, return_inverse=True)
    return csr_matrix((np.ones(len(idx)), cols, indptr), shape=(len(rows), len(used))), used


def _fit(rows: list[list[int]], ys: list[str], c: float) -> dict[str, Any]:
    classes = sorted(set(ys))
    if len(classes) == 1:  # degenerate: a head that always answers the one class
        classes = [*classes, "__never__"]
        return {"classes": classes, "intercept": [-30.0], "weights": {}}
    clf = LogisticRegression(
        C=c, max_iter=3000, solver="liblinear" if len(classes) == 2 else "lbfgs"
    )
    x, buckets = _matrix(rows)
    clf.fit(x, ys)
    coef = clf.coef_
    keep = np.flatnonzero(np.abs(coef).max(axis=0) > 1e-4)
    weights = {str(int(buckets[k])): [round(float(v), 4) for v in coef[:, k]] for k in keep}
    return {
        "classes": [str(c) for c in clf.classes_],
        "intercept": [round(float(x), 4) for x in clf.intercept_],
        "weights": weights,
    }


def fit(emails: list[td.Email]) -> dict[str, Any]:
    """The four heads' weights from these emails (a document without thresholds)."""
    rows: dict[str, list[list[int]]] = {h: [] for h in C}
    ys: dict[str, list[str]] = {h: [] for h in C}
    for e in emails:
        for lab, v in zip(item_labels(e), views(e), strict=True):
            b = cached_features(v)
            rows["keep"].append(b)
            ys["keep"].append(str(lab is not None))
            if lab is None:
                continue
            sub = td.scorer.norm_sub(lab["subcategory"])
            for head, y in (
                ("kind", kind_key(lab["category"], sub)),
                ("urgency", lab["urgency"]),
                ("contractor", str(lab["requires_contractor"])),
            ):
                rows[head].append(b)
                ys[head].append(y)
    heads = {h: _fit(rows[h], ys[h], C[h]) for h in C}
    return {
        "format": FORMAT,
        "heads": heads,
        "thresholds": {
            "keep": 0.5,
            "kind": 1.01,
            "urgency": 1.01,
            "contractor": 1.01,
            "confident": 0.5,
        },
    }


def predict(
    e: td.Email, model: TriageModel
) -> tuple[list[dict[str, Any]], list[Decision], list[dict[str, Any] | None]]:
    """The email's predicted tickets, their decisions and the labelled ticket each stands for."""
    out, decisions, labs = [], [], []
    for v, lab in zip(views(e), item_labels(e), strict=True):
        d = decide(v, model, SAFETY)
        if not d.keep:
            continue
        decisions.append(d)
        labs.append(lab)
        out.append(
            {
                "category": d.category,
                "subcategory": d.subcategory,
                "urgency": d.urgency,
                "requires_contractor": d.contractor,
                "unit_number": e.unit,
            }
        )
    return out, decisions, labs


def _thresholds(**kw: float) -> dict[str, float]:
    base = {"keep": 0.5, "kind": 1.01, "urgency": 1.01, "contractor": 1.01, "confident": 0.5}
    base["emergency"] = 1.01
    base.update(kw)
    return base


def folds_of(emails: list[td.Email]) -> list[str]:
    return sorted({e.source for e in emails} - set(td.EXTRA_SETS))


def oof_docs(emails: list[td.Email], train_share: float = 1.0) -> dict[str, dict[str, Any]]:
    """Per writer fold, the heads trained without it (optionally on a share of the rest)."""
    docs = {}
    for fold in folds_of(emails):
        train = [e for e in emails if e.source != fold]
        if train_share < 1.0:
            rng = random.Random(13)
            train = sorted(rng.sample(train, int(len(train) * train_share)), key=lambda e: e.name)
        docs[fold] = fit(train)
    return docs


_MODELS: dict[int, TriageModel] = {}
_MEMO: dict[int, dict[tuple[int, ...], dict[str, dict[str, float]]]] = {}


class MemoModel(TriageModel):
    """A model that remembers its answers: the threshold search asks the same items often."""

    def probas(self, buckets: Any) -> dict[str, dict[str, float]]:
        memo = _MEMO.setdefault(id(self.packed), {})
        key = tuple(buckets)
        got = memo.get(key)
        if got is None:
            got = memo[key] = TriageModel.probas(self, buckets)
        return got


def model_for(
    doc: dict[str, Any], th: dict[str, float], calibration: dict[str, Any] | None = None
) -> TriageModel:
    """The fold's model with these thresholds; its weights packed (and memoised) once per doc."""
    base = _MODELS.get(id(doc))
    if base is None:
        base = _MODELS[id(doc)] = model_from_document(dict(doc, thresholds=th))
    cal = model_from_document(
        {
            "format": FORMAT,
            "heads": {h: {"classes": ["a", "b"], "intercept": [0.0], "weights": {}} for h in C},
            "thresholds": th,
            "calibration": calibration or {},
        }
    )
    return MemoModel(base.heads, cal.thresholds, {}, base.packed, cal.calibration)


Pooled = list[tuple[td.Email, list[dict[str, Any]], list[Decision], list[dict[str, Any] | None]]]


def score(
    emails: list[td.Email],
    docs: dict[str, dict[str, Any]],
    th: dict[str, float],
    cal: dict[str, dict[str, list[float]]] | None = None,
) -> dict[str, Any]:
    """Out-of-fold metrics per writer (and their mean), with every decision made."""
    per_fold = {}
    pooled_e: list[td.Email] = []
    pooled_p: list[list[dict[str, Any]]] = []
    pooled_d: Pooled = []
    for fold, doc in docs.items():
        model = model_for(doc, th, cal)
        part = [e for e in emails if e.source == fold]
        preds = []
        for e in part:
            p, d, labs = predict(e, model)
            preds.append(p)
            pooled_d.append((e, p, d, labs))
        per_fold[fold] = td.metrics(part, preds)
        pooled_e += part
        pooled_p += preds
    mean = {
        k: float(np.mean([m[k] for m in per_fold.values()])) for k in next(iter(per_fold.values()))
    }
    return {"mean": mean, "per_fold": per_fold, "decisions": pooled_d}


def rules_score(emails: list[td.Email]) -> dict[str, Any]:
    per_fold = {}
    for fold in folds_of(emails):
        part = [e for e in emails if e.source == fold]
        per_fold[fold] = td.metrics(
            part, [[dict(t, unit_number=e.unit) for t in td.rule_tickets(e)] for e in part]
        )
    mean = {
        k: float(np.mean([m[k] for m in per_fold.values()])) for k in next(iter(per_fold.values()))
    }
    return {"mean": mean, "per_fold": per_fold}


OBJECTIVE = {
    "keep": lambda m: m["ticket_count_exact"] + m["category_recall"] - m["spurious_ticket_rate"],
    "kind": lambda m: m["category_recall"] + m["subcategory_recall"] - m["spurious_ticket_rate"],
    "urgency": lambda m: m["urgency_recall"] + m["emergency_recall"],
    "emergency": lambda m: m["urgency_recall"] + m["emergency_recall"],
    "contractor": lambda m: m["contractor_recall"],
}
KEEP_GRID = [0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6]
EMERGENCY_GRID = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 1.01]


def calibrate(emails: list[td.Email], docs: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Thresholds chosen one head at a time on the pooled out-of-fold predictions."""
    th = _thresholds(keep=0.5)
    for head in ("kind", "urgency", "contractor", "keep", "kind", "urgency", "emergency"):
        grid = {"keep": KEEP_GRID, "emergency": EMERGENCY_GRID}.get(head, GRID)
        vals = {
            t: OBJECTIVE[head](score(emails, docs, dict(th, **{head: t}))["mean"]) for t in grid
        }
        best = max(grid, key=lambda t: (round(vals[t], 4), t))
        print("   ", head, " ".join(f"{t}:{v:.3f}" for t, v in vals.items()))
        th[head] = best
        print(f"  {head}: threshold {best}", flush=True)
    return th


def _right(e: td.Email, preds: list[dict[str, Any]]) -> list[bool]:
    """For each predicted ticket: are all its decisions right (matched, same sub, urgency,
    contractor)?"""
    lt = [dict(t, subcategory=td.scorer.norm_sub(t["subcategory"])) for t in e.labels["tickets"]]
    ok = [False] * len(preds)
    for i, j in td.scorer.match(lt, preds):
        p, lab = preds[j], lt[i]
        ok[j] = (
            td.scorer.norm_sub(p["subcategory"]) == lab["subcategory"]
            and p["urgency"] == lab["urgency"]
            and p["requires_contractor"] == lab["requires_contractor"]
        )
    return ok


def _decision_right(d: Decision, lab: dict[str, Any] | None) -> dict[str, bool]:
    """Was each of the item's decisions right (given its labelled ticket, if any)?"""
    if lab is None:
        return {"ticket": False}
    sub = td.scorer.norm_sub(lab["subcategory"])
    return {
        "ticket": True,
        "category": kind_key(lab["category"], sub) == kind_key(d.category, d.subcategory),
        "urgency": lab["urgency"] == d.urgency,
        "contractor": lab["requires_contractor"] == d.contractor,
    }


def fit_calibration(decisions: Pooled) -> dict[str, dict[str, list[float]]]:
    """Per decision, isotonic regression of "was it right" on the raw probability, over the
    out-of-fold decisions; kept as the steps' left edges (a step function never above the
    fitted curve, so the calibrated figure errs on the cautious side)."""
    xs: dict[str, list[float]] = {k: [] for k in DECISIONS}
    ys: dict[str, list[float]] = {k: [] for k in DECISIONS}
    for _e, _p, ds, labs in decisions:
        for d, lab in zip(ds, labs, strict=True):
            for k, ok in _decision_right(d, lab).items():
                xs[k].append(d.raw[k])
                ys[k].append(float(ok))
    out = {}
    for k in DECISIONS:
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(xs[k], ys[k])
        x = [round(float(v), 6) for v in iso.X_thresholds_]
        y = [round(float(v), 6) for v in iso.y_thresholds_]
        out[k] = {"x": x, "y": [max(y[: i + 1]) for i in range(len(y))]}
    return out


def _confidence(d: Decision, cal: dict[str, dict[str, list[float]]]) -> float:
    steps = {k: Calibration(tuple(v["x"]), tuple(v["y"])) for k, v in cal.items()}
    return min(steps[k](p) for k, p in d.raw.items())


def confidence_table(
    decisions: Pooled, cal: dict[str, dict[str, list[float]]] | None = None
) -> list[tuple[float, bool]]:
    """(confidence, all decisions right as the scorer pairs them) for every predicted ticket;
    the confidence from ``cal`` when given, else the model's own."""
    rows = []
    for e, preds, ds, _labs in decisions:
        for d, ok in zip(ds, _right(e, preds), strict=True):
            rows.append((d.confidence if cal is None else _confidence(d, cal), ok))
    return rows


TARGETS = (0.97, 0.90)  # the target, then the fallback when CV cannot reach it


def confident_cut(rows: list[tuple[float, bool]], min_share: float = 0.2) -> float:
    """The lowest confidence cut whose confident tickets are right >= 97 % (else 90 %),
    keeping at least ``min_share`` of tickets confident; 1.0 if none gets there."""
    rows = sorted(rows, key=lambda r: -r[0])
    for target in TARGETS:
        best, right = None, 0
        for n, (conf, ok) in enumerate(rows, 1):
            right += ok
            nxt = rows[n][0] if n < len(rows) else -1.0
            if nxt < conf and right / n >= target and n >= min_share * len(rows):
                best = conf  # only cut between distinct confidences
        if best is not None:
            return round(best, 6)
    return 1.0


def cross_fitted_doubt(decisions: Pooled) -> dict[str, float]:
    """The honest figure: each writer's tickets judged with a calibration and a cut fitted on
    the other writers' out-of-fold decisions only."""
    conf_ok = []
    for fold in sorted({e.source for e, *_ in decisions} - set(td.EXTRA_SETS)):
        rest = [x for x in decisions if x[0].source != fold]
        cal = fit_calibration(rest)
        cut = confident_cut(confidence_table(rest, cal))
        mine = [x for x in decisions if x[0].source == fold]
        conf_ok += [ok for c, ok in confidence_table(mine, cal) if c >= cut]
        print(f"  doubt fold {fold}: cut {cut:.4f} (fitted on the other writers)", flush=True)
    n_all = sum(len(x[2]) for x in decisions if x[0].source not in td.EXTRA_SETS)
    return {
        "confident_share": len(conf_ok) / max(n_all, 1),
        "confident_right": sum(conf_ok) / max(len(conf_ok), 1),
    }


def report(name: str, res: dict[str, Any]) -> None:
    keys = [
        "ticket_count_exact",
        "category_recall",
        "subcategory_recall",
        "urgency_recall",
        "contractor_recall",
        "spurious_ticket_rate",
        "emergency_recall",
        "emergency_precision",
        "unit_exact",
    ]
    print(f"{name:10} " + " ".join(f"{k[:12]:>12}" for k in keys))
    for fold, m in [("mean", res["mean"]), *res["per_fold"].items()]:
        print(f"  {fold:8} " + " ".join(f"{m[k]:12.3f}" for k in keys))


def doubt_report(decisions: Pooled, cut: float) -> dict[str, float]:
    rows = confidence_table(decisions)
    conf = [ok for c, ok in rows if c >= cut]
    return {
        "confident_share": len(conf) / max(len(rows), 1),
        "confident_right": sum(conf) / max(len(conf), 1),
        "all_right": sum(ok for _, ok in rows) / max(len(rows), 1),
        "cut": cut,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cv", action="store_true")
    ap.add_argument("--curve", action="store_true")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--no-safety", action="store_true", help="measure without the safety list")
    args = ap.parse_args()
    if args.no_safety:
        SAFETY.clear()
    emails = td.load(args.cache)
    docs_cache = None if args.cache is None else args.cache.with_suffix(".docs.pkl")
    if docs_cache is not None and docs_cache.exists():
        docs = pickle.loads(docs_cache.read_bytes())
    else:
        docs = oof_docs(emails)
        if docs_cache is not None:
            docs_cache.write_bytes(pickle.dumps(docs))
    th: dict[str, float] = {}
    if args.cv or args.write:
        report("rules", rules_score(emails))
        th = calibrate(emails, docs)
        res = score(emails, docs, th)
        report("model", res)
        # confidence: isotonic per decision on the out-of-fold decisions, then the cut at
        # which confident tickets are right >= 97 %; the honest figure is cross-fitted
        cal = fit_calibration(res["decisions"])
        th["confident"] = confident_cut(confidence_table(res["decisions"], cal))
        res = score(emails, docs, th, cal)
        writers = [x for x in res["decisions"] if x[0].source not in td.EXTRA_SETS]
        print("thresholds", th, flush=True)
        print("doubt (in-sample cut, writers)", doubt_report(writers, th["confident"]))
        print("doubt (cross-fitted, writers)", cross_fitted_doubt(res["decisions"]), flush=True)
    if args.curve:  # thresholds fixed at the shipped ones (recalibrating each point is slow)
        fixed = (
            th
            if args.cv or args.write
            else json.loads(gzip.decompress(OUT.read_bytes()))["thresholds"]
        )
        for share in (0.25, 0.5, 0.75, 1.0):
            d = oof_docs(emails, share) if share < 1 else docs
            m = score(emails, d, fixed)["mean"]
            n = int(len([e for e in emails if e.source != folds_of(emails)[0]]) * share)
            print(
                f"curve share={share} train_emails~{n} "
                + json.dumps({k: round(v, 3) for k, v in m.items()}),
                flush=True,
            )
    if args.write:
        doc = fit(emails)
        doc["thresholds"] = th
        doc["calibration"] = cal
        doc["info"] = {
            "emails": len(emails),
            "sources": sorted({e.source for e in emails}),
            "trained_by": "bench/train.py",
            "cv_mean": {k: round(v, 4) for k, v in res["mean"].items()},
        }
        packed = packed_document(doc)
        OUT.write_bytes(
            gzip.compress(
                json.dumps(packed, sort_keys=True, separators=(",", ":")).encode(), mtime=0
            )
        )
        print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
