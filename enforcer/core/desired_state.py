"""Desired state per scope (issue 20): one document of a default plus named rules, and which rule decides what.

Pure: the model, and `resolve` from a subscription's facts (loading the text is core/desired_state_loader.py,
where the clashes visible in the document alone are refused). Precedence, highest first (README "Desired state
per scope"):

    subscription id  >  tag  >  deeper management group  >  shallower management group  >  default

A rule sets any of: the mode, each component, account protection. A field it leaves out comes from the rules
beneath it. Account-tag rules set only account protection and outrank everything for the accounts they match.
Two rules at one level that both match one subscription (or account) and disagree on a field are refused: at
load time when the clash is visible in the document alone (same subscription id, same management group, same
tag), at resolve time when it depends on the facts (two tag rules both matching one subscription's tags).

Over 300 lines because the document's model, the precedence that resolves it and the rule a record names from it
are one concept: split, the ranks and their tie rule would be read in one file and applied in another.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from enforcer.core.accounts import AccountProtection
from enforcer.core.models import Component, ComponentSetting, DesiredState, Mode, SubscriptionInfo
from enforcer.core.settings import Settings

DEFAULT_RULE: Final = "default"
COMPONENT_KEYS: Final = ("prompt_evidence", "data_security", "model_security")
# The fields a rule may set, in the order `explain` shows them.
MODE_FIELD: Final = "mode"
ACCOUNT_FIELD: Final = "account_protection"
FIELDS: Final = (MODE_FIELD, *(f"components.{k}" for k in COMPONENT_KEYS), ACCOUNT_FIELD)


class ScopeMode(enum.StrEnum):
    """What the enforcer does on a subscription: write, only report, or leave it alone."""

    ENFORCE = "enforce"
    AUDIT = "audit"
    EXEMPT = "exempt"


class Level(enum.IntEnum):
    """A rule's precedence level: a lower value wins. Management-group rules rank by depth (see `_rank`)."""

    ACCOUNT_TAG = 0
    SUBSCRIPTION = 1
    TAG = 2
    MANAGEMENT_GROUP = 3
    DEFAULT = 4


class ResolveConflict(ValueError):
    """Two rules at one precedence level match one subscription or account and disagree on a field."""

    def __init__(self, scope: str, field_name: str, first: str, second: str, values: tuple[str, str]) -> None:
        self.rules = (first, second)
        super().__init__(
            f"rules {first!r} and {second!r} both match {scope} at the same precedence level and disagree on "
            f"{field_name} ({values[0]} vs {values[1]}); fix: make one of them more specific or give them the "
            "same value"
        )


@dataclass(frozen=True)
class Selector:
    """What a rule matches on: one kind, with its value normalised (ids lower-case, tag key lower-case)."""

    kind: Level
    subscriptions: frozenset[str] = frozenset()
    key: str = ""  # tag key (lower-case; Azure tag names are case-insensitive) or management group id (lower-case)
    value: str | None = None  # tag value (case-sensitive), None for "key present"

    def describe(self) -> str:
        if self.kind is Level.SUBSCRIPTION:
            return "subscription " + ", ".join(sorted(self.subscriptions))
        if self.kind is Level.MANAGEMENT_GROUP:
            return f"management group {self.key}"
        prefix = "account tag" if self.kind is Level.ACCOUNT_TAG else "tag"
        return f"{prefix} {self.key}" + ("" if self.value is None else f"={self.value}")

    def matches_tags(self, tags: Mapping[str, str] | None) -> bool:
        # Tag names are case-insensitive in Azure ("The tag name can have a maximum of 512 characters and is case
        # insensitive", Az.Resources Set-AzTag reference). Values compared exactly: our reading, not confirmed.
        for tag_key, tag_value in (tags or {}).items():
            if tag_key.lower() == self.key and (self.value is None or tag_value == self.value):
                return True
        return False


@dataclass(frozen=True)
class Rule:
    name: str
    selector: Selector
    # field (see FIELDS) -> value; only the fields the rule sets.
    values: Mapping[str, str]
    line: int = 0
    description: str = ""


@dataclass(frozen=True)
class Document:
    """A loaded, checked desired-state document. `default` holds every field (settings fill what it omits)."""

    default: Mapping[str, str]
    rules: tuple[Rule, ...] = ()
    # sha256 of the document's bytes (first 12 hex digits); "" when the default comes from ENFORCER_* settings alone.
    hash: str = ""
    source: str = ""
    extension_names: Mapping[str, str] = field(default_factory=dict)
    unlisted_off: bool = False
    # Indexes for resolve: a 10,000-subscription sweep against a 50-rule document stays one dict lookup per fact.
    by_subscription: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    # (tag key lower-case, value or None for "key present"): a subscription's tags find their rules directly, however
    # many rules share one key.
    by_tag: Mapping[tuple[str, str | None], tuple[Rule, ...]] = field(default_factory=dict)
    by_group: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    account_rules: tuple[Rule, ...] = ()
    rule_order: Mapping[str, int] = field(default_factory=dict)  # rule name -> its place in the document


@dataclass(frozen=True)
class Matched:
    """A rule that matched, with the rank it matched at (lower wins) and why it matched."""

    rule: Rule
    rank: int
    because: str


@dataclass(frozen=True)
class Resolution:
    """The desired state for one subscription, which rule won each field, and every rule that matched."""

    subscription_id: str
    values: Mapping[str, str]
    winners: Mapping[str, str]
    matched: tuple[Matched, ...]
    document_hash: str

    @property
    def mode(self) -> ScopeMode:
        return ScopeMode(self.values[MODE_FIELD])

    @property
    def account_protection(self) -> AccountProtection:
        return AccountProtection(self.values[ACCOUNT_FIELD])

    def component(self, key: str) -> ComponentSetting:
        return ComponentSetting(self.values[f"components.{key}"])

    def rule_for(self, field_name: str) -> str:
        return self.winners[field_name]

    def plan_mode(self, global_mode: Mode) -> Mode:
        """ENFORCER_MODE=audit (or --dry-run) never writes, whatever a rule says; a rule can only lower enforce."""
        if global_mode is Mode.AUDIT or self.mode is ScopeMode.AUDIT:
            return Mode.AUDIT
        return Mode.ENFORCE

    def desired_state(self, document: Document) -> DesiredState:
        return DesiredState(
            tuple(Component(k, document.extension_names[k], self.component(k)) for k in COMPONENT_KEYS),
            unlisted_off=document.unlisted_off,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "subscription_id": self.subscription_id,
            "document_hash": self.document_hash,
            "desired": dict(self.values),
            "winners": dict(self.winners),
            "matched": [{"rule": m.rule.name, "because": m.because, "sets": dict(m.rule.values)} for m in self.matched],
        }


IndexKey = TypeVar("IndexKey", bound=Hashable)


def _index(
    rules: tuple[Rule, ...], kind: Level, keys: Callable[[Selector], Iterable[IndexKey]]
) -> dict[IndexKey, tuple[Rule, ...]]:
    index: dict[IndexKey, list[Rule]] = {}
    for rule in rules:
        if rule.selector.kind is kind:
            for key in keys(rule.selector):
                index.setdefault(key, []).append(rule)
    return {k: tuple(v) for k, v in index.items()}


def settings_default(settings: Settings) -> dict[str, str]:
    """Today's ENFORCER_* settings as the document's default: what applies when no document (or no field) is set."""
    values = {MODE_FIELD: settings.mode.value, ACCOUNT_FIELD: settings.account_protection.value}
    for component in settings.desired.components:
        values[f"components.{component.key}"] = component.setting.value
    return values


def build_document(
    settings: Settings, default: Mapping[str, str], rules: tuple[Rule, ...], digest: str, source: str
) -> Document:
    return Document(
        default={**settings_default(settings), **default},
        rules=rules,
        hash=digest,
        source=source,
        extension_names={c.key: c.extension_name for c in settings.desired.components},
        unlisted_off=settings.desired.unlisted_off,
        by_subscription=_index(rules, Level.SUBSCRIPTION, lambda s: s.subscriptions),
        by_tag=_index(rules, Level.TAG, lambda s: ((s.key, s.value),)),
        by_group=_index(rules, Level.MANAGEMENT_GROUP, lambda s: (s.key,)),
        account_rules=tuple(r for r in rules if r.selector.kind is Level.ACCOUNT_TAG),
        rule_order={r.name: i for i, r in enumerate(rules)},
    )


def default_document(settings: Settings) -> Document:
    """No ENFORCER_DESIRED_STATE: one default, built from the ENFORCER_* settings, and no rules."""
    return build_document(settings, {}, (), "", "")


# --- resolving -----------------------------------------------------------------------------------------------


def _rank(level: Level, depth: int = 0) -> int:
    """Lower wins. Management groups: the nearest parent (depth 0) outranks its ancestors."""
    return level * 1000 + depth


def matching_rules(facts: SubscriptionInfo, document: Document) -> list[Matched]:
    """Every subscription rule that matches the facts, highest precedence first (document order within a rank)."""
    found: list[Matched] = []
    for rule in document.by_subscription.get(facts.subscription_id.lower(), ()):
        found.append(Matched(rule, _rank(Level.SUBSCRIPTION), f"subscription id {facts.subscription_id.lower()}"))
    if document.by_tag:
        tagged: dict[str, Rule] = {}  # by name: two tag keys that differ only in case match a rule once
        for tag_key, tag_value in facts.tags.items():
            key = tag_key.lower()  # Azure tag names are case-insensitive (Selector.matches_tags)
            for rule in (*document.by_tag.get((key, tag_value), ()), *document.by_tag.get((key, None), ())):
                tagged.setdefault(rule.name, rule)
        found += [Matched(rule, _rank(Level.TAG), rule.selector.describe()) for rule in tagged.values()]
    for depth, group in enumerate(facts.management_groups):
        for rule in document.by_group.get(group.lower(), ()):
            found.append(Matched(rule, _rank(Level.MANAGEMENT_GROUP, depth), f"ancestor management group {group}"))
    order = document.rule_order
    found.sort(key=lambda m: (m.rank, order[m.rule.name]))
    return found


def _pick(
    matched: list[Matched], base: Mapping[str, str], base_rule: str, names: tuple[str, ...], scope: str
) -> tuple[dict[str, str], dict[str, str]]:
    values: dict[str, str] = {}
    winners: dict[str, str] = {}
    for name in names:
        winner: Matched | None = None
        for m in matched:
            if name not in m.rule.values:
                continue
            if winner is None:
                winner = m
            elif m.rank != winner.rank:
                break
            elif m.rule.values[name] != winner.rule.values[name]:
                raise ResolveConflict(
                    scope, name, winner.rule.name, m.rule.name, (winner.rule.values[name], m.rule.values[name])
                )
        values[name] = winner.rule.values[name] if winner else base[name]
        winners[name] = winner.rule.name if winner else base_rule
    return values, winners


def resolve(facts: SubscriptionInfo, document: Document) -> Resolution:
    """The desired state for one subscription: per field, the highest-precedence matching rule that sets it,
    else the default. Raises ResolveConflict when two same-level rules match and disagree."""
    matched = matching_rules(facts, document)
    values, winners = _pick(
        matched, document.default, DEFAULT_RULE, FIELDS, f"subscription {facts.subscription_id.lower()}"
    )
    return Resolution(facts.subscription_id.lower(), values, winners, tuple(matched), document.hash)


@dataclass(frozen=True)
class AccountResolution:
    protection: AccountProtection
    rule: str
    matched: tuple[Matched, ...] = ()


def resolve_account(
    resolution: Resolution, account_tags: Mapping[str, str] | None, document: Document, resource_id: str
) -> AccountResolution:
    """Account protection for one account: an account-tag rule that matches wins, else the subscription's value."""
    matched = [
        Matched(r, _rank(Level.ACCOUNT_TAG), r.selector.describe())
        for r in document.account_rules
        if r.selector.matches_tags(account_tags)
    ]
    values, winners = _pick(
        matched, resolution.values, resolution.winners[ACCOUNT_FIELD], (ACCOUNT_FIELD,), f"account {resource_id}"
    )
    return AccountResolution(AccountProtection(values[ACCOUNT_FIELD]), winners[ACCOUNT_FIELD], tuple(matched))


def deciding_rule(resolution: Resolution, document: Document, changed_fields: tuple[str, ...] = ()) -> str:
    """The rule(s) a record names: for an exempt subscription the mode's winner; otherwise the winners of the fields
    a change touches (the tier follows the mode's rule), then every other rule that won a plan field (it shaped
    the PUT even where the value did not change), else `default`."""
    if resolution.mode is ScopeMode.EXEMPT:
        return resolution.winners[MODE_FIELD]
    by_extension = {name.lower(): key for key, name in document.extension_names.items()}
    names: list[str] = []
    for changed in changed_fields:
        key = by_extension.get(changed.removeprefix("extensions.").lower())
        names.append(resolution.winners[f"components.{key}"] if key else resolution.winners[MODE_FIELD])
    names += [resolution.winners[f] for f in FIELDS if f != ACCOUNT_FIELD and resolution.winners[f] != DEFAULT_RULE]
    return ", ".join(dict.fromkeys(names)) or DEFAULT_RULE


# Every subscription sits under at least the tenant root group, so empty ancestry means "not read" (a path that
# reads the subscription only, such as an event). Writing then could undo a management-group rule the sweep
# enforces, so such a path reports instead and the sweep, which reads the ancestry, writes. Our reading.
ANCESTRY_UNKNOWN: Final = "management-group ancestry not known on this path; the sweep enforces"


def ancestry_unknown(document: Document, facts: SubscriptionInfo) -> bool:
    """True when management-group rules exist but the facts carry no ancestry (see ANCESTRY_UNKNOWN)."""
    return bool(document.by_group) and not facts.management_groups


def restrict_to(desired: DesiredState, keys: set[str]) -> DesiredState:
    """`desired` with only the components `keys` names (the sweep's daily catalogue leaves unoffered ones out)."""
    return DesiredState(tuple(c for c in desired.components if c.key in keys), unlisted_off=desired.unlisted_off)
