"""The ``propdesk`` command line: a thin shell over the composition root (``propdesk.app``).

Each sub-command lives in its own module with ``register(subparsers)``; the module sets
``func`` on its parser. Exit codes: 0 done, 1 the operation failed, 2 configuration or usage error
(systemd's ``RestartPreventExitStatus=2`` keeps a bad config from restart-looping).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from propdesk import __version__
from propdesk.errors import ConfigError, RulesError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

# Sub-command modules, in the order --help lists them.
COMMANDS: tuple[str, ...] = (
    "propdesk.cli.migrate",
    "propdesk.cli.check_config",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by tests and --help)."""
    parser = argparse.ArgumentParser(
        prog="propdesk",
        description="Turn tenants' maintenance emails into tickets.",
    )
    parser.add_argument("--version", action="version", version=f"propdesk {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: $PROPDESK_CONFIG)",
    )
    parser.add_argument(
        "--log-format",
        choices=("auto", "json", "console"),
        help="override the configured log format",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_CONFIG
    try:
        code: int = args.func(args)
    except (ConfigError, RulesError) as exc:
        print(f"propdesk: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    return code
