"""Follows a sign-in link in headless Chromium with JavaScript turned off and a phone-sized
window (360 px), then books two sessions on the participant page by clicking their buttons,
keeping screenshots in SHOTS (the last of the whole page). Prints JSON: where the link landed, the page's title, its width,
where the keyboard's first Tab goes, and the message shown after each click.

Usage: participant_browser.py LINK SHOTS BOOK_BUTTON_ID WAITLIST_BUTTON_ID
"""

import json
import os
import sys
from urllib.parse import urlparse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import WebDriverWait
from selenium.webdriver.common.keys import Keys


def main():
    link, shots, book_id, wait_id = sys.argv[1:5]
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=360,800"]:
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.implicitly_wait(5)

    def width():
        # Measured through the driver: page JavaScript is off.
        answer = driver.execute_cdp_cmd(
            "Runtime.evaluate", {"expression": "document.documentElement.scrollWidth", "returnByValue": True}
        )
        return answer.get("result", {}).get("value")

    def click(button_id):
        # The form posts and a new page replaces this one: wait until it has gone, or the old
        # page's notice may be read (or go stale while being read).
        old_page = driver.find_element(By.TAG_NAME, "html")
        driver.find_element(By.ID, button_id).click()

        def gone(_):
            # Selenium's staleness_of only expects "stale element"; asked mid-navigation,
            # chromedriver may instead answer "node does not belong to the document" (seen in
            # a CI run). Either way the old page has gone.
            try:
                old_page.is_enabled()
                return False
            except WebDriverException:
                return True

        WebDriverWait(driver, 30).until(gone)
        return driver.find_element(By.CSS_SELECTOR, "#notice h2").text

    try:
        driver.set_window_size(360, 800)
        driver.get(link)
        landed = urlparse(driver.current_url).path
        title = driver.title
        scroll_width = width()
        driver.save_screenshot(os.path.join(shots, "1-page-360px.png"))
        ActionChains(driver).send_keys(Keys.TAB).perform()
        first_focus = driver.switch_to.active_element.get_attribute("href") or driver.switch_to.active_element.tag_name
        booked = click(book_id)
        driver.save_screenshot(os.path.join(shots, "2-booked.png"))
        waitlisted = click(wait_id)
        driver.save_screenshot(os.path.join(shots, "3-waitlisted.png"))
        after = width()
        # The whole page at phone width, for a person to look over.
        height = driver.execute_cdp_cmd(
            "Runtime.evaluate", {"expression": "document.documentElement.scrollHeight", "returnByValue": True}
        ).get("result", {}).get("value") or 800
        driver.set_window_size(360, min(int(height) + 120, 16000))
        driver.save_screenshot(os.path.join(shots, "4-whole-page.png"))
        print(json.dumps({
            "landed_path": landed,
            "title": title,
            "scroll_width": scroll_width,
            "scroll_width_after": after,
            "first_focus": first_focus,
            "booked_notice": booked,
            "waitlist_notice": waitlisted,
            "screenshots": sorted(os.listdir(shots)),
        }))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
