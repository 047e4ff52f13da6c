"""Benchmarks run only when asked: `pytest benchmarks --benchmark-only` (not part of the default test run).

Threads are pinned (CLARIANT_BENCH_THREADS, default 2) so figures compare across machines. Each saved run records
the machine (`pytest_benchmark_update_machine_info`): CPU model, torch and its threads, and where there is a GPU its
name, driver and CUDA version. A benchmark that takes a `device` argument runs on every device present (cpu, cuda:0
when there is one); one that takes `precision` runs in every precision mode of clariant_core.numerics.PRECISIONS that
`BENCH_PRECISIONS` lists, skipped with the reason where the device lacks it. `clariant bench compare` puts runs side by
side (docs/benchmarks.md).
"""

import os

import pytest
import torch

from clariant_core.allocator import retain_freed_memory
from clariant_core.devices import available, cpu_model, gpu_driver
from clariant_core.numerics import PRECISIONS

THREADS = int(os.environ.get("CLARIANT_BENCH_THREADS", "2"))
DEVICES = [str(d) for d in available()[:2]]  # the CPU and the first GPU
BENCH_PRECISIONS = ("float64", "float32", "tf32", "autocast-bf16")


def pytest_configure(config):
    torch.set_num_threads(THREADS)


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", DEVICES)
    if "precision" in metafunc.fixturenames:
        metafunc.parametrize("precision", BENCH_PRECISIONS)


@pytest.fixture
def mode(device, precision):
    """The Precision of `precision`, skipped with the reason where `device` cannot run it."""
    prec = PRECISIONS[precision]
    why = prec.unavailable(device)
    if why:
        pytest.skip(why)
    return prec


@pytest.hookimpl
def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["cpu_model"] = cpu_model()
    machine_info["torch"] = torch.__version__
    machine_info["torch_threads"] = torch.get_num_threads()
    machine_info["malloc"] = retain_freed_memory()
    gpu = torch.cuda.is_available()
    machine_info["gpu"] = torch.cuda.get_device_name(0) if gpu else None
    machine_info["driver"] = gpu_driver() if gpu else None
    machine_info["cuda_version"] = torch.version.cuda if gpu else None
