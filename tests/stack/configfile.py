"""Write a propdesk ``Config`` as a TOML file, so tests and the demo run the real CLI on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from propdesk.config import Config


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _table(header: str, data: dict[str, Any]) -> str:
    lines = [header]
    lines += [f"{k} = {_value(v)}" for k, v in data.items()]
    return "\n".join(lines) + "\n"


def config_toml(config: Config) -> str:
    """The TOML text of a config (defaults included, unset optional keys left out)."""
    data = config.model_dump(mode="json", exclude_none=True, exclude={"source"})
    if "metrics" not in config.model_fields_set:
        # The endpoint is on by default (127.0.0.1:9464): a test that chose no port of its own
        # runs without it, so daemons of one test, or of parallel sessions, never fight for it.
        data["metrics"]["listen"] = ""
    parts: list[str] = []
    for mailbox in data.pop("mailboxes", []):
        parts.append(_table("[[mailboxes]]", mailbox))
    for section, values in data.items():
        parts.append(_table(f"[{section}]", values))
    return "\n".join(parts)


def write_config(path: Path, config: Config) -> Path:
    path.write_text(config_toml(config), encoding="utf-8")
    return path
