"""The triage model's features: hashed words, word pairs and character n-grams of one rule-made
item, its subject, and the rules' own decisions (``matched_rules``), as bucket numbers.

Why hashing: the weights ship as data keyed by bucket, so no vocabulary list has to ship or stay
in step with the training script; training (``bench/train.py``) calls this same function, so the
features the model learnt are exactly the ones it sees at run time. Pure stdlib (``zlib.crc32``
is stable across runs and platforms, unlike ``hash``).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from itertools import pairwise

BUCKETS = 1 << 20
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_NUMBER = re.compile(r"\d")
_SCORE = re.compile(r"=[\d.]+ \[.*$|=[\d.]+$")


@dataclass(frozen=True, slots=True)
class ItemView:
    """What the model sees of one rule-made item."""

    text: str  # the item's own clauses
    subject: str
    category: str  # the rules' decisions
    subcategory: str | None
    urgency: str
    contractor: bool
    matched_rules: tuple[str, ...]
    index: int  # position among the email's items
    count: int  # how many items the rules made of the email
    same_kind_before: bool  # an earlier item of the email has the same category/subcategory


def _words(text: str) -> list[str]:
    # digits are word characters, so writing them as "0" first cuts the same words
    return _WORD.findall(_NUMBER.sub("0", text.lower()))


def _rule_names(matched: tuple[str, ...]) -> list[str]:
    """ "topic:plumbing_leak=3.5 [drip, leak]" -> "topic:plumbing_leak" (scores vary, names not)."""
    out = []
    for rule in matched:
        name = _SCORE.sub("", rule)
        out.append(name.split(" (")[0] if name.startswith("open:") else name)
    return out


def feature_strings(view: ItemView, *, own_words: bool = True) -> list[str]:
    """Every feature of one item as a string (before hashing); duplicates allowed.

    ``own_words=False`` leaves out the features of the item's own words (``features`` hashes
    those through its caches)."""
    feats: list[str] = []
    if own_words:
        words = _words(view.text)
        feats += [f"w:{w}" for w in words]
        feats += [f"b:{a} {b}" for a, b in pairwise(words)]
        for w in words:
            padded = f"<{w}>"
            feats += [f"c:{padded[i : i + 4]}" for i in range(max(1, len(padded) - 3))]
        feats.append(f"len:{min(len(words) // 8, 8)}")
    subject = _words(view.subject)
    feats += [f"s:{w}" for w in subject]
    feats += [f"sb:{a} {b}" for a, b in pairwise(subject)]
    kind = f"{view.category}/{view.subcategory}"
    rules = _rule_names(view.matched_rules)
    feats += [f"r:{r}" for r in rules]
    if rules and rules[0].startswith("open:"):
        feats.append(f"first:{rules[0]}")
    tops = [r for r in rules if r.startswith("topic:")]
    if tops:
        feats.append(f"top:{tops[0]}")
    feats += [
        f"rk:{kind}",
        f"rc:{view.category}",
        f"ru:{view.urgency}",
        f"ru:{view.urgency}:{kind}",
        f"rx:{view.contractor}",
        f"pos:{min(view.index, 3)}",
        f"n:{min(view.count, 4)}",
        f"last:{view.index == view.count - 1}",
        f"dup:{view.same_kind_before}",
        f"q:{'?' in view.text}",
        "bias",
    ]
    return feats


def _bucket(feature: str) -> int:
    return zlib.crc32(feature.encode()) & (BUCKETS - 1)


_WORD_BUCKETS: dict[str, tuple[int, ...]] = {}
_PAIR_BUCKETS: dict[tuple[str, str], int] = {}
_CACHE_MAX = 100_000  # distinct words (pairs) remembered; cleared when full, like a cache


def _word_buckets(word: str) -> tuple[int, ...]:
    """A word's own buckets (``w:`` and its character 4-grams): words repeat across mail."""
    got = _WORD_BUCKETS.get(word)
    if got is None:
        padded = f"<{word}>"
        grams = [f"c:{padded[i : i + 4]}" for i in range(max(1, len(padded) - 3))]
        got = tuple(_bucket(f) for f in (f"w:{word}", *grams))
        if len(_WORD_BUCKETS) >= _CACHE_MAX:
            _WORD_BUCKETS.clear()
        _WORD_BUCKETS[word] = got
    return got


def _pair_bucket(a: str, b: str) -> int:
    got = _PAIR_BUCKETS.get((a, b))
    if got is None:
        got = _bucket(f"b:{a} {b}")
        if len(_PAIR_BUCKETS) >= _CACHE_MAX:
            _PAIR_BUCKETS.clear()
        _PAIR_BUCKETS[(a, b)] = got
    return got


def features(view: ItemView) -> list[int]:
    """The item's distinct bucket numbers, sorted (binary features): the buckets of
    ``feature_strings``, with each word's and word pair's buckets remembered."""
    words = _words(view.text)
    out: set[int] = set()
    for w in set(words):
        out.update(_word_buckets(w))
    out.update(_pair_bucket(a, b) for a, b in set(pairwise(words)))
    rest = feature_strings(view, own_words=False)
    out.update(_bucket(f) for f in rest)
    out.add(_bucket(f"len:{min(len(words) // 8, 8)}"))
    return sorted(out)
