"""One way to reach Azure Table storage, shared by the audit store and the inventory.

`ENFORCER_STORAGE` is either a connection string (`UseDevelopmentStorage=true`, or `AccountName=...;AccountKey=...`)
or a table account URL used with a token credential (default: DefaultAzureCredential, imported only then).
Clients are built lazily per table with one retry setting (azure-core's RetryPolicy), and a table is created on
first use. Every call ends by its deadline (ENFORCER_STORE_DEADLINE_SECONDS) and every answer is checked before
the SDK decodes it (store_transport.py). Secrets in a connection string are registered with the log redaction
before anything can log them.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from enforcer.adapters.redact import connection_string_secrets, install_redaction
from enforcer.adapters.store_transport import store_pipeline
from enforcer.core.records import MAX_BATCH_OPERATIONS
from enforcer.core.settings import SETTINGS, ConfigError, validate_endpoint

__all__ = ["CHECK_OPTIONS", "MAX_BATCH_OPERATIONS", "RETRY_ON_ALL_METHODS", "TableConnection", "is_table_missing"]

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.data.tables import TableClient

logger = logging.getLogger(__name__)

# Upserts are idempotent, so a $batch POST may be retried like a PUT (azure-core does not retry POST by default).
RETRY_ON_ALL_METHODS: Final = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST", "PATCH", "MERGE"})


# The check before the first write: one retry and short timeouts, so a hung store is reported in seconds
# (with the default retries a store that accepts connections and never answers holds the caller ~84 s).
CHECK_OPTIONS: Final[dict[str, Any]] = {
    "retry_total": 1,
    "retry_backoff_factor": 0.2,
    "connection_timeout": 3.0,
    "read_timeout": 4.0,
}


# ENFORCER_STORE_DEADLINE_SECONDS's default, for connections built without settings (tests, tools).
DEFAULT_DEADLINE_SECONDS: Final = float(
    next(s.default for s in SETTINGS if s.name == "ENFORCER_STORE_DEADLINE_SECONDS")
)


def is_table_missing(exc: HttpResponseError) -> bool:
    code = str(getattr(exc, "error_code", "") or "")
    return code == "TableNotFound" or (isinstance(exc, ResourceNotFoundError) and "TableNotFound" in str(exc))


class TableConnection:
    """The TableClients of one storage account; thread-safe. `close()` closes every client it built."""

    def __init__(
        self,
        storage: str,
        *,
        credential: TokenCredential | None = None,
        retry_total: int = 4,
        retry_backoff_factor: float = 0.5,
        retry_backoff_max: int = 8,
        connection_timeout: float = 5.0,
        read_timeout: float = 20.0,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
        **client_options: Any,
    ) -> None:
        """The retry settings go to the Tables client's azure-core retry policy; `deadline_seconds` bounds each
        call as a whole (store_transport.py); `client_options` are passed to each TableClient as they are
        (e.g. `raw_response_hook`)."""
        storage = storage.strip()
        if not storage:
            raise ConfigError("ENFORCER_STORAGE is empty; give a connection string or a table account URL")
        self.is_url = "://" in storage and "=" not in storage.split("?", 1)[0]
        if self.is_url:
            storage = validate_endpoint("ENFORCER_STORAGE", storage)
        else:
            install_redaction(*connection_string_secrets(storage))  # an account key or SAS never reaches a log
        self._storage = storage
        self._credential = credential
        self._options: dict[str, Any] = {
            "retry_total": retry_total,
            "retry_backoff_factor": retry_backoff_factor,
            "retry_backoff_max": retry_backoff_max,
            "connection_timeout": connection_timeout,
            "read_timeout": read_timeout,
            **client_options,
        }
        self._deadline_seconds = deadline_seconds
        self._lock = threading.Lock()
        self._clients: dict[str, TableClient] = {}
        self._ready: set[str] = set()

    def __repr__(self) -> str:  # never show the connection string
        return f"TableConnection(url={self.is_url})"

    def client(self, table: str) -> TableClient:
        from azure.data.tables import TableClient

        with self._lock:
            client = self._clients.get(table)
            if client is None:
                # One transport per client: closing a client closes its transport.
                options = self._options | store_pipeline(
                    self._deadline_seconds,
                    connection_timeout=self._options["connection_timeout"],
                    read_timeout=self._options["read_timeout"],
                )
                if self.is_url:
                    if self._credential is None:
                        # Imported here: only the URL form (managed identity) needs it.
                        from azure.identity import DefaultAzureCredential

                        self._credential = DefaultAzureCredential()
                    client = TableClient(
                        endpoint=self._storage, table_name=table, credential=self._credential, **options
                    )
                else:
                    client = TableClient.from_connection_string(self._storage, table_name=table, **options)
                self._clients[table] = client
            return client

    def ensure_table(self, table: str, *, force: bool = False, **request_options: Any) -> TableClient:
        """The table's client, the table created first if this connection has not seen it (AzureError if not).

        `request_options` apply to that one create call (e.g. CHECK_OPTIONS: a quick answer or none)."""
        client = self.client(table)
        if force or table not in self._ready:
            try:
                client.create_table(retry_on_methods=RETRY_ON_ALL_METHODS, **request_options)
                logger.info("Created table %s", table)
            except ResourceExistsError:
                pass
            self._ready.add(table)
        return client

    def forget(self, table: str) -> None:
        """The table was found missing: create it again on next use."""
        self._ready.discard(table)

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
            self._ready.clear()
