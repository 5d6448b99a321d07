"""Small builders shared by the integration tests (real emulator over HTTP, real SDK clients)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.fixtures.services import FAST_RETRY, services_for, settings_for

__all__ = [
    "FAST_RETRY",
    "ROOT",
    "cli_env",
    "extensions_of",
    "services_for",
    "settings_for",
    "start_cli",
    "wait_for_puts",
]

ROOT = Path(__file__).resolve().parents[2]


def extensions_of(pricing: Mapping[str, object]) -> dict[str, str]:
    props = pricing["properties"]
    assert isinstance(props, dict)
    return {e["name"]: e["isEnabled"] for e in props.get("extensions", [])}


def cli_env(emulator_url: str, storage: str, **settings: str) -> dict[str, str]:
    """The environment of a `python -m enforcer` subprocess: this one without ENFORCER_* settings, plus the
    emulator, the store (fresh tables) and `settings`."""
    import os

    from tests.fixtures.azurite import unique_table_names

    audit_table, runs_table = unique_table_names()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENFORCER_")}
    env.update(
        {
            "ENFORCER_ARM_ENDPOINT": emulator_url,
            "ENFORCER_STORAGE": storage,
            "ENFORCER_AUDIT_TABLE": audit_table,
            "ENFORCER_RUNS_TABLE": runs_table,
            **settings,
        }
    )
    return env


def start_cli(env: Mapping[str, str], *args: str) -> subprocess.Popen[str]:
    """`python -m enforcer ARGS` in the repository root, its output captured as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "enforcer", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env),
        cwd=ROOT,
    )


def wait_for_puts(emulator: Any, count: int, seconds: float = 60) -> None:
    """Until the emulator has answered `count` pricing PUTs (or `seconds` passed)."""
    import time

    deadline = time.monotonic() + seconds
    while emulator.calls["pricings.put"] < count and time.monotonic() < deadline:
        time.sleep(0.02)
