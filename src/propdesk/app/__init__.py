"""The composition root: builds every adapter and service from the config.

The CLI and the daemon get their collaborators here and nowhere else, so wiring lives in one place:
``loading`` (config, rules), ``database`` (engine), ``adapters`` (SMTP sender, our addresses,
templates, analysis pool), ``probes`` (``check-config --connect``), ``reporting`` and ``digest``
(the report), and ``services`` (the services, the ingest hooks, the periodic tasks and the
daemon), all built on ONE clock (``propdesk.clock``) handed down from
``daemon()``/``ingest_service()``.

Every name is read as ``app.<name>`` and resolved lazily (PEP 562 ``__getattr__``): the module
that defines it is imported the first time the name is used. So ``propdesk --help`` imports no
database driver, and ``propdesk report`` neither the daemon, the mail adapters nor the triage
model. ``_HOME`` says where each name lives; the ``TYPE_CHECKING`` imports below say the same
to mypy (a unit test keeps the two in step).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from propdesk.clock import SYSTEM_CLOCK, Clock

if TYPE_CHECKING:
    from propdesk.app.adapters import analysis_pool as analysis_pool
    from propdesk.app.adapters import own_addresses as own_addresses
    from propdesk.app.adapters import prepare_all_in as prepare_all_in
    from propdesk.app.adapters import prepare_in as prepare_in
    from propdesk.app.adapters import smtp_sender as smtp_sender
    from propdesk.app.adapters import templates as templates
    from propdesk.app.conversations import auto_close as auto_close
    from propdesk.app.conversations import conversation_policy as conversation_policy
    from propdesk.app.conversations import staff_addresses as staff_addresses
    from propdesk.app.conversations import supervisor as supervisor
    from propdesk.app.database import engine as engine
    from propdesk.app.digest import digest_service as digest_service
    from propdesk.app.escalation import escalation_hooks as escalation_hooks
    from propdesk.app.escalation import escalation_service as escalation_service
    from propdesk.app.features import advice_texts as advice_texts
    from propdesk.app.features import deadline_pass as deadline_pass
    from propdesk.app.features import pager as pager
    from propdesk.app.loading import load as load
    from propdesk.app.pipeline import analyser as analyser
    from propdesk.app.pipeline import business_hours as business_hours
    from propdesk.app.pipeline import parser as parser
    from propdesk.app.pipeline import rules as rules
    from propdesk.app.probes import PROBES as PROBES
    from propdesk.app.probes import Probe as Probe
    from propdesk.app.probes import ProbeResult as ProbeResult
    from propdesk.app.probes import _probe_smtp as _probe_smtp
    from propdesk.app.probes import probe as probe
    from propdesk.app.probes import probe_local as probe_local
    from propdesk.app.reporting import report as report
    from propdesk.app.running import Daemon as Daemon
    from propdesk.app.services import INGEST_HOOKS as INGEST_HOOKS
    from propdesk.app.services import PERIODIC_TASKS as PERIODIC_TASKS
    from propdesk.app.services import HookFactory as HookFactory
    from propdesk.app.services import TaskFactory as TaskFactory
    from propdesk.app.services import daemon as daemon
    from propdesk.app.services import incident_service as incident_service
    from propdesk.app.services import ingest_service as ingest_service
    from propdesk.app.services import migrate as migrate
    from propdesk.app.services import notification_hooks as notification_hooks
    from propdesk.app.services import outbox_delivery as outbox_delivery
    from propdesk.app.services import sessions as sessions
    from propdesk.app.services import status_change_service as status_change_service
    from propdesk.app.supervision import supervision as supervision
    from propdesk.daemon.loop import Shared as Shared

#: The module each name of ``app`` is defined in (relative ones are this package's).
_HOME: dict[str, str] = {
    **dict.fromkeys(
        (
            "analysis_pool",
            "own_addresses",
            "prepare_all_in",
            "prepare_in",
            "smtp_sender",
            "templates",
        ),
        ".adapters",
    ),
    **dict.fromkeys(
        ("auto_close", "conversation_policy", "staff_addresses", "supervisor"), ".conversations"
    ),
    "engine": ".database",
    "digest_service": ".digest",
    **dict.fromkeys(("escalation_hooks", "escalation_service"), ".escalation"),
    **dict.fromkeys(("advice_texts", "deadline_pass", "pager"), ".features"),
    "load": ".loading",
    **dict.fromkeys(("analyser", "business_hours", "parser", "rules"), ".pipeline"),
    **dict.fromkeys(
        ("PROBES", "Probe", "ProbeResult", "_probe_smtp", "probe", "probe_local"), ".probes"
    ),
    "report": ".reporting",
    "Daemon": ".running",
    **dict.fromkeys(
        (
            "INGEST_HOOKS",
            "PERIODIC_TASKS",
            "HookFactory",
            "TaskFactory",
            "daemon",
            "incident_service",
            "ingest_service",
            "migrate",
            "notification_hooks",
            "outbox_delivery",
            "sessions",
            "status_change_service",
        ),
        ".services",
    ),
    "supervision": ".supervision",
    "Shared": "propdesk.daemon.loop",
}


def clock() -> Clock:
    """The one clock (wall time and a monotonic timer) services and CLI commands read the time
    from; tests hand a service their own through the ``clock`` parameter of its builder."""
    return SYSTEM_CLOCK


def __getattr__(name: str) -> Any:
    """``app.<name>``: import the module that defines it (once), then keep the value here."""
    home = _HOME.get(name)
    if home is None:
        try:  # a submodule, e.g. ``app.adapters``
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})


class _App(ModuleType):
    """This package as a module object that keeps its names: importing ``app.supervision`` (the
    module) would otherwise hide ``app.supervision`` (the function) as the import binds it."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _HOME and isinstance(value, ModuleType):
            return  # the submodule stays reachable through sys.modules and its import path
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _App
