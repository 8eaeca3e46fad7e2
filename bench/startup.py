"""Start-up cost: import + app creation time and resident memory, with every built-in plugin enabled.

    python -m bench.startup

Each measurement runs in a fresh interpreter (imports are cached within one), five times; the script
prints the median and the worst. Target on the 2-core machine: under 1 s and under 80 MiB.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys

PROBE = r"""
import json, os, resource, sys, tempfile, time
started = time.perf_counter()
from core.app import create_app
from core.config import generate_secrets, settings_from_dict
from core.plugins import discover
from pathlib import Path
imported = time.perf_counter()
tmp = tempfile.mkdtemp()
builtins = [d.name for d in discover().values() if d.origin == "built-in"]
settings = settings_from_dict(
    {"security": generate_secrets(), "database": {"url": f"sqlite:///{tmp}/a.sqlite3"},
     "plugins": {"enabled": builtins}, "plugin": {"audit_jsonl": {"path": f"{tmp}/a.jsonl"}}},
    Path(tmp), None, env={},
)
app = create_app(settings)
created = time.perf_counter()
rss = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
print(json.dumps({"import_s": imported - started, "create_s": created - imported,
                  "total_s": created - started, "rss_mib": rss / 2**20, "plugins": builtins}))
"""


def main(runs: int = 5) -> None:
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        f"machine: {platform.processor() or platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {len(__import__('os').sched_getaffinity(0))} cores"
    )
    print(f"built-in plugins enabled: {', '.join(results[0]['plugins']) or 'none'}")
    for key, unit in (("import_s", "s"), ("create_s", "s"), ("total_s", "s"), ("rss_mib", "MiB")):
        values = [r[key] for r in results]
        print(f"{key:>9}: median {statistics.median(values):.3f} {unit}, worst {max(values):.3f} {unit}")


if __name__ == "__main__":
    main()
