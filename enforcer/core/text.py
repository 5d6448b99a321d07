"""Small text rules every layer shares: clipping long text, and what a subscription id looks like."""

from __future__ import annotations

import re
from typing import Final

ELLIPSIS: Final = "…"
GUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def is_guid(value: str) -> bool:
    return bool(GUID.fullmatch(value))
