"""The triage model at run time: small linear heads over hashed features, weights as data.

Heads (each a logistic regression trained by ``bench/train.py``): ``keep`` (is this rule-made
item a real ticket?), ``kind`` (category/subcategory), ``urgency`` and ``contractor``. The
weights are a gzip'd JSON document shipped in ``propdesk/rules/triage_model.json.gz``, read once
at start; no numpy, no network. The arbiter that combines them with the rules lives in
``propdesk.core.triage``.

Why one table: every head reads the same buckets, so the shipped form (format 2) keeps one row
per bucket holding every head's weights side by side, as packed doubles (``array('d')``). An
item then costs one dict lookup per bucket and one C-level column sum, instead of a Python loop
per head and weight; loading is a ``frombytes`` instead of building a million float objects.
Format 1 (a dict of weight lists per head) is still read: training builds models in it.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import sys
from array import array
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from propdesk.errors import RulesError

FORMAT = "propdesk-triage/1"  # per-head weight dicts (training's working form)
PACKED_FORMAT = "propdesk-triage/2"  # one packed table of all heads (the shipped form)
HEADS = ("keep", "kind", "urgency", "contractor")


def _probabilities(classes: Sequence[str], scores: Sequence[float]) -> dict[str, float]:
    if len(scores) == 1:
        p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, scores[0]))))
        return {classes[0]: 1.0 - p, classes[1]: p}
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return {c: e / total for c, e in zip(classes, exps, strict=True)}


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
        return _probabilities(self.classes, scores)


@dataclass(frozen=True)
class Thresholds:
    """When the model overrules the rules, and when a decision counts as confident."""

    keep: float  # drop a rule-made item when p(real ticket) is below this
    kind: float  # the model's category/subcategory wins at p >= this
    urgency: float
    contractor: float
    confident: float  # a decision whose probability is below this is unsure (needs review)
    emergency: float = 1.01  # urgency "1" at p("1") >= this, even when another is likelier


@dataclass(frozen=True)
class PackedWeights:
    """Every head's weights in one table: ``rows[b]`` is bucket ``b``'s row (``width`` weights,
    every head's side by side); head ``h`` owns columns ``spans[h]``."""

    rows: Mapping[int, tuple[float, ...]]
    width: int
    intercept: tuple[float, ...]
    spans: Mapping[str, tuple[int, int]]

    def scores(self, buckets: Sequence[int]) -> list[float]:
        """Every head's raw scores: intercept first, then the rows in bucket order (the same
        additions, in the same order, as ``LinearHead.proba``: a missing weight adds 0.0)."""
        found = list(filter(None, map(self.rows.get, buckets)))  # rows are never empty
        return [sum(col) for col in zip(self.intercept, *found, strict=True)]

    def table(self) -> tuple[list[int], array[float]]:
        """The sorted buckets and their rows as one flat array (the shipped form)."""
        buckets = sorted(self.rows)
        return buckets, array("d", (w for b in buckets for w in self.rows[b]))


def _rows(
    buckets: Sequence[int], table: Sequence[float], width: int
) -> dict[int, tuple[float, ...]]:
    """Bucket -> row of ``width`` weights, cut from the flat table at C speed."""
    return dict(zip(buckets, zip(*[iter(table)] * width, strict=False), strict=True))


@dataclass(frozen=True)
class Calibration:
    """How often a decision of one head with raw probability p was right, out of fold: a
    non-decreasing step function (isotonic regression, ``bench/train.py``), ``y[i]`` for
    ``x[i] <= p < x[i + 1]``. Empty: the raw probability stands."""

    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()

    def __call__(self, p: float) -> float:
        if not self.x:
            return p
        i = bisect_right(self.x, p) - 1
        return self.y[max(i, 0)]


#: The decisions a ticket's confidence is made of, and the head behind each
DECISIONS = {"ticket": "keep", "category": "kind", "urgency": "urgency", "contractor": "contractor"}


@dataclass(frozen=True)
class TriageModel:
    """All heads plus the calibrated thresholds, and where the weights came from."""

    heads: Mapping[str, LinearHead]
    thresholds: Thresholds
    info: Mapping[str, Any]
    packed: PackedWeights | None = None
    calibration: Mapping[str, Calibration] = field(default_factory=dict)  # by decision name

    def calibrated(self, decision: str, p: float) -> float:
        """The chance that a ``decision`` made with raw probability ``p`` is right."""
        cal = self.calibration.get(decision)
        return p if cal is None else cal(p)

    def probas(self, buckets: Sequence[int]) -> dict[str, dict[str, float]]:
        """Each head's class probabilities for one item's buckets, in one pass."""
        packed = self.packed or pack(self.heads)
        scores = packed.scores(buckets)
        return {
            h: _probabilities(head.classes, scores[packed.spans[h][0] : packed.spans[h][1]])
            for h, head in self.heads.items()
        }


def pack(heads: Mapping[str, LinearHead]) -> PackedWeights:
    """The heads' weights as one table (zeros where a head has no weight for a bucket)."""
    spans: dict[str, tuple[int, int]] = {}
    width = 0
    for h in HEADS:
        n = len(heads[h].intercept)
        spans[h] = (width, width + n)
        width += n
    buckets = sorted({b for h in HEADS for b in heads[h].weights})
    table = array("d", bytes(8 * width * len(buckets)))
    for r, b in enumerate(buckets):
        for h in HEADS:
            row = heads[h].weights.get(b)
            if row is not None:
                start = r * width + spans[h][0]
                table[start : start + len(row)] = array("d", row)
    intercept = tuple(x for h in HEADS for x in heads[h].intercept)
    return PackedWeights(_rows(buckets, table, width), width, intercept, spans)


def _calibration(doc: Mapping[str, Any]) -> dict[str, Calibration]:
    out = {}
    for name, table in doc.get("calibration", {}).items():
        if name not in DECISIONS:
            raise RulesError(f"triage model: calibration of unknown decision {name!r}")
        x = tuple(float(v) for v in table["x"])
        y = tuple(float(v) for v in table["y"])
        if len(x) != len(y) or list(x) != sorted(x) or list(y) != sorted(y):
            raise RulesError(f"triage model: calibration {name}: x and y must rise together")
        out[name] = Calibration(x, y)
    return out


def _check_rows(name: str, classes: Sequence[str], rows: int) -> None:
    if rows != (1 if len(classes) == 2 else len(classes)):
        raise RulesError(f"triage model: head {name}: {rows} rows for {len(classes)} classes")


def _head(name: str, doc: Mapping[str, Any]) -> LinearHead:
    classes = tuple(str(c) for c in doc["classes"])
    intercept = tuple(float(x) for x in doc["intercept"])
    rows = len(intercept)
    _check_rows(name, classes, rows)
    weights = {int(b): tuple(float(x) for x in row) for b, row in doc["weights"].items()}
    if any(len(row) != rows for row in weights.values()):
        raise RulesError(f"triage model: head {name}: a weight row of the wrong length")
    return LinearHead(classes, intercept, weights)


def _thresholds(th: Mapping[str, Any]) -> Thresholds:
    return Thresholds(
        keep=float(th["keep"]),
        kind=float(th["kind"]),
        urgency=float(th["urgency"]),
        contractor=float(th["contractor"]),
        confident=float(th["confident"]),
        emergency=float(th.get("emergency", 1.01)),
    )


def _packed_doc(doc: Mapping[str, Any]) -> TriageModel:
    """Format 2: heads carry classes and intercepts; the table is base64 little-endian arrays."""
    spans: dict[str, tuple[int, int]] = {}
    width = 0
    heads: dict[str, LinearHead] = {}
    for h in HEADS:
        classes = tuple(str(c) for c in doc["heads"][h]["classes"])
        intercept = tuple(float(x) for x in doc["heads"][h]["intercept"])
        _check_rows(h, classes, len(intercept))
        spans[h] = (width, width + len(intercept))
        width += len(intercept)
        heads[h] = LinearHead(classes, intercept, {})
    buckets = array("I", base64.b64decode(doc["buckets"]))
    table = array("d", base64.b64decode(doc["table"]))
    if sys.byteorder != "little":
        buckets.byteswap()
        table.byteswap()
    if len(table) != width * len(buckets):
        raise RulesError(f"triage model: table of {len(table)} for {len(buckets)} x {width}")
    intercept = tuple(x for h in HEADS for x in heads[h].intercept)
    packed = PackedWeights(_rows(buckets, table, width), width, intercept, spans)
    info = dict(doc.get("info", {}))
    return TriageModel(heads, _thresholds(doc["thresholds"]), info, packed, _calibration(doc))


def packed_document(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A format-1 document in the shipped format 2 (same weights, bit for bit)."""
    model = model_from_document(doc)
    packed = model.packed or pack(model.heads)
    sorted_buckets, table = packed.table()
    buckets = array("I", sorted_buckets)
    if sys.byteorder != "little":
        buckets.byteswap()
        table.byteswap()
    return {
        "format": PACKED_FORMAT,
        "heads": {
            h: {key: list(doc["heads"][h][key]) for key in ("classes", "intercept")} for h in HEADS
        },
        "buckets": base64.b64encode(buckets.tobytes()).decode(),
        "table": base64.b64encode(table.tobytes()).decode(),
        "thresholds": dict(doc["thresholds"]),
        "calibration": dict(doc.get("calibration", {})),
        "info": dict(doc.get("info", {})),
    }


def model_from_document(doc: Mapping[str, Any]) -> TriageModel:
    """Validate a decoded weights document; ``RulesError`` names what is wrong."""
    if doc.get("format") not in (FORMAT, PACKED_FORMAT):
        raise RulesError(f"triage model: format {doc.get('format')!r}, expected {PACKED_FORMAT!r}")
    missing = [h for h in HEADS if h not in doc.get("heads", {})]
    if missing:
        raise RulesError(f"triage model: missing heads {', '.join(missing)}")
    try:
        if doc["format"] == PACKED_FORMAT:
            return _packed_doc(doc)
        heads = {h: _head(h, doc["heads"][h]) for h in HEADS}
        info = dict(doc.get("info", {}))
        th = _thresholds(doc["thresholds"])
        return TriageModel(heads, th, info, pack(heads), _calibration(doc))
    except (KeyError, TypeError, ValueError) as exc:
        raise RulesError(f"triage model: malformed document: {exc!r}") from None


def model_from_bytes(data: bytes) -> TriageModel:
    """Decode the shipped gzip'd JSON weights."""
    try:
        doc = json.loads(gzip.decompress(data))
    except (OSError, ValueError) as exc:
        raise RulesError(f"triage model: unreadable weights: {exc}") from None
    return model_from_document(doc)
