"""The azd hooks, run with stand-ins for `az` and `azd` that serve canned system topics and record what the
hooks write: existing system topics are found by the source the Bicep gives ours, recorded for events.bicep,
and passed to it in the shape it declares."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.infra.bicep_text import INFRA, declarations, read
from tests.infra.test_bicep_topics import DEPLOYMENT, MANAGEMENT_GROUP, TENANT_ID, source_of

HOOKS = INFRA / "hooks"
REPO = INFRA.parent

HOSTING = "11111111-2222-4333-8444-555555555555"
SUB_A = "aaaaaaaa-0000-4000-8000-00000000000a"
SUB_B = "bbbbbbbb-0000-4000-8000-00000000000b"
RESOURCES = "Microsoft.Resources.Subscriptions"
POLICY = "Microsoft.PolicyInsights.PolicyStates"

FAKE_AZ = r"""#!/bin/sh
printf '%s\n' "$*" >> "$FAKE_DIR/az.log"
if [ "$1 $2 $3" = "eventgrid system-topic list" ]; then
    while [ $# -gt 0 ]; do
        [ "$1" = "--subscription" ] && subscription="$2"
        shift
    done
    [ -f "$FAKE_DIR/fail-$subscription" ] && { echo "ERROR: AuthorizationFailed" >&2; exit 1; }
    [ -f "$FAKE_DIR/topics-$subscription.tsv" ] && cat "$FAKE_DIR/topics-$subscription.tsv"
    exit 0
fi
case "$1 $2" in
    "account show") echo "$FAKE_TENANT" ;;
    "deployment mg"|"deployment sub") for argument in "$@"; do printf '%s\n' "$argument"; done > "$FAKE_DIR/$2.args" ;;
    "rest --method") echo "fake-eventgrid-extension-key" ;;
    *) echo "fake az: unexpected: $*" >&2; exit 2 ;;
esac
"""

FAKE_AZD = r"""#!/bin/sh
[ "$1 $2" = "env set" ] || { echo "fake azd: unexpected: $*" >&2; exit 2; }
printf '%s=%s\n' "$3" "$4" >> "$FAKE_DIR/azd-env"
"""


def topic_id(subscription: str, group: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.EventGrid/systemTopics/{name}"


def resources_source(subscription: str) -> str:
    return source_of(RESOURCES, {**DEPLOYMENT, "subscription().id": f"/subscriptions/{subscription}"})


# The outputs of main.bicep that the hooks read, as azd puts them in the environment.
PROVISIONED = {
    "AZURE_ENV_NAME": "prod",
    "AZURE_LOCATION": "westeurope",
    "AZURE_SUBSCRIPTION_ID": HOSTING,
    "AZURE_TENANT_ID": TENANT_ID,
    "AZURE_RESOURCE_GROUP": "rg-prod",
    "AZURE_FUNCTION_APP_NAME": "func-abc",
    "AZURE_FUNCTION_APP_ID": f"/subscriptions/{HOSTING}/resourceGroups/rg-prod/providers/Microsoft.Web/sites/func-abc",
    "AZURE_STORAGE_ACCOUNT_NAME": "stenfabc",
    "ENFORCER_IDENTITY_PRINCIPAL_ID": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
    "ENFORCER_DEAD_LETTER_CONTAINER": "eventgrid-deadletter",
    "ENFORCER_VENDING_TOPIC_NAME": "evgt-enforcer-vending-abc",
    "ENFORCER_POLICY_TOPIC_NAME": "evgst-enforcer-policy-abc",
    "ENFORCER_EVENTS_RESOURCE_GROUP": "rg-defender-ai-enforcer-events",
    "ENFORCER_RESOURCE_EVENTS_TOPIC_NAME": "evgst-enforcer-resources",
}


@dataclass
class HookRun:
    returncode: int
    stdout: str
    stderr: str
    azd_env: dict[str, str]
    az_calls: list[str]
    deployments: dict[str, list[str]]  # "mg" / "sub" -> the az deployment arguments

    def listed_subscriptions(self) -> list[str]:
        calls = [c.split() for c in self.az_calls if c.startswith("eventgrid system-topic list")]
        return [c[c.index("--subscription") + 1] for c in calls]

    def parameters(self) -> dict[str, str]:
        """name=value arguments of the subscription deployment."""
        args = self.deployments["sub"]
        found = args[args.index("--parameters") + 1 :]
        return dict(a.split("=", 1) for a in found if "=" in a and not a.startswith("--"))


def run_hook(
    hook: str,
    tmp_path: Path,
    env: dict[str, str],
    topics: dict[str, list[tuple[str, str, str]]] | None = None,
    failing: tuple[str, ...] = (),
) -> HookRun:
    fake = tmp_path / "bin"
    fake.mkdir()
    for name, script in (("az", FAKE_AZ), ("azd", FAKE_AZD)):
        (fake / name).write_text(script, encoding="utf-8")
        (fake / name).chmod(0o755)
    for subscription, rows in (topics or {}).items():
        lines = "".join("\t".join(row) + "\n" for row in rows)
        (tmp_path / f"topics-{subscription}.tsv").write_text(lines, encoding="utf-8")
    for subscription in failing:
        (tmp_path / f"fail-{subscription}").touch()
    process = subprocess.run(
        ["sh", str(HOOKS / hook)],
        cwd=REPO,
        env={"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "FAKE_DIR": str(tmp_path), "FAKE_TENANT": TENANT_ID}
        | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    azd_env_file = tmp_path / "azd-env"
    azd_env = dict(
        line.split("=", 1) for line in (azd_env_file.read_text().splitlines() if azd_env_file.exists() else [])
    )
    log = tmp_path / "az.log"
    deployments = {
        kind: (tmp_path / f"{kind}.args").read_text().splitlines()
        for kind in ("mg", "sub")
        if (tmp_path / f"{kind}.args").exists()
    }
    return HookRun(
        process.returncode,
        process.stdout,
        process.stderr,
        azd_env,
        log.read_text().splitlines() if log.exists() else [],
        deployments,
    )


# --- postprovision: finding existing system topics -------------------------------------------------------


def test_an_existing_subscription_topic_is_recorded_and_ours_is_not(tmp_path: Path) -> None:
    theirs = topic_id(SUB_A, "rg-other-tool", "their-topic")
    ours_b = topic_id(
        SUB_B, PROVISIONED["ENFORCER_EVENTS_RESOURCE_GROUP"], PROVISIONED["ENFORCER_RESOURCE_EVENTS_TOPIC_NAME"]
    )
    topics = {
        SUB_A: [
            # Another source in the same subscription (a resource group's topic) is not ours to reuse.
            (
                topic_id(SUB_A, "rg-x", "rg-topic"),
                f"/subscriptions/{SUB_A}/resourceGroups/rg-x",
                "Microsoft.Resources.ResourceGroups",
            ),
            # Azure may return the source in other letter case.
            (theirs, resources_source(SUB_A).upper(), RESOURCES),
        ],
        # Ours, from an earlier run: reused by its own deployment, never recorded as someone else's.
        SUB_B: [(ours_b, resources_source(SUB_B), RESOURCES)],
    }
    run = run_hook(
        "postprovision.sh", tmp_path, PROVISIONED | {"ENFORCER_MANAGED_SUBSCRIPTION_IDS": f"{SUB_A}, {SUB_B}"}, topics
    )
    assert run.returncode == 0, run.stderr
    assert run.azd_env == {"ENFORCER_EXISTING_RESOURCE_TOPIC_IDS": theirs}
    assert "mg" not in run.deployments  # no management group: nothing to deploy there


def test_a_recorded_topic_is_kept_and_its_subscription_not_looked_up_again(tmp_path: Path) -> None:
    recorded = topic_id(SUB_A.upper(), "rg-mine", "named-by-hand")
    theirs_b = topic_id(SUB_B, "rg-other-tool", "their-topic")
    env = PROVISIONED | {
        "ENFORCER_MANAGED_SUBSCRIPTION_IDS": f"{SUB_A},{SUB_B}",
        "ENFORCER_EXISTING_RESOURCE_TOPIC_IDS": recorded,
    }
    run = run_hook("postprovision.sh", tmp_path, env, {SUB_B: [(theirs_b, resources_source(SUB_B), RESOURCES)]})
    assert run.returncode == 0, run.stderr
    assert run.listed_subscriptions() == [SUB_B]
    assert run.azd_env == {"ENFORCER_EXISTING_RESOURCE_TOPIC_IDS": f"{recorded},{theirs_b}"}


def test_a_second_run_records_nothing(tmp_path: Path) -> None:
    ours = topic_id(
        SUB_A, PROVISIONED["ENFORCER_EVENTS_RESOURCE_GROUP"], PROVISIONED["ENFORCER_RESOURCE_EVENTS_TOPIC_NAME"]
    )
    env = PROVISIONED | {"ENFORCER_MANAGED_SUBSCRIPTION_IDS": SUB_A}
    run = run_hook("postprovision.sh", tmp_path, env, {SUB_A: [(ours, resources_source(SUB_A), RESOURCES)]})
    assert run.returncode == 0, run.stderr
    assert run.azd_env == {}


def test_the_management_group_topic_is_found_in_a_managed_subscription(tmp_path: Path) -> None:
    source = source_of(POLICY, DEPLOYMENT)
    theirs = topic_id(SUB_B, "rg-prod-2", "evgst-enforcer-policy-xyz")  # another azd environment's
    ours = topic_id(HOSTING, PROVISIONED["AZURE_RESOURCE_GROUP"], PROVISIONED["ENFORCER_POLICY_TOPIC_NAME"])
    env = PROVISIONED | {"ENFORCER_MANAGED_SUBSCRIPTION_IDS": SUB_B, "ENFORCER_MANAGEMENT_GROUP_ID": MANAGEMENT_GROUP}
    topics = {
        HOSTING: [(ours, source, POLICY)],
        SUB_B: [(theirs, source, POLICY)],
    }
    run = run_hook("postprovision.sh", tmp_path, env, topics)
    assert run.returncode == 0, run.stderr
    assert run.azd_env == {"ENFORCER_EXISTING_POLICY_TOPIC_ID": theirs}
    # The hosting subscription is searched once although it is listed first for both purposes.
    assert run.listed_subscriptions().count(SUB_B) == 2  # its own topic, then the management group's
    assert run.listed_subscriptions().count(HOSTING) == 1
    assert "--management-group-id" in run.deployments["mg"]


def test_a_topic_of_another_type_on_the_source_is_reported_not_used(tmp_path: Path) -> None:
    other = topic_id(SUB_A, "rg-policy", "policy-states-of-a")
    env = PROVISIONED | {"ENFORCER_MANAGED_SUBSCRIPTION_IDS": SUB_A}
    run = run_hook("postprovision.sh", tmp_path, env, {SUB_A: [(other, resources_source(SUB_A), POLICY)]})
    assert run.returncode == 0, run.stderr
    assert run.azd_env == {}
    assert other in run.stderr and "one system topic per source" in run.stderr


def test_a_subscription_that_cannot_be_listed_is_reported_and_the_rest_still_searched(tmp_path: Path) -> None:
    theirs_b = topic_id(SUB_B, "rg-other-tool", "their-topic")
    env = PROVISIONED | {"ENFORCER_MANAGED_SUBSCRIPTION_IDS": f"{SUB_A},{SUB_B}"}
    topics = {SUB_B: [(theirs_b, resources_source(SUB_B), RESOURCES)]}
    run = run_hook("postprovision.sh", tmp_path, env, topics, failing=(SUB_A,))
    assert run.returncode == 0, run.stderr
    assert f"cannot list the system topics of subscription {SUB_A}" in run.stderr
    assert run.azd_env == {"ENFORCER_EXISTING_RESOURCE_TOPIC_IDS": theirs_b}


# --- postdeploy: what events.bicep gets ----------------------------------------------------------------


def events_bicep_params() -> dict[str, str | None]:
    return declarations(read("events.bicep")).params


def test_postdeploy_passes_the_recorded_topics_in_the_shape_events_bicep_declares(tmp_path: Path) -> None:
    theirs_a = topic_id(SUB_A.upper(), "rg-other-tool", "their-topic")
    theirs_policy = topic_id(SUB_B, "rg-prod-2", "evgst-enforcer-policy-xyz")
    env = PROVISIONED | {
        "ENFORCER_MANAGED_SUBSCRIPTION_IDS": f"{SUB_A}, {SUB_B}",
        "ENFORCER_MANAGEMENT_GROUP_ID": MANAGEMENT_GROUP,
        "ENFORCER_EXISTING_RESOURCE_TOPIC_IDS": theirs_a,
        "ENFORCER_EXISTING_POLICY_TOPIC_ID": theirs_policy,
    }
    run = run_hook("postdeploy.sh", tmp_path, env)
    assert run.returncode == 0, run.stderr
    parameters = run.parameters()
    # Keyed by the subscription in lower case, as events.bicep looks it up (toLower(subscriptionId)).
    assert json.loads(parameters["existingResourceEventsTopicIds"]) == {SUB_A: theirs_a}
    assert parameters["existingPolicyTopicId"] == theirs_policy
    assert parameters["managementGroupId"] == MANAGEMENT_GROUP
    assert json.loads(parameters["managedSubscriptionIds"]) == [SUB_A, SUB_B]
    declared = events_bicep_params()
    assert set(parameters) <= set(declared), sorted(set(parameters) - set(declared))
    required = {name for name, default in declared.items() if default is None}
    assert required <= set(parameters), sorted(required - set(parameters))


def test_postdeploy_passes_empty_topics_when_none_are_recorded(tmp_path: Path) -> None:
    run = run_hook("postdeploy.sh", tmp_path, PROVISIONED)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.parameters()["existingResourceEventsTopicIds"]) == {}
    assert run.parameters()["existingPolicyTopicId"] == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (
            "ENFORCER_EXISTING_RESOURCE_TOPIC_IDS",
            f"/subscriptions/{SUB_A}/resourceGroups/rg/providers/Microsoft.EventGrid/topics/custom",
        ),
        ("ENFORCER_EXISTING_RESOURCE_TOPIC_IDS", "their-topic"),
        ("ENFORCER_EXISTING_POLICY_TOPIC_ID", f"{topic_id(SUB_A, 'rg', 'a')},{topic_id(SUB_B, 'rg', 'b')}"),
    ],
)
def test_postdeploy_refuses_what_is_not_one_system_topic_id(tmp_path: Path, name: str, value: str) -> None:
    run = run_hook("postdeploy.sh", tmp_path, PROVISIONED | {name: value})
    assert run.returncode != 0
    assert "sub" not in run.deployments
