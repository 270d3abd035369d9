"""Reading the config (and configuring logging from it): what every command does first, so it
imports neither the database nor the mail adapters. (The rules: ``app.pipeline.rules``.)"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from propdesk.config import config_path, load_config
from propdesk.logging import configure_logging

if TYPE_CHECKING:
    from propdesk.config import Config


def load(explicit_path: str | os.PathLike[str] | None, log_format: str | None = None) -> Config:
    """Read and validate the config, then configure logging from it."""
    config = load_config(config_path(explicit_path))
    configure_logging(config.logging.level, log_format or config.logging.format)
    return config
