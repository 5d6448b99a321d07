"""infra/hooks/doctor.sh (run at the end of postdeploy.sh): doctor gets the deployed app's settings and the host's
delivery key, its table is printed, and a failed check never fails the deployment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.infra.bicep_text import INFRA

APP_ID = (
    "/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg-prod/providers/Microsoft.Web/sites/func-abc"
)

FAKE_AZ = r"""#!/bin/sh
printf '%s\n' "$*" >> "$FAKE_DIR/az.log"
case "$1 $2" in
    "functionapp config")
        [ -f "$FAKE_DIR/no-settings" ] && exit 1
        printf 'ENFORCER_MODE\taudit\n'
        printf 'ENFORCER_SWEEP_SCHEDULE\t0 */5 * * * *\n'
        printf 'ENFORCER_EVENT_DELIVERY_KEY\t@Microsoft.KeyVault(SecretUri=https://kv/secrets/k/)\n'
        printf 'APPLICATIONINSIGHTS_CONNECTION_STRING\tInstrumentationKey=x;IngestionEndpoint=https://in\n' ;;
    "rest --method") echo "host-eventgrid-extension-key-0123456789" ;;
    *) echo "fake az: unexpected: $*" >&2; exit 2 ;;
esac
"""

# Stands in for the enforcer's Python: records what doctor would have been given, exits as told.
FAKE_PYTHON = r"""#!/bin/sh
{ printf 'args=%s\n' "$*"; env | grep -E '^(ENFORCER_|APPLICATIONINSIGHTS_)' | sort; } > "$FAKE_DIR/doctor.env"
echo "CHECK  STATUS  EVIDENCE"
exit "${FAKE_DOCTOR_EXIT:-0}"
"""


def run_doctor_hook(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "az").write_text(FAKE_AZ, encoding="utf-8")
    (fake / "python").write_text(FAKE_PYTHON, encoding="utf-8")
    for script in fake.iterdir():
        script.chmod(0o755)
    process = subprocess.run(
        ["sh", str(INFRA / "hooks" / "doctor.sh")],
        cwd=INFRA.parent,
        env={
            "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
            "FAKE_DIR": str(tmp_path),
            "AZURE_FUNCTION_APP_ID": APP_ID,
            "ENFORCER_DOCTOR_PYTHON": str(fake / "python"),
        }
        | env,
        capture_output=True,
        text=True,
        check=False,
    )
    recorded = tmp_path / "doctor.env"
    lines = recorded.read_text(encoding="utf-8").splitlines() if recorded.exists() else []
    return process, dict(line.split("=", 1) for line in lines)


def test_doctor_runs_with_the_apps_settings_and_the_hosts_key(tmp_path: Path) -> None:
    process, seen = run_doctor_hook(tmp_path, ENFORCER_MANAGEMENT_GROUP_ID="mg-enforcer")
    assert process.returncode == 0
    assert "CHECK  STATUS  EVIDENCE" in process.stdout
    assert seen["args"] == "-m enforcer doctor --management-group mg-enforcer"
    assert seen["ENFORCER_MODE"] == "audit"
    assert seen["ENFORCER_SWEEP_SCHEDULE"] == "0 */5 * * * *"
    assert seen["ENFORCER_EVENT_DELIVERY_KEY"] == "host-eventgrid-extension-key-0123456789"
    assert seen["APPLICATIONINSIGHTS_CONNECTION_STRING"] == "InstrumentationKey=x;IngestionEndpoint=https://in"
    assert "host-eventgrid-extension-key" not in process.stdout + process.stderr  # the key is never printed


@pytest.mark.parametrize(("exit_code", "said"), [("1", "doctor found failures above"), ("2", "could not run")])
def test_a_failed_doctor_never_fails_the_deployment(tmp_path: Path, exit_code: str, said: str) -> None:
    process, _ = run_doctor_hook(tmp_path, FAKE_DOCTOR_EXIT=exit_code)
    assert process.returncode == 0
    assert said in process.stderr


def test_unreadable_app_settings_skip_doctor_with_a_message(tmp_path: Path) -> None:
    (tmp_path / "no-settings").touch()
    process, seen = run_doctor_hook(tmp_path)
    assert process.returncode == 0 and seen == {}
    assert "doctor skipped: cannot read the app settings" in process.stderr
