"""Load the sample payloads under tests/data/events (each file holds a one-event array, as the docs show)."""

from __future__ import annotations

import copy
import pathlib
from typing import Any

from enforcer.core.events import load_events

SAMPLES_DIR = pathlib.Path(__file__).resolve().parent.parent / "data" / "events"
# The subscription every sample is about (the docs' {subscription-id} placeholder).
SUBSCRIPTION = "5f2c9a1e-3b7d-4c6a-9e8f-1a2b3c4d5e6f"


def sample_names() -> list[str]:
    return sorted(p.name for p in SAMPLES_DIR.glob("*.json"))


def sample(name: str) -> dict[str, Any]:
    """A fresh deep copy of the one event in a sample file (tests may mutate it)."""
    events = load_events((SAMPLES_DIR / name).read_text(encoding="utf-8"))
    assert len(events) == 1 and isinstance(events[0], dict), name
    return copy.deepcopy(events[0])


def host_decoded(raw: dict[str, Any]) -> Any:
    """The func.EventGridEvent / func.CloudEvent the Python worker hands a function for this JSON."""
    import json

    from azure.functions.eventgrid import EventGridEventInConverter
    from azure.functions.meta import Datum

    return EventGridEventInConverter.decode(Datum(json.dumps(raw), "json"), trigger_metadata=None)
