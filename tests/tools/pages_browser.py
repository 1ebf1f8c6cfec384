"""Checks a list of pages in headless Chromium with JavaScript on, at one window width: follows
LINK (an emailed sign-in link, which lands on the signed-in area, e.g. `/o`), then opens each path
of PATHS_JSON in turn on the same site, keeping the session's cookie.

On every page it runs axe-core (AXE_JS, injected into the page) with the WCAG 2.0/2.1 A and AA
rules and the best practices, as `console_browser.py` does, and keeps the serious and critical
violations; it reads the page's title, its h1 elements (how many, and the first one's text), its
width, and every inline `<svg>` (not one inside another): its `id`, its `role`, the text of its
`<title>` child, its accessible name as Chromium computes it for a screen reader (`accessible_name`), and the texts of
its `<text>` elements. A screenshot of the whole page is kept in SHOTS as `{WIDTH}-{NN}-{slug}.png`.

Prints one JSON object: `width`, `landed` (the path LINK led to) and `pages` (one entry a path, in
order). If a step fails it prints the same with `error` naming the step, keeps `{WIDTH}-failed.png`
and `{WIDTH}-failed.html`, and exits with 1.

Usage: pages_browser.py LINK SHOTS WIDTH AXE_JS PATHS_JSON
PATHS_JSON: a list of paths, e.g. ["/o/engagement", "/o/engagement?local_authority=Camden"]
"""

import json
import re
import sys
from urllib.parse import urljoin, urlparse

from selenium.common.exceptions import WebDriverException

# browser_common.py lies beside this script (Python looks in the script's folder first); it is
# imported without leaving a __pycache__ in the source tree.
sys.dont_write_bytecode = True
import browser_common as common  # noqa: E402

# Every outermost inline svg (none inside another), in document order, with what a reader is given of it.
READ_SVGS = """
return Array.from(document.querySelectorAll('svg'))
  .filter(svg => !svg.parentElement || !svg.parentElement.closest('svg'))
  .map((svg, index) => {
    const title = Array.from(svg.children).find(c => c.localName === 'title');
    return {
      index: index,
      id: svg.getAttribute('id'),
      role: svg.getAttribute('role'),
      role_img: svg.getAttribute('role') === 'img',
      aria_labelledby: svg.getAttribute('aria-labelledby'),
      title: title ? title.textContent.trim() : null,
      texts: Array.from(svg.querySelectorAll('text')).map(t => t.textContent.trim()),
    };
  });
"""

FIRST_H1 = "const h = document.querySelector('h1'); return h ? h.textContent.trim() : null;"


def slug_of(path):
    """A file-name-safe form of a path and its query: `/o/engagement?local_authority=Camden` is
    `o-engagement-local-authority-camden`."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return slug[:60].rstrip("-") or "root"


def accessible_names(driver):
    """The accessible names Chromium computes for the outermost svgs, in document order (None where
    chromedriver cannot say)."""
    svgs = driver.execute_script(
        "return Array.from(document.querySelectorAll('svg'))"
        ".filter(svg => !svg.parentElement || !svg.parentElement.closest('svg'));"
    )
    names = []
    for svg in svgs:
        try:
            names.append(svg.accessible_name)
        except WebDriverException:
            names.append(None)
    return names


class Pages:
    """The browser and the pages checked so far."""

    def __init__(self, driver, shots, width, axe_source):
        self.driver = driver
        self.shots = shots
        self.width = width
        self.axe_source = axe_source
        self.pages = []
        self.landed = None
        self.step = "starting the browser"

    def check(self, path):
        """Opens `path` on the site signed in to and keeps what was found on it."""
        number = len(self.pages) + 1
        self.driver.get(urljoin(self.driver.current_url, path))
        common.wait_until_loaded(self.driver)
        violations, lesser = common.check_accessibility(self.driver, self.axe_source)
        measured = common.measure(self.driver)
        svgs = self.driver.execute_script(READ_SVGS)
        for svg, name in zip(svgs, accessible_names(self.driver)):
            svg["accessible_name"] = name
        slug = slug_of(path)
        shot = f"{self.width}-{number:02d}-{slug}.png"
        common.screenshot(self.driver, self.shots, shot, max(measured["inner"], measured["scroll"]), measured["height"])
        url = self.driver.current_url
        self.pages.append({
            "step": number,
            "slug": slug,
            "path": path,
            "url": url,
            "final_path": urlparse(url).path,
            "title": self.driver.title,
            "h1": self.driver.execute_script(FIRST_H1),
            "h1_count": measured["h1"],
            "scroll_width": measured["scroll"],
            "inner_width": measured["inner"],
            "violations": violations,
            "lesser_violations": lesser,
            "svgs": svgs,
            "screenshot": shot,
        })


def visit(p, link, paths):
    """Signs in, then checks each path; `p.step` names where it is, for the report if it stops."""
    p.step = "signing in: following the link"
    p.driver.get(link)
    common.wait_until_loaded(p.driver)
    p.landed = urlparse(p.driver.current_url).path
    for number, path in enumerate(paths, start=1):
        p.step = f"page {number}: {path}"
        p.check(path)
    p.step = "done"


def main():
    link, shots, width, axe_js, paths = sys.argv[1:6]
    width, paths = int(width), json.loads(paths)
    if not isinstance(paths, list) or not all(isinstance(path, str) for path in paths):
        raise SystemExit(f"PATHS_JSON is a JSON list of paths, not {paths!r}")
    axe_source = common.read_text(axe_js)
    driver = common.start_chrome(width, "pages_browser.py")
    p = Pages(driver, shots, width, axe_source)
    try:
        driver.set_window_size(width, common.HEIGHT)
        visit(p, link, paths)
        print(json.dumps({"width": width, "landed": p.landed, "pages": p.pages}))
    except Exception as e:  # noqa: BLE001 - any failure is reported with the step it stopped at
        message = common.failure(driver, shots, width, e)
        print(json.dumps({
            "width": width,
            "landed": p.landed,
            "pages": p.pages,
            "error": f"{p.step}: {message}",
        }))
        sys.exit(1)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
