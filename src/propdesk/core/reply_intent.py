"""What a tenant's reply asks for, read from the NEW text only (quoted history already stripped
by ``propdesk.core.quoting`` in the parser): still broken, fixed/thanks, close it, a rating 1-5,
a new problem, or unsure.

Pure and cautious on purpose: a close needs a close or fixed cue and no "still broken" cue
(``[reply_intent] precedence`` orders the kinds); a reply without any cue is ``unsure``, which
callers turn into a comment plus a mail to the assignee, never a close.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from propdesk.core.conversation_rules import ConversationRules


class Intent(StrEnum):
    """What a reply asks for."""

    STILL_BROKEN = "still_broken"
    FIXED_THANKS = "fixed_thanks"
    CLOSE_IT = "close_it"
    RATING = "rating"
    NEW_PROBLEM = "new_problem"
    UNSURE = "unsure"


@dataclass(frozen=True, slots=True)
class ReplyIntent:
    """The intent, the rating (for ``RATING``) and why, for the ticket event."""

    intent: Intent
    reason: str
    rating: int | None = None


def detect_intent(
    new_text: str, rules: ConversationRules, *, expect_rating: bool = True
) -> ReplyIntent:
    """The intent of one reply's new text.

    With ``expect_rating`` (the ticket is Resolved or Closed: the completion mail asked for one),
    a rating wins when the text is short and names one ("4/5", "Rating: 2", a lone "5"); a
    "1 out of 5, still broken" is a rating too (a low rating reopens anyway). Otherwise the first
    kind in ``precedence`` with a matching cue ("2 of 5 burners" on an open ticket is no rating).
    """
    text = " ".join(new_text.split()) if len(new_text) > 2000 else new_text
    rating = rules.rating_re.search(text) if expect_rating else None
    if rating is not None and len(text.strip()) <= 400:
        value = int(next(g for g in rating.groups() if g))
        return ReplyIntent(Intent.RATING, f"rating {value} ({rating.group(0).strip()!r})", value)
    for name in rules.precedence:
        found = rules.cues[name].search(text)
        if found is not None:
            return ReplyIntent(Intent(name), f"cue {found.group(0).lower()!r}")
    return ReplyIntent(Intent.UNSURE, "no cue matched")
