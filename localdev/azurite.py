"""Run Azurite's Table service (npm `azurite`, installed by `make install` / `npm ci`) on a free loopback port."""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Final, Self

from enforcer.adapters.closing import RunsWhileEntered

logger = logging.getLogger(__name__)

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
ACCOUNT_NAME: Final = "devstoreaccount1"
# Azurite's documented development account key (public, not a secret).
ACCOUNT_KEY: Final = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class AzuriteError(RuntimeError):
    """Azurite is not installed, or did not start."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def azurite_table_binary(repo_root: Path = REPO_ROOT) -> Path:
    binary = repo_root / "node_modules" / ".bin" / "azurite-table"
    if not binary.exists():
        raise AzuriteError(
            f"{binary} not found: Azurite is not installed. Run `make install` (or `npm ci` in {repo_root})."
        )
    if shutil.which("node") is None:
        raise AzuriteError("`node` is not on PATH; Azurite 3.35 needs Node.js 20 (3.36+ needs Node 22).")
    return binary


class AzuriteProcess(RunsWhileEntered):
    """One `azurite-table` process on 127.0.0.1; in memory unless `location` is given.

    `stop()` and `start()`/`restart()` keep the port, so a client built from `connection_string` works again
    after a restart. An in-memory Azurite forgets its tables when it stops; with `location` it keeps them.
    """

    def __init__(self, port: int | None = None, *, location: Path | None = None, repo_root: Path = REPO_ROOT) -> None:
        self.port = port or free_port()
        self.location = location
        self._repo_root = repo_root
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT_NAME};"
        )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _command(self) -> list[str]:
        command = [
            str(azurite_table_binary(self._repo_root)),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(self.port),
            "--silent",
            "--skipApiVersionCheck",
            "--disableProductStyleUrl",
            "--disableTelemetry",
        ]
        if self.location is None:
            command.append("--inMemoryPersistence")
        else:
            command += ["--location", str(self.location)]
        return command

    def start(self, timeout: float = 30.0) -> Self:
        if self.running:
            return self
        command = self._command()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process; closed by stop()
        self._process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                output = self._output()
                self.stop()
                raise AzuriteError(f"azurite-table exited with code {code}: {output[-2000:]}")
            if self._answers():
                logger.info("Azurite table service listening on 127.0.0.1:%d", self.port)
                return self
            time.sleep(0.1)
        self.stop()
        raise AzuriteError(f"azurite-table did not answer on 127.0.0.1:{self.port} within {timeout:.0f} s")

    def _output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def _answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            connection.request("GET", f"/{ACCOUNT_NAME}/Tables")
            connection.getresponse().read()
            return True  # any HTTP answer (403 without a signature) means it is serving
        except OSError:
            return False
        finally:
            connection.close()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            logger.info("Azurite on 127.0.0.1:%d stopped", self.port)
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self, timeout: float = 30.0) -> Self:
        self.stop()
        return self.start(timeout)


def main(argv: list[str] | None = None) -> int:
    """`python -m localdev.azurite`: run Azurite in memory and print its connection string."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=10002)
    args = parser.parse_args(argv)
    with AzuriteProcess(args.port) as azurite:
        print(f"ENFORCER_STORAGE='{azurite.connection_string}'", flush=True)
        print("Azurite is running in memory; Ctrl-C stops it.", flush=True)
        try:
            while azurite.running:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
