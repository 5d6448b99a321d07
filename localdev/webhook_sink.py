"""A local HTTP server standing in for a Teams Workflows webhook: records what is posted, can fail on demand.

Like the real service it answers 202 to a valid message, 400 to a body that is not a Teams message with an
Adaptive Card attachment, and 413 to a body over 28 KB. Modes: `ok`, `fail_500`, `throttle_429` (with
Retry-After), `legacy_429` (a legacy connector's "200 OK" whose body reports a 429) and `down` (not
listening at all). Its URL carries a random secret path and `sig` query, like a
real Workflows URL, so tests can check that the secret never leaks.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final, Literal, Self
from urllib.parse import urlsplit

from enforcer.adapters.closing import RunsWhileEntered

logger = logging.getLogger(__name__)

Mode = Literal["ok", "fail_500", "throttle_429", "legacy_429", "down"]
MODES: Final[tuple[Mode, ...]] = ("ok", "fail_500", "throttle_429", "legacy_429", "down")
MAX_BODY_BYTES: Final = 28 * 1024
_CARD_CONTENT_TYPE: Final = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    body: bytes
    status: int  # what the sink answered
    message: Any | None  # the parsed JSON, or None when the body was not JSON
    received_at: float  # time.monotonic() when it arrived


def envelope_problem(message: Any) -> str | None:
    """Why this is not a Teams message carrying Adaptive Cards (None when it is one)."""
    if not isinstance(message, dict) or message.get("type") != "message":
        return 'top level must be {"type": "message", ...}'
    attachments = message.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "attachments must be a non-empty list"
    for attachment in attachments:
        if not isinstance(attachment, dict) or attachment.get("contentType") != _CARD_CONTENT_TYPE:
            return f"each attachment needs contentType {_CARD_CONTENT_TYPE}"
        card = attachment.get("content")
        if not isinstance(card, dict) or card.get("type") != "AdaptiveCard" or not card.get("version"):
            return 'attachment content must be {"type": "AdaptiveCard", "version": ...}'
    return None


class _Handler(BaseHTTPRequestHandler):
    server: _SinkServer

    def do_POST(self) -> None:
        sink = self.server.sink
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        status, extra_headers, text = sink._answer(self.path, body)
        self.send_response(status)
        for name, value in extra_headers.items():
            self.send_header(name, value)
        payload = text.encode()
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes the request line (the secret path) to stderr.
        return


class _SinkServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, sink: WebhookSink) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.sink = sink


class WebhookSink(RunsWhileEntered):
    """Records every POST; answers according to `mode`. Start with `start()` or as a context manager."""

    def __init__(self, mode: Mode = "ok", *, retry_after: str = "1") -> None:
        self.retry_after = retry_after
        self._mode: Mode = mode
        self._lock = threading.Lock()
        self._requests: list[ReceivedRequest] = []
        self._server: _SinkServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        token = secrets.token_hex(16)
        self.secret_path = f"/workflows/{token}/triggers/manual/paths/invoke"
        self.secret_signature = secrets.token_urlsafe(32)

    # -- what tests read -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The webhook URL (a secret, as a real one would be)."""
        if not self.port:
            raise RuntimeError("the sink has not been started")
        return (
            f"http://127.0.0.1:{self.port}{self.secret_path}?api-version=1&sp=%2Ftriggers&sig={self.secret_signature}"
        )

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def messages(self) -> list[Any]:
        """Every posted JSON body, in order (including those answered with an error)."""
        return [r.message for r in self.requests if r.message is not None]

    @property
    def accepted(self) -> list[Any]:
        """The messages answered with 2xx (the ones Teams would show)."""
        return [r.message for r in self.requests if 200 <= r.status < 300]

    @property
    def mode(self) -> Mode:
        return self._mode

    def set_mode(self, mode: Mode) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        was_down = self._mode == "down"
        self._mode = mode
        if mode == "down":
            self._stop_listening()
        elif was_down and self._thread is not None:
            self._listen()

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def save(self, path: Path | str) -> Path:
        """Write the accepted messages as a JSON array; returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.accepted, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return target

    # -- serving ---------------------------------------------------------------------------------------

    def _answer(self, path: str, body: bytes) -> tuple[int, dict[str, str], str]:
        message: Any | None
        try:
            message = json.loads(body)
        except ValueError:
            message = None
        headers: dict[str, str] = {}
        if urlsplit(path).path != self.secret_path:
            status, text = 404, "no such webhook"
        elif self._mode == "fail_500":
            status, text = 500, "internal error"
        elif self._mode == "throttle_429":
            status, text = 429, "too many requests"
            headers["Retry-After"] = self.retry_after
        elif self._mode == "legacy_429":
            status, text = (
                200,
                (
                    "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 "
                    "with ContextId tcid=0,server=local-sink"
                ),
            )
        elif len(body) > MAX_BODY_BYTES:
            status, text = 413, f"message is {len(body)} bytes; the limit is {MAX_BODY_BYTES}"
        elif message is None:
            status, text = 400, "body is not JSON"
        elif problem := envelope_problem(message):
            status, text = 400, problem
        else:
            status, text = 202, ""
        with self._lock:
            self._requests.append(ReceivedRequest(path, body, status, message, time.monotonic()))
        return status, headers, text

    def _listen(self) -> None:
        server = _SinkServer(self.port, self)
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="webhook-sink", daemon=True)
        thread.start()
        self._server, self._thread = server, thread

    def _stop_listening(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def start(self) -> Self:
        if self._thread is None:
            self._listen()
            if self._mode == "down":
                self._stop_listening()
        return self

    def stop(self) -> None:
        self._stop_listening()
        self._thread = None


def main(argv: list[str] | None = None) -> int:
    """`python -m localdev.webhook_sink`: run a sink until Ctrl-C, then save what it received."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--save", type=Path, default=Path("out/teams-cards.json"))
    parser.add_argument("--mode", choices=MODES, default="ok")
    args = parser.parse_args(argv)
    with WebhookSink(args.mode) as sink:
        print(f"ENFORCER_TEAMS_WEBHOOK_URL='{sink.url}'", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        print(f"{len(sink.accepted)} card message(s) saved to {sink.save(args.save)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
