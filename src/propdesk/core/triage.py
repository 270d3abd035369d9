"""The arbiter: the rules decide, the triage model overrules them where it is sure, and every
decision says how sure it is.

For one rule-made item: ``keep`` (drop it when the model is sure it is no ticket: a thank-you,
a symptom split off its cause), then category/subcategory, urgency and contractor, where the
model's answer wins only at ``p >= threshold`` (calibrated in cross-validation, stored with the
weights). ``confidence`` is the lowest probability the model gives any final decision; a decision
below ``thresholds.confident`` is *unsure* and the ticket needs review. Each model decision is
named in ``notes`` (``model:urgency=1 p=0.93``) so it stays explainable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from propdesk.core.classify import Classification
from propdesk.core.models import SUBCATEGORIES_OF, Category
from propdesk.core.triage_features import ItemView, features
from propdesk.core.triage_model import TriageModel
from propdesk.core.vocabulary import Vocabulary


@dataclass(frozen=True, slots=True)
class Decision:
    """The final decisions for one item and how sure the model is of them."""

    keep: bool
    category: str
    subcategory: str | None
    urgency: str
    contractor: bool
    confidence: float
    unsure: tuple[str, ...]  # the decisions below the confident threshold
    notes: tuple[str, ...]
    raw: Mapping[str, float] = dataclasses.field(default_factory=dict)  # p of each decision


def kind_key(category: str, subcategory: str | None) -> str:
    return f"{category}/{subcategory}" if subcategory else category


def split_kind(key: str) -> tuple[str, str | None]:
    """ "Maintenance/plumbing" -> (Maintenance, plumbing); "Move-in/out" is a category whole."""
    if key in _CATEGORIES:
        return key, None
    category, _, sub = key.rpartition("/")
    return category, sub or None


@cache
def _valid_kind(key: str) -> bool:
    category, sub = split_kind(key)
    if category not in _CATEGORIES:
        return False
    allowed = {s.value for s in SUBCATEGORIES_OF.get(Category(category), ())}
    return sub in allowed if sub is not None else not allowed


def _arbitrate(
    probs: dict[str, float], rule: str, threshold: float, name: str, notes: list[str]
) -> tuple[str, float]:
    """The model's answer if it is at least ``threshold`` sure, else the rules'."""
    top = max(probs.items(), key=lambda kv: kv[1])
    if top[0] != rule and (top[1] >= threshold or rule == NONE):
        notes.append(f"model:{name}={top[0]} p={top[1]:.2f} (rules: {rule})")
        return top[0], top[1]
    p = probs.get(rule, 0.0)
    notes.append(f"model:{name}={rule} p={p:.2f}")
    return rule, p


class RuleItem(Protocol):
    """What triage reads of a rule-made item (a ``Classification``, or training data)."""

    @property
    def text(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def subcategory(self) -> str | None: ...
    @property
    def urgency(self) -> str: ...
    @property
    def requires_contractor(self) -> bool: ...
    @property
    def matched_rules(self) -> tuple[str, ...]: ...


def item_views(items: Sequence[RuleItem], subject: str) -> list[ItemView]:
    """The model's view of each rule-made item of one email (training uses the same)."""
    views = []
    for n, it in enumerate(items):
        kinds = {kind_key(p.category, p.subcategory) for p in items[:n]}
        kind = kind_key(it.category, it.subcategory)
        views.append(
            ItemView(
                text=it.text,
                subject=subject,
                category=it.category,
                subcategory=it.subcategory,
                urgency=it.urgency,
                contractor=it.requires_contractor,
                matched_rules=it.matched_rules,
                index=n,
                count=len(items),
                same_kind_before=kind in kinds,
            )
        )
    return views


_CATEGORIES = frozenset(c.value for c in Category)
NONE = "none"  # the rules' "decision" on an email in which they found no matter
_FALLBACK_TEXT = 2000


def fallback_view(subject: str, new_text: str) -> ItemView:
    """The whole email as one candidate item, when the rules found no matter in it: the model
    decides whether it is a ticket after all (a request the rules' words missed)."""
    return ItemView(
        text=new_text[:_FALLBACK_TEXT],
        subject=subject,
        category=NONE,
        subcategory=None,
        urgency=NONE,
        contractor=False,
        matched_rules=("open:none",),
        index=0,
        count=0,
        same_kind_before=False,
    )


def hazards(matched_rules: Sequence[str], safety: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The safety-list hazards whose urgency rule fired for this item."""
    fired = {r.removeprefix("urgency:").removesuffix("=1") for r in matched_rules}
    return [h for h, names in safety.items() if fired & set(names)]


def decide(
    view: ItemView, model: TriageModel, safety: Mapping[str, tuple[str, ...]] | None = None
) -> Decision:
    """Combine the rules' decisions in ``view`` with the model's, then the safety list (which
    only ever raises urgency to "1")."""
    th = model.thresholds
    probas = model.probas(features(view))
    notes: list[str] = []
    p_keep = probas["keep"].get("True", 0.0)
    keep = p_keep >= th.keep
    notes.append(f"model:keep p={p_keep:.2f}")
    rule_kind = kind_key(view.category, view.subcategory)
    kind_probs = {k: p for k, p in probas["kind"].items() if _valid_kind(k)}
    kind, p_kind = _arbitrate(kind_probs, rule_kind, th.kind, "kind", notes)
    urgency_probs = probas["urgency"]
    urgency, p_urg = _arbitrate(urgency_probs, view.urgency, th.urgency, "urgency", notes)
    p_one = urgency_probs.get("1", 0.0)
    if urgency != "1" and p_one >= th.emergency:  # a missed emergency costs most: lean to "1"
        notes[-1] = (  # the urgency note says the final answer (``core.doubt`` quotes it)
            f"model:urgency=1 p={p_one:.2f} (emergency threshold {th.emergency:.2f}; "
            f"rules: {view.urgency})"
        )
        urgency, p_urg = "1", p_one
    contractor, p_con = _arbitrate(
        probas["contractor"], str(view.contractor), th.contractor, "contractor", notes
    )
    found = hazards(view.matched_rules, safety or {})
    if found:  # a listed hazard is always a ticket, and an emergency
        keep = True
        if urgency != "1":
            urgency, p_urg = "1", urgency_probs.get("1", 0.0)
            notes.append(f"safety:{found[0]} raises urgency to 1")
    category, subcategory = split_kind(kind)
    raw = {"ticket": p_keep, "category": p_kind, "urgency": p_urg, "contractor": p_con}
    # how often such a decision was right in cross-validation (the raw p where uncalibrated)
    sure = {k: model.calibrated(k, p) for k, p in raw.items()}
    unsure = tuple(k for k, p in sure.items() if p < th.confident)
    return Decision(
        keep=keep,
        category=category,
        subcategory=subcategory,
        urgency=urgency,
        contractor=contractor == "True",
        confidence=min(sure.values()),
        unsure=unsure,
        notes=tuple(notes),
        raw=raw,
    )


def triage(
    items: list[Classification],
    subject: str,
    new_text: str,
    vocab: Vocabulary,
    model: TriageModel | None,
) -> list[Classification]:
    """The email's rule-made items after the model and the safety list (unchanged without a
    model): dropped when no ticket, decisions overruled where the model is sure, each with its
    confidence and unsure decisions, and the model's part appended to ``matched_rules``."""
    if model is None:
        return items
    if not items:
        return _fallback(subject, new_text, vocab, model)
    out = []
    for item, view in zip(items, item_views(items, subject), strict=True):
        d = decide(view, model, vocab.safety)
        if not d.keep:
            continue
        out.append(
            dataclasses.replace(
                item,
                category=d.category,
                subcategory=d.subcategory,
                urgency=d.urgency,
                requires_contractor=d.contractor,
                matched_rules=(*item.matched_rules, *d.notes),
                confidence=round(d.confidence, 3),
                unsure=d.unsure,
            )
        )
    return out


def _fallback(
    subject: str, new_text: str, vocab: Vocabulary, model: TriageModel
) -> list[Classification]:
    """No matter found by the rules: one ticket of the whole email if the model is sure enough."""
    d = decide(fallback_view(subject, new_text), model, vocab.safety)
    if not d.keep or not new_text.strip():
        return []
    limit = vocab.decisions.thresholds.summary_max
    first = new_text.strip().splitlines()[0]
    summary = first if len(first) <= limit else first[: limit - 3].rstrip() + "..."
    return [
        Classification(
            category=d.category,
            subcategory=d.subcategory,
            urgency=d.urgency,
            requires_contractor=d.contractor,
            topic="model",
            text=new_text.strip(),
            summary=summary,
            matched_rules=("open:model (the rules found no matter)", *d.notes),
            confidence=round(d.confidence, 3),
            unsure=d.unsure,
        )
    ]
