"""Realistic, deterministic FI names for any number of banks."""

from __future__ import annotations

import itertools

FIRST = "First Harbor Bank"
_PREFIXES = [
    "Granite",
    "Riverside",
    "Summit",
    "Lakeshore",
    "Pioneer",
    "Heritage",
    "Cedar",
    "Bluewater",
    "Prairie",
    "Northgate",
    "Keystone",
    "Evergreen",
    "Redwood",
    "Silver Creek",
    "Harborview",
    "Ironwood",
    "Meridian",
    "Oakridge",
    "Pinecrest",
    "Stonebridge",
    "Valley",
    "Westfield",
    "Coastal",
    "Liberty",
    "Frontier",
    "Magnolia",
    "Sterling",
    "Bayside",
    "Highland",
    "Maple",
]
_SUFFIXES = [
    "Savings Bank",
    "Credit Union",
    "Community Bank",
    "Trust",
    "Federal Credit Union",
    "National Bank",
    "Bank & Trust",
    "Financial",
    "Savings & Loan",
    "Cooperative Bank",
]


def fi_names(count: int) -> list[str]:
    names = [FIRST]
    for prefix, suffix in itertools.product(_PREFIXES, _SUFFIXES):
        if len(names) >= count:
            break
        names.append(f"{prefix} {suffix}")
    serial = 2
    while len(names) < count:
        names.append(f"{_PREFIXES[serial % len(_PREFIXES)]} Regional Bank No. {serial}")
        serial += 1
    return names[:count]


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-").replace("--", "-")
