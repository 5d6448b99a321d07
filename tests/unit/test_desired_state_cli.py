"""`desired-state check` and ENFORCER_DESIRED_STATE at start: every problem exits 2 with its file, line and column."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from enforcer.adapters.desired_state_file import load_desired_state
from enforcer.core.desired_state_loader import DesiredStateError
from enforcer.core.settings import ConfigError, Settings
from tests.integration.test_cli import ROOT, run_cli

CONFLICTING = "tests/data/desired-state/conflicting.yaml"
INVALID = "tests/data/desired-state/invalid.yaml"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"


def test_check_passes_the_examples_and_prints_their_hash() -> None:
    examples = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples" / "desired-state").iterdir())
    result = run_cli("desired-state", "check", *examples, env={})
    assert result.returncode == 0, result.stderr
    assert all(f"{e}: ok" in result.stdout for e in examples)


def test_check_exits_2_with_one_line_per_problem_and_valid_json() -> None:
    result = run_cli("desired-state", "check", INVALID, CONFLICTING, "missing.yaml", env={})
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{INVALID}:6:42: unknown component 'prompt_evidance'")
    assert lines[1].startswith(f"{CONFLICTING}:6:5: rules 'production-purview' (line 3) and 'production-no-purview'")
    assert "management group mg-production" in lines[1]
    assert lines[2].startswith("missing.yaml: cannot read missing.yaml")
    as_json = run_cli("desired-state", "check", INVALID, "--json", env={})
    assert as_json.returncode == 2
    problems = json.loads(as_json.stdout)["files"][0]["problems"]
    assert [(p["line"], p["column"]) for p in problems] == [(6, 42)]


@pytest.mark.parametrize(("document", "words"), [(INVALID, ":6:42:"), (CONFLICTING, "'production-no-purview'")])
def test_an_unusable_document_stops_the_start_with_exit_2(document: str, words: str) -> None:
    result = run_cli("enforce", "-s", SUBSCRIPTION, "--json", env={"ENFORCER_DESIRED_STATE": document})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"ENFORCER_DESIRED_STATE={document}" in result.stderr and words in result.stderr


@pytest.mark.parametrize("value", ["/etc/desired.yaml", "../outside.yaml", "C:/x.yaml", "desired.txt"])
def test_the_setting_is_a_relative_yaml_or_json_path_inside_the_app(value: str) -> None:
    with pytest.raises(ConfigError, match="ENFORCER_DESIRED_STATE"):
        Settings.from_env({"ENFORCER_DESIRED_STATE": value})


def test_the_document_is_read_relative_to_the_app_root(tmp_path: Path) -> None:
    (tmp_path / "ds.yaml").write_text("version: 1\ndefault: {mode: audit}\n", encoding="utf-8")
    settings = Settings.from_env({"ENFORCER_DESIRED_STATE": "ds.yaml"})
    assert load_desired_state(settings, tmp_path).default["mode"] == "audit"
    assert load_desired_state(Settings.from_env({})).hash == ""
    with pytest.raises(ConfigError, match=re.escape("ENFORCER_DESIRED_STATE: cannot read ds.yaml")):
        load_desired_state(settings, tmp_path / "elsewhere")
    (tmp_path / "ds.yaml").write_text("version: 2\n", encoding="utf-8")
    with pytest.raises(DesiredStateError, match=r"ENFORCER_DESIRED_STATE=ds.yaml:1:10: version: '2' is not one of"):
        load_desired_state(settings, tmp_path)
