"""The after-hours paging hook: an urgency-1 ticket received after hours goes, as JSON, to a
command's stdin or an HTTP webhook, so ops can wire their paging or SMS service.

Delivered from the outbox like mail (kind ``page``): a failure is retried with the outbox's
backoff, intake never waits for it, and the row is queued once per ticket in the ticket's own
transaction, so a restarted daemon does not page again. An adapter: the only subprocess/urllib
user of ``notify/``.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from propdesk.mail.smtp import Outcome, SendResult


class Pager(Protocol):
    """Sends one page; the answer is a ``SendResult`` as for mail."""

    def page(self, ticket: Mapping[str, Any]) -> SendResult: ...


class CommandPager:
    """Runs ``argv`` with the ticket JSON on stdin; exit 0 is sent, anything else is retried."""

    def __init__(self, argv: Sequence[str], timeout: float) -> None:
        self._argv = list(argv)
        self._timeout = timeout

    def page(self, ticket: Mapping[str, Any]) -> SendResult:
        data = json.dumps(ticket, sort_keys=True).encode()
        try:
            done = subprocess.run(  # noqa: S603 - argv from the operator's config, no shell
                self._argv, input=data, capture_output=True, timeout=self._timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return SendResult(Outcome.RETRY, f"paging command: {type(exc).__name__}: {exc}"[:500])
        if done.returncode == 0:
            return SendResult(Outcome.SENT, "paging command exited 0")
        err = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        return SendResult(Outcome.RETRY, f"paging command exited {done.returncode}: {err[0]}"[:500])


class WebhookPager:
    """POSTs the ticket JSON; 2xx is sent, 4xx (but 408/429) dead, anything else retried."""

    def __init__(self, url: str, timeout: float) -> None:
        self._url = url
        self._timeout = timeout

    def page(self, ticket: Mapping[str, Any]) -> SendResult:
        body = json.dumps(ticket, sort_keys=True).encode()
        request = urllib.request.Request(  # noqa: S310 - http(s) URL checked by the config
            self._url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310
                return SendResult(Outcome.SENT, f"webhook {answer.status}", answer.status)
        except urllib.error.HTTPError as exc:
            dead = 400 <= exc.code < 500 and exc.code not in (408, 429)
            outcome = Outcome.DEAD if dead else Outcome.RETRY
            return SendResult(outcome, f"webhook {exc.code} {exc.reason}"[:500], exc.code)
        except (OSError, ValueError) as exc:
            return SendResult(Outcome.RETRY, f"webhook: {type(exc).__name__}: {exc}"[:500])
