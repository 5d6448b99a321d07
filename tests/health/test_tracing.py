"""ARM, Resource Graph and Table calls appear as dependencies (CLIENT spans) through azure-core's OpenTelemetry
tracing, which the Azure Monitor distro switches on; and the distro accepts the options the app gives it.

Both run in a subprocess: an OpenTelemetry tracer provider and azure-core's tracing setting are process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SWEEP_WITH_SPANS = """
import json, sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from azure.core.settings import settings

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
settings.tracing_implementation = "opentelemetry"  # what the distro's azure_sdk instrumentation does

from enforcer.adapters.audit_store import AuditStore
from enforcer.composition import build_services
from enforcer.core.settings import Settings
from enforcer.usecases.sweep import sweep

url, storage, audit_table, runs_table = sys.argv[1:5]
settings = Settings.from_env({"ENFORCER_ARM_ENDPOINT": url, "ENFORCER_STORAGE": storage,
                              "ENFORCER_AUDIT_TABLE": audit_table, "ENFORCER_RUNS_TABLE": runs_table})
services = build_services(settings, audit=AuditStore(storage, audit_table=audit_table, runs_table=runs_table))
sweep(services)
services.close()
def url(span):
    attributes = dict(span.attributes or {})
    return attributes.get("url.full") or attributes.get("http.url") or ""
print(json.dumps([[span.kind.name, span.name, url(span)] for span in exporter.get_finished_spans()]))
"""


@pytest.mark.integration
def test_arm_resource_graph_and_table_calls_are_client_spans(emulator, azurite):
    for _ in range(3):
        emulator.add_subscription(str(uuid.uuid4()))  # Free plan: a GET and a PUT each
    suffix = uuid.uuid4().hex[:10]
    args = [emulator.url, azurite.connection_string, f"Audit{suffix}", f"Runs{suffix}"]
    out = subprocess.run(
        [sys.executable, "-c", SWEEP_WITH_SPANS, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=True,
    )
    spans = json.loads(out.stdout.splitlines()[-1])
    client = [f"{name} {url}" for kind, name, url in spans if kind == "CLIENT"]
    assert any(n.startswith("GET ") and "/subscriptions?" in n for n in client), client
    assert any(n.startswith("POST ") and "Microsoft.ResourceGraph/resources" in n for n in client), client
    assert sum(n.startswith("PUT ") and "pricings/AI" in n for n in client) == 3, client
    assert any(f"Audit{suffix}" in n or "$batch" in n for n in client), client  # the audit table
    assert any(f"Runs{suffix}" in n for n in client), client  # the run summary


def test_the_distro_accepts_the_apps_options_and_turns_on_azure_core_tracing(tmp_path):
    code = (
        "from enforcer.composition import metrics_from_env; from azure.core.settings import settings; "
        "import opentelemetry.instrumentation.requests as r; m = metrics_from_env(); "
        "print(type(m).__name__, settings.tracing_implementation().__name__, "
        "r.RequestsInstrumentor().is_instrumented_by_opentelemetry)"
    )
    env = {
        **os.environ,
        # A loopback endpoint that refuses: nothing leaves the machine; statsbeat and offline storage kept local.
        "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
        "IngestionEndpoint=http://127.0.0.1:9/;LiveEndpoint=http://127.0.0.1:9/",
        "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
        "TMPDIR": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=True
    )
    assert out.stdout.split() == ["OtelMetrics", "OpenTelemetrySpan", "False"], out.stderr
