"""Structured logs (structlog), one JSON object per line, with the request id bound.

Nothing personal or secret is logged: handlers log ids and outcomes, never tokens, codes,
passwords, PRMs or payloads; the access log leaves out query strings.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(*, json_lines: bool = True, level: int = logging.INFO) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
