"""Refresh-token lifetimes (RFC 9700 §4.14.2): each token dies at the earlier of its
idle deadline and its family's absolute deadline, so rotation can never extend a
session past the absolute limit."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    idle_ttl: int
    absolute_ttl: int

    def family_deadline(self, started_at: float) -> float:
        return started_at + self.absolute_ttl

    def token_deadline(self, now: float, family_deadline: float) -> float:
        return min(now + self.idle_ttl, family_deadline)
