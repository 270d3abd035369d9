"""The ``propdesk`` command line: a thin shell over the composition root (``propdesk.app``).

Each sub-command lives in its own module of this package with ``register(subparsers)`` and an
``ORDER`` number (its place in ``--help``); the module sets ``func`` on its parser. Modules are
found by discovery, so adding a command touches no shared list.

Every command reads the time from ``args.clock`` (``propdesk.clock.Clock``): ``main`` sets it
to the composition root's clock (``propdesk.app.clock()``), or to the one a test passes in.

Start-up stays short (``propdesk --help`` well under half a second): a command module imports
only the standard library and ``propdesk.app`` (whose names load lazily) at its top, and what
its command needs inside the function that runs it (``ruff``'s PLC0415 is off for ``cli/``).

Exit codes: 0 done, 1 the operation failed, 2 configuration or usage error
(systemd's ``RestartPreventExitStatus=2`` keeps a bad config from restart-looping).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from propdesk import __version__, app
from propdesk.clock import Clock
from propdesk.errors import ConfigError, PropdeskError, RulesError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


def _command_modules() -> list[ModuleType]:
    mods = [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    ]
    mods = [m for m in mods if hasattr(m, "register")]
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


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
    for module in _command_modules():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Entry point of the console script; returns the exit code. ``clock``: tests set the time."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_CONFIG
    args.clock = clock if clock is not None else app.clock()
    try:
        code: int = args.func(args)
    except (ConfigError, RulesError) as exc:
        print(f"propdesk: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except PropdeskError as exc:  # an operation failed for a reason we can state in one line
        print(f"propdesk: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    return code
