"""The identity benchmark's summary: every ratio pairs figures of the same repeat."""

from __future__ import annotations

from typing import Any

from tenantgate.bench.identity_bench import SCENARIOS, _summarise, bracket, sides_in_order


def _run(rate: float) -> dict[str, Any]:
    return {
        "rate": rate,
        "p50_ms": 1.0,
        "p99_ms": 2.0,
        "server_cores": 1.0,
        "loadgen_cores": 0.1,
        "other_cores": 0.0,
        "load_average_1m": 0.5,
    }


def test_login_ratios_pair_each_repeat_with_the_limit_measured_beside_it() -> None:
    real = {name: [_run(100.0)] * 3 for name in SCENARIOS}
    real["login"] = [_run(80.0), _run(90.0), _run(85.0)]
    base = {name: [_run(400.0), _run(200.0), _run(500.0)] for name in SCENARIOS}
    limits = [{"per_second": 100.0}, {"per_second": 90.0}, {"per_second": 80.0}]

    figures = _summarise("sqlite", real, base, limits)["figures"]

    # Per repeat: 0.80, 1.00, 1.0625, median 1.00.  Medians divided (85 / 90) or one limit
    # for all repeats (85 / 80) would each say something else.
    assert figures["logins / argon2 limit"]["median"] == 1.0
    assert figures["logins / argon2 limit"]["min"] == 0.8
    assert figures["argon2 limit (logins per second)"]["median"] == 90.0
    # Baseline ratios pair the same way: 100/400, 100/200, 100/500.
    assert figures["refresh grants / baseline"]["median"] == 0.25
    assert figures["refresh grants / baseline"]["max"] == 0.5


def test_the_limit_for_a_login_window_is_the_mean_of_the_two_around_it() -> None:
    before = {"per_second": 100.0, "cores": 2, "single_verify_ms": 20.0}
    after = {"per_second": 90.0, "cores": 2, "single_verify_ms": 21.0}
    limit = bracket(before, after)
    assert limit["per_second"] == 95.0
    assert (limit["before_per_second"], limit["after_per_second"]) == (100.0, 90.0)
    assert limit["single_verify_ms"] == 21.0


def test_the_server_that_goes_first_alternates_between_repeats() -> None:
    orders = [sides_in_order(repeat) for repeat in range(4)]
    assert orders == [("identity", "baseline"), ("baseline", "identity")] * 2
