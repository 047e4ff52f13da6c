"""The malloc settings clariant_core applies on import (allocator.py): what they change, measured by the page faults
of a loop that frees its temporaries the way a model call does, in fresh processes with and without them."""

import os
import platform
import subprocess
import sys

import pytest

from clariant_core import allocator

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# five float64 forwards of the LGN (64 jets × 45 particles, one thread) after a first one: each frees tens of MB of
# temporaries, which by default go back to the kernel and are faulted in again by the next call
LOOP = """
import resource, torch, clariant_core as cc
from clariant.validate.strategies import random_jets
from clariant_core.allocator import retain_freed_memory
torch.set_num_threads(1)
torch.manual_seed(0)
model = cc.LGN().to(torch.float64).eval()
p, mask = random_jets(64, 45, seed=1, min_particles=45)
with torch.no_grad():
    model(p, mask)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        model(p, mask)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(retain_freed_memory())
"""


def _faults(setting: str) -> tuple[int, str]:
    env = {**os.environ, allocator.ENV: setting}
    out = subprocess.run([sys.executable, "-c", LOOP], env=env, capture_output=True, text=True, check=True)
    faults, state = out.stdout.strip().splitlines()
    return int(faults), state


@pytest.mark.skipif(not GLIBC, reason="the settings exist only in glibc (Linux); elsewhere nothing is changed")
def test_freed_temporaries_are_reused_without_page_faults():
    kept, kept_state = _faults("retain")
    system, system_state = _faults("system")
    assert "keeps up to 256 MiB freed" in kept_state
    assert "CLARIANT_MALLOC=system" in system_state
    # measured: 67,000–72,000 faults by default (~55 MB per call), 150–1,400 retained
    assert system >= 5 * 2000  # ≥ 8 MB faulted in per call by default
    assert kept <= system / 10


def test_an_unknown_setting_is_said_and_changes_nothing(monkeypatch):
    monkeypatch.setenv(allocator.ENV, "jemalloc")
    with pytest.warns(RuntimeWarning, match="'retain' .* or 'system'"):
        state = allocator._apply()
    assert "neither 'retain' nor 'system'" in state


def test_the_setting_is_reported():
    assert allocator.retain_freed_memory() == allocator.retain_freed_memory()  # applied once, same line
    assert "malloc" in allocator.retain_freed_memory()
