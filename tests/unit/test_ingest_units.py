"""Pure pieces of ingest: batching, reply detection, failpoint parsing, stop flag, loop timing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from propdesk.clock import Clock
from propdesk.core.message import InboundMessage
from propdesk.daemon.loop import DaemonLoop, PeriodicTask
from propdesk.daemon.signals import StopFlag
from propdesk.errors import MailboxError
from propdesk.ingest import ticket_refs
from propdesk.mail.imap import MessageMeta, batches, run_token_command

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _metas(*sizes: int) -> list[MessageMeta]:
    return [MessageMeta(uid, size, T0) for uid, size in enumerate(sizes, start=1)]


def test_batches_bounded_by_count_and_bytes() -> None:
    groups = [[m.uid for m in b] for b in batches(_metas(10, 10, 10, 10, 10), 2, 1000)]
    assert groups == [[1, 2], [3, 4], [5]]
    groups = [[m.uid for m in b] for b in batches(_metas(400, 400, 400, 50), 10, 1000)]
    assert groups == [[1, 2], [3, 4]]
    # One message above the byte bound still goes, alone.
    assert [[m.uid for m in b] for b in batches(_metas(5000, 1), 10, 1000)] == [[1], [2]]
    assert list(batches([], 10, 10)) == []


def _msg(
    subject: str = "", in_reply_to: str | None = None, refs: tuple[str, ...] = ()
) -> InboundMessage:
    return InboundMessage(
        message_id="<m@x>",
        sha256="0" * 64,
        size=1,
        sender=None,
        reply_to=(),
        to=(),
        cc=(),
        subject=subject,
        date=None,
        in_reply_to=in_reply_to,
        references=refs,
        body_text="",
        new_text="",
        quoted_text="",
        signature="",
    )


def test_ticket_refs_from_the_subject_then_our_message_ids() -> None:
    ours = "<propdesk.TKT-0A1B2C3D.created.77@property.com>"
    assert ticket_refs(_msg("Re: [TKT-DEADBEEF] tap", ours)) == ["TKT-DEADBEEF", "TKT-0A1B2C3D"]
    assert ticket_refs(_msg(refs=("<a@b>", ours))) == ["TKT-0A1B2C3D"]
    assert ticket_refs(_msg("re: [tkt-deadbeef]")) == ["TKT-DEADBEEF"]
    # Not ours: a Message-ID merely containing a ticket-like string, a bare id without brackets.
    assert ticket_refs(_msg("TKT-DEADBEEF", "<TKT-DEADBEEF@gmail.com>")) == []


def test_failpoint_exits_like_sigkill_at_the_nth_hit() -> None:
    code = (
        "from propdesk.ingest import failpoint\n"
        "for i in range(5):\n"
        "    failpoint('after_commit'); print(i, flush=True)\n"
    )
    env = {**os.environ, "PROPDESK_FAILPOINT": "after_commit:3"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 137
    assert done.stdout.split() == ["0", "1"]
    env["PROPDESK_FAILPOINT"] = "before_commit"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0


def test_failpoint_counts_the_messages_of_a_batch() -> None:
    code = (
        "from propdesk.ingest import failpoint\n"
        "for batch in (2, 2, 2):\n"
        "    failpoint('before_commit', batch); print(batch, flush=True)\n"
    )
    env = {**os.environ, "PROPDESK_FAILPOINT": "before_commit:3"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 137
    assert done.stdout.split() == ["2"]  # the 3rd message is in the second batch of two


def test_stop_flag_first_signal_warm_second_cold() -> None:
    stop = StopFlag()
    stop.handle(signal.SIGTERM, None)
    assert stop.requested
    assert stop.wait(10) is True  # returns at once
    with pytest.raises(SystemExit) as info:
        stop.handle(signal.SIGINT, None)
    assert info.value.code == 128 + signal.SIGINT


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_loop_runs_due_tasks_and_survives_a_failing_one() -> None:
    clock = _Clock()
    stop = StopFlag()
    calls: list[str] = []

    def boom() -> None:
        calls.append("boom")
        raise RuntimeError("smtp down")

    def ok() -> int:
        calls.append("ok")
        if calls.count("ok") == 3:
            stop.request()
        return 1

    waits: list[float] = []

    def fake_wait(seconds: float) -> bool:
        waits.append(round(seconds, 3))
        clock.t += max(seconds, 0.0)
        return stop.requested

    stop.wait = fake_wait  # type: ignore[method-assign]
    loop = DaemonLoop(
        [],
        poll_seconds=30,
        tasks=[PeriodicTask("outbox", 5, ok), PeriodicTask("broken", 10, boom)],
        stop=stop,
        clock=Clock(monotonic=clock),
    )
    loop.run_forever()
    # t=0 both; t=5 outbox; t=10 outbox asks to stop, so "broken" (also due) is not started.
    assert calls == ["ok", "boom", "ok", "ok"]
    assert waits[:2] == [5.0, 5.0]

    report = DaemonLoop([], poll_seconds=1, tasks=[PeriodicTask("broken", 1, boom)]).run_once()
    assert not report.ok
    assert "smtp down" in report.task_errors[0]


def test_token_command_output_is_the_token_and_failures_hide_it() -> None:
    assert run_token_command([sys.executable, "-c", "print(' tok-123 ')"]) == "tok-123"
    with pytest.raises(MailboxError, match="exited with 3") as info:
        run_token_command([sys.executable, "-c", "print('hunter2'); raise SystemExit(3)"])
    assert "hunter2" not in str(info.value)
    with pytest.raises(MailboxError, match="printed no token"):
        run_token_command([sys.executable, "-c", "pass"])
