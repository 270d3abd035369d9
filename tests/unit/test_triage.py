"""Triage: the shipped weights load offline, the arbiter explains itself, the safety list only
ever raises urgency, and every ticket says how sure triage is."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propdesk.cli import main
from propdesk.core.models import Category, Subcategory
from propdesk.core.rules import default_triage_model, load_rules
from propdesk.core.triage import decide, hazards, split_kind
from propdesk.core.triage_features import ItemView, features
from propdesk.core.triage_model import HEADS, model_from_document

DATA = Path(__file__).resolve().parents[1] / "data"
SAFETY = dict(load_rules(model=False).vocabulary.safety)


def test_shipped_weights_load_with_the_network_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: Any, **_k: Any) -> None:
        raise AssertionError("the triage model must never touch the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    default_triage_model.cache_clear()
    model = default_triage_model()
    assert set(model.heads) == set(HEADS)
    th = model.thresholds
    assert all(0.0 <= t <= 1.01 for t in (th.keep, th.kind, th.urgency, th.contractor))
    assert 0.0 <= th.confident <= 1.0
    assert model.info["trained_by"] == "bench/train.py"


def _view(text: str, urgency: str, rules: tuple[str, ...]) -> ItemView:
    return ItemView(text, "help", "Maintenance", "plumbing", urgency, False, rules, 0, 1, False)


def _model_saying(urgency: str) -> Any:
    """A model whose urgency head is sure of ``urgency`` whatever the text."""
    classes = ["1", "2", "3"]
    head = {
        "classes": classes,
        "intercept": [9.0 if c == urgency else -9.0 for c in classes],
        "weights": {},
    }
    binary = {"classes": ["False", "True"], "intercept": [5.0], "weights": {}}
    kinds = ["Maintenance/plumbing", "Payment", "Lease"]
    kind = {"classes": kinds, "intercept": [5.0, -5.0, -5.0], "weights": {}}
    return model_from_document(
        {
            "format": "propdesk-triage/1",
            "heads": {"keep": binary, "kind": kind, "urgency": head, "contractor": binary},
            "thresholds": {
                "keep": 0.5,
                "kind": 0.5,
                "urgency": 0.5,
                "contractor": 0.5,
                "confident": 0.9,
            },
        }
    )


RULE_NAMES = [*sorted({n for names in SAFETY.values() for n in names}), "fire or burning"]


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=80),
    rule_urgency=st.sampled_from(["1", "2", "3"]),
    model_urgency=st.sampled_from(["1", "2", "3"]),
    fired=st.lists(st.sampled_from(RULE_NAMES), max_size=3),
)
def test_the_safety_list_never_lowers_urgency(
    text: str, rule_urgency: str, model_urgency: str, fired: list[str]
) -> None:
    view = _view(text, rule_urgency, tuple(f"urgency:{n}=1" for n in fired))
    model = _model_saying(model_urgency)
    without = decide(view, model, {})
    with_list = decide(view, model, SAFETY)
    assert int(with_list.urgency) <= int(without.urgency)  # "1" is the highest
    if hazards(view.matched_rules, SAFETY):
        assert with_list.urgency == "1" and with_list.keep
    else:
        assert with_list == without


def test_a_sure_model_overrules_the_rules_and_says_so() -> None:
    d = decide(_view("the sink drips", "2", ()), _model_saying("1"), {})
    assert d.urgency == "1"
    assert any(n.startswith("model:urgency=1 p=") for n in d.notes)
    assert d.unsure == () and d.confidence > 0.9


def test_features_are_stable_buckets() -> None:
    view = _view("Water is coming through the ceiling", "1", ("urgency:water from above=1",))
    assert features(view) == features(view)
    assert all(0 <= b < 1 << 20 for b in features(view))


def test_classify_json_carries_confidence_and_review(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["classify", "--format", "json", str(DATA / "classify_two_problems_building.eml")])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    for t in out["tickets"]:
        assert 0.0 <= t["triage_confidence"] <= 1.0
        assert t["needs_review"] == bool(t["unsure"])
        assert set(t["unsure"]) <= {"ticket", "category", "urgency", "contractor"}
        assert any(r.startswith("model:urgency=") for r in t["matched_rules"])


def test_every_kind_the_model_can_answer_is_a_real_category() -> None:
    for key in default_triage_model().heads["kind"].classes:
        category, sub = split_kind(key)
        Category(category)  # "Move-in/out" stays whole
        assert sub is None or Subcategory(sub)
