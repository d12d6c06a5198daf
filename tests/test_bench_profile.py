"""`make profile`'s summary of py-spy's collapsed stacks (tenantgate/bench/profile.py)."""

from __future__ import annotations

from pathlib import Path

from tenantgate.bench.profile import summarize

STACKS = "\n".join(
    [
        "_run_module_as_main (<frozen runpy>:198);Runner.run (runners.py:118);"
        "token (oauth_routes.py:105);refresh_tokens (refresh_grant.py:36) 6",
        "_run_module_as_main (<frozen runpy>:198);Runner.run (runners.py:118);"
        "token (oauth_routes.py:105);sign (jws.py:10);sign (jws.py:12) 3",
        "Thread._bootstrap (threading.py:995);Condition.wait (threading.py:327) 1",
        "a line that is not a stack",
    ]
)


def test_shares_are_inclusive_counted_once_per_stack_without_entry_frames(
    tmp_path: Path,
) -> None:
    collapsed = tmp_path / "stacks.txt"
    collapsed.write_text(STACKS)
    ranked = summarize(collapsed)
    shares = {name: share for share, name in ranked}
    assert shares["token"] == 90.0  # in 9 of 10 samples
    assert shares["refresh_tokens"] == 60.0
    assert shares["sign"] == 30.0  # recursion does not count twice
    assert shares["Condition.wait"] == 10.0
    assert "Runner.run" not in shares
    assert "Thread._bootstrap" not in shares
    assert ranked[0][1] == "token"


def test_an_empty_recording_summarizes_to_nothing(tmp_path: Path) -> None:
    collapsed = tmp_path / "stacks.txt"
    collapsed.write_text("")
    assert summarize(collapsed) == []
