"""Cut the new text of an email into clauses, each with its evidence.

A clause is a sentence, a list entry, or one half of a sentence joined with "and"/"but"/";" when
the halves talk about different things ("the toilet keeps running, and the light over the mirror
flickers"); halves about the same thing are joined again and read as one.
"""

from __future__ import annotations

import re
from dataclasses import replace

from propdesk.core.evidence import Clause, evidence
from propdesk.core.sentences import Sentence, split_sentences
from propdesk.core.vocabulary import Vocabulary

_CLAUSE_SPLIT_RE = re.compile(
    r"\s*;\s*|,\s+(?=(?:but|and|also|plus|the|my|our)\b)|\s+(?=(?:but now|and also|plus also)\b)"
    r"|\s+-\s+(?=[a-z])|\s+(?=and\s+(?:the|my|our|i think|it's|now|separately|also)\b)",
    re.IGNORECASE,
)


def thing_words(words: tuple[str, ...] | list[str], vocab: Vocabulary) -> set[str]:
    """The words of a thing, with synonyms folded together ("fridge" is a refrigerator)."""
    same = vocab.decisions.same_thing
    return {same.get(w, w) for w in words}


def _objects(clause: Clause, vocab: Vocabulary, min_weight: float = 0.0) -> set[str]:
    """Words naming things; for noise the nuisance itself ("parties", "barks") is the thing."""
    return {
        vocab.decisions.same_thing.get(w, w)
        for h in clause.hits
        if h.role.weight >= min_weight
        and (
            h.role.kind == "topic"
            or (
                h.role.kind == "problem"
                and vocab.topics[h.role.name].subcategory == "noise_complaint"
            )
        )
        for w in h.words
    }


def _water_damage_of(a: Clause, b: Clause, vocab: Vocabulary) -> bool:
    """ "the water heater is leaking all over the floor and the carpet is soaked": a surface
    (carpet, floor, wall) with only the first half's symptom (soaked, wet) is its damage."""

    def symptoms(c: Clause) -> set[str]:
        return {h.role.name for h in c.hits if h.role.kind == "problem" and not h.negated}

    top = b.top_topic()
    mine = symptoms(b)
    return (
        top is not None
        and vocab.topics[top].subcategory == "general_repair"
        and bool(mine)
        and mine <= symptoms(a)
        and all(vocab.topics[t].attach for t in mine)
        and not b.generic_problem
    )


def _two_problems(a: Clause, b: Clause, vocab: Vocabulary) -> bool:
    """ "the kitchen sink is leaking and the shower drain is clogged": the second half names a
    clear thing of its own (not "it", not a word of the first half) and its own problem."""
    strong_b = _objects(b, vocab, vocab.decisions.thresholds.clear_object)
    if _water_damage_of(a, b, vocab):
        return False
    return (
        a.problem
        and b.problem
        and bool(_objects(a, vocab))
        and bool(strong_b)
        and not strong_b & _objects(a, vocab)
        and not vocab.decisions.conjoined_pronoun_re.search(b.text)
    )


def _clause(
    text: str, vocab: Vocabulary, *, index: int, sent: Sentence, from_subject: bool, list_item: bool
) -> Clause:
    return evidence(
        text,
        vocab,
        sentence=index,
        from_subject=from_subject,
        list_item=list_item,
        block=sent.block,
        in_list=sent.in_list,
    )


_DASHES = "-\u2013\u2014"


def _after_dash(text: str, start: str) -> bool:
    """``start`` follows a spaced dash (hyphen, en or em dash) in ``text``: the regex search
    ``whitespace, dash, whitespace*, start`` without compiling a pattern per piece (``start``
    is stripped, so the spaces after the dash are all skipped)."""
    j = text.find(start)
    while j != -1:
        k = j
        while k > 0 and text[k - 1].isspace():
            k -= 1
        if k >= 2 and text[k - 1] in _DASHES and text[k - 2].isspace():
            return True
        j = text.find(start, j + 1)
    return False


def clauses(text: str, vocab: Vocabulary, *, from_subject: bool = False) -> list[Clause]:
    """Clauses of ``text``: sentences, split further where halves are about different things."""
    out: list[Clause] = []
    max_words = vocab.decisions.thresholds.max_sentence_words
    for s_index, sent in enumerate(split_sentences(text, max_words)):
        pieces = [p for p in _CLAUSE_SPLIT_RE.split(sent.text) if p and p.strip()]
        current: Clause | None = None
        for piece in pieces:
            first = current is None
            ev = _clause(
                piece,
                vocab,
                index=s_index,
                sent=sent,
                from_subject=from_subject,
                list_item=sent.list_start and first,
            )
            if current is None:
                current = ev
                continue
            a, b = current.top_topic(), ev.top_topic()
            strong = b is not None and ev.topic_scores[b] >= vocab.decisions.thresholds.min_piece
            # "a party until 3am - thumping music, people yelling": after a dash, the same
            # kind of matter is the detail of the first, not a second matter
            dashed = _after_dash(sent.text, piece.strip()[:12])
            second = _two_problems(current, ev, vocab) and not (dashed and a == b)
            # halves about the same kind of thing stay one clause unless each names its own
            # thing and problem: "my door is not closing good, the key sometimes does not lock"
            differ = (
                a is not None
                and b is not None
                and (vocab.topics[a].category, vocab.topics[a].subcategory)
                != (vocab.topics[b].category, vocab.topics[b].subcategory)
            )
            starts_new = (
                (strong and differ)
                or bool(ev.cues & ({"separator"} | vocab.decisions.closing_cues))
                or second
            )
            if starts_new:
                out.append(current)
                current = replace(ev, conjoined=True, second_problem=second)
            else:
                joined = f"{current.text}, {piece.strip()}"
                current = _clause(
                    joined,
                    vocab,
                    index=s_index,
                    sent=sent,
                    from_subject=from_subject,
                    list_item=current.list_item,
                )
        if current is not None:
            out.append(current)
    return out
