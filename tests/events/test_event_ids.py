"""Issue 22, item 2: an event id with control characters or unpaired surrogates is `rejected` at parsing, with the
reason and the id shown escaped; ids the Table key rules refuse but that are text (`/ # ?`, Unicode) are accepted."""

from __future__ import annotations

import pytest

from enforcer.core.events import EnforceRequest, EventSkipped, Route, parse_event
from tests.events.samples import sample

EVENT = "subscription-created-vending.cloudevents.json"


@pytest.mark.parametrize("bad", ["\x00", "\n", "\x1b[2J", "\x7f", "\x85", "\x9f", "\ud800"])
def test_an_event_id_with_control_characters_is_rejected_with_the_id_escaped(bad: str) -> None:
    raw = sample(EVENT)
    raw["id"] = f"evt{bad}1"

    parsed = parse_event(raw, Route.SUBSCRIPTION, ())

    assert isinstance(parsed, EventSkipped) and parsed.outcome.value == "rejected"
    assert "control characters" in parsed.reason and bad not in parsed.reason


@pytest.mark.parametrize("odd", ["run/7#retry?x\\y", "données-日本-🙂", "~sha256-" + "0" * 64])
def test_an_event_id_that_is_text_is_accepted(odd: str) -> None:
    raw = sample(EVENT)
    raw["id"] = odd

    parsed = parse_event(raw, Route.SUBSCRIPTION, ())

    assert isinstance(parsed, EnforceRequest) and parsed.event_id == odd
