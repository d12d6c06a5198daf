"""Medians over repeated runs, with the spread kept for the record."""

from __future__ import annotations

import statistics
from typing import Any


def figure(samples: list[float], unit: str) -> dict[str, Any]:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "runs": len(samples),
        "unit": unit,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
