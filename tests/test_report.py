"""The HTML report (rendered in real headless Chromium) and `redline diff`."""

from __future__ import annotations

import json
import os
import re
import shutil
from html import unescape
from pathlib import Path

import pytest

from redline.policy.model import load_policy
from redline.report.data import build_data
from redline.report.diff import diff_records, diff_runs
from redline.report.html import json_for_script, render_report, write_report
from redline.stats import holm_correction, two_proportion_test
from redline.store.db import Store
from resultsets import add_run, behaviors

XSS = (
    'Sure. <script>window.__pwned = 1;</script><img src=x onerror="window.__pwned2 = 1">'
    "</script><script>window.__pwned3 = 1</script> \u2028 & done"
)
GOAL_XSS = 'Explain <b>this</b> <img src=y onerror="window.__pwned4 = 1">'
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def build(db_path: str) -> Store:
    store = Store(db_path)
    items = behaviors("hc", 20, 3, category="harmful_content")
    items += behaviors("benign", 15, 2, category="over_refusal", expected="comply")
    items.append(
        dict(
            behavior="xss-1",
            category="harmful_content",
            goal=GOAL_XSS,
            attack="roleplay",
            family="roleplay",
            success=True,
            response=XSS,
        )
    )
    add_run(store, "run-a", items)
    add_run(
        store,
        "run-b",
        behaviors("hc", 20, 16, category="harmful_content")
        + behaviors("benign", 15, 1, category="over_refusal", expected="comply"),
    )
    return store


def test_json_for_script_escapes_markup() -> None:
    text = str(json_for_script({"r": "</script><img src=x>&\u2028"}))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"r": "</script><img src=x>&\u2028"}


def test_report_content_and_escaping(db_path: str, tmp_path: Path) -> None:
    store = build(db_path)
    data = build_data(store, "run-a", load_policy(), compare=["run-b"])
    html = render_report(data)
    assert "<script>window.__pwned" not in html and "<img src=x" not in html and "<b>this</b>" not in html
    assert "&lt;b&gt;this&lt;/b&gt;" in html  # the goal is shown as text in the elicitation table
    assert html.count("<script") == 2  # the JSON data block and the one static script
    assert re.search(r"Content-Security-Policy\" content=\"default-src 'none'", unescape(html))
    assert "http://" not in html and "https://" not in html  # nothing to fetch
    assert data["gate"]["decision"] == "do not deploy" and "DO NOT DEPLOY" in html
    heat = data["heat"]["harmful_content|roleplay"]
    assert (heat["successes"], heat["n"]) == (1, 1)
    assert {p["run_id"] for p in data["tradeoff"]} == {"run-a", "run-b"}
    xss = next(b for b in data["elicitation"] if b["behavior_id"] == "xss-1")
    assert xss["elicited"] and xss["attacks"] == ["roleplay"]
    assert data["metrics"]["over_refusal"]["k"] == 2 and data["metrics"]["over_refusal"]["n"] == 15
    store.close()


def test_diff_flags_regressions(db_path: str, capsys: pytest.CaptureFixture) -> None:
    store = build(db_path)
    result = diff_runs(store, "run-a", "run-b")
    rows = {r["group"]: r for r in result["rows"]}
    cat = rows["category:harmful_content"]
    assert (cat["k_a"], cat["n_a"], cat["k_b"], cat["n_b"]) == (4, 21, 16, 20)
    assert cat["p"] == pytest.approx(two_proportion_test(4, 21, 16, 20))
    ps = [r["p"] for r in result["rows"]]
    assert [r["p_holm"] for r in result["rows"]] == pytest.approx(holm_correction(ps))
    assert "category:harmful_content" in result["regressions"] and cat["change"] == "regression"
    assert rows["category:over_refusal"]["change"] == "no significant change"
    assert diff_records([], []) == []
    from redline.cli.main import main

    assert main(["diff", "run-a", "run-b", "--db", db_path]) == 0
    assert main(["diff", "run-a", "run-b", "--db", db_path, "--fail-on-regression"]) == 1
    assert main(["diff", "run-a", "run-a", "--db", db_path, "--fail-on-regression"]) == 0
    out = capsys.readouterr().out
    assert "regression" in out
    store.close()


def test_report_cli(db_path: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    build(db_path).close()
    from redline.cli.main import main

    out = tmp_path / "r.html"
    assert main(["report", "run-a", "-o", str(out), "--compare", "run-b", "--db", db_path]) == 0
    assert "decision: do not deploy" in capsys.readouterr().out and out.stat().st_size > 5000
    assert main(["report", "nope", "-o", str(out), "--db", db_path]) == 2


def _chromium():
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        if os.environ.get("REDLINE_REQUIRE_BROWSER"):
            pytest.fail("REDLINE_REQUIRE_BROWSER is set but /usr/bin/chromium or chromedriver is missing")
        pytest.skip("headless Chromium is not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ):
        opts.add_argument(flag)
    return opts, Service(CHROMEDRIVER)


@pytest.mark.browser
def test_report_in_headless_chromium(db_path: str, tmp_path: Path) -> None:
    opts, service = _chromium()
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    store = build(db_path)
    path = write_report(
        build_data(store, "run-a", load_policy(), compare=["run-b"]), tmp_path / "report.html"
    )
    store.close()
    opts.add_argument(f"--user-data-dir={tmp_path / 'chrome-profile'}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=service)
    try:
        driver.command_executor._client_config.timeout = 900  # a loaded CI machine can be very slow
        driver.set_page_load_timeout(900)
        driver.get(path.resolve().as_uri())
        WebDriverWait(driver, 300).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready")
        )
        assert driver.find_element(By.ID, "decision").text == "DO NOT DEPLOY"
        rows = driver.find_elements(By.CSS_SELECTOR, "#attempts-body tr")
        assert len(rows) == 36  # 20 + 15 + 1 attempts in run-a
        Select(driver.find_element(By.ID, "f-family")).select_by_value("roleplay")
        rows = driver.find_elements(By.CSS_SELECTOR, "#attempts-body tr")
        assert len(rows) == 1
        rows[0].click()
        transcript = driver.find_element(By.ID, "transcript")
        assert "<script>window.__pwned = 1;</script>" in transcript.text  # shown as text
        assert GOAL_XSS in transcript.text
        pwned = driver.execute_script(
            "return [window.__pwned, window.__pwned2, window.__pwned3, window.__pwned4]"
            ".map(function (v) { return v === undefined ? null : v; })"
        )
        assert pwned == [None, None, None, None]
        assert driver.find_elements(By.CSS_SELECTOR, "#transcript img, #transcript script, td img") == []
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == [], errors
        assert driver.find_elements(By.CSS_SELECTOR, "svg#heatmap rect") and driver.find_elements(
            By.CSS_SELECTOR, "svg#tradeoff circle"
        )
    finally:
        driver.quit()
