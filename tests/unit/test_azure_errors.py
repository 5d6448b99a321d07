"""Error messages name the subscription only when there is one."""

from __future__ import annotations

from azure.core.exceptions import ServiceRequestError

from enforcer.adapters.azure_errors import ALL_SUBSCRIPTIONS, classify


def test_a_failed_listing_does_not_say_on_subscription_all():
    error = classify(ServiceRequestError("connection refused"), action="list subscriptions", subscription_id="(all)")
    assert ALL_SUBSCRIPTIONS == "(all)"
    assert "(all)" not in str(error) and "on subscription" not in str(error)
    assert "to list subscriptions:" in str(error)


def test_a_failed_call_on_one_subscription_names_it():
    error = classify(ServiceRequestError("boom"), action="read pricings/AI", subscription_id="abc")
    assert "to read pricings/AI on subscription abc:" in str(error)
