#!/usr/bin/env sh
# Run by postdeploy.sh: `python -m enforcer doctor` with the deployed function app's settings, its table printed.
# The checks run as the identity that runs azd (az login), not as the app's managed identity: the permissions
# and identity lines are about you; the app itself runs the catalogue, Resource Graph and table checks once a day
# and `health` shows their result. Never fails the deployment: a failed check is printed with its fix.
#   ENFORCER_DOCTOR_PYTHON   the Python that has the enforcer's requirements (default: .venv/bin/python, python3)
set -u

: "${AZURE_FUNCTION_APP_ID:?missing: run azd provision first}"
python=${ENFORCER_DOCTOR_PYTHON:-}
if [ -z "$python" ]; then
    if [ -x .venv/bin/python ]; then python=.venv/bin/python; else python=python3; fi
fi

# The app's ENFORCER_* settings and the Application Insights connection, as name<TAB>value lines.
settings=$(az functionapp config appsettings list --ids "$AZURE_FUNCTION_APP_ID" \
    --query "[?starts_with(name, 'ENFORCER_') || name == 'APPLICATIONINSIGHTS_CONNECTION_STRING'].[name, value]" \
    --output tsv 2>/dev/null) || {
    echo "postdeploy: doctor skipped: cannot read the app settings of $AZURE_FUNCTION_APP_ID (run: python -m enforcer doctor)" >&2
    exit 0
}
tab=$(printf '\t')
while IFS="$tab" read -r name value; do
    case "$name" in
        ENFORCER_*|APPLICATIONINSIGHTS_CONNECTION_STRING) export "$name=$value" ;;
    esac
done <<SETTINGS
$settings
SETTINGS

# The delivery key is a Key Vault reference in the app settings: read the key itself from the host (never printed).
key=$(az rest --method post --uri "${AZURE_FUNCTION_APP_ID}/host/default/listKeys?api-version=2023-12-01" \
    --query "systemKeys.eventgrid_extension" --output tsv 2>/dev/null) && [ -n "$key" ] && export ENFORCER_EVENT_DELIVERY_KEY="$key"

echo "postdeploy: python -m enforcer doctor (as the signed-in az identity, with the app's settings)"
if [ -n "${ENFORCER_MANAGEMENT_GROUP_ID:-}" ]; then
    "$python" -m enforcer doctor --management-group "$ENFORCER_MANAGEMENT_GROUP_ID"
else
    "$python" -m enforcer doctor
fi
status=$?
case "$status" in
    0) ;;
    1) echo "postdeploy: doctor found failures above; each says its fix. The deployment itself succeeded." >&2 ;;
    *) echo "postdeploy: doctor could not run (exit $status); run it yourself: python -m enforcer doctor" >&2 ;;
esac
exit 0
