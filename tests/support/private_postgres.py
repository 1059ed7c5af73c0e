"""A throwaway PostgreSQL server of the test's own, so a test may stop, crash and restart it.

`initdb` into a fresh temporary directory, `pg_ctl start` on a free port of 127.0.0.1 with
trust authentication, one database created; stopped and deleted afterwards. The machine's
shared server is never touched. PostgreSQL refuses to run as root, so as root the server
runs as the `postgres` OS user in a directory it owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import asyncpg

SERVER_USER = "postgres"
BINARIES = ("initdb", "pg_ctl", "postgres")


def find_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin (or the directory of `pg_ctl` on PATH)."""
    root = Path("/usr/lib/postgresql")
    candidates: list[Path] = []
    if root.is_dir():
        versions = [p for p in root.iterdir() if p.name.isdigit()]
        candidates += [p / "bin" for p in sorted(versions, key=lambda p: int(p.name))[::-1]]
    on_path = shutil.which("pg_ctl")
    if on_path is not None:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in BINARIES):
            return bindir
    return None


def missing_reason() -> str | None:
    """Why a private server cannot be started here, or None when it can."""
    if find_bindir() is None:
        return (
            "needs the PostgreSQL server binaries (initdb, pg_ctl, postgres) under "
            "/usr/lib/postgresql/<version>/bin or on PATH"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root needs a `{SERVER_USER}` OS user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root needs `runuser` to run PostgreSQL as another user"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivatePostgres:
    """One private server. `start()`, then `url`; `restart()`, `stop_server()`,
    `start_server()`, `start_refusing_connections()` and `promote()`; `cleanup()`.

    `settings` are server settings (`max_connections="3"`) given at every start.
    """

    def __init__(self, database: str = "hiwar", settings: Mapping[str, str] | None = None) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError(missing_reason())
        self.bindir = bindir
        self.database = database
        self.root = Path(tempfile.mkdtemp(prefix="hiwar-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "server.log"
        self.port = 0
        self.settings = dict(settings or {})
        self._as_root = os.geteuid() == 0
        if self._as_root:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{SERVER_USER}@127.0.0.1:{self.port}/{self.database}"

    @property
    def dsn(self) -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{self.database}"

    def _run(self, tool: str, *args: str, timeout: float = 120) -> None:
        command = [str(self.bindir / tool), *args]
        if self._as_root:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n{self.server_log()[-3000:]}"
            )

    def server_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _options(self, **extra: str) -> str:
        # Listen only on 127.0.0.1:port; the Unix socket lives in our own directory.
        settings = " ".join(
            f"-c {name}={value}" for name, value in {**self.settings, **extra}.items()
        )
        return f"-p {self.port} -h 127.0.0.1 -k {self.root} {settings}".strip()

    def initdb(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SERVER_USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",  # throwaway: the files initdb writes need not reach the disk
        )

    def _pg_ctl(self, action: str, *args: str) -> None:
        self._run("pg_ctl", action, "-D", str(self.data), "-w", "-t", "60", *args)

    def start_server(self) -> None:
        """Start the server (again) on `self.port`, waiting until it accepts connections."""
        self._pg_ctl("start", "-l", str(self.log_path), "-o", self._options())

    def stop_server(self, mode: str = "fast") -> None:
        """`fast`: sessions ended cleanly; `immediate`: a crash, recovery runs at next start."""
        self._pg_ctl("stop", "-m", mode)

    def start_refusing_connections(self) -> None:
        """Start the server as a standby with hot standby off: it runs, and answers every
        connection with SQLSTATE 57P03 ("the database system is not accepting connections"),
        as a server does while it starts up or recovers from a crash, until `promote()`."""
        signal_file = self.data / "standby.signal"
        signal_file.touch()
        if self._as_root:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(signal_file, entry.pw_uid, entry.pw_gid)
        self._pg_ctl("start", "-l", str(self.log_path), "-o", self._options(hot_standby="off"))

    def promote(self) -> None:
        """End the standby state of `start_refusing_connections`: connections are accepted."""
        self._pg_ctl("promote")

    def restart(self, mode: str = "fast") -> None:
        self._pg_ctl("restart", "-m", mode, "-l", str(self.log_path), "-o", self._options())

    def start(self, attempts: int = 3) -> None:
        """initdb, then start on a free port (another one if it was taken meanwhile)."""
        self.initdb()
        for attempt in range(attempts):
            self.port = free_port()
            try:
                self.start_server()
                break
            except RuntimeError:
                if attempt + 1 == attempts:
                    raise

    async def create_database(self) -> None:
        connection = await asyncpg.connect(
            f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/postgres"
        )
        try:
            await connection.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            await connection.close()

    def cleanup(self) -> None:
        """Stop the server if it runs, and delete its directory."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop_server("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


async def start_private_postgres(
    database: str = "hiwar", settings: Mapping[str, str] | None = None
) -> PrivatePostgres:
    """A started private server with `database` created (the blocking steps off the loop)."""
    server = PrivatePostgres(database, settings)
    try:
        await asyncio.to_thread(server.start)
        await server.create_database()
    except BaseException:
        await asyncio.to_thread(server.cleanup)
        raise
    return server
