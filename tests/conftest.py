"""Shared pytest configuration."""

from __future__ import annotations

import atexit
import shutil
import tempfile

import pytest
from selenium.webdriver.chrome.options import Options as ChromeOptions

# Kinds of test that must not run at the same time as others of their kind when the suite runs on
# several cores (`make test`: pytest-xdist, --dist loadgroup sends a group to one worker): one
# Pulsar test kills and restarts the one broker that the others publish to.
SERIAL_GROUPS = ("pulsar",)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for group in SERIAL_GROUPS:
            if item.get_closest_marker(group):
                item.add_marker(pytest.mark.xdist_group(group))


# Browser options (dash[testing] hook) ----------------------------------------------------------

CHROMIUM_BINARY = "/usr/bin/chromium"
# Where tests let the browser save downloads (the Events page's CSV export), one per test run.
DOWNLOAD_DIR = tempfile.mkdtemp(prefix="pcoord-downloads-")
atexit.register(shutil.rmtree, DOWNLOAD_DIR, ignore_errors=True)


def pytest_setup_options() -> ChromeOptions:
    """Chromium options for ``dash_duo``: headless, no network chatter, a fresh profile per browser.

    The machine has no internet access; without these switches Chromium waits on background
    network services (updates, sync, first-run) and the page never loads in time. The window is
    wide enough that the navbar shows its links instead of a collapsed menu.
    """
    profile_dir = tempfile.mkdtemp(prefix="pcoord-chromium-")
    atexit.register(shutil.rmtree, profile_dir, ignore_errors=True)
    options = ChromeOptions()
    options.binary_location = CHROMIUM_BINARY
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        f"--user-data-dir={profile_dir}",
        "--window-size=1400,900",
    ):
        options.add_argument(argument)
    return options
