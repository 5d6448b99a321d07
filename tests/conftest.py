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


# A test that starts or talks to a local server (the ARM emulator, Azurite, the webhook sink) is an integration
# test; every other test is pure and runs in `make unit`, wherever its file lives.
_LOCAL_SERVER_FIXTURES = frozenset({"emulator", "azurite", "audit_store", "webhook_sink"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        uses_server = _LOCAL_SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if uses_server or item.get_closest_marker("contract"):
            item.add_marker(pytest.mark.integration)
