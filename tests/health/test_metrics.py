"""The enforcer's metrics: a sweep on the emulator and an event, read back through an in-memory OpenTelemetry reader."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from enforcer.adapters import telemetry
from enforcer.adapters.telemetry import OtelMetrics
from enforcer.composition import metrics_from_env
from enforcer.core.events import Route
from enforcer.usecases.handle_event import handle_event
from enforcer.usecases.ports import NoMetrics
from enforcer.usecases.sweep import sweep
from localdev.emulator import FaultConfig
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI
from tests.events.samples import SUBSCRIPTION, sample
from tests.fixtures.services import services_for

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Otel:
    """A meter provider of the test's own (the global one is left alone) and its in-memory reader."""

    reader: InMemoryMetricReader
    provider: MeterProvider

    def points(self) -> dict[str, list[Any]]:
        """Metric name -> its data points (from every scope)."""
        data = self.reader.get_metrics_data()
        assert data is not None
        found: dict[str, list[Any]] = {}
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


@pytest.fixture
def otel() -> Iterator[Otel]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield Otel(reader, provider)
    provider.shutdown()


def by(points_: list[Any], **attributes: Any) -> list[Any]:
    return [p for p in points_ if all(p.attributes.get(k) == v for k, v in attributes.items())]


def test_a_sweep_emits_its_metrics(emulator, otel):
    compliant = [str(uuid.uuid4()) for _ in range(6)]
    drifted = [str(uuid.uuid4()) for _ in range(3)]
    denied, excluded = str(uuid.uuid4()), str(uuid.uuid4())
    for sub in compliant:
        emulator.add_subscription(sub, pricing=COMPLIANT_AI)
    for sub in [*drifted, denied, excluded]:
        emulator.add_subscription(sub)  # Free plan: needs a PUT
    emulator.faults = FaultConfig(forbidden={denied: "write"})
    services = services_for(emulator.url, {"ENFORCER_EXCLUDE_SUBSCRIPTIONS": excluded})
    services.metrics = OtelMetrics(otel.provider)

    result = sweep(services)

    assert result.summary.counts == {"compliant": 6, "remediated": 3, "failed": 1, "excluded": 1}
    found = otel.points()
    [sweeps] = found[telemetry.SWEEPS]
    assert sweeps.value == 1 and dict(sweeps.attributes) == {"kind": "sweep", "complete": "true"}
    [duration] = found[telemetry.SWEEP_DURATION]
    assert duration.count == 1 and duration.sum == pytest.approx(result.summary.duration_ms / 1000)
    [failures] = found[telemetry.SWEEP_FAILURES]
    assert failures.sum == 1
    [in_scope] = found[telemetry.SUBSCRIPTIONS_IN_SCOPE]
    assert in_scope.value == 10  # the excluded one is not in scope
    [share] = found[telemetry.COMPLIANT_SHARE]
    assert share.value == pytest.approx(9 / 10)  # 6 compliant + 3 remediated of 10
    [remediations] = found[telemetry.REMEDIATIONS]
    assert remediations.value == 3 and remediations.attributes["trigger"] == "sweep"
    [failed] = found[telemetry.FAILURES]
    assert failed.value == 1 and dict(failed.attributes) == {"trigger": "sweep", "kind": "forbidden"}
    # No outbox yet: its metrics are absent, not zero-by-accident.
    assert telemetry.OUTBOX_PENDING not in found


def test_an_event_records_its_handling_latency(emulator, otel):
    emulator.add_subscription(SUBSCRIPTION)
    services = services_for(emulator.url)
    services.metrics = OtelMetrics(otel.provider)

    outcome = handle_event(sample("resource-write-cognitive-account.eventgrid.json"), Route.AI_ACCOUNT, services)

    found = otel.points()
    [latency] = found[telemetry.EVENT_DURATION]
    assert latency.count == 1 and dict(latency.attributes) == {"outcome": outcome.outcome.value}
    assert 0 < latency.sum < 30
    assert by(found[telemetry.REMEDIATIONS], trigger="event")[0].value == 1


def test_without_a_connection_string_nothing_is_measured(monkeypatch):
    monkeypatch.delenv(telemetry.CONNECTION_STRING, raising=False)
    assert telemetry.configure_azure_monitor_from_env() is False
    assert isinstance(metrics_from_env(), NoMetrics)


def test_import_function_app_stays_under_a_second_and_loads_no_telemetry():
    code = (
        "import sys, time; t = time.perf_counter(); import function_app; "
        "print(time.perf_counter() - t); "
        "telemetry = ('opentelemetry', 'azure.monitor'); "
        "print(any(m.startswith(telemetry) for m in sys.modules)); "
        # The worker's services, built as on the first invocation (no network call at build time).
        "from handlers import runtime; services = runtime.services(); "
        "print(type(services.metrics).__name__, any(m.startswith(telemetry) for m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if k != telemetry.CONNECTION_STRING and not k.startswith("ENFORCER_")}
    env["ENFORCER_STORAGE"] = "UseDevelopmentStorage=true"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True, env=env)
    seconds, loaded_at_import, metrics, loaded_after_build = out.stdout.split()
    assert float(seconds) < 1.0, f"import function_app took {float(seconds):.2f} s"
    assert loaded_at_import == "False"
    # Without a connection string: the no-op port, and neither OpenTelemetry nor the distro is ever imported.
    assert (metrics, loaded_after_build) == ("NoMetrics", "False")
