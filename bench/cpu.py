"""Where the machine's CPU went during a load run, from Linux's /proc (no other tool needed).

A throughput figure alone cannot say whether a target is out of reach on a given machine; the CPU
each request costs can. `CpuMeter` reads the machine's busy time and that of chosen processes (the
server, the PostgreSQL backends) before and after a run. With the cost of one request in
CPU-milliseconds, `cores / cost` is the most the machine can answer per second however the work is
spread over processes, and `1 / server cost` the most one server process can.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time spent not idle, summed over all cores (user, nice, system, irq, softirq, steal)."""
    fields = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


def _process_seconds(stat: str) -> float:
    # The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
    after = stat[stat.rindex(")") + 2 :].split()
    return (int(after[11]) + int(after[12])) / TICKS  # utime, stime


Match = Callable[[int, str, str], bool]


def processes_seconds(match: Match) -> float:
    """CPU time used so far by the live processes for which match(pid, command name, command line) holds."""
    total = 0.0
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if match(int(entry.name), name, cmdline):
            total += _process_seconds(stat)
    return total


def is_postgres(_pid: int, name: str, cmdline: str) -> bool:
    return name == "postgres" or cmdline.startswith("postgres:")


@dataclass
class CpuMeter:
    """CPU seconds used between `start()` and `stop()`: the whole machine and named groups of processes."""

    groups: dict[str, Match]
    used: dict[str, float] = field(default_factory=dict)
    _before: dict[str, float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        now = {name: processes_seconds(match) for name, match in self.groups.items()}
        now["machine"] = machine_busy_seconds()
        return now

    def start(self) -> None:
        self._before = self._now()

    def stop(self) -> None:
        after = self._now()
        self.used = {name: after[name] - self._before[name] for name in after}

    def per_request_ms(self, requests: int) -> dict[str, float]:
        """CPU milliseconds per request for each group, "machine" and "rest" (machine minus the groups)."""
        out = {name: seconds * 1000 / max(requests, 1) for name, seconds in self.used.items()}
        out["rest"] = out["machine"] - sum(v for k, v in out.items() if k != "machine")
        return out
