"""Parts built once per key for every session: concurrent requests for a new key wait for one
build, a failed build is retried, and the oldest keys go first when the memo is full."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from components.shared import SharedParts


def test_sessions_asking_together_for_a_new_key_share_one_build() -> None:
    shared = SharedParts()
    started = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def build() -> dict[str, int]:
        calls.append(1)
        started.set()
        # Hold the build until every other session has asked for the same key.
        release.wait(timeout=30)
        return {"cycle": 7}

    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(shared.get, "flow", [7, "2008-01-02"], build)
        started.wait(timeout=30)
        others = [pool.submit(shared.get, "flow", [7, "2008-01-02"], build) for _ in range(7)]
        release.set()
        answers = [first.result(), *(f.result() for f in others)]
    assert calls == [1]
    assert all(answer is answers[0] for answer in answers)
    assert shared.builds == 1


def test_a_new_key_or_name_builds_again_and_a_failed_build_is_retried() -> None:
    shared = SharedParts()
    assert shared.get("flow", [1, "d"], lambda: "one") == "one"
    assert shared.get("flow", [1, "d"], lambda: "other") == "one"
    assert shared.get("flow", [2, "d"], lambda: "two") == "two"
    assert shared.get("quality", [1, "d"], lambda: "q") == "q"

    def broken() -> str:
        raise RuntimeError("figure failed")

    with pytest.raises(RuntimeError, match="figure failed"):
        shared.get("lineage", [1, "d"], broken)
    assert shared.get("lineage", [1, "d"], lambda: "fixed") == "fixed"
    assert shared.builds == 4


def test_the_oldest_key_is_dropped_when_full() -> None:
    shared = SharedParts(capacity=2)
    shared.get("p", 1, lambda: "a")
    shared.get("p", 2, lambda: "b")
    shared.get("p", 1, lambda: "a again")  # 1 is now the newest
    shared.get("p", 3, lambda: "c")  # drops 2
    assert shared.get("p", 1, lambda: "rebuilt") == "a"
    assert shared.get("p", 2, lambda: "rebuilt") == "rebuilt"
    with pytest.raises(ValueError, match="capacity: must be at least 1"):
        SharedParts(capacity=0)
