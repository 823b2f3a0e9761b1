"""The HTML report's layout in headless Chromium at 1300 px: no horizontal overflow, no clipped chart labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from redline.policy.model import load_policy
from redline.report.charts import bars
from redline.report.data import build_data
from redline.report.html import write_report
from redline.store.db import Store
from resultsets import add_run
from test_report import _chromium

CATEGORIES = ["dangerous_capability", "harmful_content", "privacy", "bias", "alignment", "over_refusal"]
FAMILIES = ["direct", "roleplay", "encoding", "many_shot", "multi_turn", "fiction", "smuggling", "suppression",
            "adaptive_pair", "adaptive_tap", "adaptive_crescendo", "templated"]  # fmt: skip


def _items() -> list[dict]:
    items = []
    for ci, c in enumerate(CATEGORIES):
        for i in range(12):
            f = FAMILIES[(i + ci) % len(FAMILIES)]
            reply = "QUJD" * 120 if i == 1 else "I can't help with that."  # one long unbroken token
            items.append(
                dict(
                    behavior=f"{c}-{i:03d}",
                    category=c,
                    family=f,
                    attack=f,
                    success=i % 4 == 0,
                    expected="comply" if c == "over_refusal" else "refuse",
                    response=reply,
                )
            )
    return items


def test_bar_labels_get_the_room_they_need(db_path: str) -> None:
    store = Store(db_path)
    add_run(store, "run-layout", _items())
    chart = bars(build_data(store, "run-layout", load_policy()))
    store.close()
    longest = max(len(r["label"]) for r in chart["rows"])
    assert longest >= len("dangerous_capability (attack success)")
    assert chart["left"] >= 7 * longest  # 12 px system-ui averages under 7 px a character


@pytest.mark.browser
def test_report_fits_1300_px_and_no_chart_label_is_clipped(db_path: str, tmp_path: Path) -> None:
    opts, service = _chromium()
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    store = Store(db_path)
    add_run(store, "run-layout", _items())
    path = write_report(build_data(store, "run-layout", load_policy()), tmp_path / "report.html")
    store.close()
    opts.add_argument(f"--user-data-dir={tmp_path / 'chrome-profile'}")
    opts.add_argument("--window-size=1300,1000")
    driver = webdriver.Chrome(options=opts, service=service)
    try:
        driver.command_executor._client_config.timeout = 900
        driver.set_page_load_timeout(900)
        driver.get(path.resolve().as_uri())
        WebDriverWait(driver, 300).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
        assert len(driver.find_elements(By.CSS_SELECTOR, "#attempts-body tr")) == len(_items())
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        clipped = driver.execute_script(
            """const out = [];
            for (const svg of document.querySelectorAll('svg')) {
              const box = svg.getBoundingClientRect();
              for (const t of svg.querySelectorAll('text')) {
                const r = t.getBoundingClientRect();
                if (t.textContent.trim() && (r.left < box.left - 0.5 || r.right > box.right + 0.5))
                  out.push(svg.id + ': ' + t.textContent);
              }
            }
            return out;"""
        )
        assert clipped == []
        assert driver.execute_script("return document.querySelectorAll('#bars text').length") > 0
    finally:
        driver.quit()
