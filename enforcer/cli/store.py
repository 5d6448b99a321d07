"""The audit store seen from a terminal: checked before the first write, its failures told in one line."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from enforcer.core.render import EXIT_FAILED

if TYPE_CHECKING:
    from enforcer.adapters.audit_store import AuditStoreError
    from enforcer.usecases.services import Services

FIX = (
    "Fix: check that ENFORCER_STORAGE points at a running Table storage account (start Azurite with "
    "`python -m localdev.azurite` locally) and that this identity may write its tables, then run the command again"
)


def check_store(services: Services) -> None:
    """Raise AuditStoreError before anything is changed when the audit store does not answer."""
    from enforcer.adapters.audit_store import AuditStore

    if isinstance(services.audit, AuditStore):
        services.audit.check()


def store_failed(error: AuditStoreError, *, as_json: bool, acted: bool) -> int:
    """One line on stderr naming the cause and the fix; `[]` on stdout for --json; exit 1. It says outcomes are
    logged at ERROR only when they were (the error carries UNRECORDED_NOTE)."""
    from enforcer.usecases.record import UNRECORDED_NOTE

    if UNRECORDED_NOTE in getattr(error, "__notes__", ()):
        what = f"some changes may have been made; {UNRECORDED_NOTE} above"
    elif acted:
        # Said only when true: no outcome was logged at ERROR, so each one before the failure was recorded.
        what = "every outcome before the failure was recorded, and nothing after it was started"
    else:
        what = "nothing was changed"
    print(f"the audit store is unavailable ({error}); {what}. {FIX}", file=sys.stderr)
    if as_json:
        print("[]")
    return EXIT_FAILED
