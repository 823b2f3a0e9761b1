"""Retry-After over real HTTP on loopback (RFC 9110: delta-seconds and HTTP-date) and its configurable cap."""

from __future__ import annotations

import logging
import time

import pytest

from redline.errors import TargetError
from redline.records import GenerationParams, user
from redline.serve import BackgroundServer, FaultPlan, create_app
from redline.targets import create_target
from redline.targets.openai import parse_retry_after

NOW = 784111777.0  # Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example date


def reply(messages):
    return "Hello there."


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("Sun, 06 Nov 1994 08:50:07 GMT", 30.0),  # IMF-fixdate
        ("Sunday, 06-Nov-94 08:50:07 GMT", 30.0),  # obsolete RFC 850 form
        ("Sun Nov  6 08:50:07 1994", 30.0),  # obsolete asctime form, GMT
        ("Sun, 06 Nov 1994 08:40:00 GMT", 0.0),  # in the past: no wait
        ("-5", None),
        ("1.5e3", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def _timed(retry_after: str, opts: str = "") -> tuple[float, FaultPlan, list]:
    faults = FaultPlan(["429", "ok"], retry_after=retry_after)
    app = create_app(create_target("python:tests.test_retry_after:reply"), "m", faults)
    with BackgroundServer(app) as server:
        target = create_target(f"openai:m@{server.base_url};backoff_base=0.001;max_retries=2{opts}")
        start = time.perf_counter()
        gens = target.generate([[user("hi")]], GenerationParams(max_new_tokens=8))
        elapsed = time.perf_counter() - start
    assert faults.served == ["429", "ok"]
    return elapsed, faults, gens


def test_delta_seconds_are_waited() -> None:
    elapsed, _, gens = _timed("1")
    assert gens[0].text == "Hello there." and gens[0].extra["retries"] == 1
    assert elapsed >= 0.95


def test_http_date_is_waited() -> None:
    elapsed, _, gens = _timed("date:+2")  # the date has one-second resolution: a wait in (1, 2] s
    assert gens[0].ok and elapsed >= 0.95


def test_http_date_in_the_past_is_no_wait() -> None:
    elapsed, _, gens = _timed("date:-30")
    assert gens[0].ok and elapsed < 0.9


def test_cap_is_configurable_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="redline.targets.openai"):
        elapsed, _, gens = _timed("30", ";max_retry_after=0.5")
    assert gens[0].ok and 0.45 <= elapsed < 5
    assert any("retry after 30 s" in r.message and "max_retry_after=0.5" in r.message for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="redline.targets.openai"):
        _timed("0")
    assert not caplog.records  # under the cap: nothing logged


@pytest.mark.parametrize("bad", ["-1", "abc", "inf"])
def test_bad_cap_is_a_clear_error(bad: str) -> None:
    with pytest.raises(TargetError, match="max_retry_after"):
        create_target(f"openai:m@http://127.0.0.1:9/v1;check=0;max_retry_after={bad}")
