"""Structured logging: JSON lines in production, a readable console on a terminal.

structlog and the standard library (uvicorn, SQLAlchemy, Alembic) share one pipeline,
so every line carries the request id bound by ``RequestIdMiddleware``.
"""

import logging
import sys
from typing import Any

import orjson
import structlog
from structlog.typing import Processor

from ..settings import LoggingSettings

# Frame locals may hold passwords or tokens: tracebacks never include them.
_TRACEBACKS_WITHOUT_LOCALS = structlog.processors.ExceptionRenderer(
    structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
)
_SHARED_PROCESSORS: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(settings: LoggingSettings, *, cache_loggers: bool = True) -> None:
    """Configure structlog and the standard library alike.

    ``cache_loggers`` freezes each logger's configuration on first use, which is
    faster; tests turn it off so they can capture log lines.
    """
    level = logging.getLevelNamesMapping()[settings.level]
    as_json = settings.format == "json" or (settings.format == "auto" and not sys.stdout.isatty())
    renderer: Processor
    if as_json:
        renderer = structlog.processors.JSONRenderer(serializer=orjson.dumps)
        logger_factory: structlog.typing.WrappedLogger = structlog.BytesLoggerFactory()
        exceptions: list[Processor] = [_TRACEBACKS_WITHOUT_LOCALS]
    else:
        renderer = structlog.dev.ConsoleRenderer()
        logger_factory = structlog.PrintLoggerFactory()
        exceptions = []
    structlog.configure(
        processors=[*_SHARED_PROCESSORS, *exceptions, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=logger_factory,
        cache_logger_on_first_use=cache_loggers,
    )
    _route_standard_library_logging(level, as_json)


def _route_standard_library_logging(level: int, as_json: bool) -> None:
    renderer: Processor = (
        structlog.processors.JSONRenderer(serializer=_orjson_text)
        if as_json
        else structlog.dev.ConsoleRenderer()
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED_PROCESSORS,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *([_TRACEBACKS_WITHOUT_LOCALS] if as_json else []),
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))


def _orjson_text(event: Any, **_: Any) -> str:
    """The standard library's formatter wants text, not bytes."""
    return orjson.dumps(event).decode()
