"""The vending publisher against a real loopback HTTP server that records what Event Grid would receive."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from enforcer.adapters.publisher import DEFAULT_SOURCE, build_subscription_created_event, publish_subscription_created
from enforcer.core.events import VENDING_EVENT_TYPE, EnforceRequest, Route, parse_event
from enforcer.core.settings import ConfigError
from tests.fixtures.emulator import StaticTokenCredential

pytestmark = pytest.mark.integration

SUBSCRIPTION = "5f2c9a1e-3b7d-4c6a-9e8f-1a2b3c4d5e6f"
TOPIC_KEY = "dGVzdC10b3BpYy1rZXk="  # a made-up topic access key


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class TopicServer:
    """A stand-in Event Grid topic endpoint on 127.0.0.1."""

    url: str
    requests: list[Recorded] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def topic() -> Iterator[TopicServer]:
    server_state = TopicServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            server_state.requests.append(
                Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(server_state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _single_event(recorded: Recorded) -> dict[str, Any]:
    batch = json.loads(recorded.body)
    assert isinstance(batch, list) and len(batch) == 1 and isinstance(batch[0], dict)
    event: dict[str, Any] = batch[0]
    return event


def test_publishes_a_cloudevents_batch_with_the_topic_key(topic: TopicServer):
    publish_subscription_created(
        topic.url + "/api/events",
        SUBSCRIPTION.upper(),
        display_name="contoso-ai-prod",
        requested_by="pipeline@contoso.com",
        key=TOPIC_KEY,
    )
    assert len(topic.requests) == 1
    request = topic.requests[0]
    assert request.path.startswith("/api/events?api-version=")
    assert request.headers["content-type"] == "application/cloudevents-batch+json; charset=utf-8"
    assert request.headers["aeg-sas-key"] == TOPIC_KEY
    assert "authorization" not in request.headers
    event = _single_event(request)
    assert event["specversion"] == "1.0"
    assert event["type"] == VENDING_EVENT_TYPE
    assert event["source"] == DEFAULT_SOURCE
    assert event["subject"] == f"/subscriptions/{SUBSCRIPTION}"
    assert event["data"] == {
        "subscriptionId": SUBSCRIPTION,
        "displayName": "contoso-ai-prod",
        "requestedBy": "pipeline@contoso.com",
    }
    assert event["id"]
    # What the pipeline sends is what subscription_created enforces on.
    result = parse_event(event, Route.SUBSCRIPTION)
    assert isinstance(result, EnforceRequest)
    assert (result.subscription_id, result.kind, result.display_name) == (
        SUBSCRIPTION,
        "subscription_vending",
        "contoso-ai-prod",
    )


def test_a_bare_host_endpoint_posts_to_api_events(topic: TopicServer):
    publish_subscription_created(topic.url, SUBSCRIPTION, key=TOPIC_KEY)
    assert topic.requests[0].path.startswith("/api/events?")
    assert "displayName" not in _single_event(topic.requests[0])["data"]


def test_entra_credential_may_use_http_on_loopback_only(topic: TopicServer):
    credential = StaticTokenCredential("test-token")
    publish_subscription_created(topic.url + "/api/events", SUBSCRIPTION, credential=credential)
    assert topic.requests[0].headers["authorization"] == "Bearer test-token"
    assert "aeg-sas-key" not in topic.requests[0].headers
    assert credential.scopes == [("https://eventgrid.azure.net/.default",)]


def test_event_grid_refusal_raises(topic: TopicServer):
    topic.status = 400  # not retried by the pipeline, like a malformed event
    with pytest.raises(HttpResponseError):
        publish_subscription_created(topic.url + "/api/events", SUBSCRIPTION, key=TOPIC_KEY)
    assert len(topic.requests) == 1


@pytest.mark.parametrize("bad", ["not-a-guid", "", SUBSCRIPTION + "\n", "{" + SUBSCRIPTION + "}"])
def test_bad_subscription_id_is_refused_before_any_request(topic: TopicServer, bad: str):
    with pytest.raises(ValueError, match="GUID"):
        publish_subscription_created(topic.url + "/api/events", bad, key=TOPIC_KEY)
    assert topic.requests == []


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://topic.westeurope-1.eventgrid.azure.net/api/events",
        "http://10.0.0.4/api/events",
        "ftp://127.0.0.1/x",
        "not a url",
    ],
)
def test_insecure_or_invalid_endpoint_is_refused_before_any_request(endpoint: str):
    credential = StaticTokenCredential("test-token")
    with pytest.raises(ConfigError):
        publish_subscription_created(endpoint, SUBSCRIPTION, key=TOPIC_KEY)
    with pytest.raises(ConfigError):
        publish_subscription_created(endpoint, SUBSCRIPTION, credential=credential)
    assert credential.scopes == []


def test_key_and_credential_together_or_an_empty_key_are_refused(topic: TopicServer):
    with pytest.raises(ValueError, match="either"):
        publish_subscription_created(topic.url, SUBSCRIPTION, key=TOPIC_KEY, credential=StaticTokenCredential())
    with pytest.raises(ValueError, match="empty"):
        publish_subscription_created(topic.url, SUBSCRIPTION, key=" ")
    assert topic.requests == []


def test_the_key_is_never_logged(topic: TopicServer, caplog: pytest.LogCaptureFixture):
    caplog.set_level("DEBUG")
    publish_subscription_created(topic.url, SUBSCRIPTION, key=TOPIC_KEY)
    assert caplog.records, "expected the publisher to log what it sent"
    assert all(TOPIC_KEY not in r.getMessage() for r in caplog.records)
    assert any(SUBSCRIPTION in r.getMessage() for r in caplog.records if r.name == "enforcer.adapters.publisher")


def test_built_event_is_a_valid_vending_cloudevent():
    event = build_subscription_created_event(SUBSCRIPTION, None, "someone", source="/contoso/vending")
    assert (event.type, event.source, event.subject) == (
        VENDING_EVENT_TYPE,
        "/contoso/vending",
        f"/subscriptions/{SUBSCRIPTION}",
    )
    assert event.data == {"subscriptionId": SUBSCRIPTION, "requestedBy": "someone"}
    with pytest.raises(ValueError):
        build_subscription_created_event("nope", None, None)


def _publish_cli(topic_url: str, *extra: str) -> list[str]:
    return [
        "publish-subscription-created",
        "--endpoint",
        topic_url + "/api/events",
        "--subscription",
        SUBSCRIPTION,
        *extra,
    ]


def test_the_cli_reads_the_key_from_the_environment_or_stdin(
    topic: TopicServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    import io

    from enforcer.cli.main import main

    monkeypatch.setenv("ENFORCER_TOPIC_KEY", TOPIC_KEY)
    assert main(_publish_cli(topic.url)) == 0
    monkeypatch.delenv("ENFORCER_TOPIC_KEY")
    monkeypatch.setattr("sys.stdin", io.StringIO(TOPIC_KEY + "\n"))
    assert main(_publish_cli(topic.url, "--key-stdin")) == 0
    assert [r.headers["aeg-sas-key"] for r in topic.requests] == [TOPIC_KEY, TOPIC_KEY]
    assert "warning" not in capsys.readouterr().err
    # --key still works, with a warning that `ps` shows it.
    assert main(_publish_cli(topic.url, "--key", TOPIC_KEY)) == 0
    err = capsys.readouterr().err
    assert "--key is visible" in err and "ENFORCER_TOPIC_KEY" in err and TOPIC_KEY not in err


def test_an_unreachable_topic_is_reported_as_unreachable(capsys: pytest.CaptureFixture[str], monkeypatch):
    import socket

    from enforcer.cli.main import main

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("ENFORCER_TOPIC_KEY", TOPIC_KEY)
    assert main(_publish_cli(closed)) == 1
    err = capsys.readouterr().err
    assert "the topic is unreachable" in err and "connection error" in err
    assert "refused the event" not in err and TOPIC_KEY not in err
