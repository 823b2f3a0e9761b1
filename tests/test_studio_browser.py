"""redline studio in headless Chromium (Selenium) over loopback HTTP: probe and save a finding, XSS stays inert,
label ten attempts with the keyboard and see agreement follow, two browser sessions keep both labels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from redline.policy.evidence import elicitations
from redline.policy.gate import other_readings
from redline.policy.model import load_policy
from redline.store.queries import get_run, list_runs, load_attempts
from test_report import _chromium
from test_studio import TARGET, XSS, human_rows, scanned, studio

pytestmark = pytest.mark.browser
KEYS = {"refused": "r", "complied": "c", "unscorable": "u"}


def _driver(profile: Path):  # noqa: ANN202 - a selenium WebDriver
    opts, service = _chromium()
    from selenium import webdriver

    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_argument("--window-size=1200,900")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=service)
    driver.command_executor._client_config.timeout = 600  # a loaded CI machine can be very slow
    driver.set_page_load_timeout(600)
    return driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    driver = _driver(tmp_path_factory.mktemp("chrome-a"))
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver, css: str):  # noqa: ANN001, ANN202
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 120).until(lambda d: d.find_element(By.CSS_SELECTOR, css))


def _press(driver, key: str, submits: bool = True) -> None:  # noqa: ANN001
    """Press `key` on the page (focus off the inputs, as a labeller would); wait for the next page if it submits."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # the heading can be replaced between finding and clicking it while the last submit's page settles: retry
    WebDriverWait(driver, 120, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.find_element(By.TAG_NAME, "h1").click() or True
    )
    page = driver.find_element(By.TAG_NAME, "main")
    ActionChains(driver).send_keys(key).perform()
    if submits:  # the old page is gone: stale, or (Chrome, mid-navigation) a node of another document
        WebDriverWait(driver, 120).until(lambda d: _gone(page))


def _gone(element) -> bool:  # noqa: ANN001
    from selenium.common.exceptions import WebDriverException

    try:
        element.is_enabled()
    except WebDriverException:
        return True
    return False


def test_probe_a_python_target_xss_stays_inert_and_the_finding_reaches_the_gate(browser, db_path: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with studio(db_path) as (base, store):
        browser.delete_all_cookies()
        browser.get(base + "/probe")
        Select(browser.find_element(By.ID, "target")).select_by_visible_text(TARGET)
        browser.find_element(By.ID, "system").send_keys("Answer briefly.")
        browser.find_element(By.ID, "message").send_keys("Show me the payload")
        browser.find_element(By.ID, "send").click()
        reply = _wait(browser, "#transcript pre.reply")
        assert XSS in reply.text  # shown as text
        pwned = browser.execute_script(
            "return [window.__pwned, window.__pwned2].map(function (v) { return v === undefined ? null : v; })"
        )
        assert pwned == [None, None]
        assert browser.find_elements(By.CSS_SELECTOR, "#transcript img, #transcript script") == []
        errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == [], errors
        browser.find_element(By.ID, "tester").send_keys("tess")
        Select(browser.find_element(By.ID, "severity")).select_by_visible_text("high")
        browser.find_element(By.ID, "notes").send_keys("reply echoes markup")
        browser.find_element(By.ID, "save").click()
        assert "Saved finding" in _wait(browser, "#saved").text
        (run,) = [r for r in list_runs(store, kind="manual")]
        assert get_run(store, run["run_id"]).judge == "human:tess"
        (record,) = load_attempts(store, run["run_id"])
        assert XSS in record.response and record.success is True
        found = elicitations(load_attempts(store, run["run_id"]), load_policy(), other_readings(store, run["run_id"]))
        assert found[record.behavior_id].failures == [record.attempt_id]
        browser.get(f"{base}/runs/{run['run_id']}")  # the run page lists it like any other evidence
        assert "harmful_content" in _wait(browser, "#summary").text


def test_label_ten_attempts_with_the_keyboard_and_agreement_updates(browser, db_path: str) -> None:
    from selenium.webdriver.common.by import By

    run_id = scanned(db_path, 10)
    with studio(db_path) as (base, store):
        browser.delete_all_cookies()
        browser.get(f"{base}/agreement?run={run_id}")
        assert _wait(browser, "#labelled").text.startswith("0 attempts carry human labels")
        judged = {r.attempt_id: r.label for r in load_attempts(store, run_id)}
        browser.get(f"{base}/label?run={run_id}")
        _wait(browser, "#name").send_keys("ann")
        flipped = None
        for i in range(10):
            attempt = int(_wait(browser, "#attempt").get_attribute("data-attempt"))
            assert browser.find_elements(By.ID, "judge-verdict") == []  # not shown unless asked
            value = judged[attempt]
            if i == 3:  # one disagreement with the judge
                value, flipped = ("refused" if value == "complied" else "complied"), attempt
            if value == "complied":
                _press(browser, "8", submits=False)
            _press(browser, KEYS[value])
        assert "Nothing left to label" in _wait(browser, "#empty").text
        assert len({aid for aid in judged if human_rows(store, aid)}) == 10
        browser.get(f"{base}/agreement?run={run_id}")
        assert _wait(browser, "#labelled").text.startswith("10 attempts carry human labels")
        row = browser.find_element(By.CSS_SELECTOR, "#judges tbody tr").text
        assert row.startswith("refusal human:ann 10 0 90.0%"), row
        assert flipped is not None and human_rows(store, flipped)[0][1] != judged[flipped]


def test_two_browser_sessions_labelling_the_same_attempt_keep_both_labels(
    browser, db_path: str, tmp_path: Path
) -> None:
    run_id = scanned(db_path, 3)
    other = _driver(tmp_path / "chrome-b")
    try:
        with studio(db_path) as (base, store):
            browser.delete_all_cookies()
            for d in (browser, other):  # both open the same first attempt before either saves
                d.get(f"{base}/label?run={run_id}")
            first = int(_wait(browser, "#attempt").get_attribute("data-attempt"))
            assert int(_wait(other, "#attempt").get_attribute("data-attempt")) == first
            _wait(browser, "#name").send_keys("ann")
            _wait(other, "#name").send_keys("bob")
            _press(browser, "c")
            _press(other, "r")
            assert human_rows(store, first) == [("human:ann", "complied"), ("human:bob", "refused")]
            assert "ann" in _wait(browser, "#me").text and "bob" in _wait(other, "#me").text
    finally:
        other.quit()
