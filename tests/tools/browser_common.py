"""What the browser scripts that check pages share: starting headless Chromium at one window width,
checking a page with axe-core, measuring it, keeping a screenshot of the whole of it, and keeping
the page a run stopped on. Imported by `console_browser.py` and `pages_browser.py`, which are run
by path, so Python finds this module beside them.
"""

import base64
import math
import os

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

HEIGHT = 900
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
SERIOUS = ("serious", "critical")
# Screenshots taller than this are cut (Chromium refuses very tall captures).
MAX_SHOT_HEIGHT = 16000

RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: arguments[0], resultTypes: ['violations']})
  .then(r => done({violations: r.violations.map(v => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 3).map(n => n.target.flat(Infinity).join(' ')),
  }))}))
  .catch(e => done({error: String(e)}));
"""

MEASURE = (
    "return {h1: document.querySelectorAll('h1').length,"
    " scroll: document.documentElement.scrollWidth,"
    " inner: window.innerWidth,"
    " height: document.documentElement.scrollHeight}"
)


def start_chrome(width, script):
    """Debian's Chromium (or `CHROMIUM`) through its chromedriver (or `CHROMEDRIVER`), headless,
    with a window `width` x HEIGHT. The checks run axe-core as page JavaScript, so a run asked
    to turn JavaScript off (`CONVENE_BROWSER_JAVASCRIPT=off`) is refused, naming `script`."""
    if os.environ.get("CONVENE_BROWSER_JAVASCRIPT", "on") == "off":
        # axe-core runs as page JavaScript; with it off every page would fail its check.
        raise SystemExit(f"{script} checks pages with axe-core, which needs JavaScript on")
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{HEIGHT}"]:
        options.add_argument(arg)
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.implicitly_wait(5)
    driver.set_script_timeout(60)
    return driver


def read_text(path):
    with open(path, encoding="utf-8") as file:
        return file.read()


def wait_until_loaded(driver):
    def loaded(_):
        try:
            return driver.execute_script("return document.readyState") == "complete"
        except WebDriverException:
            return False

    WebDriverWait(driver, 30).until(loaded)


def check_accessibility(driver, axe_source):
    """Runs axe-core (its source injected into the page) with AXE_TAGS' rules over the page now
    shown: the serious and critical violations, and the names of the lesser ones."""
    driver.execute_script(axe_source)
    checked = driver.execute_async_script(RUN_AXE, AXE_TAGS)
    if checked.get("error"):
        raise RuntimeError(f"axe-core could not check the page: {checked['error']}")
    violations = [v for v in checked["violations"] if v.get("impact") in SERIOUS]
    lesser = sorted({f"{v['id']} ({v.get('impact')})" for v in checked["violations"] if v.get("impact") not in SERIOUS})
    return violations, lesser


def measure(driver):
    """The page's h1 count, its width as scrolled (`scroll`), the window's (`inner`) and its height."""
    return driver.execute_script(MEASURE)


def screenshot(driver, shots, name, width, height):
    """The whole page, not only the window: captured beyond the viewport through DevTools."""
    height = min(max(int(math.ceil(height)), 1), MAX_SHOT_HEIGHT)
    try:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        })
        with open(os.path.join(shots, name), "wb") as file:
            file.write(base64.b64decode(shot["data"]))
    except WebDriverException:
        driver.save_screenshot(os.path.join(shots, name))


def failure(driver, shots, width, error):
    """The one-line reason for `error`, with the address it happened at; keeps
    `{width}-failed.png` and `{width}-failed.html` of the page the run stopped on."""
    message = getattr(error, "msg", None) or str(error) or type(error).__name__
    message = f"{type(error).__name__}: {message.strip().splitlines()[0] if message.strip() else ''}"
    try:
        message += f" (at {driver.current_url})"
        driver.save_screenshot(os.path.join(shots, f"{width}-failed.png"))
        with open(os.path.join(shots, f"{width}-failed.html"), "w", encoding="utf-8") as file:
            file.write(driver.page_source)
    except Exception:  # noqa: BLE001 - the report matters more than the keepsakes
        pass
    return message

