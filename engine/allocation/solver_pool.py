"""A persistent pool of solver processes for the allocation stage's quadratic problems.

Sizing a portfolio at 500 names is mostly PIQP: about 9 ms to solve and 4 ms to build its
matrices, for each of ten portfolios one after another. With ``[allocation] workers = N`` (N > 1)
those solves run in N worker processes (engine/allocation/solver_worker.py), started once with
the engine and kept: each has numpy, scipy and PIQP loaded and its BLAS on one thread, so that
N workers and the engine do not oversubscribe the cores.

How a cycle uses it (``SolverPool.run``): the stage gives one call per portfolio, in mandate
order, each pinned to worker ``k % N`` (k its mandate's position). Each call runs in a greenlet
of its own, in the engine's thread: the pool starts call 1, which runs until its QP is ready
and shipped to its worker (``QP_ANSWERER``, engine/allocation/qp.py) and switches back, then
starts call 2, and so on; then it hands each call its answer, again in mandate order, and lets
it run to its end before the next; ``then`` (the stage's settling of that portfolio: scaling,
rounding, events) runs on each result as soon as it is in, while the workers go on solving the
later portfolios' QPs. Every line of Python thus runs in the order fixed by the mandates alone,
while the workers solve side by side; the workers run ``DirectQp.solve_here``, bitwise the
in-process solve. Only plain data crosses: the ``QuadraticProblem``'s arrays out, the weights
back. (The calls were threads until round 11 of docs/optimisation.md: each hand-over waited for
the operating system to wake a thread while the solver processes held both cores.)

A worker that dies, answers garbage or gives no answer within ``timeout_s`` is killed and
recorded as lost (``take_losses``: the stage records a ``SolverWorkerLost`` event); its problems,
that one and every later one, are solved in the engine's process, the same code, so the cycle's
result does not change. A lost worker is not restarted. ``close`` ends the workers; they also
end by themselves when the engine's process does (their input closes).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import pickle
import queue
import select
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import greenlet
import numpy as np

from engine.allocation.qp import QP_ANSWERER, DirectQp, QpFailed, QuadraticProblem
from engine.allocation.solver_worker import FRAME_HEADER
from engine.performance.latency import BLAS_THREAD_VARIABLES

T = TypeVar("T")
# How long a worker may take to start (numpy, scipy and PIQP imported) before it is lost.
STARTUP_TIMEOUT_S = 60.0
# How long close() waits for a worker to end after its input is closed, before killing it.
CLOSE_TIMEOUT_S = 5.0
_ENGINE_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True, slots=True)
class WorkerLoss:
    """A worker the pool stopped using: which (its pin index), and why, in words."""

    worker: int
    reason: str


class _WorkerLost(Exception):
    pass


class _Worker:
    """One solver process: requests go through a writer thread (a request of a few hundred kB
    must not block the engine on a full pipe if the worker hangs), answers are read here with a
    deadline."""

    def __init__(self, index: int) -> None:
        self.index = index
        environment = dict(os.environ)
        for name in BLAS_THREAD_VARIABLES:
            environment.setdefault(name, "1")
        # The engine package this process runs, whatever the worker's working directory.
        environment["PYTHONPATH"] = os.pathsep.join(
            p for p in (_ENGINE_ROOT, environment.get("PYTHONPATH", "")) if p
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.allocation.solver_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
            cwd=_ENGINE_ROOT,
        )
        self.lost: str | None = None
        self._ready = False
        self._buffer = bytearray()
        self._answers: dict[int, tuple[str, object]] = {}
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._writer = threading.Thread(
            target=self._write, name=f"solver-worker-{index}-writer", daemon=True
        )
        self._writer.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, ticket: int, max_iter: int, problem: QuadraticProblem) -> None:
        if self.lost is None:
            data = pickle.dumps((ticket, max_iter, problem), protocol=pickle.HIGHEST_PROTOCOL)
            self._outbox.put(FRAME_HEADER.pack(len(data)) + data)

    def answer(self, ticket: int, timeout_s: float) -> tuple[str, object]:
        """The worker's answer to ``ticket``; raises ``_WorkerLost`` (once the worker is killed)
        when it died, answered garbage or said nothing within the timeout."""
        if self.lost is not None:
            raise _WorkerLost(self.lost)
        try:
            if not self._ready:
                ready = self._read(time.monotonic() + max(STARTUP_TIMEOUT_S, timeout_s))
                if not (isinstance(ready, tuple) and ready[:1] == ("ready",)):
                    raise _WorkerLost(f"started with {ready!r} instead of ready")
                self._ready = True
            deadline = time.monotonic() + timeout_s
            while ticket not in self._answers:
                message = self._read(deadline)
                if not (isinstance(message, tuple) and len(message) == 3):
                    raise _WorkerLost(f"answered {type(message).__name__}, not an answer")
                self._answers[message[0]] = (message[1], message[2])
            return self._answers.pop(ticket)
        except _WorkerLost as lost:
            self._lose(str(lost))
            raise

    def close(self) -> None:
        self._outbox.put(None)  # the writer closes the worker's input: it ends by itself
        try:
            self.process.wait(CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._writer.join(CLOSE_TIMEOUT_S)

    def _lose(self, reason: str) -> None:
        self.lost = reason
        self.process.kill()
        self.process.wait()

    def _read(self, deadline: float) -> object:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while True:
            if len(self._buffer) >= FRAME_HEADER.size:
                (size,) = FRAME_HEADER.unpack_from(self._buffer)
                end = FRAME_HEADER.size + size
                if len(self._buffer) >= end:
                    data = bytes(self._buffer[FRAME_HEADER.size : end])
                    del self._buffer[:end]
                    try:
                        return pickle.loads(data)  # our own worker's frames
                    except Exception as exc:
                        raise _WorkerLost(f"sent an unreadable answer ({exc})") from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise _WorkerLost("gave no answer in time")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                code = self.process.poll()
                raise _WorkerLost(
                    "exited" + (f" with status {code}" if code is not None else " (pipe closed)")
                )
            self._buffer += chunk

    def _write(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            while (frame := self._outbox.get()) is not None:
                stdin.write(frame)
                stdin.flush()
        except OSError:
            pass  # the worker is gone: the reader finds out and the pool solves in-process
        finally:
            with contextlib.suppress(OSError):
                stdin.close()


class _Call(Generic[T]):
    """One portfolio's sizing in a greenlet of its own that hands control back to the pool at
    each QP it would solve (see the module's note)."""

    def __init__(self, worker: int, work: Callable[[], T]) -> None:
        self.worker = worker
        self.work = work
        # The engine thread's context (decimal arithmetic, numpy's error handling), as the call
        # would have in-process; plus QP_ANSWERER, set for this call alone.
        self.context = contextvars.copy_context()
        self.started = False
        self._greenlet = greenlet.greenlet(self._run)

    def resume(self, message: tuple[str, object] | None) -> tuple[str, object]:
        """Run the call until it asks for a solve ``("solve", (problem, max_iter))`` or ends
        (``("done", result)`` or ``("raised", exc)``); ``message`` answers its last request."""
        self.started = True
        return self._greenlet.switch(message)  # type: ignore[no-any-return]

    def _run(self, _: object) -> tuple[str, object]:
        return self.context.run(self._work)

    def _work(self) -> tuple[str, object]:
        QP_ANSWERER.set(self._solve)
        try:
            return ("done", self.work())
        except BaseException as exc:  # handed to the pool, which raises it in the engine thread
            return ("raised", exc)

    def _solve(self, problem: QuadraticProblem, max_iter: int) -> np.ndarray:
        parent = self._greenlet.parent
        assert parent is not None
        kind, value = parent.switch(("solve", (problem, max_iter)))
        if kind == "weights":
            return np.asarray(value)
        if kind == "qp_failed":
            raise QpFailed(str(value))
        if kind == "import_error":
            raise ImportError(str(value))
        if kind == "cancel":
            raise _Cancelled()
        # "local": the worker is lost; "error": it raised, and so may this process, the same way.
        return DirectQp(max_iter).solve_here(problem)


class _Cancelled(BaseException):
    """The pool gave up on the cycle (an error in the engine thread): the call ends."""


class SolverPool:
    """``workers`` solver processes, started now, kept until ``close``; ``timeout_s``: the
    longest a worker may take to answer one problem before it is lost."""

    def __init__(self, workers: int, timeout_s: float = 10.0) -> None:
        if workers < 2:
            raise ValueError(f"workers: {workers}; a pool needs at least 2 (1 solves in-process)")
        if not timeout_s > 0:
            raise ValueError(f"worker_timeout_s: {timeout_s} must be positive")
        self.timeout_s = timeout_s
        self._workers = [_Worker(k) for k in range(workers)]
        self._losses: list[WorkerLoss] = []
        self._tickets = 0
        self._closed = False
        self.solved_by_workers = 0  # problems a worker answered (not solved here after a loss)
        # Workers end with their engine even if close() is forgotten (their input closes).
        self._finalizer = weakref.finalize(self, _close_all, list(self._workers))

    @property
    def workers(self) -> int:
        return len(self._workers)

    @property
    def worker_pids(self) -> tuple[int | None, ...]:
        """Each worker's process id; None for a worker lost."""
        return tuple(w.pid if w.lost is None else None for w in self._workers)

    def take_losses(self) -> tuple[WorkerLoss, ...]:
        """Workers lost since the last call, in the order they were found lost."""
        losses, self._losses = tuple(self._losses), []
        return losses

    def run(
        self,
        calls: Sequence[tuple[int, Callable[[], T]]],
        then: Callable[[T], None] | None = None,
    ) -> list[T]:
        """Each ``(pin, work)``'s result, in order; ``work`` runs on worker ``pin % workers``
        for its QPs. ``then(result)`` runs here on each result in order, as soon as it is in
        (the later calls' QPs are being solved meanwhile). The first call to raise (in order),
        or ``then``, raises here: the later calls are told to end, and have ended, by then."""
        if self._closed:
            raise RuntimeError("the solver pool is closed")
        runs = [_Call(pin % len(self._workers), work) for pin, work in calls]
        results: list[tuple[str, object] | None] = [None] * len(runs)
        waiting: dict[int, int] = {}  # call -> ticket it waits on
        values: list[T] = []
        try:
            for k, call in enumerate(runs):
                self._step(k, call, call.resume(None), results, waiting)
            for k, call in enumerate(runs):
                while k in waiting:
                    answer = self._answer(call.worker, waiting.pop(k))
                    self._step(k, call, call.resume(answer), results, waiting)
                kind, value = results[k]  # type: ignore[misc]
                if kind == "raised":
                    assert isinstance(value, BaseException)
                    raise value
                values.append(value)  # type: ignore[arg-type]
                if then is not None:
                    then(value)  # type: ignore[arg-type]
        finally:
            # After an error: every call started and not ended is told to end.
            for k, call in enumerate(runs):
                if call.started and results[k] is None:
                    call.resume(("cancel", None))
        return values

    def close(self) -> None:
        """End the workers (idempotent)."""
        self._closed = True
        self._finalizer()

    def _step(
        self,
        k: int,
        call: _Call[T],
        message: tuple[str, object],
        results: list[tuple[str, object] | None],
        waiting: dict[int, int],
    ) -> None:
        kind, value = message
        if kind != "solve":
            results[k] = message
            return
        problem, max_iter = value  # type: ignore[misc]
        self._tickets += 1
        self._workers[call.worker].send(self._tickets, max_iter, problem)
        waiting[k] = self._tickets

    def _answer(self, worker: int, ticket: int) -> tuple[str, object]:
        chosen = self._workers[worker]
        if chosen.lost is not None:
            return ("local", None)
        try:
            answer = chosen.answer(ticket, self.timeout_s)
            self.solved_by_workers += 1
            return answer
        except _WorkerLost as lost:
            self._losses.append(WorkerLoss(worker, f"solver worker {worker} {lost}"))
            return ("local", None)


def _close_all(workers: list[_Worker]) -> None:
    for worker in workers:
        worker.close()
