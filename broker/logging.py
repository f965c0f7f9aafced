"""Structured logs (structlog), one JSON object per line, with the request id bound.

Nothing personal or secret is logged: handlers log ids and outcomes, never tokens, codes,
passwords, PRMs or payloads; the access log leaves out query strings.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import orjson
import structlog


class _StderrLogger:
    """Writes each line to whatever ``sys.stderr`` is at that moment, so a logger cached on
    first use still follows a redirected stream (tests capture it; daemons re-point it)."""

    def __init__(self, *_args: object) -> None:
        pass

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _json_line(event: dict[str, Any], default: Callable[[Any], Any]) -> str:
    """One JSON line with orjson (the access line is written on every request: this is
    several times cheaper than ``json.dumps``); anything orjson refuses (an integer past
    64 bits...) falls back to ``json.dumps``, so a log call never fails a request."""
    try:
        return orjson.dumps(event, default=default, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(event, default=default)


def configure_logging(*, json_lines: bool = True, level: int = logging.INFO) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(serializer=_json_line)
        if json_lines
        else structlog.dev.ConsoleRenderer()
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
        logger_factory=_StderrLogger,
        cache_logger_on_first_use=True,
    )
