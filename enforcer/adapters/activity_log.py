"""The subscription's Activity Log (Microsoft.Insights `ActivityLogs - List`, api-version 2015-04-01): one filtered
read per drifted resource, through the ArmGateway's pipeline (azure-mgmt-monitor is not installed; the REST call is
one GET). The filter and the reading of the entries are pure (core/activity_log.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import AzureError

from enforcer.adapters.arm import RETRY_DEADLINE_OPTION
from enforcer.adapters.arm_pipeline import arm_pipeline_client
from enforcer.adapters.azure_errors import classify
from enforcer.adapters.closing import ClosesOnExit
from enforcer.core.activity_log import ACTIVITY_LOG_API_VERSION, ActivityEntry, activity_filter, entry_from_json
from enforcer.core.errors import EnforcementError
from enforcer.core.models import ErrorKind

if TYPE_CHECKING:
    from azure.core import PipelineClient
    from azure.core.rest import HttpRequest

    from enforcer.adapters.arm import ArmGateway

logger = logging.getLogger(__name__)

ACTIVITY_LOG_PATH: Final = "providers/Microsoft.Insights/eventtypes/management/values"
# A lookup never waits longer than this for an answer (a call's retry deadline may be shorter).
READ_TIMEOUT_SECONDS: Final = 30.0


class ActivityLogGateway(ClosesOnExit):
    """Reads a resource's Activity Log entries; thread-safe once built (the pipeline is built on first use)."""

    def __init__(self, arm: ArmGateway) -> None:
        self._arm = arm
        self._pipeline: PipelineClient[HttpRequest, Any] | None = None

    def _client(self) -> PipelineClient[HttpRequest, Any]:
        if self._pipeline is None:
            self._pipeline = arm_pipeline_client(self._arm, "defender-ai-enforcer")
        return self._pipeline

    def entries(self, subscription_id: str, resource_uri: str, *, deadline: float | None = None) -> list[ActivityEntry]:
        """The first page of the resource's entries of the last days (core/activity_log.py LOOKBACK). Raises
        EnforcementError (403 as FORBIDDEN, throttling past `deadline` as THROTTLED, ...)."""
        from azure.core.rest import HttpRequest

        url = f"{self._arm.endpoint}/subscriptions/{subscription_id}/{ACTIVITY_LOG_PATH}"
        params = {
            "api-version": ACTIVITY_LOG_API_VERSION,
            "$filter": activity_filter(resource_uri, datetime.now(UTC)),
        }
        options: dict[str, Any] = {"read_timeout": READ_TIMEOUT_SECONDS}
        if deadline is not None:
            options[RETRY_DEADLINE_OPTION] = deadline
            options["read_timeout"] = max(1.0, min(READ_TIMEOUT_SECONDS, deadline))
        try:
            response = self._client().send_request(HttpRequest("GET", url, params=params), **options)
            response.raise_for_status()
            body = response.json()
        except AzureError as error:
            raise classify(error, action="read the Activity Log", subscription_id=subscription_id) from error
        except ValueError as error:  # not JSON
            raise EnforcementError(
                ErrorKind.UNEXPECTED, f"the Activity Log of subscription {subscription_id} answered a body not JSON"
            ) from error
        values = body.get("value") if isinstance(body, dict) else None
        return [entry for item in values or [] if (entry := entry_from_json(item)) is not None]

    def close(self) -> None:
        if self._pipeline is not None:
            self._pipeline.close()
