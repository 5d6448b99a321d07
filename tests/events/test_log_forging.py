"""A newline in an event field (or any value logged) cannot start a new log line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from enforcer.composition import build_services
from enforcer.core.events import Route
from enforcer.core.settings import Settings
from enforcer.usecases.handle_event import handle_event

FORGED = "x\nERROR enforcer: fake alert\r\nERROR again\x1b[31m"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _assert_no_forged_line(text: str) -> None:
    lines = text.splitlines()
    assert lines, "nothing was logged"
    assert all(line.startswith(("INFO ", "WARNING ")) for line in lines), lines
    assert "\x1b" not in text


def test_a_rejected_event_with_newlines_in_its_type_and_id_logs_one_line(log_lines: io.StringIO):
    services = build_services(Settings.from_env({"ENFORCER_ARM_ENDPOINT": "http://127.0.0.1:9"}))
    event = {"id": FORGED, "eventType": FORGED, "subject": FORGED, "data": {}, "dataVersion": "1"}
    try:
        outcome = handle_event(event, Route.ANY, services)
    finally:
        services.close()
    assert outcome.outcome.value in ("rejected", "ignored")
    text = log_lines.getvalue()
    _assert_no_forged_line(text)
    assert "\\nERROR enforcer: fake alert" in text  # shown, escaped


def test_any_logged_value_is_escaped_once_the_services_are_built(log_lines: io.StringIO):
    build_services(Settings.from_env({"ENFORCER_ARM_ENDPOINT": "http://127.0.0.1:9"})).close()
    logging.getLogger("enforcer.anything").warning("value=%s error=%s", FORGED, ValueError(FORGED))
    logging.getLogger("enforcer.anything").warning("mapping %(v)s", {"v": FORGED})
    _assert_no_forged_line(log_lines.getvalue())
