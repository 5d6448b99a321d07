"""Someone wrote the AI plan or an AI account's own switch (issue 19): check it now, fix it only on drift.

Called by usecases/handle_event.py for `Microsoft.Security/pricings/write` (plan `AI`) and
`Microsoft.CognitiveServices/accounts/defenderForAISettings/write` events:
- the enforcer's own write (caller object id = its own) is skipped before any ARM call;
- a tug of war (core/tug_of_war.py) is recorded as `conflict`, with no ARM call;
- anyone else's write is read back (GET) and written only when it left the desired state; the actor goes on the
  record either way.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from enforcer.core.accounts import parse_account_id
from enforcer.core.actors import actor_text, is_own_write
from enforcer.core.events import ACCOUNT_SETTING_WRITE_KIND, EnforceRequest
from enforcer.core.models import Outcome, OutcomeKind, Trigger, utc_now_iso
from enforcer.core.tug_of_war import decide, window_start
from enforcer.usecases.doctor import event_enforcer
from enforcer.usecases.protect_accounts import protect_account
from enforcer.usecases.services import Services

logger = logging.getLogger(__name__)


def own_write(services: Services, request: EnforceRequest) -> Outcome | None:
    """An `ignored` outcome when the event reports the enforcer's own write (no ARM call), else None."""
    own = services.own_object_id()
    if not is_own_write(request.actor, own):
        return None
    return Outcome(
        subscription_id=request.subscription_id,
        outcome=OutcomeKind.IGNORED,
        trigger=Trigger("event", request.event_id, request.event_type),
        mode=services.settings.mode,
        reason=f"the enforcer's own write (caller object id {own}): nothing to check",
        started_at=utc_now_iso(),
        resource_id=request.resource_id,
        actor=request.actor,
    )


def handle_drift_report(services: Services, request: EnforceRequest, trigger: Trigger) -> tuple[Outcome, bool]:
    """(outcome, whether it may be carded). Never raises for ARM errors; raises when the audit store fails."""
    settings = services.settings
    if services.audit is not None:
        since = window_start(datetime.now(UTC), settings.tug_of_war_minutes)
        records = services.audit.event_decisions_since(request.subscription_id, since)
        fight = decide(
            records, request.resource_id, settings.tug_of_war_restores, settings.tug_of_war_minutes, request.actor
        )
        if fight.stop:
            logger.warning(
                "tug of war: subscription=%s resource=%s restores=%d others=%s",
                request.subscription_id,
                request.resource_id or "pricings/AI",
                fight.restores,
                "; ".join(fight.others),
            )
            outcome = Outcome(
                subscription_id=request.subscription_id,
                outcome=OutcomeKind.CONFLICT,
                trigger=trigger,
                mode=settings.mode,
                reason=fight.reason,
                started_at=utc_now_iso(),
                resource_id=request.resource_id,
                actor=request.actor,
            )
            return outcome, not fight.already_reported
    if request.kind == ACCOUNT_SETTING_WRITE_KIND:
        account = parse_account_id(request.resource_id or "")
        if account is None:  # the parser only makes this kind for a valid account id
            raise ValueError(f"not an AI account id: {request.resource_id!r}")
        outcome = protect_account(services, account, trigger)
    else:
        outcome = event_enforcer(services, datetime.now(UTC)).enforce(request.subscription_id, trigger)
    outcome.actor = request.actor
    if request.actor is not None:
        logger.info(
            "drift event: subscription=%s resource=%s outcome=%s actor=%s",
            request.subscription_id,
            request.resource_id or "pricings/AI",
            outcome.outcome.value,
            actor_text(request.actor),
        )
    return outcome, True
