"""The coverage report: is every AI account in scope actually protected by Defender for AI, and if not, why not.

Pure: rows in, JSON / CSV / one self-contained HTML page out. An account counts as protected when its subscription's
`pricings/AI` is Standard, its own `defenderForAISettings` state is `Enabled`, and nothing exempts it. Every value
in the HTML is escaped (names and tags are chosen by whoever created the account); the page fetches nothing.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

from enforcer.core.accounts import ENABLED, NOT_READABLE
from enforcer.core.models import STANDARD

# Why an account is not protected (the first that applies, in this order).
EXEMPT: Final = "exempt"
PLAN_OFF: Final = "plan off"
ACCOUNT_DISABLED: Final = "account disabled"
REASONS: Final = (NOT_READABLE, EXEMPT, PLAN_OFF, ACCOUNT_DISABLED)
CSV_COLUMNS: Final = (
    "resource_id",
    "account",
    "subscription_id",
    "subscription_name",
    "plan_tier",
    "plan_components",
    "account_state",
    "protected",
    "why_not",
    "detail",
    "last_verified",
    "last_changed",
)


@dataclass(frozen=True)
class CoverageRow:
    """One AI account: its subscription's plan, its own setting, protected or why not, what the audit trail says."""

    resource_id: str
    account: str
    subscription_id: str
    subscription_name: str | None
    plan_tier: str | None  # None: the plan could not be read
    plan_components: dict[str, bool]
    account_state: str | None  # Enabled | Disabled | absent | None (not readable)
    exempt_reason: str | None = None
    error: str | None = None
    last_verified: str | None = None
    last_changed: str | None = None
    # Issue 20: the desired-state rule that decides the account's protection; None without a document (and then
    # no `rule` key, column or cell: the report is as before).
    rule: str | None = None

    @property
    def why_not(self) -> str | None:
        if self.error is not None or self.account_state is None or self.plan_tier is None:
            return NOT_READABLE
        if self.exempt_reason is not None:
            return EXEMPT
        if self.plan_tier != STANDARD:
            return PLAN_OFF
        if self.account_state != ENABLED:
            return ACCOUNT_DISABLED
        return None

    @property
    def protected(self) -> bool:
        return self.why_not is None

    @property
    def detail(self) -> str:
        return self.error or self.exempt_reason or ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["protected"] = self.protected
        data["why_not"] = self.why_not
        if self.rule is None:
            del data["rule"]
        return data


def no_accounts_note(subscriptions_visible: int | None) -> str:
    """What zero AI accounts means: never "100 % protected"; when the identity may lack read access, say so."""
    if subscriptions_visible == 0:
        return (
            "no AI accounts visible: the identity sees no subscription in scope. It may lack read access: give it "
            "Reader on the subscriptions or their management group, and check "
            "ENFORCER_SUBSCRIPTIONS and ENFORCER_EXCLUDE_SUBSCRIPTIONS."
        )
    where = "" if subscriptions_visible is None else f" in {subscriptions_visible} subscription(s)"
    return (
        f"no AI accounts visible{where}. If you expect some, the identity may lack read access to them: Resource "
        "Graph lists only what it may read (Reader on the subscriptions or their management group)."
    )


def summary(rows: Sequence[CoverageRow], subscriptions_visible: int | None = None) -> dict[str, Any]:
    """Counts, percentage protected (of all accounts, one decimal; None when there are none), the same per
    subscription, and with no accounts a `note` that says so (and when read access may be missing)."""
    by_sub: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = by_sub.setdefault(
            row.subscription_id,
            {
                "subscription_id": row.subscription_id,
                "subscription_name": row.subscription_name,
                "accounts": 0,
                "protected": 0,
            },
        )
        entry["accounts"] += 1
        entry["protected"] += int(row.protected)
    for entry in by_sub.values():
        entry["percent_protected"] = _percent(entry["protected"], entry["accounts"])
    protected = sum(1 for r in rows if r.protected)
    return {
        "accounts": len(rows),
        "protected": protected,
        "unprotected": len(rows) - protected,
        "percent_protected": _percent(protected, len(rows)),
        "subscriptions": len(by_sub),
        "why_not": {reason: sum(1 for r in rows if r.why_not == reason) for reason in REASONS},
        "by_subscription": sorted(by_sub.values(), key=lambda e: (e["percent_protected"], e["subscription_id"])),
    } | ({"note": no_accounts_note(subscriptions_visible)} if not rows else {})


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def sorted_rows(rows: Sequence[CoverageRow]) -> list[CoverageRow]:
    """Unprotected first, then by subscription and account."""
    return sorted(rows, key=lambda r: (r.protected, r.subscription_id, r.resource_id.lower()))


def to_json(rows: Sequence[CoverageRow], generated_at: str, subscriptions_visible: int | None = None) -> str:
    ordered = sorted_rows(rows)
    return json.dumps(
        {
            "generated_at": generated_at,
            "summary": summary(ordered, subscriptions_visible),
            "accounts": [r.to_dict() for r in ordered],
        },
        indent=2,
    )


def _components_text(components: dict[str, bool]) -> str:
    return "; ".join(f"{name} {'on' if on else 'off'}" for name, on in components.items())


# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV Injection": = + - @, tab 0x09 and
# carriage return 0x0D; ASVS 1.2.10 adds NUL); names and tags come from whoever created the account.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r", "\0")


def _csv_safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_csv(rows: Sequence[CoverageRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    with_rule = any(r.rule is not None for r in rows)
    writer.writerow((*CSV_COLUMNS, "rule") if with_rule else CSV_COLUMNS)
    for r in sorted_rows(rows):
        values = [
            r.resource_id,
            r.account,
            r.subscription_id,
            r.subscription_name or "",
            r.plan_tier or "",
            _components_text(r.plan_components),
            r.account_state or "",
            "yes" if r.protected else "no",
            r.why_not or "",
            r.detail,
            r.last_verified or "",
            r.last_changed or "",
            *([r.rule or ""] if with_rule else []),
        ]
        writer.writerow([_csv_safe(v) for v in values])
    return out.getvalue()


_STYLE: Final = """
body{font-family:Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:24px 0 8px}
.muted{color:#666;font-size:13px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 16px;min-width:120px}
.card .n{font-size:26px;font-weight:600} .card .l{font-size:12px;color:#555}
.bad .n{color:#b00020} .good .n{color:#107c10}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e5e5e5;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3;cursor:pointer;user-select:none;position:sticky;top:0}
th[aria-sort=ascending]::after{content:" \\25B2"} th[aria-sort=descending]::after{content:" \\25BC"}
tr.no td.p{color:#b00020;font-weight:600} tr.yes td.p{color:#107c10}
td.id{font-family:Consolas,monospace;font-size:12px;word-break:break-all}
"""

# Click a header to sort by it (again to reverse); numbers and times sort as text, which is right for ISO times.
_SCRIPT: Final = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-sort") || a.cells[col].textContent;
        var y = b.cells[col].getAttribute("data-sort") || b.cells[col].textContent;
        return (asc ? 1 : -1) * x.localeCompare(y, undefined, {numeric: true});
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
document.body.setAttribute("data-ready", "1");
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _td(value: object, css: str = "", sort: str | None = None) -> str:
    attrs = f' class="{css}"' if css else ""
    if sort is not None:
        attrs += f' data-sort="{_e(sort)}"'
    return f"<td{attrs}>{_e(value)}</td>"


def to_html(rows: Sequence[CoverageRow], generated_at: str, subscriptions_visible: int | None = None) -> str:
    """One self-contained page: summary cards with data-summary attributes (read by the browser test), a table by
    subscription, and a sortable table of every account. No external resource: styles and script are inline."""
    ordered = sorted_rows(rows)
    s = summary(ordered, subscriptions_visible)
    percent = "n/a" if s["percent_protected"] is None else s["percent_protected"]
    cards = [
        ("accounts", "AI accounts", s["accounts"], ""),
        ("protected", "Protected", s["protected"], "good"),
        ("unprotected", "Not protected", s["unprotected"], "bad" if s["unprotected"] else ""),
        ("percent_protected", "% protected", percent, ""),
        ("subscriptions", "Subscriptions", s["subscriptions"], ""),
    ]
    cards += [(f"why_not:{k}", f"Why not: {k}", v, "bad" if v else "") for k, v in s["why_not"].items()]
    card_html = "".join(
        f'<div class="card {css}"><div class="n" data-summary="{_e(key)}">{_e(value)}</div>'
        f'<div class="l">{_e(text)}</div></div>'
        for key, text, value, css in cards
    )
    sub_rows = "".join(
        "<tr>"
        + _td(e["subscription_name"] or "")
        + _td(e["subscription_id"], "id")
        + _td(e["accounts"], sort=f"{e['accounts']:09d}")
        + _td(e["protected"], sort=f"{e['protected']:09d}")
        + _td(e["percent_protected"], sort=f"{e['percent_protected']:09.1f}")
        + "</tr>"
        for e in s["by_subscription"]
    )
    with_rule = any(r.rule is not None for r in rows)
    account_rows = "".join(
        f'<tr class="{"yes" if r.protected else "no"}" data-resource-id="{_e(r.resource_id)}">'
        + _td(r.account)
        + _td(r.subscription_name or r.subscription_id)
        + _td(r.plan_tier or "?")
        + _td(_components_text(r.plan_components))
        + _td(r.account_state or "?")
        + _td("yes" if r.protected else "no", "p")
        + _td(r.why_not or "")
        + _td(r.detail)
        + _td(r.last_verified or "")
        + _td(r.last_changed or "")
        + _td(r.resource_id, "id")
        + (_td(r.rule or "") if with_rule else "")
        + "</tr>"
        for r in ordered
    )
    account_headers = "".join(
        f"<th>{_e(h)}</th>"
        for h in (
            "Account",
            "Subscription",
            "Plan",
            "Plan components",
            "Account setting",
            "Protected",
            "Why not",
            "Detail",
            "Last verified",
            "Last changed",
            "Resource ID",
            *(("Desired-state rule",) if with_rule else ()),
        )
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        # No network: the page may load nothing but itself.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">"
        "<title>Defender for AI coverage</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>Defender for AI coverage</h1>"
        f'<div class="muted">Generated {_e(generated_at)} by Defender for AI Enforcer. Protected = the subscription\'s '
        "Defender for AI plan is Standard, the account's own Defender for AI setting is Enabled, and it is not "
        "exempt.</div>"
        f'<div class="cards" id="summary">{card_html}</div>'
        + (f'<p class="note" id="note">{_e(s["note"])}</p>' if "note" in s else "")
        + "<h2>By subscription</h2>"
        '<table class="sortable" id="subscriptions"><thead><tr><th>Subscription</th><th>ID</th><th>Accounts</th>'
        f"<th>Protected</th><th>% protected</th></tr></thead><tbody>{sub_rows}</tbody></table>"
        "<h2>AI accounts</h2>"
        f'<table class="sortable" id="accounts"><thead><tr>{account_headers}</tr></thead>'
        f"<tbody>{account_rows}</tbody></table>"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )
