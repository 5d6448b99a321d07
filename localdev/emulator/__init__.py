"""A loopback ARM emulator for tests, demos and benchmarks: Microsoft.Security pricings, subscriptions,
resource provider registration and one Resource Graph query, with injectable faults."""

from localdev.emulator.faults import FaultConfig
from localdev.emulator.fleet import FleetMember
from localdev.emulator.server import ARG_QUERY_SHAPE, ArmError, Emulator, RequestRecord
from localdev.emulator.state import DEFAULT_PLANS, ExtensionSpec, PlanSpec

__all__ = [
    "ARG_QUERY_SHAPE",
    "DEFAULT_PLANS",
    "ArmError",
    "Emulator",
    "ExtensionSpec",
    "FaultConfig",
    "FleetMember",
    "PlanSpec",
    "RequestRecord",
]
