"""The Event Grid system topics: each one's `source` and `topicType`, read from the Bicep.

Event Grid only delivers the events of a topic whose source names the scope the way Azure names it; a wrong
source fails the deployment or, worse, gives a topic that never fires. The expected forms are Microsoft's:
- a subscription: its id, as `subscription().id` gives it;
- a management group: `/tenants/<tenant id>/providers/Microsoft.Management/managementGroups/<group>`, the form
  https://learn.microsoft.com/azure/governance/policy/tutorials/route-state-change-events creates the
  PolicyStates topic with.
"""

from __future__ import annotations

import re

from tests.infra.bicep_text import (
    INFRA,
    blocks,
    declarations,
    entry_value,
    literal,
    object_entries,
    read,
    render,
    system_topics,
)

SUBSCRIPTION_ID = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"
TENANT_ID = "0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a"
MANAGEMENT_GROUP = "mg-landing-zones"

# What each Bicep expression a source may use stands for, in one example deployment.
DEPLOYMENT = {
    "subscription().id": f"/subscriptions/{SUBSCRIPTION_ID}",
    "subscription().subscriptionId": SUBSCRIPTION_ID,
    "tenant().tenantId": TENANT_ID,
    "managementGroupId": MANAGEMENT_GROUP,
}

# topicType -> the source Azure expects for it in that deployment.
EXPECTED_SOURCES = {
    "Microsoft.Resources.Subscriptions": f"/subscriptions/{SUBSCRIPTION_ID}",
    "Microsoft.PolicyInsights.PolicyStates": (
        f"/tenants/{TENANT_ID}/providers/Microsoft.Management/managementGroups/{MANAGEMENT_GROUP}"
    ),
}


def test_the_bicep_declares_one_system_topic_of_each_expected_type() -> None:
    declared = sorted(topic.topic_type for topic in system_topics())
    assert declared == sorted(EXPECTED_SOURCES), [(t.path, t.name, t.topic_type) for t in system_topics()]


def test_every_system_topic_source_is_the_form_azure_expects() -> None:
    for topic in system_topics():
        source = render(topic.source, DEPLOYMENT)
        expected = EXPECTED_SOURCES[topic.topic_type]
        assert source == expected, f"{topic.path}:{topic.name}: source {topic.source} is {source}, not {expected}"


def source_of(topic_type: str, deployment: dict[str, str]) -> str:
    """The source the Bicep gives the system topic of this type, rendered for a deployment."""
    (topic,) = (t for t in system_topics() if t.topic_type == topic_type)
    return render(topic.source, deployment)


# --- one system topic per source: ours only where none exists ---------------------------------------------


def module_tree(root: str) -> set[str]:
    """Files deployed by root (relative to infra/), root included, following module references."""
    seen: set[str] = set()
    pending = [root]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        folder = (INFRA / path).parent
        for block in blocks((INFRA / path).read_text(encoding="utf-8")):
            if block.kind == "module":
                pending.append((folder / block.target).resolve().relative_to(INFRA).as_posix())
    return seen


def test_system_topics_are_created_only_after_the_hook_has_looked_for_existing_ones() -> None:
    # main.bicep runs before postprovision.sh looks for existing topics; events.bicep runs after it.
    topic_files = {topic.path for topic in system_topics()}
    assert topic_files <= module_tree("events.bicep")
    assert not topic_files & module_tree("main.bicep"), topic_files & module_tree("main.bicep")


def declaration_line(text: str, symbol: str) -> str:
    (line,) = (line for line in text.splitlines() if re.match(rf"(module|resource) {symbol} ", line))
    return line


def test_events_bicep_creates_a_topic_only_for_a_source_without_a_named_one() -> None:
    events = read("events.bicep")
    topic_modules = {
        b.target: b.name for b in blocks(events) if b.kind == "module" and b.target.endswith("-topic.bicep")
    }
    assert set(topic_modules) == {"modules/subscription-events-topic.bicep", "modules/policy-states-topic.bicep"}
    per_subscription = declaration_line(events, topic_modules["modules/subscription-events-topic.bicep"])
    assert "if (!contains(existingResourceEventsTopicIds, toLower(subscriptionId)))" in per_subscription
    policy = declaration_line(events, topic_modules["modules/policy-states-topic.bicep"])
    assert "if (!empty(managementGroupId) && empty(existingPolicyTopicId))" in policy


def test_topic_ids_are_split_at_the_places_of_subscription_group_and_name() -> None:
    events = declarations(read("events.bicep"))
    values = {
        "subscriptionId": SUBSCRIPTION_ID,
        "eventsResourceGroupName": "rg-events",
        "resourceEventsTopicName": "evgst-resources",
        "subscription().subscriptionId": SUBSCRIPTION_ID,
        "hostingResourceGroupName": "rg-hosting",
        "policyTopicName": "evgst-policy",
    }
    ours_by_subscription = re.search(
        r"'\$\{toLower\(subscriptionId\)\}': ('[^']*')", events.variables["resourceEventsTopicIds"]
    )
    assert ours_by_subscription, events.variables["resourceEventsTopicIds"]
    ours_policy = re.match(
        r"empty\(existingPolicyTopicId\) \? ('[^']*') : existingPolicyTopicId$", events.variables["policyTopicId"]
    )
    assert ours_policy, events.variables["policyTopicId"]
    for expression, group, name in (
        (ours_by_subscription.group(1), "rg-events", "evgst-resources"),
        (ours_policy.group(1), "rg-hosting", "evgst-policy"),
    ):
        parts = render(expression, values).split("/")
        # events.bicep reads these indexes (split(..., '/')[2], [4], [8]) for scope and topic name.
        assert (parts[2], parts[4], parts[8]) == (SUBSCRIPTION_ID, group, name), parts
    text = read("events.bicep")
    assert "split(resourceEventsTopicIds[i], '/')[2], split(resourceEventsTopicIds[i], '/')[4]" in text
    assert "topicName: split(resourceEventsTopicIds[i], '/')[8]" in text
    assert "resourceGroup(policyTopicIdParts[2], policyTopicIdParts[4])" in text
    assert "topicName: policyTopicIdParts[8]" in text


def test_event_subscriptions_on_shared_system_topics_are_named_per_deployment() -> None:
    # Two azd environments reuse the same system topic of a source; a fixed event subscription name would let
    # the second overwrite the first one's delivery. Names: 3-64 letters, digits and hyphens
    # (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsofteventgrid).
    main = declarations(read("main.bicep"))
    token = "x" * 13  # uniqueString() is 13 characters
    function_app_name = render(main.variables["functionAppName"], {"resourceToken": token})
    events_text = read("events.bicep")
    events = declarations(events_text)
    assert events.variables["systemTopicSubscriptionPrefix"] == "functionAppName"
    system_subscriptions = [
        object_entries(entry_value(b.body, "params"))
        for b in blocks(events_text)
        if b.target == "modules/event-subscription.bicep"
    ]
    names = [
        render(p["subscriptionName"], {"systemTopicSubscriptionPrefix": function_app_name})
        for p in system_subscriptions
        if literal(p["topicKind"], {}) == "system"
    ]
    assert len(names) == 2 and len(set(names)) == 2, names
    for name in names:
        assert name.startswith(function_app_name + "-"), name
        assert re.fullmatch(r"[A-Za-z0-9-]{3,64}", name), name


def test_what_events_bicep_creates_is_tagged_as_main_bicep_tags() -> None:
    assert declarations(read("events.bicep")).variables["tags"] == declarations(read("main.bicep")).variables["tags"]
