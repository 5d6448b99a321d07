"""Shared fixtures live in tests/fixtures/*; each module registers its own."""

pytest_plugins = [
    "tests.fixtures.emulator",
    "tests.fixtures.azurite",
    "tests.fixtures.webhook",
]
