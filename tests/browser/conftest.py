"""Browser checks need Debian's `chromium` (make install puts it there). Locally a missing browser skips with the
reason; under CI=true it is a failure, so that CI never passes without having looked."""

from __future__ import annotations

import os
import shutil

import pytest

from localdev.browser import find_chromium


@pytest.fixture
def chromium() -> str:
    found = find_chromium()
    if found is None:
        message = "chromium is not installed: run `make install` (it runs `apt-get install -y chromium`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture
def node_renderer() -> None:
    missing = [
        what for what, ok in (("node", shutil.which("node")), ("node_modules/adaptivecards", _has_cards())) if not ok
    ]
    if missing:
        message = f"{', '.join(missing)} missing: run `make install`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def _has_cards() -> bool:
    from localdev.browser import REPO

    return (REPO / "node_modules" / "adaptivecards" / "package.json").is_file()
