"""Which decision of a ticket triage was unsure of, in words: ``urgency=2 p=0.62 (rules: 1)``.

Read from the model's part of ``matched_rules`` (``propdesk.core.triage`` writes
``model:urgency=2 p=0.62 (rules: 1)`` for every decision), so the triage mail, ``tickets show``
and ``classify`` explain one doubt the same way. Stdlib only and model-free, so
``propdesk.core.models`` can use it.
"""

from __future__ import annotations

from collections.abc import Sequence

#: The model head behind each decision name of ``TicketMetadata.unsure``.
_HEAD_OF = {"ticket": "keep", "category": "kind", "urgency": "urgency", "contractor": "contractor"}
_SAFETY_NOTE = "safety:"


def review_reasons(unsure: Sequence[str], matched_rules: Sequence[str]) -> tuple[str, ...]:
    """One reason per unsure decision (``category=Maintenance/cleaning p=0.27``); the bare
    decision name when the model's note for it is missing (an older ticket, a changed format).
    An urgency the safety list raised says so instead of quoting the head it overruled."""
    safety = next((r for r in matched_rules if r.startswith(_SAFETY_NOTE)), None)
    reasons = []
    for name in unsure:
        if name == "urgency" and safety is not None:
            reasons.append(f"urgency=1 ({safety})")
            continue
        prefix = f"model:{_HEAD_OF.get(name, name)}"
        note = next((r for r in matched_rules if r.startswith((f"{prefix}=", f"{prefix} "))), None)
        reasons.append(name if note is None else name + note[len(prefix) :])
    return tuple(reasons)
