"""Small builders shared by the integration tests (real emulator over HTTP, real SDK clients)."""

from __future__ import annotations

from collections.abc import Mapping

from enforcer.adapters.arm import ArmGateway, RetrySettings
from enforcer.composition import Services, build_services
from enforcer.core.settings import Settings

FAST_RETRY = RetrySettings(total=4, backoff_factor=0.05, backoff_max=0.5)


def settings_for(url: str, **env: str) -> Settings:
    return Settings.from_env({"ENFORCER_ARM_ENDPOINT": url, **env})


def services_for(url: str, env: Mapping[str, str] | None = None, **kwargs: object) -> Services:
    settings = settings_for(url, **(env or {}))
    arm = ArmGateway(settings.arm_endpoint, retry=FAST_RETRY)
    return build_services(settings, arm=arm, **kwargs)  # type: ignore[arg-type]


def extensions_of(pricing: Mapping[str, object]) -> dict[str, str]:
    props = pricing["properties"]
    assert isinstance(props, dict)
    return {e["name"]: e["isEnabled"] for e in props.get("extensions", [])}
