"""`explain`: gather the facts, resolve the document, read the current state once; never writes (issue 20)."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from enforcer.core.accounts import canonical_state
from enforcer.core.desired_state import default_document, resolve, resolve_account
from enforcer.core.errors import EnforcementError
from enforcer.core.explain import AccountFacts, explain_report
from enforcer.core.models import SubscriptionInfo
from enforcer.usecases.services import Services

logger = logging.getLogger(__name__)


class ExplainError(Exception):
    """What stopped `explain`, with the fix in the message."""


def _facts(services: Services, subscription_id: str) -> SubscriptionInfo:
    """Tags and management-group ancestry from Resource Graph (the sweep's inventory) when it lists the
    subscription; else the subscription as ARM reads it (tags, no ancestry)."""
    if services.resource_graph is not None:
        try:
            rows = services.resource_graph.inventory([subscription_id])
        except EnforcementError as error:
            logger.info("Resource Graph did not answer for explain (%s); reading the subscription from ARM", error)
        else:
            for info in rows.subscriptions:
                if info.subscription_id.lower() == subscription_id:
                    return info
    return services.enforcer.directory.get(subscription_id, Counter())


def explain(services: Services, subscription_id: str, account_id: str | None = None) -> dict[str, Any]:
    """The explain report (core/explain.py). Raises ResolveConflict when two same-level rules clash here,
    ExplainError when the account cannot be read, EnforcementError when ARM refuses the reads."""
    document = services.desired_state or default_document(services.settings)
    sub = subscription_id.lower()
    info = _facts(services, sub)
    resolution = resolve(info, document)
    observed = services.arm.get_pricing(sub)
    account = None
    if account_id is not None:
        if services.accounts is None:
            raise ExplainError("no AI account gateway is configured")
        ref = services.accounts.get_account(account_id)
        if ref is None:
            raise ExplainError(f"AI account {account_id} was not found; fix: pass the account's full resource id")
        state = canonical_state(services.accounts.get_setting(account_id))
        decided = resolve_account(resolution, ref.tags, document, ref.resource_id)
        account = (AccountFacts(ref.resource_id, dict(ref.tags), state), decided)
    return explain_report(info, resolution, document, observed, services.settings.mode, account)
