"""Small builders shared by the integration tests (real emulator over HTTP, real SDK clients)."""

from __future__ import annotations

from collections.abc import Mapping

from tests.fixtures.services import FAST_RETRY, services_for, settings_for

__all__ = ["FAST_RETRY", "extensions_of", "services_for", "settings_for"]


def extensions_of(pricing: Mapping[str, object]) -> dict[str, str]:
    props = pricing["properties"]
    assert isinstance(props, dict)
    return {e["name"]: e["isEnabled"] for e in props.get("extensions", [])}
