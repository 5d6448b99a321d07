"""One way for adapters that hold clients to be used in a `with` block."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class ClosesOnExit:
    """`with adapter:` calls `adapter.close()` on the way out."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class RunsWhileEntered:
    """`with server:` starts a local stand-in (emulator, Azurite, webhook sink) and stops it on the way out."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
