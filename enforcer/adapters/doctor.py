"""What `doctor` reads from the tenant that no other adapter reads: the identity's token, its permissions at a
scope, one row of each Resource Graph query the sweep runs, and a probe row in each audit table.

Everything here reads, except the table probe (a row written, read back and deleted in a partition nothing else
uses) and the Teams test card (only with --send-test-card).
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import AzureError

from enforcer.adapters.arm_pipeline import arm_pipeline_client
from enforcer.adapters.azure_errors import describe
from enforcer.adapters.cognitive import ACCOUNTS_QUERY
from enforcer.adapters.resource_graph import INVENTORY_QUERY, ResourceGraphGateway
from enforcer.core.doctor import GraphSample, Permission, TableProbe, projected_columns
from enforcer.core.models import PLAN_NAME

if TYPE_CHECKING:
    from azure.core import PipelineClient
    from azure.core.rest import HttpRequest

    from enforcer.adapters.arm import ArmGateway
    from enforcer.adapters.tables import TableConnection

logger = logging.getLogger(__name__)

PERMISSIONS_API_VERSION: Final = "2022-04-01"
# The probe rows' partition: no other row of the audit or runs table uses it.
PROBE_PARTITION: Final = "doctor-probe"


class DoctorProbeError(RuntimeError):
    """A read doctor needed failed; the message says why (status and error code, never a secret)."""


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, unverified (doctor only reports the object id and tenant); None when not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


class TenantProbe:
    """Doctor's reads through the ArmGateway's session, credential and retry policy."""

    def __init__(self, arm: ArmGateway) -> None:
        self._arm = arm
        self._graph = ResourceGraphGateway(arm, page_size=1)
        self._pipeline: PipelineClient[HttpRequest, Any] | None = None

    def token_claims(self) -> Mapping[str, Any] | None:
        try:
            token = self._arm.credential().get_token(self._arm.scope)
        except Exception as error:  # any credential failure: doctor reports it, never its secrets
            raise DoctorProbeError(
                f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            ) from error
        return jwt_claims(token.token)

    def _client(self) -> PipelineClient[HttpRequest, Any]:
        if self._pipeline is None:
            self._pipeline = arm_pipeline_client(self._arm, "defender-ai-enforcer-doctor")
        return self._pipeline

    def permissions(self, scope: str) -> tuple[Permission, ...]:
        """`Microsoft.Authorization/permissions` at the scope, every page."""
        from azure.core.rest import HttpRequest

        url: str | None = f"{self._arm.endpoint}{scope}/providers/Microsoft.Authorization/permissions"
        params: dict[str, str] | None = {"api-version": PERMISSIONS_API_VERSION}
        entries: list[Permission] = []
        while url:
            try:
                response = self._client().send_request(HttpRequest("GET", url, params=params))
                response.raise_for_status()
            except AzureError as error:
                raise DoctorProbeError(describe(error)) from error
            body = response.json()
            for item in body.get("value") or []:
                entries.append(
                    Permission(
                        tuple(str(a) for a in item.get("actions") or []),
                        tuple(str(a) for a in item.get("notActions") or []),
                    )
                )
            url, params = body.get("nextLink"), None
        return tuple(entries)

    def graph_samples(self, subscription_ids: list[str] | None) -> list[GraphSample]:
        """The sweep's inventory and accounts queries, word for word, limited to one row."""
        from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

        samples = []
        for label, query in (("inventory", INVENTORY_QUERY.format(plan=PLAN_NAME)), ("accounts", ACCOUNTS_QUERY)):
            columns = projected_columns(query)
            request = QueryRequest(
                subscriptions=subscription_ids,
                query=query,
                options=QueryRequestOptions(result_format="objectArray", top=1),
            )
            try:
                response = self._graph.client.resources(request)
            except AzureError as error:
                samples.append(GraphSample(label, columns, error=describe(error)))
                continue
            data: Any = response.data  # objectArray: a list of row objects (typed as a JSON mapping in the SDK)
            rows = data if isinstance(data, list) else []
            row = rows[0] if rows and isinstance(rows[0], Mapping) else None
            samples.append(GraphSample(label, columns, row=row))
        return samples

    def close(self) -> None:
        self._graph.close()
        if self._pipeline is not None:
            self._pipeline.close()


class TableProber:
    """Writes one probe row to a table, reads it back and deletes it; never creates a table."""

    def __init__(self, tables: TableConnection) -> None:
        self._tables = tables

    def probe(self, table: str) -> TableProbe:
        client = self._tables.client(table)
        row_key = uuid.uuid4().hex
        try:
            client.create_entity({"PartitionKey": PROBE_PARTITION, "RowKey": row_key, "probe": "doctor"})
            try:
                got = client.get_entity(PROBE_PARTITION, row_key)
                if got.get("probe") != "doctor":
                    return TableProbe(table, "the probe row read back differs from the one written")
            finally:
                client.delete_entity(PROBE_PARTITION, row_key)
        except AzureError as error:
            return TableProbe(table, describe(error))
        return TableProbe(table)

    def close(self) -> None:
        """Nothing: the connection is the audit store's, closed with it."""
