"""Keep secrets (the Teams webhook URL, storage keys) out of every log line.

A webhook URL carries its credential in the path and query, and azure-core's
HTTP logging policy and urllib3 both log request URLs at DEBUG. Filters on
loggers only see records logged on that very logger, and filters on handlers
only cover handlers that exist when they are installed, so the redaction runs
in three places: on every record as it is created (a wrapped log record
factory, which also covers handlers added later, e.g. by the Functions host or
pytest), on the root logger's handlers, and on the azure loggers.

The same record factory also escapes control characters (newline, carriage return, ANSI escapes) in every
value a record is formatted with, so a value from outside (an event's id or type, an Azure error) stays on
its own log line and cannot forge another (`escape_record`).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from enforcer.core.text import escape_control

REDACTED: Final = "***"

# Parts of a secret URL shorter than this are ordinary words ("workflows", "invoke").
_MIN_PART_LENGTH: Final = 16
_AZURE_LOGGERS: Final = (
    "azure",
    "azure.core.pipeline.policies.http_logging_policy",
    "urllib3",
)


def secret_fragments(secret: str) -> tuple[str, ...]:
    """The strings to hide for one secret: itself and, for a URL, its path, query and long path/query parts.

    Longest first, so that a whole URL is replaced before its pieces.
    """
    secret = secret.strip()
    if not secret:
        return ()
    fragments = {secret}
    parts = urlsplit(secret)
    if parts.scheme and parts.netloc:
        candidates = [parts.path, parts.query, unquote(parts.path), unquote(parts.query)]
        candidates += [seg for seg in parts.path.split("/")]
        candidates += [unquote(seg) for seg in parts.path.split("/")]
        candidates += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
        candidates += [pair for pair in parts.query.split("&")]
        fragments.update(c for c in candidates if len(c) >= _MIN_PART_LENGTH)
    return tuple(sorted(fragments, key=len, reverse=True))


def connection_string_secrets(connection_string: str | None) -> tuple[str, ...]:
    """The secret values in a storage connection string (AccountKey, SharedAccessSignature)."""
    if not connection_string:
        return ()
    secrets = []
    for item in connection_string.split(";"):
        key, sep, value = item.partition("=")
        if sep and key.strip().lower() in ("accountkey", "sharedaccesssignature") and value.strip():
            secrets.append(value.strip())
    return tuple(secrets)


class SecretRedactingFilter(logging.Filter):
    """Replaces registered secrets (and the secret parts of URLs) in a record's message, args and traceback.

    It never drops a record: `filter` always returns True after rewriting it.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._fragments: tuple[str, ...] = ()
        self.add_secrets(*secrets)

    def add_secrets(self, *secrets: str) -> None:
        with self._lock:
            fragments = set(self._fragments)
            for secret in secrets:
                fragments.update(secret_fragments(secret))
            self._fragments = tuple(sorted(fragments, key=len, reverse=True))

    @property
    def active(self) -> bool:
        return bool(self._fragments)

    def redact(self, text: str) -> str:
        for fragment in self._fragments:
            if fragment in text:
                text = text.replace(fragment, REDACTED)
        return text

    def _contains_secret(self, text: str) -> bool:
        return any(fragment in text for fragment in self._fragments)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._fragments:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's problem, not a reason to leak
            message = str(record.msg)
        if self._contains_secret(message):
            record.msg = self.redact(message)
            record.args = None
        if record.exc_info and not record.exc_text:
            formatted = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            if self._contains_secret(formatted):
                # Formatters print a pre-set exc_text instead of formatting the live exception.
                record.exc_text = self.redact(formatted)
        if record.exc_text and self._contains_secret(record.exc_text):
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info and self._contains_secret(record.stack_info):
            record.stack_info = self.redact(record.stack_info)
        return True


def _escaped_value(value: Any) -> Any:
    if isinstance(value, str):
        return escape_control(value)
    if value is None or isinstance(value, (int, float)):
        return value
    text = str(value)
    escaped = escape_control(text)
    return value if escaped == text else escaped


def escape_record(record: logging.LogRecord) -> None:
    """Escape control characters in the values a record is formatted with (its args, or a non-text message);
    the message template itself is the code's own text and is left alone, and so is a traceback."""
    args = record.args
    if isinstance(args, tuple) and args:
        record.args = tuple(_escaped_value(a) for a in args)
    elif isinstance(args, dict) and args:
        record.args = {k: _escaped_value(v) for k, v in args.items()}
    if not isinstance(record.msg, str):
        record.msg = _escaped_value(record.msg)


_install_lock = threading.Lock()
_installed_filter: SecretRedactingFilter | None = None


def _wrap_record_factory(redactor: SecretRedactingFilter) -> None:
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(previous, "_enforcer_redactor", None) is redactor:
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        escape_record(record)
        redactor.filter(record)
        return record

    factory._enforcer_redactor = redactor  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def install_redaction(*secrets: str) -> SecretRedactingFilter:
    """Hide these secrets from every log record of this process; safe to call again with more secrets.

    Empty or None-like values are ignored, so `install_redaction(settings.teams_webhook_url or "")` is fine;
    `install_redaction()` installs the record factory alone (control characters in log values escaped).
    Returns the process-wide filter (tests use it to check what is registered).
    """
    global _installed_filter  # noqa: PLW0603 - logging is process-wide; one filter serves every logger
    with _install_lock:
        if _installed_filter is None:
            _installed_filter = SecretRedactingFilter()
        redactor = _installed_filter
        redactor.add_secrets(*(s for s in secrets if s))
        _wrap_record_factory(redactor)
        for handler in logging.getLogger().handlers:
            if redactor not in handler.filters:
                handler.addFilter(redactor)
        for name in _AZURE_LOGGERS:
            logger = logging.getLogger(name)
            if redactor not in logger.filters:
                logger.addFilter(redactor)
    return redactor
