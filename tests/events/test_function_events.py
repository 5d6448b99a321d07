"""envelope_from_function_event: the objects the Functions host hands a trigger parse like the raw JSON."""

from __future__ import annotations

import datetime
from typing import Any

import azure.functions as func
import pytest

from enforcer.core.events import EnforceRequest, EventSkipped, Route, envelope_from_function_event, parse_event
from tests.events.samples import host_decoded, sample, sample_names

EVENTGRID_SAMPLES = [n for n in sample_names() if n.endswith(".eventgrid.json")]
CLOUDEVENTS_SAMPLES = [n for n in sample_names() if n.endswith(".cloudevents.json")]


def _time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def _built(raw: dict[str, Any]) -> func.EventGridEvent | func.CloudEvent:
    """Built with the public constructors, as a trigger test would."""
    if "specversion" in raw:
        return func.CloudEvent(
            id=raw["id"],
            source=raw["source"],
            type=raw["type"],
            specversion=raw["specversion"],
            data=raw.get("data"),
            time=_time(raw["time"]) if "time" in raw else None,
            subject=raw.get("subject"),
            datacontenttype=raw.get("datacontenttype"),
        )
    return func.EventGridEvent(
        id=raw["id"],
        data=raw["data"],
        topic=raw["topic"],
        subject=raw["subject"],
        event_type=raw["eventType"],
        event_time=_time(raw["eventTime"]),
        data_version=raw["dataVersion"],
    )


@pytest.mark.parametrize("name", sample_names())
@pytest.mark.parametrize("make", [_built, host_decoded], ids=["constructed", "decoded"])
@pytest.mark.parametrize("route", list(Route))
def test_function_event_parses_like_the_raw_event(name: str, make: Any, route: Route):
    raw = sample(name)
    event = make(raw)
    assert isinstance(event, func.CloudEvent if name in CLOUDEVENTS_SAMPLES else func.EventGridEvent)
    converted = envelope_from_function_event(event)
    assert parse_event(converted, route) == parse_event(raw, route)


@pytest.mark.parametrize("name", EVENTGRID_SAMPLES)
def test_eventgrid_fields_round_trip(name: str):
    raw = sample(name)
    converted = envelope_from_function_event(host_decoded(raw))
    for key in ("id", "topic", "subject", "eventType", "dataVersion", "data"):
        assert converted[key] == raw[key]
    assert _time(converted["eventTime"]) == _time(raw["eventTime"][:26] + "Z")  # the decoder keeps microseconds


def test_cloudevent_extensions_are_kept_but_cannot_override_known_fields():
    raw = sample("subscription-created-vending.cloudevents.json")
    raw["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    raw["source"] = "/enforcer/subscription-vending"
    converted = envelope_from_function_event(host_decoded(raw))
    assert converted["traceparent"] == raw["traceparent"]
    assert converted["specversion"] == "1.0" and converted["source"] == raw["source"]
    assert converted["data"] == raw["data"]


def test_missing_fields_become_rejections_not_exceptions():
    event = func.EventGridEvent(
        id=None,  # type: ignore[arg-type]
        data=None,  # type: ignore[arg-type]
        topic=None,  # type: ignore[arg-type]
        subject=None,  # type: ignore[arg-type]
        event_type="Microsoft.Resources.ResourceWriteSuccess",
        event_time=None,
        data_version=None,  # type: ignore[arg-type]
    )
    result = parse_event(envelope_from_function_event(event), Route.AI_ACCOUNT)
    assert isinstance(result, EventSkipped) and "missing field id" in result.reason
    cloud = func.CloudEvent(id="1", source="/x", type="Enforcer.SubscriptionCreated", specversion="1.0", data="text")
    result = parse_event(envelope_from_function_event(cloud), Route.SUBSCRIPTION)
    assert isinstance(result, EventSkipped) and "data is not a JSON object" in result.reason


def test_anything_else_is_a_type_error():
    with pytest.raises(TypeError):
        envelope_from_function_event({"id": "1"})


def test_a_vending_cloudevent_through_the_function_object():
    result = parse_event(
        envelope_from_function_event(host_decoded(sample("subscription-created-vending.cloudevents.json"))),
        Route.SUBSCRIPTION,
    )
    assert isinstance(result, EnforceRequest) and result.requested_by == "platform-team@contoso.com"
