"""The golden replay: the whole bundled history on the default configuration gives exactly the
results recorded in tests/golden/replay_digest.json (nav.csv, fills.csv and every event's
sequence, portfolio, type, ids and payload). A reshaping of the engine must leave it unchanged;
a change of results on purpose records the digest again in a commit of its own that says why
(``.venv/bin/python -m tests.golden.digest --record``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.golden.digest import DIGEST_PATH, replay_digest, run_replay

pytestmark = pytest.mark.slow


def test_the_whole_history_replays_to_the_recorded_digest(tmp_path: Path) -> None:
    expected = json.loads(DIGEST_PATH.read_text())
    run_replay(tmp_path)
    found = replay_digest(tmp_path)
    different = {part: found[part] for part in expected if found[part] != expected[part]}
    assert not different, f"the replay differs from the golden digest in {sorted(different)}"
