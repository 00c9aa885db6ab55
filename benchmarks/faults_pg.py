"""A private PostgreSQL cluster for the fault figures: Debian's binaries, a temporary folder, a
free loopback port (never the developer's server on 54329, which others' tests use), removed
when done. Run as root, the server runs as the `postgres` user, as .ci/run does."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from faults_setup import free_port


def _as_pg(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["su", "postgres", "-c", shlex.join(cmd)]


@contextmanager
def private_pg() -> Iterator[tuple[str, list[str]]]:
    """(SQLAlchemy URL, the command that restarts the server) of a fresh cluster."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not bins:
        raise RuntimeError("no PostgreSQL under /usr/lib/postgresql (apt-get install postgresql)")
    pgbin = bins[-1]
    # A folder of its own under /tmp: the server's user must reach it.
    folder = Path(tempfile.mkdtemp(prefix="openlfr-faults-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    run = lambda cmd: subprocess.run(_as_pg(cmd), check=True, capture_output=True, timeout=120)  # noqa: E731
    run([str(pgbin / "initdb"), "-D", str(folder), "-A", "trust", "-U", "postgres"])
    opts = f"-k /tmp -p {port} -h 127.0.0.1"
    ctl = [str(pgbin / "pg_ctl"), "-D", str(folder), "-l", str(folder / "log")]
    run([*ctl, "-o", opts, "-w", "start"])
    try:
        psql = [str(pgbin / "psql"), "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
        run([*psql, "-c", "CREATE ROLE openlfr LOGIN"])
        run([*psql, "-c", "CREATE DATABASE openlfr_faults OWNER openlfr"])
        url = f"postgresql+psycopg://openlfr@127.0.0.1:{port}/openlfr_faults"
        yield url, _as_pg([*ctl, "-m", "fast", "-o", opts, "-w", "restart"])
    finally:
        subprocess.run(_as_pg([*ctl, "-m", "immediate", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
