"""Flama's own logs (``flama.*``) as JSON lines on stderr, one object per record."""

import json
import logging
from typing import Any

__all__ = ["JSONLogFormatter", "configure_logging"]

# Attributes every log record has; anything else was passed in ``extra`` and is logged as a field of its own.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JSONLogFormatter(logging.Formatter):
    """One JSON object per log record: time, level, logger, message, and every ``extra`` field (``request_id``...)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        data: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update((key, value) for key, value in vars(record).items() if key not in _RECORD_FIELDS)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Send the ``flama`` loggers to stderr as JSON lines at ``level`` (``trace`` counts as ``debug``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JSONLogFormatter())
    logger = logging.getLogger("flama")
    logger.handlers = [handler]
    logger.setLevel("DEBUG" if level.lower() == "trace" else level.upper())
    logger.propagate = False
