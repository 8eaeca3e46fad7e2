"""The benchmarks' CPU accounting (bench.cpu), which docs/performance.md uses to show a machine's limits."""

from __future__ import annotations

import os
import sys
import time

import pytest

from bench.cpu import CpuMeter, _process_seconds

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")


def test_a_command_name_with_spaces_and_parentheses_is_parsed() -> None:
    tick = os.sysconf("SC_CLK_TCK")
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    stat = f"4242 (postgres: a (b) c) S 1 1 1 0 -1 0 0 0 0 0 {3 * tick} {2 * tick} 0 0 20 0 1 0"
    assert _process_seconds(stat) == 5.0


def test_the_meter_charges_work_to_the_process_that_did_it() -> None:
    me = os.getpid()
    meter = CpuMeter({"this process": lambda pid, _name, _cmdline: pid == me})
    meter.start()
    began = time.process_time()
    while time.process_time() - began < 0.3:  # 0.3 s of CPU in this process
        pass
    meter.stop()
    cost = meter.per_request_ms(3)
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    assert cost["this process"] >= 100 - tick_ms  # a third of the work per "request"
    assert cost["machine"] >= cost["this process"] - tick_ms  # the machine saw that work too
    assert cost["rest"] == pytest.approx(cost["machine"] - cost["this process"])
