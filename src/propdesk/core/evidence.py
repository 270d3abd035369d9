"""Cut the new text of an email into clauses and collect the vocabulary evidence of each.

A clause is the smallest piece the action-item splitter works with: a sentence, a list entry,
or one half of a sentence joined with "and"/"but"/";" when the halves talk about different
things ("the toilet keeps running, and the light over the mirror flickers").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from propdesk.core.textmatch import Match, Token, longest_matches, normalise, tokenize
from propdesk.core.vocabulary import Role, Vocabulary

_LIST_MARKER_RE = re.compile(r"^\s*(?:[-*\u2022\u25cf]|\(?\d{1,2}[.)]|[a-z][.)])\s+")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Za-z0-9\"'(])|(?<=[a-z]):\s+")
_CLAUSE_SPLIT_RE = re.compile(
    r"\s*;\s*|,\s+(?=(?:but|and|also|plus|the|my|our)\b)|\s+(?=(?:but now|and also|plus also)\b)"
    r"|\s+-\s+(?=[a-z])|\s+(?=and\s+(?:the|my|our|i think|it's|now|separately|also)\b)",
    re.IGNORECASE,
)
_PUNCT_RE = re.compile(r"[,;:.!?()\[\]]|\s-\s")
# Co-occurrence rules (urgency, context) see every phrase; other roles compete longest-first
# only with each other, so "sewage is coming" (urgency) does not hide "sewage" (topic).
_COOCCURRENCE_KINDS = frozenset({"urgency", "context"})
_INDOOR_TEMP_RE = re.compile(
    r"\b(\d{2})\s*(?:degrees|deg|\u00b0)\s*f?\b[^.!?]{0,20}?\b(?:in here|inside|in the "
    r"(?:apartment|unit|bedroom|living room|house)|in my (?:apartment|unit|bedroom|place))"
    r"|\b(?:it's|its|it is)\s+(?:only\s+)?(\d{2})\s*(?:degrees)?\s+(?:in here|inside)\b",
    re.IGNORECASE,
)
_CAPPED_TEMP_RE = re.compile(
    r"\b(?:can't|cannot|can not|won't|doesn't|does not|never|not|"
    r"(?:neither of us|nobody|no one) can)\s+(?:get\s+(?:it|the \w+)\s+|"
    r"go\s+|get\s+|goes\s+|gets\s+)?(above|over|past|below|under)\s+(\d{2})\b",
    re.IGNORECASE,
)
# "I'd patch the holes when I move out": a hypothetical names no real problem.
_HYPOTHETICAL_RE = re.compile(
    r"^\W*(?:i'd|i would|i could|we'd|we would|if)\b(?!\s+(?:like|love|appreciate|be grateful))",
    re.IGNORECASE,
)
# "First, ..." / "Second: ..." open an enumerated matter ("first floor" does not).
_ORDINAL_START_RE = re.compile(
    r"^\W*(?:first|second|third|fourth|next|lastly|finally)\s*[,:\-\u2013]", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Hit:
    """One phrase that fired in a clause, with the role it played."""

    phrase: str
    role: Role
    negated: bool
    locative: bool = False  # "behind the fridge": a place, not the thing the matter is about
    denied: bool = False  # "not a security issue": the tenant says what it is not
    words: tuple[str, ...] = ()  # the words it matched ("oven", "door")

    def describe(self) -> str:
        neg = " (negated)" if self.negated else ""
        return f"{self.role.kind}:{self.role.name}:'{self.phrase}'{neg}"


@dataclass(frozen=True)
class Clause:
    """A piece of text with the evidence found in it."""

    text: str
    sentence: int
    from_subject: bool
    list_item: bool  # starts a list entry
    question: bool
    hits: tuple[Hit, ...]
    topic_scores: Mapping[str, float]
    topic_hits: Mapping[str, tuple[str, ...]]
    cues: frozenset[str]  # cue kinds present and not negated
    problem: bool  # something is wrong (a non-negated problem phrase)
    urgency_rules: frozenset[str]  # urgency rules whose every group matched here
    context_rules: tuple[str, ...] = ()
    contractor: tuple[str, ...] = field(default_factory=tuple)
    block: int = 0  # paragraph or list entry
    conjoined: bool = False  # split off the previous clause of the same sentence
    second_problem: bool = False  # ... naming its own thing and its own problem
    problem_topics: frozenset[str] = frozenset()  # topics whose own problem phrases fired
    generic_problem: bool = False  # a generic problem cue ("not working", "broken")
    in_list: bool = False
    closing: bool = False  # nothing to act on: thanks, "never mind" (see ``_closing``)

    def top_topic(self) -> str | None:
        if not self.topic_scores:
            return None
        return max(self.topic_scores.items(), key=lambda kv: kv[1])[0]


def _closing(cues: frozenset[str], problem: bool, vocab: Vocabulary) -> bool:
    """Thanks, "never mind", a confirmation: nothing to act on (unless a problem is named)."""
    if "still" in cues:
        return False
    if "resolved" in cues:  # "never mind, the toilet stopped running on its own"
        return True
    return bool(cues & vocab.decisions.closing_cues) and not problem


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence and the block (paragraph or list entry) it belongs to."""

    text: str
    block: int
    in_list: bool  # the block is a list entry ("- ...", "1. ...")
    list_start: bool  # first sentence of a list entry


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of ``text``; hard line-wraps are joined, paragraphs and list entries are blocks."""
    out: list[Sentence] = []
    para: list[str] = []
    para_list = False
    block = 0

    def flush() -> None:
        nonlocal para, para_list, block
        if para:
            joined = " ".join(para)
            pieces = [p.strip() for p in _SENTENCE_END_RE.split(joined) if p.strip()]
            for i, piece in enumerate(pieces):
                out.append(Sentence(piece, block, para_list, para_list and i == 0))
            block += 1
        para = []
        para_list = False

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        marker = _LIST_MARKER_RE.match(stripped)
        if marker:
            flush()
            para_list = True
            stripped = stripped[marker.end() :]
        para.append(stripped)
    flush()
    return out


def _negator(text: str, tokens: list[Token], first: int, vocab: Vocabulary) -> str:
    """The negation word shortly before the phrase, in the same stretch of the sentence."""
    negation, d = vocab.negation, vocab.decisions
    for j in range(first - 1, max(-1, first - 1 - d.thresholds.negation_window), -1):
        if _PUNCT_RE.search(text, tokens[j].end, tokens[j + 1].start):
            return ""  # "does not light, it only clicks": the comma ends the negation
        word = tokens[j].text
        if word in d.negation_resets:
            return ""
        if word in d.place_prepositions and j > 0 and tokens[j - 1].text not in negation:
            # "no water in the whole building": the negation ends with its noun; the place
            # after it is not denied ("not in my neighbours" still is)
            return ""
        if word in negation:
            return word
        if (
            word in {"of", "about"}
            and j > 0
            and tokens[j - 1].text in d.fears
            and tokens[j + 1].text.endswith("ing")
        ):
            return "fear"  # "scared of tripping the breaker": feared, not happened
    return ""


def _rule_of(role: Role) -> str:
    """The situation rule a co-occurrence role belongs to ("no heat:1" -> "no heat")."""
    return role.name.rsplit(":", 1)[0]


def _masks_situation(role: Role) -> bool:
    """Phrases that may hide a shorter situation phrase: things ("smoke detector" hides
    "smoke", "water bill" hides "water") and neutral idioms; problem phrases ("water is
    coming") and sentence cues ("we have no") never do."""
    return role.kind in {"topic", "urgency", "context"} or (
        role.kind == "cue" and role.name == "neutral"
    )


def _locative(tokens: list[Token], first: int, vocab: Vocabulary) -> bool:
    """The phrase names where something is ("behind the fridge", "next to the sink",
    "through his bathroom light fixture": a determiner may be followed by two modifiers)."""
    determiners, locative = vocab.decisions.determiners, vocab.decisions.locative
    for skip in range(3):
        j = first - 1 - skip
        if j < 0:
            return False
        if skip and tokens[j + 1].text in determiners:
            return False  # modifiers come after the determiner, never before it
        had_det = False
        while j >= 0 and tokens[j].text in determiners:
            j -= 1
            had_det = True
        if j < 0 or (skip and not had_det):
            continue
        if tokens[j].text in locative:
            # "leaking from under the dishwasher": the source, not a place
            return not (j >= 1 and tokens[j - 1].text == "from")
        pair = (tokens[j - 1].text, tokens[j].text) if j >= 1 else ("", "")
        # "next to the sink", "in front of my door"
        if pair in {("next", "to"), ("front", "of")}:
            return True
    return False


def _temperature_words(text: str, vocab: Vocabulary) -> list[Token]:
    """ "It's 55 degrees in my apartment" says "cold inside" without the words: add them.

    Indoor readings only (not "95 degrees out"); ``[thresholds]`` say what is cold and hot."""
    th = vocab.decisions.thresholds
    end = len(text)
    # "we can't get it above 60 degrees" (heating) / "won't go below 88" (cooling)
    for m in _CAPPED_TEMP_RE.finditer(text):
        degrees = int(m.group(2))
        if m.group(1).lower() in {"above", "over", "past"} and degrees <= th.cold_inside_f:
            return [Token("cold", end, end), Token("inside", end, end)]
        if m.group(1).lower() in {"below", "under"} and degrees >= th.hot_inside_f:
            return [Token("hot", end, end), Token("inside", end, end)]
    for m in _INDOOR_TEMP_RE.finditer(text):
        degrees = int(m.group(1) or m.group(2))
        if degrees <= th.cold_inside_f:
            return [Token("cold", end, end), Token("inside", end, end)]
        if degrees >= th.hot_inside_f:
            return [Token("hot", end, end), Token("inside", end, end)]
    return []


def _hits(text: str, vocab: Vocabulary) -> list[Hit]:
    tokens = tokenize(text, vocab.spelling) + _temperature_words(text, vocab)
    norm = normalise(text)
    found = vocab.index.find_all(tokens)
    evidence_layer: list[Match] = longest_matches(
        m for m in found if any(r.kind not in _COOCCURRENCE_KINDS for r in vocab.roles[m.phrase])
    )
    # Each situation rule competes longest-first only with its own phrases and with things:
    # "building lost" (one rule's group) must not hide "lost power" (another rule's group).
    rules = sorted(
        {_rule_of(r) for m in found for r in vocab.roles[m.phrase] if r.kind in _COOCCURRENCE_KINDS}
    )
    layers: list[tuple[list[Match], str | None]] = [(evidence_layer, None)]
    for rule in rules:
        layer = longest_matches(
            m
            for m in found
            if any(
                _rule_of(r) == rule if r.kind in _COOCCURRENCE_KINDS else _masks_situation(r)
                for r in vocab.roles[m.phrase]
            )
        )
        layers.append((layer, rule))
    hits: list[Hit] = []
    seen: set[tuple[int, int, str, str]] = set()  # "plunger" and "plunge~" on one word: once
    for layer, wanted_rule in layers:
        wanted = wanted_rule is not None
        for m in layer:
            negator = _negator(norm, tokens, m.first, vocab)
            negated = bool(negator)
            # "I don't have a pet": a denied action names no matter ("no smoke detector" does)
            denied_action = (
                negator in vocab.decisions.verbal_negators
                and m.length > 1
                and tokens[m.first].text in vocab.decisions.action_verbs
            )
            locative = _locative(tokens, m.first, vocab)
            denied = denied_action or (
                m.first >= 2
                and tokens[m.first - 2].text == "not"
                and tokens[m.first - 1].text in {"a", "an"}
            )
            for role in vocab.roles.get(m.phrase, ()):
                key = (m.first, m.last, role.kind, role.name)
                if (role.kind in _COOCCURRENCE_KINDS) != wanted or key in seen:
                    continue
                if wanted and _rule_of(role) != wanted_rule:
                    continue
                seen.add(key)
                words = tuple(t.text for t in tokens[m.first : m.last + 1])
                hits.append(Hit(m.phrase, role, negated, locative, denied, words))
    return hits


@dataclass
class _Tally:
    """Adds up what the hits of one clause say."""

    scores: dict[str, float] = field(default_factory=dict)
    topic_hits: dict[str, list[str]] = field(default_factory=dict)
    cues: set[str] = field(default_factory=set)
    problem: bool = False
    problem_topics: set[str] = field(default_factory=set)
    generic_problem: bool = False
    groups_hit: set[str] = field(default_factory=set)
    contractor: list[str] = field(default_factory=list)

    def add(self, hit: Hit, vocab: Vocabulary) -> None:
        kind, name = hit.role.kind, hit.role.name
        if kind in {"topic", "problem"}:
            self._topic(hit, vocab)
        elif kind == "cue" and not hit.negated:
            self.cues.add(name)
            if name in {"problem", "still"}:
                self.problem = True
                self.generic_problem = self.generic_problem or name == "problem"
        elif kind in {"urgency", "context"}:
            if hit.negated == (name.rsplit(":", 1)[0] in vocab.negated_rules):
                self.groups_hit.add(name)
        elif kind == "contractor" and not hit.negated:
            self.contractor.append(hit.phrase)

    def _topic(self, hit: Hit, vocab: Vocabulary) -> None:
        kind, name = hit.role.kind, hit.role.name
        if kind == "problem" and hit.negated:
            return
        if kind == "topic" and hit.denied:
            return  # "it's not a security issue"
        weight = hit.role.weight
        if kind == "topic" and hit.locative:
            weight *= vocab.decisions.thresholds.locative_weight
        self.scores[name] = self.scores.get(name, 0.0) + weight
        self.topic_hits.setdefault(name, []).append(hit.phrase)
        if kind == "problem":
            self.problem = True
            self.problem_topics.add(name)


def evidence(
    text: str,
    vocab: Vocabulary,
    *,
    sentence: int = 0,
    from_subject: bool = False,
    list_item: bool = False,
    block: int = 0,
    in_list: bool = False,
) -> Clause:
    """All the evidence ``text`` carries, resolved longest-match-first."""
    hits = _hits(text, vocab)
    if _HYPOTHETICAL_RE.match(normalise(text)):
        hits = [
            h
            if h.role.kind == "topic"
            else Hit(h.phrase, h.role, True, h.locative, h.denied, h.words)
            for h in hits
        ]
    t = _Tally()
    for hit in hits:
        t.add(hit, vocab)
    scores, topic_hits, cues, groups_hit = t.scores, t.topic_hits, t.cues, t.groups_hit
    problem, problem_topics, generic_problem = t.problem, t.problem_topics, t.generic_problem
    contractor = t.contractor
    if _ORDINAL_START_RE.match(text):
        cues.add("separator")
    fired = frozenset(
        rule.name
        for rule in vocab.urgency_rules
        if all(f"{rule.name}:{g}" in groups_hit for g in range(len(rule.groups)))
    )
    context: list[str] = []
    for ctx in vocab.context_rules:
        if all(f"{ctx.name}:{g}" in groups_hit for g in range(len(ctx.groups))):
            scores[ctx.topic] = scores.get(ctx.topic, 0.0) + ctx.weight
            topic_hits.setdefault(ctx.topic, []).append(f"context '{ctx.name}'")
            context.append(ctx.name)
    return Clause(
        text=text,
        sentence=sentence,
        from_subject=from_subject,
        list_item=list_item,
        question=text.rstrip().endswith("?"),
        hits=tuple(hits),
        topic_scores=scores,
        topic_hits={k: tuple(v) for k, v in topic_hits.items()},
        cues=frozenset(cues),
        closing=_closing(frozenset(cues), problem, vocab),
        problem=problem,
        problem_topics=frozenset(problem_topics),
        generic_problem=generic_problem,
        urgency_rules=fired,
        context_rules=tuple(context),
        contractor=tuple(contractor),
        block=block,
        in_list=in_list,
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


def clauses(text: str, vocab: Vocabulary, *, from_subject: bool = False) -> list[Clause]:
    """Clauses of ``text``: sentences, split further where halves are about different things."""
    out: list[Clause] = []
    for s_index, sent in enumerate(split_sentences(text)):
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
            dashed = re.search(r"\s[-\u2013\u2014]\s*" + re.escape(piece.strip()[:12]), sent.text)
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
