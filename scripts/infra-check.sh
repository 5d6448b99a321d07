#!/usr/bin/env sh
# Static checks of infra/ (Bicep) with checkov, in its own virtualenv (.venv-infra at the repository root).
#   scripts/infra-check.sh            exit status: 0 clean, non-zero on a failed check or an unparsed file
# The Bicep CLI is not needed: checkov reads Bicep with its own parser (pycep). That parser silently drops
# files it cannot read, so every .bicep file is parsed here first and an unparsed file fails the check.
set -eu

CHECKOV_VERSION="3.3.30"
ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
VENV="$ROOT/.venv-infra"
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/checkov" ] || ! "$VENV/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
    echo "infra-check: installing checkov $CHECKOV_VERSION into $VENV" >&2
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi

cd "$ROOT"

# Parse every Bicep file with the parser checkov uses, and count the resources it finds.
"$VENV/bin/python" - <<'EOF'
import pathlib
import sys

from pycep import BicepParser

parser = BicepParser()
failed = []
for path in sorted(pathlib.Path("infra").rglob("*.bicep")):
    try:
        template = parser.parse(text=path.read_text(encoding="utf-8"))
    except Exception as exc:  # the parser raises lark errors of several kinds
        failed.append(path)
        print(f"infra-check: cannot parse {path}: {str(exc).splitlines()[0]}", file=sys.stderr)
        continue
    found = {kind: len(template.get(kind) or {}) for kind in ("resources", "modules", "parameters")}
    print(f"infra-check: parsed {path}: {found['resources']} resources, {found['modules']} modules, "
          f"{found['parameters']} parameters")
sys.exit(1 if failed else 0)
EOF

# --skip-download: no call to the Prisma Cloud API for guideline links (offline CI); the checks are local.
exec "$VENV/bin/checkov" -d infra --framework bicep --quiet --compact --skip-download
