"""Structured JSON logs (structlog) for every app; configured once by the CLI.

structlog renders each event to one JSON line and hands it to the standard library's
logging, whose handler writes to stdout.  Going through `logging` means any handler an
operator (or a test) attaches sees every event, and no logger keeps a reference to a
stdout that was swapped out later."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: str = "INFO", *, json_output: bool = True) -> None:
    numeric = logging.getLevelName(level)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=numeric, format="%(message)s", stream=sys.stdout, force=True)
    if numeric > logging.DEBUG:
        # Migration plumbing is noise at INFO; its "Running upgrade" lines stay.
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
