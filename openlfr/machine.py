"""What this machine offers the process: how many cores it may use."""

from __future__ import annotations

import os


def cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container or `taskset`
    limits it), not the host's count that `os.cpu_count` gives."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
