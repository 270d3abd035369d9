"""Tasks for the worker-pool tests: module-level, so a worker process can import them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def setup(prefix: str) -> Callable[[tuple[str, float]], str]:
    """A worker that answers ``prefix:word:pid`` after sleeping the given seconds."""

    def run(task: tuple[str, float]) -> str:
        word, seconds = task
        if word == "raise":
            raise ValueError("asked to fail")
        if word == "die":
            os._exit(3)
        time.sleep(seconds)
        return f"{prefix}:{word}:{os.getpid()}"

    return run


def broken_setup(_arg: str) -> Callable[[object], object]:
    """A worker whose set-up fails every time."""
    raise RuntimeError("no rules")
