"""Benchmarks run only when asked: `pytest benchmarks --benchmark-only` (not part of the default test run).

Threads are pinned (CLARIANT_BENCH_THREADS, default 2) so figures compare across machines; the thread count and
torch version go into each saved run's machine info.
"""

import os

import pytest
import torch

THREADS = int(os.environ.get("CLARIANT_BENCH_THREADS", "2"))


def pytest_configure(config):
    torch.set_num_threads(THREADS)


@pytest.hookimpl
def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["torch"] = torch.__version__
    machine_info["torch_threads"] = torch.get_num_threads()
    machine_info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
