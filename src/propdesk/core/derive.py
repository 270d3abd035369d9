"""Derived ticket fields: priority, request type, estimated cost and property id.

Each is a small pure function of the classification and the policy tables, so a change of
policy is a change of data, and each rule is tested on its own.
"""

from __future__ import annotations

from propdesk.core.models import (
    Category,
    EstimatedCost,
    Priority,
    RequestType,
    Subcategory,
    Urgency,
)
from propdesk.core.policy import Policy

NO_PROPERTY = "P000"


def priority_for(
    category: Category, subcategory: Subcategory | None, urgency: Urgency, policy: Policy
) -> Priority:
    """Priority equals urgency unless a ``[priority]`` override matches (first match wins)."""
    for rule in policy.priority_overrides:
        if (
            (rule.category is None or rule.category == category)
            and (rule.subcategory is None or rule.subcategory == subcategory)
            and (rule.urgency is None or rule.urgency == urgency)
        ):
            return rule.priority
    return Priority(urgency.value)


def request_type_for(
    category: Category, subcategory: Subcategory | None, policy: Policy
) -> RequestType:
    """Subcategory entry, else category entry, else the table's default."""
    if subcategory is not None and subcategory in policy.request_type_by_subcategory:
        return policy.request_type_by_subcategory[subcategory]
    return policy.request_type_by_category.get(category, policy.request_type_default)


def estimated_cost_for(
    subcategory: Subcategory | None, requires_contractor: bool, policy: Policy
) -> EstimatedCost:
    """A contractor job costs the ``contractor`` band; otherwise the subcategory's band."""
    if requires_contractor:
        return policy.cost_contractor
    if subcategory is None:
        return policy.cost_default
    return policy.cost_by_subcategory.get(subcategory, policy.cost_default)


def unit_id(unit: str | None) -> str | None:
    """The bare unit id: "Unit 3B" -> "3B"; None or blank -> None."""
    if unit is None:
        return None
    text = unit.strip()
    if text.lower().startswith("unit "):
        text = text[5:].strip()
    if not text or text.lower() == "not specified":
        return None
    return text.upper()


def unit_number(unit: str | None) -> str | None:
    """The display form the corpus uses: "4c" -> "Unit 4C"."""
    bare = unit_id(unit)
    return None if bare is None else f"Unit {bare}"


def property_id_for(unit: str | None, building: str | None, policy: Policy) -> str:
    """A mapped building's property id, else the spec's code: "P" + unit id[:3] zero-filled.

    "3B" -> "P03B", "12" -> "P012", "1204" -> "P120", no unit -> "P000". (The spec's example JSON
    shows "P3B0", but its code gives "P03B"; we follow the code, as the issue says.)
    """
    if building is not None:
        mapped = policy.properties.get(building.strip().upper())
        if mapped is not None:
            return mapped
    bare = unit_id(unit)
    if bare is None:
        return NO_PROPERTY
    return f"P{bare[:3].zfill(3)}"
