"""How busy the machine was: benchmarks report it beside each figure they take."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by the whole machine and by this process (Linux)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    machine = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    own = os.times()
    return machine, own.user + own.system
