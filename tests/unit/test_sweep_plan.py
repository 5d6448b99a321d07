"""The sweep's pure parts, with literals."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from enforcer.adapters.arm import parse_resets_after
from enforcer.adapters.resource_graph import inventory_from_rows, pricing_from_row
from enforcer.core.models import Component, ComponentSetting, DesiredState, ExtensionState, PricingState
from enforcer.core.sweep_plan import chunked as batches
from enforcer.core.sweep_plan import compliant_per_graph, resume_point, rotate

DESIRED = DesiredState(
    (
        Component("prompt_evidence", "AIPromptEvidence", ComponentSetting.ON),
        Component("data_security", "AIPromptSharingWithPurview", ComponentSetting.UNMANAGED),
        Component("model_security", "AIModelScanner", ComponentSetting.ON),
    )
)
A, B, C, D = "aaaa", "bbbb", "cccc", "dddd"


def test_rotate_starts_after_the_resume_point_and_wraps():
    assert rotate([C, A, D, B], None) == [A, B, C, D]
    assert rotate([C, A, D, B], B) == [C, D, A, B]
    assert rotate([C, A, D, B], D) == [A, B, C, D]


def test_rotate_when_the_resume_point_has_gone():
    assert rotate([A, C, D], "bbbb") == [C, D, A]
    assert rotate([A, B], "zzzz") == [A, B]


@given(st.sets(st.text(alphabet="0123456789abcdef", min_size=1, max_size=4)), st.text(max_size=4) | st.none())
def test_rotate_is_a_permutation_of_the_sorted_ids(ids, resume_after):
    rotated = rotate(list(ids), resume_after)
    assert sorted(rotated) == sorted(ids)
    if resume_after is not None and any(i > resume_after for i in ids):
        assert rotated[0] == min(i for i in ids if i > resume_after)


def test_resume_point_is_the_last_started_id_or_the_previous_point():
    assert resume_point([C, D, A], 2, B) == D
    assert resume_point([C, D, A], 0, B) == B
    assert resume_point([], 0, None) is None


def test_batches_hold_at_most_the_limit():
    ids = [f"{i:04d}" for i in range(2501)]
    sizes = [len(b) for b in batches(ids)]
    assert sizes == [1000, 1000, 501]
    assert [s for b in batches(ids) for s in b] == ids


def test_rows_become_pricing_states():
    row = {
        "subscriptionId": A.upper(),
        "pricingTier": "standard",
        "extensions": [
            {"name": "AIPromptEvidence", "isEnabled": "true"},
            {"name": "AIModelScanner", "isEnabled": False},
        ],
    }
    assert pricing_from_row(row) == PricingState(
        "Standard", (ExtensionState("AIPromptEvidence", True), ExtensionState("AIModelScanner", False))
    )
    assert pricing_from_row({"pricingTier": "Free", "extensions": None}) == PricingState("Free")
    assert pricing_from_row({"pricingTier": ""}) is None
    assert pricing_from_row({"pricingTier": "Standard", "extensions": "oops"}) is None
    assert pricing_from_row({"pricingTier": "Standard", "extensions": [{"isEnabled": "True"}]}) is None


SUB_A = "aaaaaaaa-0000-4000-8000-000000000001"
SUB_B = "bbbbbbbb-0000-4000-8000-000000000002"


def test_inventory_rows_give_metadata_and_pricing_and_skip_junk():
    rows = [
        {
            "subscriptionId": SUB_A.upper(),
            "name": "Prod",
            "state": "Enabled",
            "tags": {"team": "ml"},
            "pricingTier": "Free",
            "extensions": None,
        },
        # No pricing row (leftouter join): listed, pricing unknown, so the sweep asks ARM.
        {"subscriptionId": SUB_B, "name": "Dev", "state": "Disabled", "tags": None, "pricingTier": ""},
        {"subscriptionId": "not-a-guid", "name": "x", "pricingTier": "Free"},
        "junk",
    ]
    inventory = inventory_from_rows(rows, requests=2, waited=0.5)
    assert [i.subscription_id for i in inventory.subscriptions] == [SUB_A, SUB_B]
    assert inventory.subscriptions[0].display_name == "Prod" and inventory.subscriptions[0].tags == {"team": "ml"}
    assert inventory.subscriptions[1].state == "Disabled" and inventory.subscriptions[1].tags == {}
    assert inventory.pricings == {SUB_A: PricingState("Free"), SUB_B: None}
    assert (inventory.requests, inventory.quota_wait_seconds) == (2, 0.5)


def test_quota_reset_time_is_read_from_hh_mm_ss():
    assert parse_resets_after("00:00:05") == 5
    assert parse_resets_after("01:02:03") == 3723
    assert parse_resets_after("soon") is None
    assert parse_resets_after(None) is None


def test_only_rows_needing_no_change_skip_the_arm_get():
    compliant = PricingState(
        "Standard", (ExtensionState("AIPromptEvidence", True), ExtensionState("AIModelScanner", True))
    )
    failed_extension = PricingState(
        "Standard",
        (ExtensionState("AIPromptEvidence", True, "Failed"), ExtensionState("AIModelScanner", True)),
    )
    pricings = {A: compliant, B: PricingState("Free"), C: None, "eeee": failed_extension}
    # D has no row at all: a candidate too.
    assert compliant_per_graph([A, B, C, D, "eeee"], pricings, DESIRED) == {A: compliant}


def test_compliant_per_graph_scoped_judges_each_subscription_by_its_own_rules_resolving_each_rule_set_once():
    from enforcer.core.desired_state_loader import parse_document
    from enforcer.core.models import SubscriptionInfo
    from enforcer.core.settings import Settings
    from enforcer.core.sweep_plan import compliant_per_graph_scoped

    document = parse_document(
        "version: 1\nrules:\n"
        "  - {name: restricted, match: {tag: data-class=restricted}, set: {components: {prompt_evidence: off}}}\n"
        '  - {name: lab, match: {subscriptions: ["dddddddd-0000-4000-8000-000000000000"]}, set: {mode: exempt}}\n',
        "ds.yaml",
        Settings.from_env({}),
    )
    subs = [f"{c * 8}-0000-4000-8000-000000000000" for c in "abcd"]

    def state(prompt_evidence: bool) -> PricingState:
        names = {"AIPromptEvidence": prompt_evidence, "AIPromptSharingWithPurview": False, "AIModelScanner": True}
        return PricingState("Standard", tuple(ExtensionState(n, on) for n, on in names.items()))

    restricted = {"data-class": "restricted"}
    infos = {
        subs[0]: SubscriptionInfo(subs[0], "a", "Enabled", {}),
        subs[1]: SubscriptionInfo(subs[1], "b", "Enabled", restricted),
        subs[2]: SubscriptionInfo(subs[2], "c", "Enabled", restricted),  # the same rule set as b, another state
        subs[3]: SubscriptionInfo(subs[3], "d", "Enabled", {}),
    }
    pricings = {subs[0]: state(True), subs[1]: state(False), subs[2]: state(True), subs[3]: state(True)}

    settled = compliant_per_graph_scoped(subs, pricings, infos, document, {c.key for c in DESIRED.components})

    assert {sub: rule for sub, (_state, rule) in settled.items()} == {subs[0]: "default", subs[1]: "restricted"}
