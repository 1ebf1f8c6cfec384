"""Runs an organiser's morning in the console in headless Chromium with JavaScript on, at one
window width: follows the emailed sign-in link, makes an event (first sending the form empty),
adds two sessions, publishes it, books two people onto the one-seat session (the second is
waitlisted), takes the register with a walk-in, cancels the event and reads the audit log.

After every page load it runs axe-core (AXE_JS, injected into the page) with the WCAG 2.0/2.1 A
and AA rules and the best practices, keeps the serious and critical violations, counts the
page's h1 elements, measures its width, and keeps a screenshot of the whole page in SHOTS as
`{WIDTH}-{NN}-{slug}.png`. Prints one JSON object: `pages` (one entry a page) and `outcome` (the
texts read on the way). If a step fails it prints the same with `error` naming the step, keeps
`{WIDTH}-failed.png` and `{WIDTH}-failed.html`, and exits with 1.

Between booking and taking the register it pauses for the sessions to start: it prints a line
`{"pause": "sessions-booked", "session_path": ...}` and goes on when it reads a line `go` (the
test moves the app's clock on meanwhile; see `run_with` in `src/browser.rs`).

Usage: console_browser.py LINK SHOTS WIDTH AXE_JS PLAN_JSON
PLAN_JSON: {"title", "day1", "day2", "first": {"id", "name"}, "second": {...}, "walk_in": {...}}
"""

import json
import sys
from urllib.parse import urljoin, urlparse

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

# browser_common.py lies beside this script (Python looks in the script's folder first); it is
# imported without leaving a __pycache__ in the source tree.
sys.dont_write_bytecode = True
import browser_common as common  # noqa: E402

AUDIT_ROWS = 10


class Console:
    """The browser, the pages met so far and what was read on them."""

    def __init__(self, driver, shots, width, axe_source):
        self.driver = driver
        self.shots = shots
        self.width = width
        self.axe_source = axe_source
        self.pages = []
        self.outcome = {}
        self.step = "starting the browser"

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css):
        return self.find(css).text.strip()

    def texts(self, css):
        if not self.present(css):
            return []
        return [e.text.strip() for e in self.driver.find_elements(By.CSS_SELECTOR, css)]

    def record(self, slug):
        """Checks and keeps the page now shown, as page NN of this run."""
        common.wait_until_loaded(self.driver)
        number = len(self.pages) + 1
        violations, lesser = common.check_accessibility(self.driver, self.axe_source)
        measured = common.measure(self.driver)
        shot = f"{self.width}-{number:02d}-{slug}.png"
        common.screenshot(self.driver, self.shots, shot, max(measured["inner"], measured["scroll"]), measured["height"])
        self.pages.append({
            "step": number,
            "slug": slug,
            "url": self.driver.current_url,
            "title": self.driver.title,
            "h1_count": measured["h1"],
            "scroll_width": measured["scroll"],
            "inner_width": measured["inner"],
            "violations": violations,
            "lesser_violations": lesser,
            "screenshot": shot,
        })

    def open(self, url, slug):
        self.driver.get(url)
        self.record(slug)

    def present(self, css):
        # Asked of the page at once: find_elements would wait out the implicit wait for nothing.
        return self.js("return document.querySelector(arguments[0]) !== null", css)

    def optional_text(self, css):
        return self.text(css) if self.present(css) else None

    def click(self, css, slug, no_validate=False):
        """Clicks what leads to a new page (a link, or a form's button: the form posts or gets and
        another page replaces this one), waits for the new page, and checks it. Unless the form is
        sent to be refused (`no_validate`), a page answering with an error summary stops the run
        there, with the summary's words."""
        old_page = self.find("html")
        target = self.find(css)
        if no_validate:
            # The browser would refuse to send a form with empty required fields; the server's
            # own answer to one is what is being checked.
            self.js("if (arguments[0].form) { arguments[0].form.noValidate = true; }", target)
        self.js("arguments[0].scrollIntoView({block: 'center'})", target)
        target.click()

        def gone(_):
            # Selenium's staleness_of only expects "stale element"; asked mid-navigation,
            # chromedriver may instead answer "node does not belong to the document". Either way
            # the old page has gone.
            try:
                old_page.is_enabled()
                return False
            except WebDriverException:
                return True

        WebDriverWait(self.driver, 30).until(gone)
        self.record(slug)
        if not no_validate and self.present(".error-summary"):
            summary = " / ".join(self.text(".error-summary").splitlines())
            raise RuntimeError(f"the console refused it: {summary}")

    def type_into(self, css, text):
        field = self.find(css)
        field.clear()
        field.send_keys(text)

    def set_value(self, css, value):
        # datetime-local takes keys in the browser's locale's order: set the value itself.
        self.js("arguments[0].value = arguments[1];", self.find(css), value)

    def path(self):
        return urlparse(self.driver.current_url).path


def pause(what, **details):
    """Stops for the test to act on the app: a line `{"pause": what, ...}`, then waits for `go`."""
    print(json.dumps({"pause": what, **details}), flush=True)
    if sys.stdin.readline().strip() != "go":
        raise RuntimeError(f"paused ({what}) and was not told to go on")


def morning(c, link, plan):
    """The organiser's flow; `c.step` names where it is, for the report if it stops."""
    c.step = "1 sign in: following the emailed link"
    c.open(link, "dashboard")
    c.outcome["landed"] = c.path()
    c.outcome["dashboard_heading"] = c.text("h1")

    c.step = "2 events: the console's navigation link to /o/events"
    nav_link = c.find('nav[aria-label="Console"] a[href="/o/events"]')
    # A narrow layout may fold the navigation into a disclosure: open it as a person would.
    c.js("const d = arguments[0].closest('details'); if (d && !d.open) { d.querySelector('summary').click(); }", nav_link)
    c.click('nav[aria-label="Console"] a[href="/o/events"]', "events")
    c.step = "2 events: #new-event"
    c.click("#new-event", "new-event")

    c.step = "3 new event: sending the form empty"
    c.click("#save-event", "new-event-errors", no_validate=True)
    c.outcome["empty_form_errors"] = c.text(".error-summary")
    c.outcome["empty_form_error_links"] = c.js(
        "return Array.from(document.querySelectorAll('.error-summary a[href^=\"#\"]')).map(a => ({"
        " href: a.getAttribute('href'),"
        " field_exists: document.getElementById(decodeURIComponent(a.getAttribute('href').slice(1))) !== null}))"
    )
    c.step = "3 new event: filling and saving the form"
    c.type_into("#title", plan["title"])
    Select(c.find("#kind")).select_by_value("conference")
    c.outcome["time_zone_default"] = c.find("#time_zone").get_attribute("value")
    c.type_into("#venue", "Northfield Primary School, Hall 2")
    c.click("#save-event", "event-created")
    # Kept without the query (a notice of what was just done) to come back to later.
    c.outcome["event_url"] = urljoin(c.driver.current_url, c.path())
    c.outcome["event_path"] = c.path()

    sessions = [
        ("Morning", plan["day1"], "09:30", "12:00", "10", "session-morning"),
        ("Afternoon workshop", plan["day2"], "13:30", "15:00", "1", "session-afternoon"),
    ]
    for label, day, start, end, capacity, slug in sessions:
        c.step = f"4 sessions: adding {label!r}"
        c.find("#session-form")
        c.type_into("#label", label)
        c.set_value("#start", f"{day}T{start}")
        c.set_value("#end", f"{day}T{end}")
        c.type_into("#capacity", capacity)
        c.find("#per_school_limit").clear()
        c.click("#add-session", slug)
    c.outcome["session_rows"] = c.texts("#sessions tr[data-session]")

    c.step = "5 publish: #publish"
    c.click("#publish", "published")
    c.outcome["status_after_publish"] = c.text("#event-status")

    c.step = "6 bookings: the 'Afternoon workshop' row's a.session-link"
    rows = [r for r in c.driver.find_elements(By.CSS_SELECTOR, "#sessions tr[data-session]") if "Afternoon workshop" in r.text]
    if not rows:
        raise RuntimeError(f"no row of #sessions names 'Afternoon workshop': {c.outcome['session_rows']}")
    session = rows[0].get_attribute("data-session")
    c.click(f'#sessions tr[data-session="{session}"] a.session-link', "session")
    c.outcome["session_path"] = c.path()
    for who, slug in [("first", "booked-first"), ("second", "waitlisted-second")]:
        person = plan[who]
        c.step = f"6 bookings: finding {who} ({person['name']}) with #person-q"
        c.type_into("#person-q", person["name"])
        c.click("#find-person", f"find-{who}")
        c.step = f"6 bookings: booking {who} with #book-{person['id']}"
        c.click(f"#book-{person['id']}", slug)
        c.outcome[f"notice_after_{who}"] = c.optional_text("#notice")
    c.outcome["bookings"] = c.texts("#bookings tbody tr")
    c.outcome["waitlist"] = c.texts("#waitlist tbody tr")

    # Seats are booked before a session starts and the register is taken once it has: the test
    # moves the app's clock on to the afternoon, then says go.
    c.step = "7 register: waiting for the sessions to start"
    pause("sessions-booked", session_path=c.outcome["session_path"])
    c.step = "7 register: #register-link"
    c.click("#register-link", "register")
    c.outcome["register_path"] = c.path()
    first = plan["first"]
    c.step = f"7 register: marking first ({first['name']}) attended"
    booking = c.find(f'li[data-participant="{first["id"]}"]').get_attribute("data-booking")
    c.click(f"#attended-{booking}", "attended-first")
    c.outcome["first_mark"] = c.text(f'li[data-participant="{first["id"]}"] [data-mark]')
    walk_in = plan["walk_in"]
    c.step = f"7 register: finding the walk-in ({walk_in['name']}) with #walk-in-q"
    c.type_into("#walk-in-q", walk_in["name"])
    c.click("#find-walk-in", "find-walk-in")
    c.step = f"7 register: adding the walk-in with #walk-in-{walk_in['id']}"
    c.click(f"#walk-in-{walk_in['id']}", "walk-in-added")
    c.outcome["walk_in_mark"] = c.text(f'li[data-participant="{walk_in["id"]}"] [data-mark]')

    c.step = "8 cancel: back on the event page, #cancel-event"
    c.open(c.outcome["event_url"], "event-again")
    c.click("#cancel-event", "cancel-confirm")
    c.outcome["cancel_count_text"] = c.text("#cancel-count")
    c.step = "8 cancel: #confirm-cancel"
    c.click("#confirm-cancel", "cancelled")
    c.outcome["status_after_cancel"] = c.text("#event-status")

    c.step = "9 audit: /o/audit"
    c.open(urljoin(c.driver.current_url, "/o/audit"), "audit")
    c.outcome["audit_rows"] = c.texts("#audit tbody tr")[:AUDIT_ROWS]

    c.step = "10 term dates: the console's navigation link to /o/term-dates"
    c.click('nav[aria-label="Console"] a[href="/o/term-dates"]', "term-dates")
    c.step = "10 term dates: the first authority's page, from #authorities"
    c.click("#authorities tbody a", "term-dates-authority")
    c.outcome["term_dates_rows"] = c.texts("#closures tbody tr")
    c.step = "10 term dates: #remove-all leads to a page asking first"
    c.click("#remove-all", "term-dates-remove")
    c.outcome["remove_count_text"] = c.text("#remove-count")
    c.step = "done"


def main():
    link, shots, width, axe_js, plan = sys.argv[1:6]
    width, plan = int(width), json.loads(plan)
    axe_source = common.read_text(axe_js)
    driver = common.start_chrome(width, "console_browser.py")
    console = Console(driver, shots, width, axe_source)
    try:
        driver.set_window_size(width, common.HEIGHT)
        morning(console, link, plan)
        print(json.dumps({"width": width, "pages": console.pages, "outcome": console.outcome}))
    except Exception as e:  # noqa: BLE001 - any failure is reported with the step it stopped at
        message = common.failure(driver, shots, width, e)
        print(json.dumps({
            "width": width,
            "pages": console.pages,
            "outcome": console.outcome,
            "error": f"{console.step}: {message}",
        }))
        sys.exit(1)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
