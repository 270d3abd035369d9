"""Whole-word phrase matching over tokens: the primitive every classification rule is built on.

Rules never look at substrings: text is cut into word tokens and a phrase matches a run of whole
tokens, so "light" never fires inside "lightly" and "unit" never inside "community".

Phrase syntax (used in ``rules/vocabulary.toml``):

- words separated by spaces must follow each other: ``"no hot water"``;
- ``word~`` also matches the usual inflections: ``leak~`` = leak, leaks, leaked, leaking;
  ``clog~`` = clogged, clogging (doubled consonant); ``smoke~`` = smoking, smoked;
- ``a|b|c`` is one token with alternatives: ``"toilet|toilets"``;
- ``...`` allows up to three other words in between: ``"water ... ceiling"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

_TOKEN_RE = re.compile(r"[a-z0-9\u00c0-\u024f]+(?:'[a-z]+)?")
_SUFFIXES = frozenset({"", "s", "es", "ed", "d", "ing", "er", "ers", "y"})
_GAP_MAX = 3
# A phrase's adjacent words never straddle a clause boundary: "the window is broken, glass
# everywhere" holds no "broken glass" (a "..." gap may still cross one)
_BREAK_RE = re.compile(r"[,;:.!?()]|\s-\s")
GAP = "..."
_STARTING_MAX = 50_000  # distinct words whose starting phrases are remembered


class Token(NamedTuple):
    """One word of the text, lower-cased, with its character span in the original text.

    A named tuple, not a dataclass: a clause makes dozens, and a tuple is built at C speed."""

    text: str
    start: int
    end: int
    after_break: bool = False  # a clause boundary (",", ";", ".", " - ") comes just before


@dataclass(frozen=True, slots=True)
class WordPattern:
    """One position of a phrase: literal alternatives, or a stem with inflections."""

    words: frozenset[str]
    stems: tuple[str, ...]

    def matches(self, token: str) -> bool:
        if token in self.words:
            return True
        if self.stems and any(_inflects(stem, token) for stem in self.stems):
            return True
        # "the lift's broken", "our ceiling's leaking": a contracted or possessive 's leaves
        # the noun itself (only when no phrase word spells the whole token)
        return token.endswith("'s") and len(token) > 3 and token[:-2] in self.words

    def prefixes(self) -> set[str]:
        return {w[:2] for w in self.words} | {s[:2] for s in self.stems}


@dataclass(frozen=True, slots=True)
class Phrase:
    """A compiled phrase: word patterns, ``None`` standing for a gap of up to three words."""

    text: str
    parts: tuple[WordPattern | None, ...]


class Match(NamedTuple):
    """A phrase found in a token list: tokens ``[first, last]`` inclusive (a named tuple, as
    ``Token``)."""

    phrase: str
    first: int
    last: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1


def _inflects(stem: str, token: str) -> bool:
    if token.startswith(stem):
        rest = token[len(stem) :]
        if rest in _SUFFIXES:
            return True
        # doubled final consonant: clog -> clogged, drip -> dripping
        if len(rest) > 1 and rest[0] == stem[-1] and rest[1:] in {"ed", "ing", "er", "y"}:
            return True
    if stem.endswith("e") and token.startswith(stem[:-1]):
        return token[len(stem) - 1 :] in {"ing", "ed", "er", "y"}
    if stem.endswith("y") and token.startswith(stem[:-1]):
        return token[len(stem) - 1 :] in {"ies", "ied"}
    return False


def normalise(text: str) -> str:
    """Lower-case and unify apostrophes/dashes so tokens are comparable."""
    return (
        text.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u2013", "-")
        .replace("\u2014", "-")
        .lower()
    )


def tokenize(text: str, spelling: Mapping[str, str] | None = None) -> list[Token]:
    """Word tokens of ``text`` (normalised); ``spelling`` maps common misspellings to words."""
    tokens: list[Token] = []
    norm = normalise(text)
    # boundaries hold no word characters, so each lies between two words: one scan finds them
    # all (the next boundary at or after the previous word's end decides "after a break")
    bounds = [b.start() for b in _BREAK_RE.finditer(norm)]
    nb, k = len(bounds), 0
    prev_end = -1
    for m in _TOKEN_RE.finditer(norm):
        word = m.group(0)
        if spelling:
            word = spelling.get(word, word)
        start = m.start()
        while k < nb and bounds[k] < prev_end:
            k += 1
        after_break = prev_end >= 0 and k < nb and bounds[k] < start
        tokens.append(Token(word, start, m.end(), after_break))
        prev_end = m.end()
    return tokens


_PHRASE_WORD_RE = re.compile(r"^[a-z0-9\u00c0-\u024f'|~]+$")


def compile_phrase(text: str) -> Phrase:
    """Compile phrase syntax into a ``Phrase``; raises ValueError with what is wrong."""
    raw = re.sub(r"[-/]", " ", normalise(text)).split()  # tokenizer splits there too
    if not raw:
        raise ValueError("empty phrase")
    if raw[0] == GAP or raw[-1] == GAP:
        raise ValueError("a phrase cannot start or end with '...'")
    parts: list[WordPattern | None] = []
    for word in raw:
        if word == GAP:
            parts.append(None)
            continue
        if not _PHRASE_WORD_RE.match(word):
            raise ValueError(f"bad word {word!r} (letters, digits, ', | and ~ only)")
        words: set[str] = set()
        stems: list[str] = []
        for alt in word.split("|"):
            if not alt or alt == "~":
                raise ValueError(f"empty alternative in {word!r}")
            if alt.endswith("~"):
                stems.append(alt[:-1])
            else:
                words.add(alt)
        parts.append(WordPattern(frozenset(words), tuple(stems)))
    return Phrase(text, tuple(parts))


class PhraseIndex:
    """All phrases of a vocabulary, indexed by the first two letters of their first word."""

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        self._by_prefix: dict[str, list[Phrase]] = {}
        for phrase in phrases:
            first = phrase.parts[0]
            assert first is not None
            for prefix in first.prefixes():
                self._by_prefix.setdefault(prefix, []).append(phrase)
        # word -> the phrases whose first word it is, in index order: tried once per word,
        # not once per occurrence (a long email repeats its words)
        self._starting: dict[str, tuple[Phrase, ...]] = {}
        # (word, next word) -> the phrases starting at ``word`` that may match there, each
        # with what is left to check: most phrases are decided by their first two words
        self._pairs: dict[tuple[str, str | None], tuple[_Candidate, ...]] = {}

    def starting_with(self, word: str) -> tuple[Phrase, ...]:
        """The phrases whose first word matches ``word`` (in the order they were indexed)."""
        found = self._starting.get(word)
        if found is None:
            found = tuple(
                phrase
                for phrase in self._by_prefix.get(word[:2], ())
                if phrase.parts[0] is not None and phrase.parts[0].matches(word)
            )
            if len(self._starting) >= _STARTING_MAX:
                self._starting.clear()  # bounded: random "words" must not grow it for ever
            self._starting[word] = found
        return found

    def _candidates(self, word: str, following: str | None) -> tuple[_Candidate, ...]:
        """The phrases starting with ``word`` that ``following`` (the next word, or None at
        the end) does not already rule out, in index order."""
        key = (word, following)
        found = self._pairs.get(key)
        if found is None:
            out: list[_Candidate] = []
            for phrase in self.starting_with(word):
                rest = phrase.parts[1:]
                if not rest:
                    out.append((phrase.text, _ONE, rest))
                elif None in rest:
                    out.append((phrase.text, _GAPPED, rest))
                elif following is not None and rest[0].matches(following):  # type: ignore[union-attr]
                    out.append((phrase.text, _RUN, rest[1:]))
            found = tuple(out)
            if len(self._pairs) >= _STARTING_MAX:
                self._pairs.clear()
            self._pairs[key] = found
        return found

    def find_all(self, tokens: Sequence[Token]) -> list[Match]:
        """Every occurrence of every phrase (overlaps included)."""
        words = [t.text for t in tokens]
        breaks = [t.after_break for t in tokens]
        n = len(words)
        found: list[Match] = []
        for i, word in enumerate(words):
            following = words[i + 1] if i + 1 < n else None
            for text, shape, rest in self._candidates(word, following):
                if shape is _ONE:
                    found.append(Match(text, i, i))
                elif shape is _GAPPED:
                    end = _match_at(rest, words, i + 1, breaks, adjacent=True)
                    if end is not None:
                        found.append(Match(text, i, end))
                elif not breaks[i + 1] and _adjacent_run(rest, words, breaks, i + 2, n):
                    found.append(Match(text, i, i + 1 + len(rest)))
        return found


_ONE, _GAPPED, _RUN = "one word", "with a gap", "adjacent words"
# (phrase text, shape, the parts still to match: after the first word, or after the second)
_Candidate = tuple[str, str, tuple[WordPattern | None, ...]]


def _adjacent_run(
    parts: Sequence[WordPattern | None],
    words: Sequence[str],
    breaks: Sequence[bool],
    i: int,
    n: int,
) -> bool:
    """``parts`` (no gap among them) match ``words[i:]`` word by word, no clause boundary
    between: ``_match_at(parts, words, i, breaks, adjacent=True)`` without the recursion."""
    if i + len(parts) > n:
        return False
    return all(
        not breaks[k] and part.matches(words[k])  # type: ignore[union-attr]
        for k, part in enumerate(parts, i)
    )


def _match_at(
    parts: Sequence[WordPattern | None],
    words: Sequence[str],
    i: int,
    breaks: Sequence[bool] = (),
    *,
    adjacent: bool = False,
) -> int | None:
    """Index of the last token if ``parts`` match starting at ``words[i]``, else None.

    ``adjacent``: ``words[i]`` must follow the previous word with no clause boundary between.
    """
    if not parts:
        return i - 1
    part = parts[0]
    if part is None:
        for skip in range(_GAP_MAX + 1):
            end = _match_at(parts[1:], words, i + skip, breaks)
            if end is not None:
                return end
        return None
    if i >= len(words) or not part.matches(words[i]):
        return None
    if adjacent and i < len(breaks) and breaks[i]:
        return None
    return _match_at(parts[1:], words, i + 1, breaks, adjacent=True)


def longest_matches(matches: Iterable[Match]) -> list[Match]:
    """Keep the longest phrases where matches overlap ("water bill" hides "water").

    Matches with exactly the same span are all kept (one phrase text can play several roles).
    """
    ordered = sorted(matches, key=lambda m: (-m.length, m.first))
    taken: list[Match] = []
    used: dict[int, tuple[int, int]] = {}
    for m in ordered:
        span = (m.first, m.last)
        clash = False
        for pos in range(m.first, m.last + 1):
            owner = used.get(pos)
            if owner is not None and owner != span:
                clash = True
                break
        if clash:
            continue
        for pos in range(m.first, m.last + 1):
            used[pos] = span
        taken.append(m)
    return sorted(taken, key=lambda m: (m.first, m.last))
