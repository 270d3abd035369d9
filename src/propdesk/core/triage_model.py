"""The triage model at run time: small linear heads over hashed features, weights as data.

Heads (each a logistic regression trained by ``bench/train.py``): ``keep`` (is this rule-made
item a real ticket?), ``kind`` (category/subcategory), ``urgency`` and ``contractor``. The
weights are a gzip'd JSON document shipped in ``propdesk/rules/triage_model.json.gz``, read once
at start; no numpy, no network. The arbiter that combines them with the rules lives in
``propdesk.core.triage``.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from propdesk.errors import RulesError

FORMAT = "propdesk-triage/1"


@dataclass(frozen=True)
class LinearHead:
    """One head: classes, intercepts, and per-bucket weight rows (one weight per class row).

    A binary head has one row (the score of ``classes[1]``, as scikit-learn stores it)."""

    classes: tuple[str, ...]
    intercept: tuple[float, ...]
    weights: Mapping[int, tuple[float, ...]]

    def proba(self, buckets: Sequence[int]) -> dict[str, float]:
        """Probability of each class for an item with these (binary) features."""
        scores = list(self.intercept)
        for b in buckets:
            row = self.weights.get(b)
            if row is not None:
                for k, w in enumerate(row):
                    scores[k] += w
        if len(scores) == 1:
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, scores[0]))))
            return {self.classes[0]: 1.0 - p, self.classes[1]: p}
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {c: e / total for c, e in zip(self.classes, exps, strict=True)}


@dataclass(frozen=True)
class Thresholds:
    """When the model overrules the rules, and when a decision counts as confident."""

    keep: float  # drop a rule-made item when p(real ticket) is below this
    kind: float  # the model's category/subcategory wins at p >= this
    urgency: float
    contractor: float
    confident: float  # a decision whose probability is below this is unsure (needs review)


@dataclass(frozen=True)
class TriageModel:
    """All heads plus the calibrated thresholds, and where the weights came from."""

    heads: Mapping[str, LinearHead]
    thresholds: Thresholds
    info: Mapping[str, Any]


HEADS = ("keep", "kind", "urgency", "contractor")


def _head(name: str, doc: Mapping[str, Any]) -> LinearHead:
    classes = tuple(str(c) for c in doc["classes"])
    intercept = tuple(float(x) for x in doc["intercept"])
    rows = len(intercept)
    if rows != (1 if len(classes) == 2 else len(classes)):
        raise RulesError(f"triage model: head {name}: {rows} rows for {len(classes)} classes")
    weights = {int(b): tuple(float(x) for x in row) for b, row in doc["weights"].items()}
    if any(len(row) != rows for row in weights.values()):
        raise RulesError(f"triage model: head {name}: a weight row of the wrong length")
    return LinearHead(classes, intercept, weights)


def model_from_document(doc: Mapping[str, Any]) -> TriageModel:
    """Validate a decoded weights document; ``RulesError`` names what is wrong."""
    if doc.get("format") != FORMAT:
        raise RulesError(f"triage model: format {doc.get('format')!r}, expected {FORMAT!r}")
    missing = [h for h in HEADS if h not in doc.get("heads", {})]
    if missing:
        raise RulesError(f"triage model: missing heads {', '.join(missing)}")
    heads = {h: _head(h, doc["heads"][h]) for h in HEADS}
    th = doc["thresholds"]
    thresholds = Thresholds(
        keep=float(th["keep"]),
        kind=float(th["kind"]),
        urgency=float(th["urgency"]),
        contractor=float(th["contractor"]),
        confident=float(th["confident"]),
    )
    return TriageModel(heads, thresholds, dict(doc.get("info", {})))


def model_from_bytes(data: bytes) -> TriageModel:
    """Decode the shipped gzip'd JSON weights."""
    try:
        doc = json.loads(gzip.decompress(data))
    except (OSError, ValueError) as exc:
        raise RulesError(f"triage model: unreadable weights: {exc}") from None
    return model_from_document(doc)
