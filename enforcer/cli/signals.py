"""SIGINT/SIGTERM during a CLI run: stop starting new work, let work in flight finish, record and print it.

A second signal interrupts at once (KeyboardInterrupt). The command exits 130 when it was stopped.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Final

EXIT_INTERRUPTED: Final = 130


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM set `stop` (only in the main thread, where Python delivers signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print(
            f"{signal.Signals(signum).name}: stopping; no new subscription is started, the ones in flight finish "
            "and are recorded (send it again to interrupt at once)",
            file=sys.stderr,
        )

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
