"""Management-group ancestry in the sweep's inventory (issue 20), against the ARM emulator through the real SDK
clients: from Resource Graph when it answers, else from one Entities API read of the whole tree per sweep."""

from __future__ import annotations

import math
import uuid
from collections import Counter

import pytest

from enforcer.adapters.arm import ArmGateway
from enforcer.adapters.management_groups import ManagementGroupGateway
from enforcer.core.ancestry import MANAGEMENT_GROUPS_CALL
from enforcer.core.models import SubscriptionInfo
from enforcer.usecases.enforce import SubscriptionDirectory
from enforcer.usecases.services import Services
from enforcer.usecases.sweep import sweep
from enforcer.usecases.sweep.plan import make_plan
from localdev.emulator import Emulator, FaultConfig
from tests.sweep.helpers import sweep_services

pytestmark = pytest.mark.integration


def groups(info: SubscriptionInfo | None) -> tuple[str, ...]:
    assert info is not None
    return info.management_groups


def with_management_group_rules(services: Services) -> Services:
    """As when the desired-state document has a rule naming a management group."""
    services.rules_read_management_groups = True
    return services


def seed_tree(emulator: Emulator) -> tuple[str, str, str, str]:
    """root > corp > prod (one subscription) and root > sandbox (one), plus one directly under the root."""
    tree = emulator.management_groups
    tree.add(tree.root, "mg-corp", "Corp")
    tree.add("mg-corp", "mg-prod", "Production")
    tree.add(tree.root, "mg-sandbox", "Sandbox")
    prod, sandbox, at_root = (str(uuid.uuid4()) for _ in range(3))
    for sub in (prod, sandbox, at_root):
        emulator.add_subscription(sub)
    tree.place(prod, "mg-prod")
    tree.place(sandbox, "mg-sandbox")
    return tree.root, prod, sandbox, at_root


def test_ancestry_arrives_with_the_resource_graph_inventory_and_the_tree_is_not_read(emulator):
    root, prod, sandbox, at_root = seed_tree(emulator)
    services = with_management_group_rules(sweep_services(emulator))

    plan, error = make_plan(services, dry_run=True)

    assert error is None
    assert groups(plan.infos[prod]) == ("mg-prod", "mg-corp", root)
    assert groups(plan.infos[sandbox]) == ("mg-sandbox", root)
    assert groups(plan.infos[at_root]) == (root,)
    assert emulator.calls["resourcegraph.resources"] == 1
    assert emulator.calls[MANAGEMENT_GROUPS_CALL] == 0
    services.close()


def test_with_resource_graph_down_one_tree_read_per_sweep_fills_the_same_ancestry(emulator):
    root, prod, sandbox, at_root = seed_tree(emulator)
    fleet = emulator.seed_fleet(7, drift_fraction=0.5, seed=3)
    emulator.management_groups.page_size = 4  # 4 groups + 10 subscriptions: 14 entities, 4 pages
    emulator.faults = FaultConfig(resource_graph_unavailable=True)
    services = with_management_group_rules(sweep_services(emulator))

    result = sweep(services)

    pages = math.ceil((4 + 3 + len(fleet)) / 4)
    assert emulator.calls[MANAGEMENT_GROUPS_CALL] == pages == 4
    assert result.summary.arm_calls[MANAGEMENT_GROUPS_CALL] == pages
    assert any(
        f"management groups of {3 + len(fleet)} subscription(s) read from the management-group tree in 4 request(s)"
        in note
        for note in result.summary.notes
    ), result.summary.notes
    directory = services.enforcer.directory
    assert groups(directory.cached(prod)) == (
        "mg-prod",
        "mg-corp",
        root,
    )
    assert groups(directory.cached(sandbox)) == ("mg-sandbox", root)
    assert groups(directory.cached(at_root)) == (root,)

    emulator.reset_calls()
    sweep(services)

    assert emulator.calls[MANAGEMENT_GROUPS_CALL] == pages  # once per sweep, not per subscription
    services.close()


def test_subscriptions_resource_graph_has_not_indexed_yet_get_ancestry_from_the_tree(emulator):
    emulator.faults = FaultConfig(resource_graph_lag_seconds=3600)
    root, prod, _sandbox, _at_root = seed_tree(emulator)
    services = with_management_group_rules(sweep_services(emulator))

    plan, _ = make_plan(services, dry_run=True)

    assert groups(plan.infos[prod]) == ("mg-prod", "mg-corp", root)
    assert emulator.calls[MANAGEMENT_GROUPS_CALL] == 1
    services.close()


def test_no_tree_read_when_no_rule_matches_on_management_groups(emulator):
    _root, prod, _sandbox, _at_root = seed_tree(emulator)
    emulator.faults = FaultConfig(resource_graph_unavailable=True)
    services = sweep_services(emulator)  # no document rule names a management group: the default

    plan, _ = make_plan(services, dry_run=True)

    assert groups(plan.infos[prod]) == ()
    assert emulator.calls[MANAGEMENT_GROUPS_CALL] == 0
    services.close()


def test_an_unreadable_tree_leaves_ancestry_unknown_and_says_why(emulator):
    _root, prod, _sandbox, _at_root = seed_tree(emulator)
    emulator.faults = FaultConfig(resource_graph_unavailable=True)
    emulator.management_groups.forbidden = True
    services = with_management_group_rules(sweep_services(emulator))

    plan, error = make_plan(services, dry_run=True)

    assert error is None
    assert groups(plan.infos[prod]) == ()
    note = next(n for n in plan.notes if n.startswith("management groups unknown for 3 subscription(s)"))
    assert "Microsoft.Management/getEntities" in note
    services.close()


def test_subscriptions_read_one_by_one_share_one_tree_read(emulator):
    root, prod, sandbox, at_root = seed_tree(emulator)
    services = with_management_group_rules(sweep_services(emulator))
    directory = services.enforcer.directory
    calls: Counter[str] = Counter()

    first = directory.get(prod, calls)
    second = directory.get(sandbox, calls)

    assert first.management_groups == ("mg-prod", "mg-corp", root)
    assert second.management_groups == ("mg-sandbox", root)
    # One tree read for both (kept for the directory's TTL), one subscription GET each.
    assert emulator.calls[MANAGEMENT_GROUPS_CALL] == calls[MANAGEMENT_GROUPS_CALL] == 1
    assert emulator.calls["subscriptions.get"] == 2

    services.rules_read_management_groups = False
    assert directory.get(at_root, calls).management_groups == ()
    assert emulator.calls[MANAGEMENT_GROUPS_CALL] == 1
    services.close()


def test_a_subscription_created_after_the_tree_read_is_read_for_again_at_most_once_a_minute(emulator):
    root, prod, _sandbox, _at_root = seed_tree(emulator)
    now = [1000.0]
    arm = ArmGateway(emulator.url)
    directory = SubscriptionDirectory(arm, clock=lambda: now[0])
    directory.use_tree(ManagementGroupGateway(arm), lambda: True)
    calls: Counter[str] = Counter()
    assert groups(directory.get(prod, calls)) == ("mg-prod", "mg-corp", root)

    early, late = str(uuid.uuid4()), str(uuid.uuid4())
    for sub in (early, late):
        emulator.add_subscription(sub)
        emulator.management_groups.place(sub, "mg-sandbox")
    now[0] += 30
    assert groups(directory.get(early, calls)) == ()  # the tree read 30 s ago is not re-read yet
    now[0] += 31
    assert groups(directory.get(late, calls)) == ("mg-sandbox", root)

    assert emulator.calls[MANAGEMENT_GROUPS_CALL] == calls[MANAGEMENT_GROUPS_CALL] == 2
    arm.close()
