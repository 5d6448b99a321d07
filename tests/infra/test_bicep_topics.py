"""The Event Grid system topics: each one's `source` and `topicType`, read from the Bicep.

Event Grid only delivers the events of a topic whose source names the scope the way Azure names it; a wrong
source fails the deployment or, worse, gives a topic that never fires. The expected forms are Microsoft's:
- a subscription: its id, as `subscription().id` gives it;
- a management group: `/tenants/<tenant id>/providers/Microsoft.Management/managementGroups/<group>`, the form
  https://learn.microsoft.com/azure/governance/policy/tutorials/route-state-change-events creates the
  PolicyStates topic with.
"""

from __future__ import annotations

from tests.infra.bicep_text import render, system_topics

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
