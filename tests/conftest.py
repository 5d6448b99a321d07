"""Shared fixtures live in tests/fixtures/*; each module registers its own."""

pytest_plugins = [
    "tests.fixtures.emulator",
    "tests.fixtures.azurite",
    "tests.fixtures.webhook",
]

import pytest


@pytest.fixture(scope="session")
def function_app_functions():
    """`app.get_functions()` may be called once per app: read it once for the whole session."""
    import function_app

    return function_app.app.get_functions()
