from __future__ import annotations

from tenantgate.identity.domain.refresh_tokens import RefreshPolicy


def test_a_token_lives_for_the_idle_window() -> None:
    policy = RefreshPolicy(idle_ttl=3600, absolute_ttl=28800)
    deadline = policy.family_deadline(1000.0)
    assert policy.token_deadline(1000.0, deadline) == 4600.0


def test_rotation_never_extends_past_the_absolute_deadline() -> None:
    policy = RefreshPolicy(idle_ttl=3600, absolute_ttl=28800)
    deadline = policy.family_deadline(0.0)
    assert policy.token_deadline(28000.0, deadline) == 28800.0
