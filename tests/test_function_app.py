"""The function app as the Functions host sees it: import cost, functions and their bindings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_is_fast_and_loads_no_azure_clients():
    code = (
        "import sys, time; t = time.perf_counter(); import function_app; "
        "print(time.perf_counter() - t); "
        "heavy = ('azure.mgmt.security', 'azure.mgmt.resource', 'azure.identity', 'azure.data.tables'); "
        "print(any(m.startswith(heavy) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    seconds, heavy = out.stdout.split()
    print(f"import function_app: {float(seconds):.3f}s")  # a figure for the log, not an assertion on time
    assert heavy == "False"


def test_functions_and_bindings(function_app_functions):
    """The function.json the host would generate for each function."""
    import json

    by_name = {f.get_function_name(): json.loads(f.get_function_json()) for f in function_app_functions}
    assert set(by_name) == {"ai_account_created", "subscription_created", "drift_sweep"}
    for name in ("ai_account_created", "subscription_created"):
        assert by_name[name]["bindings"] == [{"direction": "IN", "type": "eventGridTrigger", "name": "event"}]
    assert by_name["drift_sweep"]["bindings"] == [
        {
            "direction": "IN",
            "type": "timerTrigger",
            "name": "timer",
            "schedule": "%ENFORCER_SWEEP_SCHEDULE%",
            "runOnStartup": False,
            "useMonitor": True,
        }
    ]
