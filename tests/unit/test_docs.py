"""The README's settings table matches the code."""

from __future__ import annotations

import re
from pathlib import Path

from enforcer.core.settings import SETTINGS

README_TEXT = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def settings_table(readme_text: str) -> str:
    """The app settings table's section (the deploy section has its own table of azd parameters)."""
    return readme_text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]


README = settings_table(README_TEXT)


def settings_table_mismatches(readme_text: str) -> list[str]:
    """Every setting the code declares, missing from the README's Settings table or documented with another
    default; and every row the code does not read."""
    section = settings_table(readme_text)
    rows = dict(re.findall(r"^\| `(ENFORCER_[A-Z_]+)` \| ([^|]+) \|", section, flags=re.MULTILINE))
    problems = []
    names = {spec.name for spec in SETTINGS}
    for spec in SETTINGS:
        if spec.name not in rows:
            problems.append(f"{spec.name} missing from the README settings table")
            continue
        documented = rows[spec.name].strip()
        expected = f"`{spec.default}`" if spec.default else "(empty)"
        if documented != expected:
            problems.append(f"{spec.name}: README says {documented}, code says {expected}")
    problems += [f"README documents {name}, which the code does not read" for name in rows if name not in names]
    return problems


def test_every_setting_is_documented_with_its_default():
    assert settings_table_mismatches(README_TEXT) == []


def test_a_wrong_default_in_the_settings_table_is_caught():
    wrong = README_TEXT.replace(
        "| `ENFORCER_SWEEP_TIME_BUDGET_SECONDS` | `240` |", "| `ENFORCER_SWEEP_TIME_BUDGET_SECONDS` | `480` |"
    )
    assert wrong != README_TEXT
    assert settings_table_mismatches(wrong) == [
        "ENFORCER_SWEEP_TIME_BUDGET_SECONDS: README says `480`, code says `240`"
    ]


def test_no_undocumented_settings_in_the_table():
    names = {spec.name for spec in SETTINGS}
    for documented in re.findall(r"^\| `(ENFORCER_[A-Z_]+)` \|", README, flags=re.MULTILINE):
        assert documented in names, f"README documents {documented}, which the code does not read"
