"""The report in a real browser: headless Chromium through Selenium renders every image,
draws the graph, and logs no error to the console.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package. Outside CI the
test is skipped, saying what is missing; with ``CI=true`` a missing browser fails it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def _find(name: str) -> str | None:
    path = shutil.which(name) or f"/usr/bin/{name}"
    return path if Path(path).is_file() else None


def _browser_or_skip() -> tuple[str, str]:
    """Paths of chromium and chromedriver; skips (fails under CI) when anything is missing."""
    missing = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install selenium)")
    chromium, driver = _find("chromium"), _find("chromedriver")
    if chromium is None:
        missing.append("chromium (apt-get install chromium)")
    if driver is None:
        missing.append("chromedriver (apt-get install chromium-driver)")
    if missing:
        reason = "report browser test needs " + ", ".join(missing)
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(f"{reason}; CI must run it (.ci/run installs the browser)")
        pytest.skip(reason)
    return chromium, driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium, driver_path = _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _open(driver, path: Path) -> dict:
    """Loads ``path`` and returns what the checks need: images, SVGs, resources, console."""
    driver.get(path.resolve().as_uri())
    driver.execute_script("return document.readyState")  # waits for the load event
    state = driver.execute_script(
        """
        const svg = document.querySelector('.graph svg');
        return {
          images: Array.from(document.images).map(
            i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth})),
          svgWidth: svg ? svg.getBoundingClientRect().width : 0,
          svgNodes: svg ? svg.querySelectorAll('g.nodes > *').length : 0,
          resources: performance.getEntriesByType('resource').map(r => r.name),
          title: document.title,
        };
        """
    )
    state["console"] = driver.get_log("browser")
    return state


def _problems(state: dict) -> list[str]:
    problems = [
        f"image {i['alt']!r} did not render (naturalWidth {i['width']})"
        for i in state["images"]
        if not (i["complete"] and i["width"] > 0)
    ]
    problems += [f"console {e['level']}: {e['message']}" for e in state["console"]]
    problems += [f"fetched {r}" for r in state["resources"] if not r.startswith("data:")]
    return problems


def test_report_renders_in_chromium(browser, moons_run):
    state = _open(browser, moons_run[0] / "report.html")
    assert state["title"] == "chainrule train: moons"
    assert len(state["images"]) == 7, state["images"]
    assert _problems(state) == [], "\n".join(_problems(state))
    assert state["svgWidth"] > 100 and state["svgNodes"] > 10, "the computational graph is drawn"


def test_the_checks_catch_a_broken_page(browser, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><head><title>broken</title></head><body><img alt="bad" '
        'src="data:image/png;base64,AAAA"><script>console.error("boom")</script></body></html>'
    )
    problems = _problems(_open(browser, page))
    assert any("image 'bad' did not render" in p for p in problems), problems
    assert any("boom" in p for p in problems), problems


def test_missing_browser_skips_outside_ci_and_fails_in_ci(monkeypatch):
    monkeypatch.setattr(f"{__name__}._find", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs .*chromium .*chromedriver"):
        _browser_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run it"):
        _browser_or_skip()
