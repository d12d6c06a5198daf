from __future__ import annotations

from tenantgate.identity.domain.tenant_refs import (
    RefStatus,
    classify_ref,
    looks_like_tenant_ref,
    new_tenant_ref,
    rotation_epoch,
)

PERIOD = 1800


def test_refs_are_opaque_random_and_recognisable() -> None:
    refs = {new_tenant_ref() for _ in range(200)}
    assert len(refs) == 200
    assert all(looks_like_tenant_ref(r) for r in refs)
    assert not looks_like_tenant_ref("fi_../../etc/passwd")
    assert not looks_like_tenant_ref("17")


def test_a_ref_is_current_within_its_epoch() -> None:
    now = 10 * PERIOD + 5
    assert classify_ref(rotation_epoch(now, PERIOD), now, PERIOD, grace=PERIOD) is RefStatus.CURRENT


def test_the_previous_epochs_ref_is_stale_during_the_grace_window() -> None:
    epoch = 10
    just_rotated = (epoch + 1) * PERIOD + 1
    assert classify_ref(epoch, just_rotated, PERIOD, grace=PERIOD) is RefStatus.STALE
    end_of_grace = (epoch + 1) * PERIOD + PERIOD - 1
    assert classify_ref(epoch, end_of_grace, PERIOD, grace=PERIOD) is RefStatus.STALE


def test_a_ref_past_its_grace_window_is_unknown() -> None:
    epoch = 10
    after_grace = (epoch + 1) * PERIOD + PERIOD
    assert classify_ref(epoch, after_grace, PERIOD, grace=PERIOD) is RefStatus.UNKNOWN


def test_a_ref_from_the_future_is_unknown() -> None:
    now = 10 * PERIOD
    assert classify_ref(11, now, PERIOD, grace=PERIOD) is RefStatus.UNKNOWN
