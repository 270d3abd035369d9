"""Worker processes with a time budget per task: one that runs too long is killed, not awaited.

Why not ``concurrent.futures.ProcessPoolExecutor``: it cannot kill one worker. Ending the process
that runs an overlong task breaks the whole executor and fails every other task in flight. Here
each worker is one process on its own pipe, so the pool kills exactly the overrunning worker,
starts a fresh one, and the other tasks go on.

- ``WorkerPool(setup, arg, size=, budget_seconds=)``: ``setup(arg)`` runs once in each worker
  (load the rules) and returns the function that runs every task there; ``setup`` and ``arg``
  must be picklable (a module-level function and plain data).
- ``submit(task) -> Future``: the result, or ``BudgetExceeded`` (the worker was killed after
  ``budget_seconds`` of this task), ``WorkerDied`` (the worker process ended with the task in
  flight), ``TaskFailed`` (the task raised; its traceback as text) or ``PoolBroken`` (no worker
  could be started). The budget starts when a worker takes the task, not at ``submit``.
- ``close()``: kills the workers at once (a stop must not wait for a long task).

Workers are started with ``forkserver`` (``spawn`` where that is missing), never a plain fork of
the daemon, which has threads and open sockets. Workers ignore SIGINT/SIGTERM: the daemon decides
when they end, and a worker whose daemon is gone exits at its next read of the pipe.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

from propdesk.clock import Monotonic
from propdesk.errors import PropdeskError
from propdesk.logging import get_logger

log = get_logger(__name__)

A = TypeVar("A")
T = TypeVar("T")
R = TypeVar("R")

_IDLE_WAIT_SECONDS = 1.0  # the supervisor looks at its workers at least this often
_START_FAILURES_MAX = 3  # workers in a row that die before they are ready: the pool is broken
_READY = "ready"


class PoolError(PropdeskError):
    """A task did not give a result in its worker."""


class BudgetExceeded(PoolError):
    """The task ran past its time budget; its worker was killed and replaced."""


class WorkerDied(PoolError):
    """The worker process ended (killed, crashed, out of memory) with the task in flight."""


class TaskFailed(PoolError):
    """The task raised in its worker; the message carries the worker's traceback."""


class PoolBroken(PoolError):
    """No worker could be started (or the pool is closed): not the task's fault."""


def _worker_main(conn: Connection, setup: Callable[[Any], Callable[[Any], Any]], arg: Any) -> None:
    """A worker's life: set up once, then run tasks from the pipe until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    run = setup(arg)
    conn.send((_READY, True, None))
    while True:
        try:
            task_id, task = conn.recv()
        except (EOFError, OSError):
            return  # the daemon closed the pipe (or died): nothing more to do
        try:
            reply = (task_id, True, run(task))
        except BaseException as exc:  # every failure goes back to the daemon
            text = "".join(traceback.format_exception(exc))[-4000:]
            reply = (task_id, False, f"{type(exc).__name__}: {exc}\n{text}")
        conn.send(reply)


@dataclass(eq=False)
class _Job(Generic[T, R]):
    task_id: int
    task: T
    future: Future[R] = field(default_factory=Future)


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    ready: bool = False
    job: _Job[Any, Any] | None = None
    deadline: float = 0.0


class WorkerPool(Generic[A, T, R]):
    """``size`` worker processes, each task bounded by ``budget_seconds``."""

    def __init__(
        self,
        setup: Callable[[A], Callable[[T], R]],
        arg: A,
        *,
        size: int,
        budget_seconds: float,
        monotonic: Monotonic = time.monotonic,
        name: str = "pool",
    ) -> None:
        if size < 1 or budget_seconds <= 0:
            raise ValueError("a pool needs at least one worker and a positive budget")
        methods = multiprocessing.get_all_start_methods()
        method = "forkserver" if "forkserver" in methods else "spawn"
        self._ctx: Any = multiprocessing.get_context(method)
        self._setup, self._arg = setup, arg
        self.size, self.budget_seconds, self.name = size, budget_seconds, name
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._pending: deque[_Job[T, R]] = deque()
        self._workers: list[_Worker] = []
        self._next_id = 0
        self._closed = False
        self._started = False
        self._start_failures = 0
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)
        self.replaced = 0  # workers killed or lost and started again (for tests and metrics)
        self._thread = threading.Thread(target=self._supervise, name=f"{name}-supervisor")
        self._thread.daemon = True  # workers start with the first task: a daemon that never
        # gets mail (or a test that never sends any) costs no processes

    def _start_all(self) -> None:
        if not self._started:
            self._started = True
            self._workers = [self._start() for _ in range(self.size)]
            self._thread.start()

    # -- the caller's side ---------------------------------------------------------------------

    def start(self, wait_seconds: float, sleep: Callable[[float], None] = time.sleep) -> bool:
        """Start the workers now (not with the first task) and wait up to ``wait_seconds`` for
        all of them to be set up; True when they are. The daemon does this before READY=1, so
        the first mail after a start does not wait for imports and rules."""
        with self._lock:
            if self._closed:
                return False
            self._start_all()
        until = self._monotonic() + wait_seconds
        while self.ready_count() < self.size:
            if self._monotonic() >= until:
                return False
            sleep(0.05)
        return True

    def submit(self, task: T) -> Future[R]:
        """Queue ``task``; the future holds its result or a ``PoolError``."""
        with self._lock:
            if self._closed:
                raise PoolBroken(f"{self.name}: closed")
            self._start_all()
            self._next_id += 1
            job: _Job[T, R] = _Job(self._next_id, task)
            self._pending.append(job)
        self._wake()
        return job.future

    def close(self) -> None:
        """Kill every worker now; tasks not finished fail with ``PoolBroken``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers, self._workers = self._workers, []
            pending, self._pending = list(self._pending), deque()
        self._wake()
        for w in workers:
            self._kill(w)
            if w.job is not None:
                _fail(w.job, PoolBroken(f"{self.name}: closed with the task in flight"))
        for job in pending:
            _fail(job, PoolBroken(f"{self.name}: closed before the task started"))
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> WorkerPool[A, T, R]:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the supervisor thread -----------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # closed meanwhile: the supervisor is ending anyway
            self._wake_w.send_bytes(b"!")

    def _start(self) -> _Worker:
        ours, theirs = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_worker_main, args=(theirs, self._setup, self._arg), name=f"{self.name}-worker"
        )
        process.daemon = True
        process.start()
        theirs.close()
        return _Worker(process, ours)

    def _kill(self, w: _Worker) -> None:
        if w.process.is_alive():
            w.process.kill()
        w.process.join(timeout=5)
        w.conn.close()

    def _supervise(self) -> None:
        """The supervisor thread: never ends before ``close``, whatever goes wrong in a turn."""
        while True:
            try:
                if self._turn():
                    return
            except Exception as exc:  # e.g. no new worker could be started: fail, go on
                log.error("pool.supervisor_failed", pool=self.name, error=f"{exc!r}"[:300])
                self._fail_all(PoolBroken(f"{self.name}: {type(exc).__name__}: {exc}"))
                time.sleep(_IDLE_WAIT_SECONDS)

    def _fail_all(self, exc: PoolError) -> None:
        with self._lock:
            jobs = [w.job for w in self._workers if w.job is not None]
            jobs += list(self._pending)
            self._pending.clear()
            for w in self._workers:
                w.job = None
        for job in jobs:
            _fail(job, exc)

    def _turn(self) -> bool:
        """One look at the workers; True when the pool is closed."""
        with self._lock:
            if self._closed:
                return True
            self._assign()
            workers = list(self._workers)
        now = self._monotonic()
        busy = [w.deadline for w in workers if w.job is not None]
        timeout = min([_IDLE_WAIT_SECONDS, *(d - now for d in busy)])
        handles: list[Any] = [self._wake_r, *(w.conn for w in workers)]
        handles += [w.process.sentinel for w in workers]
        try:
            ready = set(wait(handles, timeout=max(0.0, timeout)))
        except OSError:  # a handle closed under us by close(): look again
            return False
        if self._wake_r in ready:
            self._drain_wake()
        with self._lock:
            if self._closed:
                return True
            for w in workers:
                self._look_at(w, ready)
        return False

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.poll():
                self._wake_r.recv_bytes()
        except (EOFError, OSError):
            pass

    def _assign(self) -> None:
        for w in self._workers:
            if not self._pending:
                return
            if w.ready and w.job is None:
                job = self._pending.popleft()
                if job.future.cancelled():
                    continue
                try:
                    w.conn.send((job.task_id, job.task))
                except OSError:  # the worker is gone; _look_at replaces it, the job waits
                    self._pending.appendleft(job)
                    continue
                w.job, w.deadline = job, self._monotonic() + self.budget_seconds

    def _look_at(self, w: _Worker, ready: set[Any]) -> None:
        if w.conn in ready:
            try:
                task_id, ok, payload = w.conn.recv()
            except (EOFError, OSError):
                pass  # died while answering: the sentinel says so below
            else:
                self._answer(w, task_id, ok, payload)
                return
        if w.process.sentinel in ready or not w.process.is_alive():
            self._lost(w)
        elif w.job is not None and self._monotonic() >= w.deadline:
            job = w.job
            log.warning(
                "pool.budget_exceeded",
                pool=self.name,
                budget_seconds=self.budget_seconds,
                pid=w.process.pid,
            )
            w.job = None
            self._replace(w)
            _fail(job, BudgetExceeded(f"over the {self.budget_seconds:g} s budget; worker killed"))

    def _answer(self, w: _Worker, task_id: Any, ok: bool, payload: Any) -> None:
        if task_id == _READY:
            w.ready = True
            self._start_failures = 0
            return
        job, w.job = w.job, None
        if job is None or job.task_id != task_id:
            return  # an answer nobody waits for any more
        if ok:
            _resolve(job, payload)
        else:
            _fail(job, TaskFailed(str(payload)))

    def _lost(self, w: _Worker) -> None:
        code = w.process.exitcode
        job, w.job = w.job, None
        if not w.ready:
            self._start_failures += 1
        log.warning(
            "pool.worker_died",
            pool=self.name,
            exitcode=code,
            in_flight=job is not None,
            ready=w.ready,
        )
        if job is not None:
            _fail(job, WorkerDied(f"worker ended with exit code {code} while running the task"))
        if self._start_failures >= _START_FAILURES_MAX:
            # the set-up itself fails (not any task's fault): say so to those waiting, try on
            broken = PoolBroken(f"{self.name}: {self._start_failures} workers died on start")
            self._start_failures = 0
            while self._pending:
                _fail(self._pending.popleft(), broken)
        self._replace(w)

    def _replace(self, w: _Worker) -> None:
        self._kill(w)
        index = self._workers.index(w)
        self._workers[index] = self._start()
        self.replaced += 1

    def pids(self) -> list[int]:
        """Process ids of the current workers (tests kill one to see the pool recover)."""
        with self._lock:
            return [w.process.pid for w in self._workers if w.process.pid is not None]

    def ready_count(self) -> int:
        with self._lock:
            return sum(1 for w in self._workers if w.ready)


def _resolve(job: _Job[Any, Any], value: Any) -> None:
    if not job.future.done():
        job.future.set_result(value)


def _fail(job: _Job[Any, Any], exc: BaseException) -> None:
    if not job.future.done():
        job.future.set_exception(exc)
