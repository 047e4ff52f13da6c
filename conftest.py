"""Repository-wide pytest setup: bounded hypothesis profiles and the --runslow switch."""

import os

import pytest
from hypothesis import HealthCheck, settings

# Property tests stay bounded so CI is fast; HYPOTHESIS_PROFILE=thorough explores more.
settings.register_profile("ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# pytester runs the example project that uses the installed plugin (tests/test_plugin.py)
pytest_plugins = ["pytester"]
