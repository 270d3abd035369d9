"""The labelled training corpus (corpus/train) passes its own check and has the promised size
and mix: the triage model and its cross-validation stand on it."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections import Counter
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpus"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, CORPUS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _records() -> list[dict[str, object]]:
    out = []
    for path in sorted((CORPUS / "train").glob("*.jsonl")):
        out += [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
    return out


def test_the_check_passes_on_the_whole_training_corpus(capsys: object) -> None:
    check = _module("check")
    assert check.main(sorted(str(p) for p in (CORPUS / "train").glob("*.jsonl"))) == 0


def test_size_and_mix() -> None:
    recs = _records()
    assert len(recs) >= 2400  # four writers' 2,000 and heldout-1's 400 (training data now)
    writers = Counter(p.name.split("-")[0] for p in (CORPUS / "train").glob("*.jsonl"))
    assert set(writers) == {"a", "b", "c", "d", "e"}
    tags = Counter(t for r in recs for t in r["tags"])  # type: ignore[attr-defined]
    n = len(recs)
    emergencies = sum(
        any(t["urgency"] == "1" for t in r["labels"]["tickets"])  # type: ignore[index]
        for r in recs
    )
    assert emergencies / n >= 0.18
    assert tags["emergency_calm"] / n >= 0.09
    assert tags["alarming_not_urgent"] / n >= 0.09
    assert tags["multi"] / n >= 0.11
    assert tags["not_request"] / n >= 0.07
    assert tags["spanish"] and tags["french"] and tags["html"] and tags["reply"]
    multi = [r for r in recs if len(r["labels"]["tickets"]) >= 2]  # type: ignore[index, arg-type]
    assert all(r["clauses"] for r in multi)


def test_a_built_email_parses_and_the_build_is_deterministic(tmp_path: Path) -> None:
    build = _module("build")
    first = sorted((CORPUS / "train").glob("*.jsonl"))[0]
    build.build(tmp_path / "one", [str(first)])
    build.build(tmp_path / "two", [str(first)])
    digest = [
        hashlib.sha256(b"".join(p.read_bytes() for p in sorted((d / "emails").iterdir()))).digest()
        for d in (tmp_path / "one", tmp_path / "two")
    ]
    assert digest[0] == digest[1]
    labels = json.loads((tmp_path / "one" / "labels.json").read_text("utf-8"))
    assert len(labels) == len(list((tmp_path / "one" / "emails").iterdir()))
