"""The README's azd Parameters table gives the defaults azd and the Bicep really use, and no tracked file holds a
merge-conflict marker (scripts/check-conflict-markers.sh, run by `make check`).

The table is parsed generically: every `ENFORCER_*` row is checked, including rows added later. A row may name
several variables separated by ` / `, with as many defaults separated the same way."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from tests.infra.bicep_text import INFRA, NotLiteral, declarations, literal, read

REPO = INFRA.parent
README_TEXT = (REPO / "README.md").read_text(encoding="utf-8")
MAIN_DECLARATIONS = declarations(read("main.bicep"))
HOOKS_TEXT = "\n".join(p.read_text(encoding="utf-8") for p in sorted((INFRA / "hooks").glob("*.sh")))


def parameters_table(readme_text: str) -> list[tuple[str, str]]:
    """(variable, documented default) of each row of the azd Parameters table, one pair per variable."""
    section = readme_text.split("\n### Parameters\n", 1)[1].split("\n### ", 1)[0]
    pairs: list[tuple[str, str]] = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        names = [n.strip().strip("`") for n in cells[0].split(" / ")]
        defaults = [d.strip() for d in cells[1].split(" / ")]
        if len(defaults) == 1 and len(names) > 1:
            defaults *= len(names)  # one descriptive default for the whole row
        if len(names) != len(defaults):
            raise AssertionError(f"row {cells[0]}: {len(names)} variables but {len(defaults)} defaults")
        pairs += list(zip(names, defaults, strict=True))
    return pairs


def _documented_value(cell: str) -> str | None:
    """`x` -> 'x'; empty or (empty) -> ''; anything else is a description (None)."""
    if cell in ("empty", "(empty)"):
        return ""
    match = re.fullmatch(r"`([^`]*)`", cell)
    return match.group(1) if match else None


def _parameter_bindings() -> dict[str, tuple[str, str]]:
    """azd variable -> (Bicep parameter, azd's default) from main.parameters.json (`${NAME=default}`)."""
    parameters = json.loads(re.sub(r":\s*(\$\{[^}]*\})", r': "\1"', (INFRA / "main.parameters.json").read_text()))
    bindings: dict[str, tuple[str, str]] = {}
    for param, body in parameters["parameters"].items():
        match = re.fullmatch(r"\$\{(\w+)(?:=([^}]*))?\}", str(body["value"]))
        if match:
            bindings[match.group(1)] = (param, match.group(2) or "")
    return bindings


def parameters_table_mismatches(readme_text: str) -> list[str]:
    """Every ENFORCER_* row whose default differs from azd's (main.parameters.json), the Bicep parameter's, or
    the hook's (`${NAME:-default}`) for variables only a hook reads."""
    bindings = _parameter_bindings()
    problems: list[str] = []
    for name, cell in parameters_table(readme_text):
        if not name.startswith("ENFORCER_"):
            continue
        documented = _documented_value(cell)
        if name in bindings:
            param, azd_default = bindings[name]
            if documented is None:
                problems.append(f"{name}: README gives {cell!r}, not a default; azd's is {azd_default!r}")
                continue
            if documented != azd_default:
                problems.append(f"{name}: README says {documented!r}, main.parameters.json {azd_default!r}")
            bicep_default = MAIN_DECLARATIONS.params.get(param)
            if bicep_default is not None:
                try:
                    value = literal(bicep_default, MAIN_DECLARATIONS.env())
                except NotLiteral:
                    continue
                text = str(value).lower() if isinstance(value, bool) else str(value)
                if text != documented:
                    problems.append(f"{name}: README says {documented!r}, main.bicep param {param} {text!r}")
            continue
        hook = re.search(r"\$\{" + name + r":-([^}]*)\}", HOOKS_TEXT)
        if hook is None and name not in HOOKS_TEXT:
            problems.append(f"{name}: documented, but neither main.parameters.json nor a hook reads it")
        elif hook is not None and documented is not None and documented != hook.group(1):
            problems.append(f"{name}: README says {documented!r}, the hook's default is {hook.group(1)!r}")
    return problems


def test_the_parameters_table_gives_the_real_defaults() -> None:
    assert parameters_table(README_TEXT), "no azd Parameters table found"
    assert parameters_table_mismatches(README_TEXT) == []


def test_every_azd_variable_with_a_default_is_in_the_table() -> None:
    documented = {name for name, _ in parameters_table(README_TEXT)}
    missing = sorted(name for name in _parameter_bindings() if name.startswith("ENFORCER_") and name not in documented)
    assert missing == []


def test_the_old_wrong_defaults_would_be_caught() -> None:
    # The table once said 0 */15 * * * *, 480 and 15 while the Bicep said 0 */5 * * * *, 240 and 5.
    wrong = README_TEXT.replace("`0 */5 * * * *` / `16` / `240` / `on`", "`0 */15 * * * *` / `16` / `480` / `on`")
    wrong = wrong.replace("| `5` / `5` / `60` / `0` |", "| `15` / `5` / `60` / `0` |")
    assert wrong != README_TEXT
    assert parameters_table_mismatches(wrong) == [
        "ENFORCER_SWEEP_SCHEDULE: README says '0 */15 * * * *', main.parameters.json '0 */5 * * * *'",
        "ENFORCER_SWEEP_SCHEDULE: README says '0 */15 * * * *', main.bicep param sweepSchedule '0 */5 * * * *'",
        "ENFORCER_SWEEP_TIME_BUDGET_SECONDS: README says '480', main.parameters.json '240'",
        "ENFORCER_SWEEP_TIME_BUDGET_SECONDS: README says '480', main.bicep param sweepTimeBudgetSeconds '240'",
        "ENFORCER_ALERT_SWEEP_INTERVAL_MINUTES: README says '15', main.parameters.json '5'",
        "ENFORCER_ALERT_SWEEP_INTERVAL_MINUTES: README says '15', main.bicep param sweepIntervalMinutes '5'",
    ]


def _scratch_repository(tmp_path: Path) -> Path:
    """A git repository holding a copy of the README and the check script."""
    scratch = tmp_path / "repo"
    (scratch / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "README.md", scratch / "README.md")
    shutil.copy(REPO / "scripts" / "check-conflict-markers.sh", scratch / "scripts" / "check-conflict-markers.sh")
    subprocess.run(["git", "init", "-q", str(scratch)], check=True)
    subprocess.run(["git", "-C", str(scratch), "add", "-A"], check=True)
    return scratch


def _check(scratch: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "scripts/check-conflict-markers.sh", str(scratch)],
        check=False,
        cwd=scratch,
        capture_output=True,
        text=True,
    )


def test_a_conflict_marker_fails_the_check(tmp_path: Path) -> None:
    scratch = _scratch_repository(tmp_path)
    assert _check(scratch).returncode == 0
    readme = scratch / "README.md"
    ours, theirs = "<" * 7 + " HEAD", ">" * 7 + " reliability-12b"
    text = readme.read_text()
    readme.write_text(text + f"\n{ours}\nours\n{'=' * 7}\ntheirs\n{theirs}\n")
    result = _check(scratch)
    assert result.returncode == 1
    assert f"README.md:{len(text.splitlines()) + 2}:{ours}" in result.stdout
    assert "resolve the conflict" in result.stderr


def test_a_markdown_heading_underline_is_not_a_marker(tmp_path: Path) -> None:
    scratch = _scratch_repository(tmp_path)
    (scratch / "README.md").write_text("Title\n" + "=" * 7 + "\n")
    assert _check(scratch).returncode == 0
