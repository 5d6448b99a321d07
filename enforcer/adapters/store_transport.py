"""How the enforcer talks to Table storage over HTTP: every call ends by its deadline, every answer is checked.

azure-core's `read_timeout` bounds each socket read, not the answer: a store that sends one byte every 0.5 s
never trips it and holds a call for minutes (urllib3's `Timeout` docs: "the read and total timeouts only measure
the time between read operations ... not the total amount of time for the request to return a complete
response"; azure-core's RetryPolicy `timeout` is only checked between attempts). Here one call (every attempt,
and every retry wait between them) ends `deadline_seconds` after it started:

- `CallDeadlinePolicy` (first in the pipeline, outside the retry policy) starts the clock for the call;
- `DeadlineTransport` (an azure-core `RequestsTransport`) gives each attempt what is left: its connect and read
  timeouts are capped by it, a watchdog shuts the attempt's socket down when it runs out (so a trickle, in the
  headers or in the body, ends), and the retry policy's waits (`transport.sleep`) never pass it;
- `AnswerCheckPolicy` (inside the retry policy, so a bad answer is retried like a failed one) refuses an answer
  whose body is not UTF-8, or JSON that is not a Table answer, with a `StoreAnswerError` (an azure-core
  `ServiceResponseError`) before the SDK decodes it (the SDK raises `UnicodeDecodeError` or `TypeError` instead,
  which no caller expects).

Each failure is an `AzureError`, so every caller's existing handling (AuditStoreError, "store unavailable")
covers it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from typing import Any, Final

import requests
from azure.core.exceptions import ServiceResponseError, ServiceResponseTimeoutError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy, SansIOHTTPPolicy
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

__all__ = [
    "AnswerCheckPolicy",
    "CallDeadlinePolicy",
    "DeadlineTransport",
    "StoreAnswerError",
    "StoreDeadlineError",
    "store_pipeline",
]

# JSON answers of the Table service are objects; a query's rows are a list of objects under "value".
_JSON_TYPES: Final = ("application/json",)


class StoreDeadlineError(ServiceResponseTimeoutError):
    """The store did not give a complete answer within the call's deadline. Its message is ours: safe to show."""


class StoreAnswerError(ServiceResponseError):
    """The store answered something the enforcer cannot decode. Its message is ours (never the body): safe to show.

    azure-core's own word for "sent, but the answer was not understood"; not an HttpResponseError, which the
    Tables SDK would rewrap into one that says only its status."""


class _Watch:
    """The sockets one attempt uses; `fire()` (the watchdog, at the deadline) shuts them down."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.fired = False
        self._closed = False

    def attach(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self._closed:
                return
            self._sockets.append(sock)
            if self.fired:
                _shut(sock)

    def fire(self) -> None:
        with self._lock:
            if self._closed:
                return
            self.fired = True
            for sock in self._sockets:
                _shut(sock)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._sockets.clear()


def _shut(sock: socket.socket) -> None:
    # socket.socket's own shutdown, also for a TLS socket: it wakes the thread blocked in recv (which then reads
    # end of file) without touching the TLS object that thread is using. Our reading of Linux shutdown(2) and of
    # CPython's ssl module (an SSLSocket is a socket.socket); tested here over plain http only.
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _CallState(threading.local):
    """The running call of this thread: the Tables client is synchronous, so a call runs in one thread."""

    deadline: float | None = None
    watch: _Watch | None = None


_call = _CallState()


def _watch_socket(sock: socket.socket | None) -> None:
    watch = _call.watch
    if watch is not None:
        watch.attach(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _watch_socket(self.sock)

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch_socket(self.sock)  # a kept-alive connection was connected by an earlier call
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _watch_socket(self.sock)

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch_socket(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def _session() -> requests.Session:
    session = requests.Session()
    # As azure-core's own session: urllib3 never retries; the pipeline's retry policy does.
    adapter = _WatchedAdapter(max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class CallDeadlinePolicy(HTTPPolicy):  # type: ignore[type-arg]
    """Starts the clock of one call; put it before the retry policy (`per_call_policies`)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        outer = _call.deadline
        if outer is None:  # a call made inside another (a batch's parts) keeps the outer deadline
            _call.deadline = time.monotonic() + self.seconds
        try:
            return self.next.send(request)
        finally:
            _call.deadline = outer


class DeadlineTransport(RequestsTransport):  # type: ignore[misc]  # azure-core exports it lazily (PEP 562): Any
    """A RequestsTransport whose attempts and retry waits end by the running call's deadline."""

    def __init__(self, deadline_seconds: float, **kwargs: Any) -> None:
        super().__init__(session=_session(), session_owner=True, **kwargs)
        self.deadline_seconds = deadline_seconds

    def _late(self) -> StoreDeadlineError:
        return StoreDeadlineError(f"no complete answer from the store within {self.deadline_seconds:g} s")

    def send(self, request: Any, **kwargs: Any) -> Any:
        deadline = _call.deadline
        if deadline is None:
            return super().send(request, **kwargs)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._late()
        config = self.connection_config
        kwargs["connection_timeout"] = min(float(kwargs.get("connection_timeout") or config.timeout), remaining)
        kwargs["read_timeout"] = min(float(kwargs.get("read_timeout") or config.read_timeout), remaining)
        watch = _Watch()
        watchdog = threading.Timer(remaining, watch.fire)
        watchdog.daemon = True
        _call.watch = watch
        watchdog.start()
        try:
            response = super().send(request, **kwargs)
        except Exception as error:
            if watch.fired:
                raise self._late() from error
            raise
        else:
            # A socket shut down mid-headers can read as a complete, empty answer: never trust one cut short.
            if watch.fired:
                raise self._late()
            return response
        finally:
            watch.close()
            watchdog.cancel()
            _call.watch = None

    def sleep(self, duration: float) -> None:
        deadline = _call.deadline
        if deadline is not None:
            duration = min(duration, max(0.0, deadline - time.monotonic()))
        time.sleep(duration)


def _refuse(response: Any, why: str) -> StoreAnswerError:
    return StoreAnswerError(f"the store's answer {why}", response=response)


class AnswerCheckPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Refuses (StoreAnswerError) an answer the Tables SDK could not decode cleanly; put it after the retry policy."""

    def on_response(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]) -> None:
        http = response.http_response
        body = http.body()
        if not body:
            return
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _refuse(http, f"(HTTP {http.status_code}) is not UTF-8 text") from None
        content_type = (http.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if content_type not in _JSON_TYPES:
            return  # a $batch answer is multipart text; the SDK parses it
        try:
            document = json.loads(text)
        except ValueError:
            raise _refuse(http, f"(HTTP {http.status_code}) is not JSON") from None
        if not isinstance(document, dict):
            raise _refuse(http, f"(HTTP {http.status_code}) is JSON but not an object")
        rows = document.get("value")
        if "value" in document and not (isinstance(rows, list) and all(isinstance(row, dict) for row in rows)):
            raise _refuse(http, f"(HTTP {http.status_code}) has a 'value' that is not a list of rows")
        odata_error = document.get("odata.error")
        if odata_error is not None and not isinstance(odata_error, dict):
            raise _refuse(http, f"(HTTP {http.status_code}) has an 'odata.error' that is not an object")


def store_pipeline(deadline_seconds: float, *, connection_timeout: float, read_timeout: float) -> dict[str, Any]:
    """The client options that give a TableClient this module's transport and policies."""
    return {
        "transport": DeadlineTransport(
            deadline_seconds, connection_timeout=connection_timeout, read_timeout=read_timeout
        ),
        "per_call_policies": [CallDeadlinePolicy(deadline_seconds)],
        "per_retry_policies": [AnswerCheckPolicy()],
    }
