"""The function app's process-wide services, built once on first use (not at import: cold start)."""

from __future__ import annotations

import logging
import threading

from enforcer.composition import build_app_services
from enforcer.core.settings import Settings
from enforcer.usecases.services import Services

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_services: Services | None = None


def services() -> Services:
    """Settings are validated once; a bad setting fails every invocation with a message naming it."""
    global _services  # noqa: PLW0603 - one set of clients per worker process, by design
    with _lock:
        if _services is None:
            _services = build_app_services(Settings.from_env())
            logger.info(
                "services ready: mode=%s arm=%s", _services.settings.mode.value, _services.settings.arm_endpoint
            )
        return _services


def use(services_for_tests: Services | None) -> None:
    """Install pre-built services (tests, local runs); None forgets them so the next call rebuilds."""
    global _services  # noqa: PLW0603
    with _lock:
        _services = services_for_tests
