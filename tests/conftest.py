"""Shared fixtures live in tests/fixtures/*; each module registers its own."""

import pytest

pytest_plugins = [
    "tests.fixtures.emulator",
    "tests.fixtures.azurite",
    "tests.fixtures.webhook",
    "tests.fixtures.services",
]


@pytest.fixture(scope="session")
def function_app_functions():
    """`app.get_functions()` may be called once per app: read it once for the whole session."""
    import function_app

    return function_app.app.get_functions()
