"""Issue 20 on the sweep: the desired state per scope converges, and a changed document is an event of its own
(one change card, the new hash recorded in the runs table, the digest naming the change), on the emulator and
Azurite with the real SDK clients."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from enforcer.core.desired_state_changes import MARKER
from enforcer.core.models import InventoryRows, OutcomeKind
from enforcer.usecases.ports import PricingIndex
from enforcer.usecases.sweep import sweep
from tests.integration.helpers import extensions_of
from tests.sweep.helpers import RecordingNotifier, sweep_services

pytestmark = pytest.mark.integration

DOCUMENT = "tests/data/desired-state/three-rules.yaml"
CHANGED = "tests/data/desired-state/three-rules-changed.yaml"
SANDBOX = "20202020-0000-4000-8000-00000000e5e5"
ROOT = "tenant-root"


class WithAncestry:
    """Stands in for i20-inventory's ancestry: the emulator's Resource Graph rows plus each subscription's
    management-group chain (nearest parent first)."""

    def __init__(self, index: PricingIndex | None, chains: Mapping[str, tuple[str, ...]]) -> None:
        assert index is not None
        self.index, self.chains = index, chains

    def inventory(self, subscription_ids: Sequence[str] | None = None) -> InventoryRows:
        rows = self.index.inventory(subscription_ids)
        return dataclasses.replace(
            rows,
            subscriptions=[
                dataclasses.replace(i, management_groups=self.chains.get(i.subscription_id.lower(), (ROOT,)))
                for i in rows.subscriptions
            ],
        )

    def close(self) -> None:
        self.index.close()


class PostingNotifier(RecordingNotifier):
    """Also keeps the notice cards it is asked to post (what the Teams notifier's `post` sends)."""

    def __init__(self) -> None:
        super().__init__()
        self.posted: list[tuple[str, dict[str, Any]]] = []

    def post(self, card: dict[str, Any], what: str, *, kind: str = "outcome", important: bool = False) -> str:
        self.posted.append((kind, card))
        return "sent"


def test_each_rule_converges_and_a_changed_rule_sends_one_card_then_the_next_sweep_converges(
    emulator, azurite, audit_store
):
    production, restricted, plain = (str(uuid.uuid4()) for _ in range(3))
    for sub, tags in ((production, {}), (restricted, {"data-class": "restricted"}), (plain, {}), (SANDBOX, {})):
        emulator.add_subscription(sub, display_name=f"sub-{sub[:4]}", tags=tags, pricing={"pricingTier": "Free"})
    chains = {production: ("mg-production", ROOT), SANDBOX: ("mg-production", ROOT)}
    notifier = PostingNotifier()

    def services_with(document: str):
        services = sweep_services(
            emulator,
            audit=audit_store,
            storage=azurite.connection_string,
            notifier=notifier,
            ENFORCER_DESIRED_STATE=document,
        )
        services.resource_graph = WithAncestry(services.resource_graph, chains)
        return services

    first = sweep(services_with(DOCUMENT))

    by_sub = {o.subscription_id: o for o in first.outcomes}
    assert extensions_of(emulator.pricing(production, "AI"))["AIPromptSharingWithPurview"] == "True"
    assert extensions_of(emulator.pricing(restricted, "AI"))["AIPromptEvidence"] == "False"
    assert extensions_of(emulator.pricing(plain, "AI")) == {
        "AIPromptEvidence": "True",
        "AIPromptSharingWithPurview": "False",
        "AIModelScanner": "True",
    }
    assert emulator.pricing(SANDBOX, "AI")["properties"]["pricingTier"] == "Free"
    assert (by_sub[SANDBOX].outcome, by_sub[SANDBOX].rule) == (OutcomeKind.EXCLUDED, "sandbox-exempt")
    assert by_sub[production].rule == "default, production-purview"
    # The first document ever is a change too: one card listing its rules, the digest names it.
    assert [kind for kind, _ in notifier.posted] == ["desired_state"]
    card = json.dumps(notifier.posted[0][1])
    assert "added: production-purview (management group mg-production; 2 subscription(s))" in card
    first_hash = json.loads(audit_store.marker(MARKER) or "{}")["hash"]
    assert f"desired-state document changed (none -> {first_hash})" in " ".join(first.summary.notes)
    assert "desired-state document changed" in json.dumps(notifier.digests[-1][0].notes)

    emulator.reset_calls()
    quiet = sweep(services_with(DOCUMENT))
    assert emulator.calls["pricings.put"] == 0 and len(notifier.posted) == 1
    settled = {o.subscription_id: o for o in quiet.outcomes}
    assert (settled[production].outcome, settled[production].rule) == (OutcomeKind.COMPLIANT, "production-purview")

    changed = sweep(services_with(CHANGED))
    assert len(notifier.posted) == 2
    card = json.dumps(notifier.posted[1][1])
    assert "altered: restricted-data (tag data-class=restricted; 1 subscription(s))" in card
    assert extensions_of(emulator.pricing(restricted, "AI"))["AIModelScanner"] == "False"
    assert extensions_of(emulator.pricing(plain, "AI"))["AIModelScanner"] == "True"
    new_hash = json.loads(audit_store.marker(MARKER) or "{}")["hash"]
    assert f"({first_hash} -> {new_hash})" in " ".join(changed.summary.notes)

    emulator.reset_calls()
    sweep(services_with(CHANGED))
    assert emulator.calls["pricings.put"] == 0 and len(notifier.posted) == 2
