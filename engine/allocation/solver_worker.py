"""A solver process of the allocation pool (engine/allocation/solver_pool.py).

Run as ``python -m engine.allocation.solver_worker``. It reads requests from stdin and writes
answers to stdout, each a frame: an 8-byte little-endian length, then a pickle. A request is
``(ticket, max_iter, QuadraticProblem)`` (plain arrays, never engine state); the answer is
``(ticket, kind, value)``: ``("weights", array)``, ``("qp_failed", reason)`` when PIQP gives no
usable answer (the engine then falls back to Clarabel as it would in-process),
``("import_error", message)`` or ``("error", message)``. The first frame it writes is
``("ready", pid)``, once numpy, scipy and PIQP are imported. End of input (the engine closed the
pipe, or died) ends the process, so a worker never outlives its engine.

The solve is ``DirectQp.solve_here``, the very code the engine runs in-process, on one BLAS
thread: the weights are bitwise those an in-process solve gives.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
from typing import BinaryIO

FRAME_HEADER = struct.Struct("<Q")


def write_frame(stream: BinaryIO, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(FRAME_HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: BinaryIO) -> object | None:
    """The next message, None at the end of the input."""
    header = stream.read(FRAME_HEADER.size)
    if len(header) < FRAME_HEADER.size:
        return None
    (size,) = FRAME_HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)  # frames from the engine that started us


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer requests until the input ends."""
    from engine.performance.latency import limit_blas_threads

    limit_blas_threads()
    from engine.allocation.qp import DirectQp, QpFailed

    write_frame(answers, ("ready", os.getpid()))
    while (request := read_frame(requests)) is not None:
        ticket, max_iter, problem = request  # type: ignore[misc]
        try:
            answer: tuple[str, object] = ("weights", DirectQp(max_iter).solve_here(problem))
        except QpFailed as exc:
            answer = ("qp_failed", str(exc))
        except ImportError as exc:
            answer = ("import_error", str(exc))
        except Exception as exc:  # the engine solves it in-process and records why
            answer = ("error", f"{type(exc).__name__}: {exc}")
        write_frame(answers, (ticket, *answer))


def main() -> int:
    # The protocol owns stdout: anything printed by a library goes to stderr instead.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, answers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
