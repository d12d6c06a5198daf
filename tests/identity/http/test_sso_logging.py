"""CONTRACT §4.2 / SECURITY.md: the SSO token never appears in a log line.

All standard logging (every logger, DEBUG — SQLAlchemy then logs every statement with
its parameters) and structlog's JSON lines on stdout are captured during a whole
hand-off, including refusals whose private reason is logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from tenantgate.identity.web import errors
from tenantgate.logging_setup import configure_logging

from ..harness import World

pytestmark = pytest.mark.anyio


@pytest.fixture
def debug_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    previous = structlog.get_config()
    # Configured inside the test, so structlog prints to the captured sys.stdout.
    configure_logging("DEBUG", json_output=True)
    # A module-level proxy may have cached a logger bound to an older stdout.
    monkeypatch.setattr(errors, "log", structlog.get_logger("tenantgate.identity"))
    try:
        yield
    finally:
        structlog.configure(**previous)


@pytest.mark.usefixtures("debug_logging")
async def test_sso_token_never_appears_in_any_log_line(
    world: World, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy pins its own logger tree to WARNING; open it up too (statements + parameters).
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    capsys.readouterr()

    scoped = await world.admin_in(next(iter(world.seed.tenants)))
    minted = await world.mint_sso(scoped["access_token"])
    assert minted.status_code == 200, minted.text
    sso = minted.json()["access_token"]
    first = await world.redeem_sso(sso)
    replay = await world.redeem_sso(sso)
    assert replay.status_code == 400
    foreign = await world.redeem_sso(sso, "admin-portal")
    assert foreign.status_code == 400
    tampered = sso[:-3] + ("AAA" if not sso.endswith("AAA") else "BBB")
    assert (await world.redeem_sso(tampered)).status_code == 400
    secrets = [sso, *sso.split(".")[2:]]  # the token, its iv, ciphertext and tag
    if first.status_code == 200:
        secrets.append(first.json()["refresh_token"])

    out = capsys.readouterr()
    records = "\n".join(
        f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
    )
    everything = "\n".join([out.out, out.err, caplog.text, records])

    # Controls: both channels really were captured during the hand-off.
    # structlog's JSON lines reach stdout through stdlib logging (or directly, unconfigured).
    assert "request_refused" in out.out + records, (out.out + records)[:2000]
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)
    assert any(r.name == "httpx" for r in caplog.records)
    # ... down to statement parameters: the audit row naming the jti was logged.
    (event,) = await world.audit_events("sso.minted")
    jti = json.loads(event["detail"])["jti"]
    assert jti in records
    for secret in secrets:
        assert len(secret) >= 16
        assert secret not in everything
