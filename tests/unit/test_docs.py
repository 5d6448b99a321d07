"""The README's settings table matches the code."""

from __future__ import annotations

import re
from pathlib import Path

from enforcer.core.settings import SETTINGS

README_TEXT = (Path(__file__).resolve().parents[2] / "README.md").read_text()
# The app settings table (the deploy section has its own table of azd parameters).
README = README_TEXT.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]


def test_every_setting_is_documented_with_its_default():
    rows = dict(re.findall(r"^\| `(ENFORCER_[A-Z_]+)` \| ([^|]+) \|", README, flags=re.MULTILINE))
    for spec in SETTINGS:
        assert spec.name in rows, f"{spec.name} missing from the README settings table"
        documented = rows[spec.name].strip()
        expected = f"`{spec.default}`" if spec.default else "(empty)"
        assert documented == expected, f"{spec.name}: README says {documented}, code says {expected}"


def test_no_undocumented_settings_in_the_table():
    names = {spec.name for spec in SETTINGS}
    for documented in re.findall(r"^\| `(ENFORCER_[A-Z_]+)` \|", README, flags=re.MULTILINE):
        assert documented in names, f"README documents {documented}, which the code does not read"
