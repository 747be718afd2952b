"""What a person does on a page, for the browser tests: read, wait, click, open, choose."""

from __future__ import annotations

from collections.abc import Callable

from dash.testing.composite import DashComposite
from dash.testing.wait import until
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import Select

from components import ids

WAIT_S = 20


def read_text(dash_duo: DashComposite, selector: str) -> str:
    """The text of the element at ``selector``. The pages redraw every second, so an element found
    just before a redraw can be gone by the time it is read (on a busy machine the gap is wider):
    then it is found again."""
    read: list[str] = []

    def once() -> bool:
        try:
            read.append(dash_duo.find_element(selector).text)
        except StaleElementReferenceException:
            return False
        return True

    wait(once, f"{selector} was redrawn every time it was read")
    return read[-1]


def text(dash_duo: DashComposite, component_id: str) -> str:
    return read_text(dash_duo, f"#{component_id}")


def wait(condition: Callable[[], object], message: str) -> None:
    until(condition, timeout=WAIT_S, msg=message)


def click(dash_duo: DashComposite, selector: str) -> None:
    """Scroll the element to the middle of the window at once, then click it.

    Bootstrap makes scrolling smooth; WebDriver's own scroll-then-click would land mid-animation.
    """
    element = dash_duo.find_element(selector)
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", element
    )
    element.click()


def open_page(dash_duo: DashComposite, path: str) -> None:
    """Follow the navbar link, as a person would."""
    click(dash_duo, f"#{ids.NAVBAR} a.nav-link[href='{path}']")


def choose(dash_duo: DashComposite, component_id: str, value: str) -> None:
    # The options arrive from a callback after the page is drawn.
    dash_duo.wait_for_element(f"#{component_id} option[value='{value}']", timeout=WAIT_S)
    Select(dash_duo.find_element(f"#{component_id}")).select_by_value(value)
