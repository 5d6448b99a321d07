"""The webhook URL is a secret: validation never echoes it, and neither logs nor output ever contain it."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest
from azure.core import PipelineClient
from azure.core.pipeline.policies import HttpLoggingPolicy, NetworkTraceLoggingPolicy, RetryPolicy
from azure.core.rest import HttpRequest

from enforcer.adapters.redact import (
    REDACTED,
    SecretRedactingFilter,
    connection_string_secrets,
    install_redaction,
    secret_fragments,
)
from enforcer.adapters.teams import TeamsNotifier, validate_webhook_url
from enforcer.core.models import OutcomeKind
from enforcer.core.settings import ConfigError
from localdev.webhook_sink import MODES, WebhookSink
from tests.audit.builders import make_outcome

WORKFLOWS_PATH = "/workflows/0d3c1e2f4a5b6c7d8e9f0a1b2c3d4e5f/triggers/manual/paths/invoke"
SIG = "Zm9vYmFyYmF6cXV4LXNlY3JldC1zaWduYXR1cmU"


@pytest.mark.parametrize(
    "url",
    [
        "https://contoso.webhook.office.com/webhookb2/1111-2222@3333-4444/IncomingWebhook/abcdef0123456789/5555",
        f"https://prod-12.westeurope.logic.azure.com:443{WORKFLOWS_PATH}?api-version=2016-06-01&sig={SIG}",
        f"https://default0123.api.powerplatform.com/powerautomate/automations/direct{WORKFLOWS_PATH}?sig={SIG}",
        f"https://default0123abc.01.environment.api.powerplatform.com/powerautomate{WORKFLOWS_PATH}?sig={SIG}",
        f"http://127.0.0.1:8080{WORKFLOWS_PATH}?sig={SIG}",
        f"http://localhost:8080{WORKFLOWS_PATH}?sig={SIG}",
        f"http://[::1]:8080{WORKFLOWS_PATH}?sig={SIG}",
    ],
)
def test_accepted_webhook_urls(url: str) -> None:
    assert validate_webhook_url(f"  {url} ") == url


@pytest.mark.parametrize(
    "url",
    [
        f"http://contoso.webhook.office.com{WORKFLOWS_PATH}?sig={SIG}",  # plain http to a real host
        f"https://webhook.office.com.attacker.example{WORKFLOWS_PATH}?sig={SIG}",
        f"https://attacker.example{WORKFLOWS_PATH}?next=.webhook.office.com&sig={SIG}",
        f"https://attacker.example/.logic.azure.com{WORKFLOWS_PATH}?sig={SIG}",
        f"https://evillogic.azure.com{WORKFLOWS_PATH}?sig={SIG}",
        f"https://user:{SIG}@contoso.webhook.office.com{WORKFLOWS_PATH}",
        f"ftp://contoso.webhook.office.com{WORKFLOWS_PATH}?sig={SIG}",
        f"http://10.0.0.5{WORKFLOWS_PATH}?sig={SIG}",
        f"contoso.webhook.office.com{WORKFLOWS_PATH}?sig={SIG}",
        f"https://contoso.webhook.office.com:notaport{WORKFLOWS_PATH}?sig={SIG}",
    ],
)
def test_refused_webhook_urls_are_not_echoed(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        validate_webhook_url(url)
    message = str(refused.value)
    assert "ENFORCER_TEAMS_WEBHOOK_URL" in message
    for secret_part in (url, WORKFLOWS_PATH, SIG, "0d3c1e2f4a5b6c7d8e9f0a1b2c3d4e5f"):
        assert secret_part not in message
    assert refused.value.__cause__ is None


def test_secret_fragments_cover_path_query_and_long_parts() -> None:
    url = f"https://prod-12.westeurope.logic.azure.com:443{WORKFLOWS_PATH}?api-version=2016-06-01&sig={SIG}"
    fragments = secret_fragments(url)
    assert fragments[0] == url
    for part in (WORKFLOWS_PATH, SIG, f"sig={SIG}", "0d3c1e2f4a5b6c7d8e9f0a1b2c3d4e5f"):
        assert part in fragments
    assert "workflows" not in fragments  # short words are not secrets


def test_connection_string_secrets() -> None:
    conn = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5a2V5a2V5;EndpointSuffix=core.windows.net"
    assert connection_string_secrets(conn) == ("a2V5a2V5a2V5",)
    assert connection_string_secrets("UseDevelopmentStorage=true") == ()
    assert connection_string_secrets(None) == ()


def test_filter_redacts_message_args_and_traceback() -> None:
    url = f"https://prod-1.westus.logic.azure.com{WORKFLOWS_PATH}?sig={SIG}"
    redactor = SecretRedactingFilter([url])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "posting to %s (%s)", (url, SIG), None)
    assert redactor.filter(record)
    assert record.getMessage() == f"posting to {REDACTED} ({REDACTED})"
    try:
        raise ValueError(f"cannot reach {url}")
    except ValueError:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    redactor.filter(failed)
    formatted = logging.Formatter().format(failed)
    assert "ValueError: cannot reach ***" in formatted
    assert SIG not in formatted and WORKFLOWS_PATH not in formatted


def test_nothing_in_logs_or_output_contains_the_webhook_url(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)  # root, hence azure-core, urllib3 and ours
    caplog.set_level(logging.DEBUG, logger="azure.core.pipeline.policies.http_logging_policy")
    with WebhookSink(retry_after="0") as sink:
        secrets = (sink.url, sink.secret_path, sink.secret_signature, sink.secret_path.split("/")[2])
        notifier = TeamsNotifier(sink.url, retry_total=1, retry_backoff_factor=0.01, cooldown_seconds=0)
        for mode in MODES:
            sink.set_mode(mode)
            status = notifier.notify_outcome(make_outcome(OutcomeKind.FAILED))
            assert not any(s in status for s in secrets)
        sink.set_mode("ok")
        notifier.close()

        # azure-core's own HTTP logging (both policies log request URLs) on a pipeline that has it enabled.
        policies: list[Any] = [
            RetryPolicy(retry_total=0),
            HttpLoggingPolicy(),
            NetworkTraceLoggingPolicy(logging_enable=True),
        ]
        client: PipelineClient[HttpRequest, Any] = PipelineClient(base_url=sink.url, policies=policies)
        with client:
            client.send_request(HttpRequest("POST", sink.url, json={"type": "message"}))
        # Our own code's mistakes: the URL passed as an argument, in an f-string, and in an exception.
        logger = logging.getLogger("enforcer.test")
        logger.debug("webhook is %s", sink.url)
        logger.warning(f"webhook is {sink.url}")  # noqa: G004 - deliberately the bad practice
        try:
            raise RuntimeError(f"post to {sink.url} failed")
        except RuntimeError:
            logger.exception("delivery failed")
        print(f"nothing secret here: {notifier!r}")

    captured = capfd.readouterr()
    outputs = [caplog.text, captured.out, captured.err, *(r.getMessage() for r in caplog.records)]
    for text in outputs:
        for secret in secrets:
            assert secret not in text

    # The leaks were real attempts that got redacted (not silently skipped).
    def logged(logger_name: str, start: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == logger_name and r.getMessage().startswith(start)]

    assert REDACTED in logged("azure.core.pipeline.policies.http_logging_policy", "Request URL")[0]
    assert logged("azure.core.pipeline.policies._universal", "Request URL: '***'")  # NetworkTraceLoggingPolicy
    assert all(REDACTED in line for line in logged("urllib3.connectionpool", "http://"))
    assert logged("enforcer.test", "webhook is ***")
    assert caplog.text.count(REDACTED) >= 4


def test_redaction_reaches_handlers_added_before_and_after_install(capfd: pytest.CaptureFixture[str]) -> None:
    secret = f"https://x.webhook.office.com{WORKFLOWS_PATH}?sig={SIG}"
    early = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.addHandler(early)
    try:
        install_redaction(secret)
        assert any(isinstance(f, SecretRedactingFilter) for f in early.filters)
        late = logging.StreamHandler(sys.stdout)
        root.addHandler(late)
        try:
            logging.getLogger("azure.core.pipeline.policies.http_logging_policy").warning("Request URL: %r", secret)
        finally:
            root.removeHandler(late)
    finally:
        root.removeHandler(early)
    captured = capfd.readouterr()
    assert "Request URL: '***'" in captured.out and "Request URL: '***'" in captured.err
    assert SIG not in captured.out + captured.err
