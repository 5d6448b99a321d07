"""Resource Graph answering an error to every query (FaultConfig.resource_graph_error): what the enforcer's
fallbacks meet when Resource Graph is down or cannot be reached.

The codes and messages are OUR READING: Resource Graph documents 429 (throttling) and 400 (bad query) bodies; a
404 (for example a provider endpoint missing from a sovereign or private cloud) and a 500 are answered here in ARM's
CloudError shape, which is what the azure-core pipeline turns into an HttpResponseError either way.
"""

from __future__ import annotations

from typing import Final

_ANSWERS: Final = {
    404: ("NotFound", "The resource 'Microsoft.ResourceGraph/resources' was not found."),
    500: ("InternalServerError", "Encountered internal server error. Please retry the request."),
    503: ("ServiceUnavailable", "Azure Resource Graph is temporarily unavailable. Please retry later."),
}


def resource_graph_failure(status: int) -> tuple[int, str, str]:
    """(status, error code, message) of the CloudError Resource Graph answers with."""
    code, message = _ANSWERS.get(status, ("Error", f"Azure Resource Graph answered {status}."))
    return status, code, message
