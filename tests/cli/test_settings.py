from __future__ import annotations

import base64
import secrets

import pytest
from pydantic import ValidationError

from tenantgate.settings import InsecureSettingsError, Settings

KEK = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def test_demo_mode_accepts_plain_http_without_a_kek() -> None:
    settings = Settings(demo_mode=True, _env_file=None)
    assert settings.issuer.startswith("http://")


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"key_encryption_key": KEK},  # http issuer outside demo mode
        {"key_encryption_key": "too-short", "issuer": "https://id.example"},
        {"key_encryption_key": "!!!", "issuer": "https://id.example"},
    ],
)
def test_insecure_values_are_refused_outside_demo_mode(values: dict[str, str]) -> None:
    with pytest.raises((InsecureSettingsError, ValidationError)):
        Settings(**values)  # type: ignore[arg-type]


def test_the_sso_lifetime_cannot_exceed_120_seconds() -> None:
    with pytest.raises(ValidationError):
        Settings(demo_mode=True, sso_token_ttl=121)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANTGATE_KEY_ENCRYPTION_KEY", KEK)
    monkeypatch.setenv("TENANTGATE_ISSUER", "https://id.example")
    monkeypatch.setenv("TENANTGATE_ACCESS_TOKEN_TTL", "900")
    monkeypatch.setenv("TENANTGATE_TENANT_REF_ROTATION", "60")
    settings = Settings()
    assert settings.access_token_ttl == 900
    assert settings.tenant_ref_rotation == 60
    assert len(settings.key_encryption_key_bytes()) == 32


def test_a_rotated_ref_stays_resolvable_while_tokens_carrying_it_live() -> None:
    short = Settings(demo_mode=True, tenant_ref_rotation=5, access_token_ttl=600)
    assert short.tenant_ref_grace == 600
    assert Settings(demo_mode=True).tenant_ref_grace == 1800
