"""The triage model's fast paths give the slow paths' answers: packed weights score exactly as
the per-head dicts, cached feature hashing gives the buckets of the feature strings, and the
calibration is a rising step function that the shipped confidence goes through."""

from __future__ import annotations

import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from propdesk.core.rules import default_triage_model
from propdesk.core.triage import decide
from propdesk.core.triage_features import BUCKETS, ItemView, feature_strings, features
from propdesk.core.triage_model import Calibration, model_from_document, packed_document

WORDS = st.sampled_from(["water", "ceiling", "leak", "no", "heat", "4C", "l'évier", "it's", "?"])


def _view(text: str, subject: str) -> ItemView:
    return ItemView(text, subject, "Maintenance", "plumbing", "2", False, ("open:x",), 0, 1, False)


@settings(max_examples=100, deadline=None)
@given(text=st.lists(WORDS, max_size=30).map(" ".join), subject=st.text(max_size=20))
def test_cached_features_are_the_hashed_feature_strings(text: str, subject: str) -> None:
    view = _view(text, subject)
    slow = sorted({zlib.crc32(f.encode()) & (BUCKETS - 1) for f in feature_strings(view)})
    assert features(view) == slow == features(view)


def _format1() -> dict[str, object]:
    binary = {"classes": ["False", "True"], "intercept": [0.25], "weights": {"7": [1.5]}}
    kind = {
        "classes": ["Maintenance/plumbing", "Payment", "Lease"],
        "intercept": [0.1, -0.2, 0.3],
        "weights": {"7": [0.5, -0.5, 0.125], "9": [1.0, 2.0, -3.0]},
    }
    urgency = {"classes": ["1", "2", "3"], "intercept": [0.0, 0.5, -0.5], "weights": {}}
    return {
        "format": "propdesk-triage/1",
        "heads": {"keep": binary, "kind": kind, "urgency": urgency, "contractor": binary},
        "thresholds": {
            "keep": 0.5,
            "kind": 0.5,
            "urgency": 0.5,
            "contractor": 0.5,
            "confident": 0.9,
        },
        "calibration": {"urgency": {"x": [0.0, 0.6], "y": [0.4, 0.95]}},
    }


def test_packed_weights_score_as_the_per_head_dicts() -> None:
    doc = _format1()
    packed = model_from_document(packed_document(doc))
    for buckets in ([], [7], [9], [7, 9], [3, 7, 9, 11]):
        slow = {h: head.proba(buckets) for h, head in model_from_document(doc).heads.items()}
        assert packed.probas(buckets) == slow


def test_calibration_is_a_rising_step_and_confidence_goes_through_it() -> None:
    cal = Calibration((0.0, 0.5, 0.8), (0.2, 0.6, 0.99))
    assert [cal(p) for p in (0.0, 0.49, 0.5, 0.79, 0.8, 1.0)] == [0.2, 0.2, 0.6, 0.6, 0.99, 0.99]
    model = model_from_document(packed_document(_format1()))
    assert model.calibrated("urgency", 0.7) == 0.95
    assert model.calibrated("ticket", 0.7) == 0.7  # uncalibrated: the raw probability


def test_the_shipped_model_is_calibrated_for_every_decision() -> None:
    model = default_triage_model()
    assert set(model.calibration) == {"ticket", "category", "urgency", "contractor"}
    for cal in model.calibration.values():
        assert list(cal.y) == sorted(cal.y) and 0.0 <= cal.y[0] <= cal.y[-1] <= 1.0


def test_the_emergency_threshold_leans_to_urgency_one_and_says_so() -> None:
    doc = _format1()
    doc["heads"]["urgency"]["intercept"] = [0.0, 1.0, -9.0]  # type: ignore[index]
    view = _view("water on the floor", "")
    calm = decide(view, model_from_document(doc), {})
    doc["thresholds"]["emergency"] = 0.2  # type: ignore[index]
    lean = decide(view, model_from_document(doc), {})
    assert calm.urgency == "2" and lean.urgency == "1"
    assert any("emergency threshold 0.20" in n for n in lean.notes)
