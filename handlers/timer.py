"""The drift sweep timer."""

from __future__ import annotations

import logging
from typing import Any

from handlers import runtime

logger = logging.getLogger(__name__)


def on_timer(timer: Any) -> None:
    from enforcer.usecases.sweep import run_sweep

    if getattr(timer, "past_due", False):
        logger.warning("drift sweep is past due; running now")
    summary = run_sweep(runtime.services())
    logger.info("drift sweep finished: %s", summary.to_dict())
