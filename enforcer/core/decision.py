"""The compliance decision: a pure function from observed pricing and desired state to a change.

Rules (from the pricings contract, see README "How the decision works"):
- The plan must be at the Standard tier.
- A component set `on`/`off` must have that value; `unmanaged` keeps whatever value it has.
- An extension the observed pricing does not list counts as off.
- Because a PUT replaces the pricing and extensions left out come back *enabled*, the target
  always lists every observed extension (kept as is) and every configured component explicitly.
- An extension that should be on but whose last operation failed is retried.
- An extension no component names is kept as it is, or (ENFORCER_UNLISTED_COMPONENTS=off) wanted off.
"""

from __future__ import annotations

from enforcer.core.models import (
    STANDARD,
    ComponentSetting,
    DesiredState,
    ExtensionState,
    FieldChange,
    PricingState,
    Remediation,
)

ABSENT = "absent"


def _bool_text(value: bool) -> str:
    return "True" if value else "False"


def _observed_text(ext: ExtensionState | None) -> str:
    if ext is None:
        return ABSENT
    if ext.failed:
        return f"{_bool_text(ext.enabled)} (last operation failed)"
    return _bool_text(ext.enabled)


def decide(observed: PricingState, desired: DesiredState) -> Remediation | None:
    """Return the remediation that brings `observed` to `desired`, or None when it is compliant."""
    changes: list[FieldChange] = []
    if observed.tier != STANDARD:
        changes.append(FieldChange("pricingTier", observed.tier, STANDARD))

    # Keyed case-insensitively; insertion order = observed order, then configured components.
    target: dict[str, ExtensionState] = {e.name.lower(): ExtensionState(e.name, e.enabled) for e in observed.extensions}
    if desired.unlisted_off:
        for ext in observed.extensions:
            if ext.enabled and not desired.is_listed(ext.name):
                changes.append(FieldChange(f"extensions.{ext.name}", _observed_text(ext), _bool_text(False)))
                target[ext.name.lower()] = ExtensionState(ext.name, False)
    for component in desired.components:
        current = observed.extension(component.extension_name)
        current_enabled = current.enabled if current is not None else False
        if component.setting is ComponentSetting.UNMANAGED:
            wanted = current_enabled
        else:
            wanted = component.setting is ComponentSetting.ON
        retry_failed = wanted and current is not None and current.failed
        if wanted != current_enabled or retry_failed:
            changes.append(
                FieldChange(f"extensions.{component.extension_name}", _observed_text(current), _bool_text(wanted))
            )
        name = current.name if current is not None else component.extension_name
        target[component.extension_name.lower()] = ExtensionState(name, wanted)

    if not changes:
        return None
    return Remediation(
        target=PricingState(tier=STANDARD, extensions=tuple(target.values()), sub_plan=observed.sub_plan),
        changes=tuple(changes),
    )
