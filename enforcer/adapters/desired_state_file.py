"""ENFORCER_DESIRED_STATE: the desired-state document is a file deployed with the app (issue 20).

Why a file in the package and not a blob or an app setting: it is versioned with the code and reviewed in the same
pull request, a deployment carries it atomically with the code that reads it, and reading it needs no data-plane
role. Read once when the services are built, so an invalid document stops the app at start, not mid-sweep.
"""

from __future__ import annotations

from pathlib import Path

from enforcer.core.desired_state import Document, default_document
from enforcer.core.desired_state_loader import DesiredStateError, parse_document
from enforcer.core.settings import ConfigError, Settings

SETTING = "ENFORCER_DESIRED_STATE"
# The app root: the folder that holds function_app.py and the enforcer package (what the deployment zips).
APP_ROOT = Path(__file__).resolve().parents[2]


def read_document_file(path: Path, settings: Settings, *, source: str | None = None) -> Document:
    """Read and check one document file; a missing or unreadable file is a ConfigError naming the path."""
    name = source or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ConfigError(f"cannot read {name}: {reason}; fix: deploy the file with the app or fix the path") from None
    return parse_document(text, name, settings)


def load_desired_state(settings: Settings, app_root: Path = APP_ROOT) -> Document:
    """The document ENFORCER_DESIRED_STATE names (relative to the app root), or the settings-only default."""
    if not settings.desired_state_path:
        return default_document(settings)
    try:
        return read_document_file(app_root / settings.desired_state_path, settings, source=settings.desired_state_path)
    except DesiredStateError as error:
        raise DesiredStateError(f"{SETTING}={error.source}", error.problems) from None
    except ConfigError as error:
        raise ConfigError(f"{SETTING}: {error}") from None
