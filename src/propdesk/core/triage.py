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

from dataclasses import dataclass

from propdesk.core.triage_features import ItemView, features
from propdesk.core.triage_model import TriageModel


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


def kind_key(category: str, subcategory: str | None) -> str:
    return f"{category}/{subcategory}" if subcategory else category


def split_kind(key: str) -> tuple[str, str | None]:
    category, _, sub = key.partition("/")
    return category, sub or None


def _arbitrate(
    probs: dict[str, float], rule: str, threshold: float, name: str, notes: list[str]
) -> tuple[str, float]:
    """The model's answer if it is at least ``threshold`` sure, else the rules'."""
    top = max(probs.items(), key=lambda kv: kv[1])
    if top[0] != rule and top[1] >= threshold:
        notes.append(f"model:{name}={top[0]} p={top[1]:.2f} (rules: {rule})")
        return top[0], top[1]
    p = probs.get(rule, 0.0)
    notes.append(f"model:{name}={rule} p={p:.2f}")
    return rule, p


def decide(view: ItemView, model: TriageModel) -> Decision:
    """Combine the rules' decisions in ``view`` with the model's."""
    th = model.thresholds
    buckets = features(view)
    heads = model.heads
    notes: list[str] = []
    p_keep = heads["keep"].proba(buckets).get("True", 0.0)
    keep = p_keep >= th.keep
    notes.append(f"model:keep p={p_keep:.2f}")
    rule_kind = kind_key(view.category, view.subcategory)
    kind, p_kind = _arbitrate(heads["kind"].proba(buckets), rule_kind, th.kind, "kind", notes)
    urgency, p_urg = _arbitrate(
        heads["urgency"].proba(buckets), view.urgency, th.urgency, "urgency", notes
    )
    contractor, p_con = _arbitrate(
        heads["contractor"].proba(buckets), str(view.contractor), th.contractor, "contractor", notes
    )
    category, subcategory = split_kind(kind)
    sure = {"ticket": p_keep, "category": p_kind, "urgency": p_urg, "contractor": p_con}
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
    )
