"""The solver pool on plain QPs: answers bitwise those of the in-process solve, in the order of
the calls, a PIQP failure reported as in-process, and a call's error raised after all ended."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from engine.allocation.qp import DirectQp, QpFailed, QuadraticProblem
from engine.allocation.solver_pool import SolverPool


def _problem(seed: int, names: int = 60) -> QuadraticProblem:
    rng = np.random.default_rng(seed)
    return QuadraticProblem(
        mu=rng.normal(0.0, 0.05, names),
        net=(1.0, 1.0),
        low=0.0,
        high=0.1,
        loadings=rng.normal(0.0, 0.3, (names, 3)),
        specific_sd=rng.uniform(0.2, 0.5, names),
    )


@pytest.fixture(scope="module")
def pool() -> Iterator[SolverPool]:
    solvers = SolverPool(2, timeout_s=30.0)
    yield solvers
    solvers.close()


def test_each_call_gets_the_in_process_answers_in_order(pool: SolverPool) -> None:
    problems = [(_problem(seed), _problem(seed + 100)) for seed in range(5)]

    def sizing(first: QuadraticProblem, second: QuadraticProblem) -> np.ndarray:
        # Two solves in one call, as a portfolio of two quadratic sleeves makes.
        return np.concatenate([DirectQp().solve(first), DirectQp().solve(second)])

    answered_before = pool.solved_by_workers
    results = pool.run([(k, lambda a=a, b=b: sizing(a, b)) for k, (a, b) in enumerate(problems)])
    expected = [np.concatenate([DirectQp().solve(a), DirectQp().solve(b)]) for a, b in problems]
    assert len(results) == len(expected)
    for found, wanted in zip(results, expected, strict=True):
        assert found.tobytes() == wanted.tobytes()
    assert pool.solved_by_workers - answered_before == 10
    assert pool.take_losses() == ()


def test_a_piqp_failure_in_a_worker_is_the_in_process_failure(pool: SolverPool) -> None:
    def sizing() -> str:
        try:
            DirectQp(max_iter=1).solve(_problem(7))
        except QpFailed as exc:
            return str(exc)
        return "solved"

    with pytest.raises(QpFailed) as in_process:
        DirectQp(max_iter=1).solve(_problem(7))
    assert pool.run([(0, sizing)]) == [str(in_process.value)]


def test_then_runs_on_each_result_in_order_before_the_later_calls_end(pool: SolverPool) -> None:
    steps: list[str] = []

    def sizing(k: int) -> int:
        DirectQp().solve(_problem(k))
        steps.append(f"sized {k}")
        return k

    results = pool.run(
        [(k, lambda k=k: sizing(k)) for k in range(4)],
        then=lambda k: steps.append(f"then {k}"),
    )
    assert results == [0, 1, 2, 3]
    # Each result handed on as soon as it is in, the next call resumed only after.
    assert steps == [f"{step} {k}" for k in range(4) for step in ("sized", "then")]


def test_the_first_call_to_raise_raises_and_the_later_calls_end(pool: SolverPool) -> None:
    ended: list[int] = []
    handed: list[int] = []
    unwound: list[int] = []

    def sizing(k: int) -> int:
        try:
            DirectQp().solve(_problem(k))
            ended.append(k)
            if k in (1, 3):
                raise ValueError(f"call {k}")
            return k
        finally:
            unwound.append(k)

    with pytest.raises(ValueError, match="call 1"):
        pool.run([(k, lambda k=k: sizing(k)) for k in range(5)], then=handed.append)
    # One at a time, in the calls' order: call 0 handed on, call 1 raised, and the calls after
    # it were told to end at their solve: each has unwound when run raises.
    assert ended == [0, 1]
    assert handed == [0]
    assert sorted(unwound) == [0, 1, 2, 3, 4]
    assert pool.run([(0, lambda: sizing(0))]) == [0]  # the pool goes on working


def test_an_error_in_then_ends_the_later_calls(pool: SolverPool) -> None:
    sized: list[int] = []

    def sizing(k: int) -> int:
        DirectQp().solve(_problem(k))
        sized.append(k)
        return k

    def refuse(k: int) -> None:
        raise RuntimeError(f"settling {k}")

    with pytest.raises(RuntimeError, match="settling 0"):
        pool.run([(k, lambda k=k: sizing(k)) for k in range(3)], then=refuse)
    assert sized == [0]
    assert pool.run([(0, lambda: sizing(7))]) == [7]


def test_a_pool_needs_two_workers_and_a_positive_timeout() -> None:
    with pytest.raises(ValueError, match="workers: 1"):
        SolverPool(1)
    with pytest.raises(ValueError, match="worker_timeout_s: 0"):
        SolverPool(2, timeout_s=0)
