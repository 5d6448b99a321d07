"""Replays official Microsoft.EventGrid examples against the emulator's Event Grid management API.

Source: Azure/azure-rest-api-specs, specification/eventgrid/resource-manager/Microsoft.EventGrid/stable/2022-06-15/
examples/SystemTopicEventSubscriptions_CreateOrUpdate.json (commit e50c926) and SystemTopics_Get.json (commit
598efa6). The requests and the documented responses below are taken from those files (ids and values as there).
The one-topic-per-source answer is the error Azure published (MicrosoftDocs/azure-docs PR #97986).
"""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.contract

SUB = "5b4b650e-28b9-4790-b3ab-ddbd88d727c4"
TOPICS = f"/subscriptions/{SUB}/resourceGroups/examplerg/providers/Microsoft.EventGrid/systemTopics"
HEADERS = {"Authorization": "Bearer emulator-token"}


def test_system_topic_event_subscriptions_create_or_update(emulator):
    emulator.add_subscription(SUB)
    topic_id = emulator.eventgrid.add_topic(SUB, "examplerg", "exampleSystemTopic1")
    request = {
        "properties": {
            "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": "https://requestb.in/15ksip71"}},
            "filter": {
                "isSubjectCaseSensitive": False,
                "subjectBeginsWith": "ExamplePrefix",
                "subjectEndsWith": "ExampleSuffix",
            },
        }
    }
    answer = requests.put(
        f"{emulator.url}{topic_id}/eventSubscriptions/exampleEventSubscriptionName1?api-version=2022-06-15",
        json=request,
        headers=HEADERS,
        timeout=10,
    )
    assert answer.status_code == 201
    assert answer.json() == {
        "properties": {
            "destination": {
                "properties": {"endpointBaseUrl": "https://requestb.in/15ksip71"},
                "endpointType": "WebHook",
            },
            "filter": {
                "isSubjectCaseSensitive": False,
                "subjectBeginsWith": "ExamplePrefix",
                "subjectEndsWith": "ExampleSuffix",
            },
            "labels": None,
            "eventDeliverySchema": "EventGridSchema",
            "retryPolicy": {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440},
            "provisioningState": "Succeeded",
            "topic": f"{TOPICS}/exampleSystemTopic1",
        },
        "id": f"{TOPICS}/exampleSystemTopic1/eventSubscriptions/exampleEventSubscriptionName1",
        "name": "exampleEventSubscriptionName1",
        "type": "Microsoft.EventGrid/systemTopics/eventSubscriptions",
    }


def test_system_topics_get(emulator):
    emulator.add_subscription(SUB)
    source = (
        f"/subscriptions/{SUB}/resourceGroups/azureeventgridrunnerrgcentraluseuap/providers/"
        "microsoft.storage/storageaccounts/pubstgrunnerb71cd29e"
    )
    topic_id = emulator.eventgrid.add_topic(
        SUB,
        "examplerg",
        "exampleSystemTopic2",
        source=source,
        topic_type="microsoft.storage.storageaccounts",
        location="centraluseuap",
    )
    answer = requests.get(f"{emulator.url}{topic_id}?api-version=2022-06-15", headers=HEADERS, timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"properties", "location", "tags", "id", "name", "type"}
    assert set(body["properties"]) == {"provisioningState", "source", "topicType", "metricResourceId"}
    assert body["properties"]["source"] == source
    assert body["properties"]["topicType"] == "microsoft.storage.storageaccounts"
    assert (body["location"], body["tags"], body["name"]) == ("centraluseuap", None, "exampleSystemTopic2")
    assert body["id"] == f"{TOPICS}/exampleSystemTopic2"
    assert body["type"] == "Microsoft.EventGrid/systemTopics"


def test_a_second_topic_for_one_source_is_refused_with_azures_error(emulator):
    emulator.add_subscription(SUB)
    emulator.eventgrid.add_topic(SUB, "rg-one", "first")
    answer = requests.put(
        f"{emulator.url}/subscriptions/{SUB}/resourceGroups/rg-one/providers/Microsoft.EventGrid/systemTopics/second"
        "?api-version=2025-02-15",
        json={
            "location": "global",
            "properties": {"source": f"/subscriptions/{SUB}", "topicType": "Microsoft.Resources.Subscriptions"},
        },
        headers=HEADERS,
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": {
            "code": "InvalidRequest",
            "message": f"There is an existing tracked system topic for the given source /subscriptions/{SUB}. "
            "Only one system topic is allowed per source.",
        }
    }
