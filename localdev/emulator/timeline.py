"""What the emulator's request records say about concurrency (issue 19 (f)): the longest chain of requests in
which each started after the one before it ended. At a fixed latency per call, that chain is what a handler's ARM
work costs in wall time; requests that overlapped count once."""

from __future__ import annotations

from collections.abc import Iterable

from localdev.emulator.server import RequestRecord


def sequential_round_trips(records: Iterable[RequestRecord]) -> int:
    """The length of the longest chain of requests each of which started after the previous one ended."""
    chains: list[tuple[float, int]] = []  # (end, length of the longest chain ending with this request)
    for record in sorted(records, key=lambda r: r.started):
        before = [length for end, length in chains if end <= record.started]
        chains.append((record.ended, max(before, default=0) + 1))
    return max((length for _, length in chains), default=0)


def overlaps(a: RequestRecord, b: RequestRecord) -> bool:
    """Whether two requests were in the emulator at the same time."""
    return a.started < b.ended and b.started < a.ended
