"""Answers the survey form at URL in headless Chromium using only the keyboard, with JavaScript
turned off and a phone-sized window, keeping screenshots in SHOTS. Prints JSON: the focus order
met on the way, the pages' titles, and what each screenshot is.

Usage: survey_browser.py URL SHOTS
The form is expected to ask: `useful` (1-5), `plan` (text), `areas` (checkboxes), `other` (text).
"""

import json
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys


def main():
    url, shots = sys.argv[1], sys.argv[2]
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=360,800"]:
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.set_window_size(360, 800)
        driver.get(url)
        first_title = driver.title
        width = driver.execute_cdp_cmd("Runtime.evaluate", {"expression": "document.documentElement.scrollWidth", "returnByValue": True})
        driver.save_screenshot(os.path.join(shots, "1-form-360px.png"))
        keys = ActionChains(driver)
        focus = []

        def active_id():
            # Read the focused element without page JavaScript (which is off): through the driver.
            return driver.switch_to.active_element.get_attribute("id") or driver.switch_to.active_element.tag_name

        def tab_to(target, limit=25):
            for _ in range(limit):
                ActionChains(driver).send_keys(Keys.TAB).perform()
                now = active_id()
                focus.append(now)
                if now == target:
                    return
            raise SystemExit(f"keyboard focus never reached #{target}; focus went {focus}")

        # 1-5: Tab into the radio group, arrow keys choose 4.
        tab_to("useful-1")
        ActionChains(driver).send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT).perform()
        tab_to("plan")
        ActionChains(driver).send_keys("Talk partners in every Year 2 lesson").perform()
        tab_to("areas-1")
        ActionChains(driver).send_keys(Keys.SPACE).perform()
        tab_to("areas-2")
        ActionChains(driver).send_keys(Keys.SPACE).perform()
        tab_to("other")
        ActionChains(driver).send_keys("Typed, tabbed and submitted with the keyboard alone").perform()
        driver.save_screenshot(os.path.join(shots, "2-filled.png"))
        tab_to("submit")
        ActionChains(driver).send_keys(Keys.ENTER).perform()
        driver.implicitly_wait(5)
        heading = driver.find_element("tag name", "h1").text
        driver.save_screenshot(os.path.join(shots, "3-thank-you.png"))
        print(json.dumps({
            "form_title": first_title,
            "scroll_width": width.get("result", {}).get("value"),
            "focus": focus,
            "after_submit_heading": heading,
            "after_submit_title": driver.title,
            "screenshots": sorted(os.listdir(shots)),
        }))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
