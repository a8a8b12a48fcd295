"""A real Chromium for the console's end-to-end tests: Debian's ``chromium`` driven through its
``chromedriver`` with selenium, headless, in a fresh profile, without any network of its own
(no updates, no sync, no QUIC). ``make browser`` installs both when run as root."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,900")


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if absent:
        return (f"{' and '.join(absent)} not installed: run `make browser` as root, or "
                "`sudo apt-get install chromium chromium-driver`")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (a dev dependency: run make)"
    return None


@contextmanager
def chromium(lang: str = "en-GB", zone: str | None = None,
             downloads: Path | None = None) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = Path(tempfile.mkdtemp(prefix="douane-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--lang={lang}"):
        options.add_argument(flag)
    prefs: dict[str, object] = {"intl.accept_languages": lang}
    if downloads is not None:
        prefs |= {"download.default_directory": str(downloads),
                  "download.prompt_for_download": False}
    options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        if downloads is not None:  # headless Chromium downloads only when told where
            driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                                   {"behavior": "allow", "downloadPath": str(downloads)})
        if zone is not None:
            driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": zone})
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
