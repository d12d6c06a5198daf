"""Shared by the CLI's command modules."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from pydantic import ValidationError

from .settings import InsecureSettingsError, Settings

T = TypeVar("T")


def load_settings() -> Settings:
    try:
        return Settings()
    except (ValidationError, InsecureSettingsError) as exc:
        raise click.ClickException(f"settings refused: {exc}") from exc


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await factory()

    return asyncio.run(main())
