"""Logging: structlog, readable in a terminal, JSON lines in production.

A last-line processor removes fields whose names suggest message content, so a careless
``log.info(..., prompt=text)`` cannot put personal data into the logs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

CONTENT_FIELD_NAMES = frozenset({
    "content", "prompt", "messages", "text", "body", "value", "answer", "original", "raw",
})


def drop_content_fields(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for name in CONTENT_FIELD_NAMES & event_dict.keys():
        event_dict[name] = "[withheld]"
    return event_dict


def _identity(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    return event_dict


def configure_logging(log_format: str = "console", level: int = logging.INFO) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer() if log_format == "json"
        # plain tracebacks: the rich formatter would print local variables, prompts included
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            drop_content_fields,
            structlog.processors.format_exc_info if log_format == "json" else _identity,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    for noisy in ("aiokafka", "presidio-analyzer", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
