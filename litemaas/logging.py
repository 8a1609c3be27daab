"""Structured logs: one JSON object per line, dotted event names, secrets scrubbed.

Every line carries the request id (bound per request in a context variable). A processor
runs the redaction the audit log uses too (``kit.redaction``) over every value, so a token
passed by mistake still never reaches the log.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

from litemaas.kit.redaction import redact


def _scrub(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    scrubbed: EventDict = redact(dict(event_dict))
    return scrubbed


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _scrub,
    ]


def build_formatter(json_output: bool = True) -> logging.Formatter:
    """The formatter every LiteMaaS log line goes through (structlog and stdlib alike)."""
    renderer: Any = structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer()
    return structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _scrub, renderer],
        foreign_pre_chain=_shared_processors(),
    )


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time: commands keep stdout for their report."""

    _litemaas = True

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at the time (test runners swap it)."""

    _litemaas = True

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure_logging(
    level: str = "INFO", json_output: bool = True, *, stream: Literal["stdout", "stderr"] = "stdout"
) -> None:
    """Route structlog and stdlib logging (uvicorn, alembic) through one JSON renderer.

    Servers log on stdout; commands pass ``stream="stderr"`` so their stdout carries only the report.
    """
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_litemaas", False):
            root.removeHandler(existing)
    handler: logging.Handler = _StdoutHandler() if stream == "stdout" else _StderrHandler()
    handler.setFormatter(build_formatter(json_output))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Our middleware writes one access line without query strings (OAuth codes live there).
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # httpx logs full URLs at INFO, including OAuth callback codes.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
