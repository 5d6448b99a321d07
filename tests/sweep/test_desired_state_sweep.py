"""Issue 20 on the sweep: the desired state per scope converges, and a changed document is an event of its own
(one change card, the new hash recorded in the runs table, the digest naming the change), on the emulator and
Azurite with the real SDK clients; management groups come from the emulator's tree through Resource Graph."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest

from enforcer.core.desired_state_changes import MARKER
from enforcer.core.models import OutcomeKind
from enforcer.usecases.sweep import sweep
from enforcer.usecases.sweep.document_change import announce_document_change
from enforcer.usecases.sweep.model import Plan
from tests.integration.helpers import extensions_of
from tests.sweep.helpers import RecordingNotifier, sweep_services

pytestmark = pytest.mark.integration

DOCUMENT = "tests/data/desired-state/three-rules.yaml"
CHANGED = "tests/data/desired-state/three-rules-changed.yaml"
SANDBOX = "20202020-0000-4000-8000-00000000e5e5"


class PostingNotifier(RecordingNotifier):
    """Also keeps the notice cards it is asked to post (what the Teams notifier's `post` sends)."""

    def __init__(self) -> None:
        super().__init__()
        self.posted: list[tuple[str, dict[str, Any]]] = []

    def post(self, card: dict[str, Any], what: str, *, kind: str = "outcome", important: bool = False) -> str:
        self.posted.append((kind, card))
        return "sent"


def services_for_document(emulator, azurite, audit_store, document: str, notifier: PostingNotifier):
    """A sweep's services on the emulator and Azurite with this desired-state document and notifier."""
    return sweep_services(
        emulator,
        audit=audit_store,
        storage=azurite.connection_string,
        notifier=notifier,
        ENFORCER_DESIRED_STATE=document,
    )


def test_each_rule_converges_and_a_changed_rule_sends_one_card_then_the_next_sweep_converges(
    emulator, azurite, audit_store
):
    production, restricted, plain = (str(uuid.uuid4()) for _ in range(3))
    for sub, tags in ((production, {}), (restricted, {"data-class": "restricted"}), (plain, {}), (SANDBOX, {})):
        emulator.add_subscription(sub, display_name=f"sub-{sub[:4]}", tags=tags, pricing={"pricingTier": "Free"})
    # The emulator's management-group tree: production and the sandbox under mg-production, the rest under the root.
    emulator.management_groups.add(emulator.management_groups.root, "mg-production")
    for sub in (production, SANDBOX):
        emulator.management_groups.place(sub, "mg-production")
    notifier = PostingNotifier()

    def services_with(document: str):
        return services_for_document(emulator, azurite, audit_store, document, notifier)

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


class BlockingNotifier(PostingNotifier):
    """Holds its first post until released: the moment a sweep has claimed the change and not yet recorded it."""

    def __init__(self) -> None:
        super().__init__()
        self.posting = threading.Event()
        self.release = threading.Event()

    def post(self, card: dict[str, Any], what: str, *, kind: str = "outcome", important: bool = False) -> str:
        self.posting.set()
        assert self.release.wait(30), "the test never released the first sweep's card"
        return super().post(card, what, kind=kind, important=important)


def test_two_sweeps_meeting_one_change_send_one_card_and_a_later_change_back_and_again_each_send_theirs(
    emulator, azurite, audit_store
):
    def services_with(document: str, notifier: PostingNotifier):
        return services_for_document(emulator, azurite, audit_store, document, notifier)

    first_notifier, second_notifier = BlockingNotifier(), PostingNotifier()
    first_plan, second_plan = Plan({}, [], [], {}), Plan({}, [], [], {})
    first = threading.Thread(
        target=announce_document_change, args=(services_with(DOCUMENT, first_notifier), first_plan)
    )
    first.start()
    assert first_notifier.posting.wait(30)
    # The second sweep reads the same (absent) marker and finds the same change while the first is posting.
    announce_document_change(services_with(DOCUMENT, second_notifier), second_plan)
    first_notifier.release.set()
    first.join(30)

    assert len(first_notifier.posted) == 1 and second_notifier.posted == []
    # Both digests still say the change is what their sweep enforces.
    assert any("desired-state document changed" in n for n in first_plan.notes)
    assert any("desired-state document changed" in n for n in second_plan.notes)
    recorded = json.loads(audit_store.marker(MARKER) or "{}")
    assert recorded["recorded_at"]

    # Changed, changed back, changed again: three changes, three cards (the third is not taken for the first).
    notifier = PostingNotifier()
    for document in (CHANGED, DOCUMENT, CHANGED):
        announce_document_change(services_with(document, notifier), Plan({}, [], [], {}))
    assert len(notifier.posted) == 3
