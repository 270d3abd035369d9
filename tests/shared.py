"""Where the shared corpora live, and what their absence means: a skip on a developer's machine,
a failure in CI (``CI=true``), so a CI run can never pass by silently skipping the corpus tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def in_ci() -> bool:
    """True when running under CI (``CI`` set to a true value, as CI runners do)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_shared(path: Path) -> Path:
    """``path`` if it exists; otherwise skip the test, or fail it in CI."""
    if path.exists():
        return path
    message = f"{path} not present (corpora and spec live in ../shared)"
    if in_ci():
        pytest.fail(f"{message}: in CI that is a failure, not a skip", pytrace=False)
    pytest.skip(message)
