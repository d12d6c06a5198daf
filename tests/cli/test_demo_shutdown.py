"""`make demo` says "Ctrl-C stops everything": it must, and a service manager's SIGTERM too.

Every engine the demo opens has to be closed when the apps stop: an SQLite connection
left open keeps its worker thread, and a live non-daemon thread keeps the interpreter
from exiting after every server has already shut down."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from ..browser.system import start_demo

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_demo_stops_on_ctrl_c_and_on_sigterm(tmp_path: Path, signum: int) -> None:
    system = start_demo(tmp_path / "demo", banks=2, customers=10)
    try:
        system.process.send_signal(signum)
        try:
            code = system.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the demo was still running 20 s after {signal.Signals(signum).name}")
    finally:
        if system.process.poll() is None:
            system.process.kill()
            system.process.wait(timeout=10)
    assert code == 0, system.log_text()[-3000:]
    assert "Traceback" not in system.log_text()
