"""AI accounts through the real Azure SDK: each account's `defenderForAISettings/Default`, and the accounts in
scope from Azure Resource Graph's `resources` table or, when Resource Graph fails or is off, from each
subscription's `Accounts - List` (`GET /subscriptions/{id}/providers/Microsoft.CognitiveServices/accounts`, paged
with nextLink).

`azure-mgmt-cognitiveservices` (14.1.0, api-version 2025-09-01) is imported lazily (cold start). Its client is
bound to one subscription, so one client per subscription is kept, all sharing the ArmGateway's HTTP session,
credential and retry policy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import AzureError, ResourceNotFoundError

from enforcer.adapters.arm import ArmGateway
from enforcer.adapters.azure_errors import classify
from enforcer.adapters.resource_graph import ResourceGraphGateway
from enforcer.core.accounts import SETTING_NAME, AccountRef, UnreadableAccount, canonical_state, parse_account_id
from enforcer.core.errors import EnforcementError
from enforcer.core.models import MAX_SUBSCRIPTIONS_PER_QUERY, ErrorKind
from enforcer.core.text import clip, escape_control, is_guid

if TYPE_CHECKING:
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

logger = logging.getLogger(__name__)

# Ordered by the unique id so that skip-token paging neither repeats nor drops rows.
ACCOUNTS_QUERY: Final = (
    "resources "
    "| where type =~ 'microsoft.cognitiveservices/accounts' "
    "| project id, name, subscriptionId, resourceGroup, location, kind, tags "
    "| order by id asc"
)
# Clients kept at once: the sweep meets accounts ordered by id, so grouped by subscription; a few suffice (each
# client holds its own pipeline objects, so thousands would cost memory; the HTTP session is shared).
_MAX_CLIENTS: Final = 64


def _classify(error: AzureError, *, action: str, subscription_id: str) -> EnforcementError:
    """As for pricings, but a 403 here needs the account-settings role, not a pricing role."""
    classified = classify(error, action=action, subscription_id=subscription_id)
    if classified.kind is not ErrorKind.FORBIDDEN:
        return classified
    said = classified.message.split(" Fix:", 1)[0]
    return EnforcementError(
        ErrorKind.FORBIDDEN,
        f"{said} Fix: assign the enforcer's identity the 'Defender for AI Enforcer account settings' custom role "
        "(infra/mg/main.bicep: accounts/read, accounts/defenderForAISettings/read and /write) at the subscription "
        "or its management group, or set ENFORCER_ACCOUNT_PROTECTION=report to only read.",
    )


def _account(resource_id: str) -> AccountRef:
    account = parse_account_id(resource_id)
    if account is None:
        raise EnforcementError(ErrorKind.UNEXPECTED, f"{resource_id[:200]!r} is not an AI account resource id.")
    return account


class CognitiveGateway:
    """Reads and writes accounts' defenderForAISettings; thread-safe. close() closes its clients only."""

    def __init__(self, arm: ArmGateway) -> None:
        self._arm = arm
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, CognitiveServicesManagementClient] = OrderedDict()

    def _client(self, subscription_id: str) -> CognitiveServicesManagementClient:
        with self._lock:
            client = self._clients.get(subscription_id)
            if client is not None:
                self._clients.move_to_end(subscription_id)
                return client
        from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

        client = CognitiveServicesManagementClient(self._arm.credential(), subscription_id, **self._arm.client_kwargs())
        with self._lock:
            self._clients[subscription_id] = client
            while len(self._clients) > _MAX_CLIENTS:
                # The transport is shared and not owned by the client: closing an old client leaves it open.
                self._clients.popitem(last=False)[1].close()
        return client

    def get_account(self, resource_id: str) -> AccountRef | None:
        """The account with its tags (an event names the account but carries no tags); None when it is gone (404)."""
        ref = _account(resource_id)
        try:
            account = self._client(ref.subscription_id).accounts.get(ref.resource_group, ref.name)
        except ResourceNotFoundError:
            return None
        except AzureError as error:
            raise _classify(error, action="read the AI account", subscription_id=ref.subscription_id) from error
        return _from_sdk(ref, account)

    def get_setting(self, resource_id: str) -> str | None:
        """`properties.state` of defenderForAISettings/Default; None when the account has no such setting (404)."""
        ref = _account(resource_id)
        try:
            setting = self._client(ref.subscription_id).defender_for_ai_settings.get(
                ref.resource_group, ref.name, SETTING_NAME
            )
        except ResourceNotFoundError:
            return None
        except AzureError as error:
            raise _classify(error, action="read defenderForAISettings", subscription_id=ref.subscription_id) from error
        return canonical_state(_state(setting))

    def list_accounts(
        self, subscription_id: str, *, deadline: float | None = None
    ) -> tuple[list[AccountRef | UnreadableAccount], int]:
        """(every AI account of the subscription, pages read), page by page through nextLink. Stops with an
        EnforcementError when `deadline` (time.monotonic) passes between pages, or when a page fails."""
        sub = subscription_id.lower()
        accounts: list[AccountRef | UnreadableAccount] = []
        pages = 0
        try:
            pager: Any = self._client(sub).accounts.list().by_page()  # an azure.core PageIterator
            for page in pager:
                pages += 1
                for account in page:
                    raw_id = str(account.id or "")
                    ref = parse_account_id(raw_id)
                    # An id that is not an account id by Azure's rules is reported, never dropped.
                    accounts.append(
                        _from_sdk(ref, account) if ref else UnreadableAccount(sub, raw_id, str(account.name or ""))
                    )
                # continuation_token: the nextLink of the page just read (None after the last page).
                if pager.continuation_token and deadline is not None and time.monotonic() >= deadline:
                    raise EnforcementError(
                        ErrorKind.THROTTLED,
                        f"Listing the AI accounts of subscription {sub} stopped at the time budget after {pages} "
                        "page(s). Fix: none needed, the next run lists them again; if it recurs, raise "
                        "ENFORCER_SWEEP_TIME_BUDGET_SECONDS or let Resource Graph list the accounts.",
                    )
        except AzureError as error:
            raise _classify(error, action="list the AI accounts", subscription_id=sub) from error
        return accounts, pages

    def put_setting(self, resource_id: str, state: str) -> str:
        """PUT (create or update: the only write that also creates the setting); returns the state Azure answered."""
        from azure.mgmt.cognitiveservices.models import DefenderForAISetting

        ref = _account(resource_id)
        try:
            setting = self._client(ref.subscription_id).defender_for_ai_settings.create_or_update(
                ref.resource_group, ref.name, SETTING_NAME, DefenderForAISetting(state=state)
            )
        except AzureError as error:
            raise _classify(error, action="write defenderForAISettings", subscription_id=ref.subscription_id) from error
        return canonical_state(_state(setting))

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), OrderedDict()
        for client in clients:
            client.close()


def _shown(row: object) -> str:
    return clip(escape_control(repr(row)), 300)


def _from_sdk(ref: AccountRef, account: Any) -> AccountRef:
    """An SDK `Account` (from a GET or a list page) as an AccountRef with its tags, kind and location."""
    return AccountRef(
        ref.subscription_id,
        ref.resource_group,
        str(account.name or ref.name),
        tags=dict(account.tags or {}),
        kind=account.kind,
        location=account.location,
    )


def _state(setting: Any) -> str | None:
    state = getattr(setting, "state", None)
    return None if state is None else str(getattr(state, "value", state))


def account_from_row(row: Mapping[str, Any]) -> AccountRef | UnreadableAccount | None:
    """A `resources` row as an AccountRef; an UnreadableAccount when its id is not an account id by Azure's rules
    (reported "not readable", never dropped); None only when the row names no subscription at all."""
    raw_id = str(row.get("id") or "")
    ref = parse_account_id(raw_id)
    if ref is None:
        sub = str(row.get("subscriptionId") or "").strip().lower()
        return UnreadableAccount(sub, raw_id, str(row.get("name") or "")) if is_guid(sub) else None
    tags = row.get("tags")
    kind, location = row.get("kind"), row.get("location")
    return AccountRef(
        ref.subscription_id,
        ref.resource_group,
        ref.name,
        tags={str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {},
        kind=str(kind) if kind is not None else None,
        location=str(location) if location is not None else None,
    )


class AccountGraph(ResourceGraphGateway):
    """Every AI account in a batch of at most 1,000 subscriptions, from Resource Graph's `resources` table."""

    def accounts(self, subscription_ids: Sequence[str]) -> tuple[list[AccountRef | UnreadableAccount], int]:
        """(accounts, requests sent); raises ResourceGraphError when a page fails after the pipeline's retries."""
        if not subscription_ids:
            return [], 0
        if len(subscription_ids) > MAX_SUBSCRIPTIONS_PER_QUERY:
            raise ValueError(f"at most {MAX_SUBSCRIPTIONS_PER_QUERY} subscriptions per query")
        ids = [s.lower() for s in subscription_ids]
        asked = set(ids)
        rows, requests, _waited = self.query(ACCOUNTS_QUERY, ids)
        accounts: list[AccountRef | UnreadableAccount] = []
        for row in rows:
            account = account_from_row(row) if isinstance(row, Mapping) else None
            if account is not None and account.subscription_id in asked:
                accounts.append(account)
            else:
                logger.warning("resource graph: an AI account row names no subscription asked for: %s", _shown(row))
        logger.debug(
            "resource graph: %d account(s) in %d subscription(s), %d request(s)", len(accounts), len(ids), requests
        )
        return accounts, requests
