"""Assignment: which group and which person get a ticket.

The spec's two-step rule, run over the rules tables rather than hard-coded: the category picks
the group and default assignee (falling back to General Support), then a specialist for the
subcategory replaces the assignee but keeps the group (a plumber still works in Maintenance).
"""

from __future__ import annotations

from propdesk.core.models import Category, Subcategory
from propdesk.core.policy import Assignment, Policy


def assign(category: Category, subcategory: Subcategory | None, policy: Policy) -> Assignment:
    """The (group, assignee) for a classified ticket."""
    base = policy.assignment.get(category, policy.default_assignment)
    if subcategory is not None and subcategory in policy.specialists:
        return Assignment(base.group, policy.specialists[subcategory])
    return base
