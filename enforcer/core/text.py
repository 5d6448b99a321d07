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


# Characters that open Markdown syntax in Teams' Adaptive Card text (links and images need `[`, autolinks and
# HTML `<`, emphasis `*` `_` `~`, code `` ` ``, headings `#`, quotes `>`, tables `|`) and the backslash itself;
# each is escaped with a backslash (CommonMark escapes). Parentheses alone make no link, so they stay readable.
_MARKDOWN_SPECIAL: Final = re.compile(r"([\\`*_~\[\]#><|])")
# A line that starts like a list item ("- x", "+ x", "1. x") renders as a list.
_LIST_MARKER: Final = re.compile(r"(?m)^(\s*)(-|\+|\d+(?=[.)]))")
# Control characters, Unicode line separators, and unpaired surrogates (valid in JSON, but no terminal or UTF-8
# stream can take them: printing one raises).
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def escape_markdown(text: str) -> str:
    """Text from outside (a subscription, an event, Azure) made inert for a Markdown-rendering TextBlock or
    FactSet: every Markdown special character is backslash-escaped, so `[x](https://…)` shows as typed."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return _LIST_MARKER.sub(
        lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) in "-+" else m.group(2) + "\\"), escaped
    )


def escape_control(text: str) -> str:
    """Control characters (newline, carriage return, escape, …) shown as `\\n`, `\\x1b`, so one value stays on
    one log line and cannot forge another."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
