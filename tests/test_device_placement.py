"""The device-placement cases (tests/device_placement_cases.py), run in a process of their own: they register a
second device with torch, which changes the process for good (that file's docstring)."""

import re
import subprocess
import sys
from pathlib import Path

CASES = Path(__file__).with_name("device_placement_cases.py")


def test_on_a_second_device_emulated_on_the_cpu():
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(CASES)],
        cwd=CASES.parent.parent,
        capture_output=True,
        text=True,
        timeout=900,
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    # every case ran and passed: none skipped, none deselected
    assert re.fullmatch(r"\d+ passed in [\d.]+s( \(\d+:\d+:\d+\))?", summary), summary
