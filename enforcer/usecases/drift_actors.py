"""Who caused drift the sweep found (no event reported it: lost, or the wiring was missing): one Activity Log read
per drifted resource, within what is left of the sweep's time budget (issue 19 item 3).

Only drift is looked up (core/activity_log.py `lookup_for`): a compliant, excluded or new subscription costs
nothing. The answer goes on the outcome (`Outcome.actor`, source "activity log") before it is recorded, so the
audit record, `status`, `--json` and the digest name the actor; a failed, refused or unasked lookup records an
unknown actor with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from enforcer.core.activity_log import failed_actor, forbidden_actor, last_writer, lookup_for, out_of_time_actor
from enforcer.core.actors import actor_text
from enforcer.core.errors import EnforcementError
from enforcer.core.models import ErrorKind, Outcome
from enforcer.usecases.services import Services

logger = logging.getLogger(__name__)

# The call counted in the outcome's and the run's `arm_calls`.
ACTIVITY_LOG_CALL = "activitylog.list"


def _cause(error: EnforcementError) -> str:
    """The first sentence of an error (the reason field is short; the fix for a 403 is the role)."""
    return error.message.split(". ", 1)[0]


def attribute_drift(services: Services, outcome: Outcome, *, remaining: float) -> None:
    """Name the last writer of a drifted resource on its outcome; nothing for anything else. Never raises."""
    lookup = lookup_for(outcome)
    if lookup is None or services.activity_log is None:
        return
    if remaining <= 0 or services.stop.is_set():
        outcome.actor = out_of_time_actor()
        return
    deadline = min(remaining, services.settings.arm_retry_deadline_seconds)
    outcome.arm_calls[ACTIVITY_LOG_CALL] = outcome.arm_calls.get(ACTIVITY_LOG_CALL, 0) + 1
    try:
        entries = services.activity_log.entries(lookup.subscription_id, lookup.resource_uri, deadline=deadline)
    except EnforcementError as error:
        outcome.actor = forbidden_actor() if error.kind is ErrorKind.FORBIDDEN else failed_actor(_cause(error))
    except Exception as error:  # attribution must never fail the sweep's decision
        logger.warning("activity log lookup of %s failed unexpectedly: %s", lookup.resource_uri, type(error).__name__)
        outcome.actor = failed_actor(type(error).__name__)
    else:
        outcome.actor = last_writer(entries, lookup.operation, services.own_object_id())
    logger.info(
        "drift found by the sweep: subscription=%s resource=%s actor=%s",
        lookup.subscription_id,
        lookup.resource_uri,
        actor_text(outcome.actor),
    )


def attribute_all(
    services: Services, outcomes: Sequence[Outcome], *, deadline: float, clock: Callable[[], float]
) -> None:
    """`attribute_drift` for each drifted outcome, at most ENFORCER_SWEEP_CONCURRENCY at once, until `deadline`
    (on `clock`)."""
    drifted = [o for o in outcomes if lookup_for(o) is not None]
    if not drifted or services.activity_log is None:
        return
    workers = min(max(1, services.settings.sweep_concurrency), len(drifted))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="activity-log") as pool:
        for _ in pool.map(lambda o: attribute_drift(services, o, remaining=deadline - clock()), drifted):
            pass
