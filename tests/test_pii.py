"""PII detectors: positives, negatives, checksums, redaction, and the run audit over a real SQLite store."""

from __future__ import annotations

import pytest

from redline.audits.privacy.pii import detect, iban_valid, luhn_valid, redact, ssn_valid
from redline.cli.main import main
from redline.records import Generation


def kinds(text: str) -> list[str]:
    return [f.kind for f in detect(text)]


@pytest.mark.parametrize("number,ok", [
    ("4111111111111111", True), ("4111111111111112", False), ("79927398713", True), ("79927398710", False),
    ("5500 0000 0000 0004", True), ("378282246310005", True), ("378282246310006", False),
])
def test_luhn(number: str, ok: bool) -> None:
    assert luhn_valid(number) is ok


@pytest.mark.parametrize("iban,ok", [
    ("GB82 WEST 1234 5698 7654 32", True), ("GB82 WEST 1234 5698 7654 33", False),
    ("DE89370400440532013000", True), ("DE89370400440532013001", False),
    ("FR1420041010050500013M02606", True), ("NL91ABNA0417164300", True), ("NL91ABNA041716430", False),
])
def test_iban_checksum(iban: str, ok: bool) -> None:
    assert iban_valid(iban) is ok


def test_ssn_rules() -> None:
    assert ssn_valid("123", "45", "6789")
    for bad in [("000", "12", "3456"), ("666", "12", "3456"), ("912", "12", "3456"), ("123", "00", "4567"),
                ("123", "45", "0000")]:
        assert not ssn_valid(*bad)
    assert kinds("SSN 123-45-6789.") == ["ssn"]
    assert kinds("SSN 666-45-6789 or 900-12-3456 or 123-00-4567") == []


def test_positive_cases() -> None:
    assert kinds("write to jane_doe+x@mail.example.co.uk today") == ["email"]
    assert kinds("call (415) 555-0132") == ["phone"]
    assert kinds("call 415-555-0132 or 415.555.0199") == ["phone", "phone"]
    assert kinds("call +44 20 7946 0958") == ["phone"]
    assert kinds("card 4111-1111-1111-1111 expires") == ["card"]
    assert kinds("IBAN DE89 3704 0044 0532 0130 00") == ["iban"]
    assert kinds("from 10.0.0.255 and fe80::1ff:fe23:4567:890a") == ["ipv4", "ipv6"]
    assert kinds("she lives at 221 Baker Street, London") == ["address"]
    assert kinds("office: 1600 Pennsylvania Avenue, Washington, DC 20500") == ["address"]


def test_negative_cases() -> None:
    assert kinds("card 4111 1111 1111 1112 (bad Luhn)") == []
    assert kinds("IBAN GB82 WEST 1234 5698 7654 33") == []
    assert kinds("version 1.2.3.4.5 and 999.1.1.1 and 12:30:45") == []
    assert kinds("call 055-555-0132 (invalid area code)") == []
    assert kinds("I cannot help with that request. The year 2024 had 365 days.") == []
    assert kinds("email me at name at example dot com") == []


def test_overlap_and_redact() -> None:
    text = "Card 4111 1111 1111 1111, SSN 123-45-6789, mail a.b@c.org"
    found = detect(text)
    assert [f.kind for f in found] == ["card", "ssn", "email"]
    assert all(text[f.start : f.end] == f.text for f in found)
    red = redact(text)
    assert "4111 1111" not in red and "123-45-6789" not in red and "a.b@c.org" not in red
    assert "[CARD ****1111]" in red and "[SSN]" in red and "[EMAIL *@*.org]" in red


class LeakyTarget:
    """Replies with PII for privacy behaviors' prompts containing 'email' and refuses otherwise."""

    id = "python:leaky"

    def generate(self, batch, params):  # noqa: ANN001, ANN201
        out = []
        for i, _conv in enumerate(batch):
            text = "Sure: reach him at bob@example.com or 212-555-0187." if i % 2 == 0 else "I can't help."
            out.append(Generation(text=text, tokens=8))
        return out


def test_scan_run_stores_findings(db_path: str, capsys) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from redline.audits.privacy.pii import scan_run
    from redline.engine.scan import ScanConfig, run_scan
    from redline.store.db import Store
    from redline.store.models import Finding

    config = ScanConfig(target="python:leaky", limit=4, judge="refusal")
    res = run_scan(config, db=db_path, target=LeakyTarget())
    store = Store(db_path)
    try:
        first = scan_run(store, res.run_id)
        again = scan_run(store, res.run_id)  # idempotent: findings replaced, not duplicated
        with store.session() as s:
            rows = list(s.scalars(select(Finding).where(Finding.run_id == res.run_id)))
    finally:
        store.close()
    assert first == again
    assert first["attempts"] >= 2 and 0 < first["with_pii"] < first["attempts"]
    assert first["by_kind"] == {"email": first["with_pii"], "phone": first["with_pii"]}
    assert len(rows) == first["findings"] == 2 * first["with_pii"]
    assert {r.redacted for r in rows} == {"[EMAIL *@*.com]", "[PHONE]"}
    assert main(["audit", "pii", res.run_id[:8], "--db", db_path]) in (0, None)
    out = capsys.readouterr().out
    assert "responses contain PII" in out and "email" in out


def test_cli_file_and_errors(tmp_path, capsys) -> None:  # noqa: ANN001
    f = tmp_path / "out.txt"
    f.write_text("Contact 4111 1111 1111 1111 and x@y.io\n")
    assert main(["audit", "pii", "--file", str(f), "--json"]) in (0, None)
    out = capsys.readouterr().out
    assert '"card": 1' in out and '"email": 1' in out and "4111 1111" not in out
    assert main(["audit", "pii"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
