"""Argument types shared by the commands: a number flag is a finite number in its range, or a usage error."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from enforcer.core.text import is_guid


def subscription_id(value: str) -> str:
    """An argparse `type`: a subscription id (GUID), lower-cased; anything else is a usage error (exit 2)."""
    if not is_guid(value.strip()):
        raise argparse.ArgumentTypeError(f"{value[:80]!r} is not a subscription id (GUID)")
    return value.strip().lower()


def finite_number(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """An argparse `type`: a float in [low, high] (or (low, high] with `low_open`). `inf`, `nan` and words are
    refused with a message that gives the range, so argparse exits 2 instead of a traceback further on."""
    lower = f"above {low:g}" if low_open else f"at least {low:g}"
    allowed = f"a number {lower} and at most {high:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number; expected {allowed}") from None
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is out of range; expected {allowed}")
        return value

    return parse
