"""A bare azure-core pipeline on the ArmGateway's session, credential and retry policy, for ARM reads no
azure-mgmt package installed here covers (doctor's permissions, the Activity Log)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core import PipelineClient
    from azure.core.rest import HttpRequest

    from enforcer.adapters.arm import ArmGateway


def arm_pipeline_client(arm: ArmGateway, user_agent: str) -> PipelineClient[HttpRequest, Any]:
    """JSON requests through the gateway's retry policy (throttling bounded by the call's `retry_deadline`) and
    its bearer-token policy, on its shared HTTP session."""
    from azure.core import PipelineClient
    from azure.core.pipeline.policies import HeadersPolicy, UserAgentPolicy

    kwargs = arm.client_kwargs()
    return PipelineClient(
        base_url=arm.endpoint,
        policies=[
            HeadersPolicy({"Accept": "application/json"}),
            UserAgentPolicy(user_agent),
            kwargs["retry_policy"],
            kwargs["authentication_policy"],
        ],
        transport=kwargs["transport"],
    )
