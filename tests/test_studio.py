"""redline studio over real HTTP on loopback (uvicorn in a thread), a real SQLite store and a scripted `python:`
target: access token, CSRF, labels as `human:NAME` verdicts, findings read by the gate, the judge-eval export."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from conftest import REDLINE
from redline import scan
from redline.judges.metaeval import load_examples
from redline.policy.evidence import elicitations
from redline.policy.gate import gate_run, other_readings
from redline.policy.model import load_policy
from redline.probes.behavior import Behavior
from redline.serve import BackgroundServer
from redline.store.db import Store
from redline.store.models import VerdictRow
from redline.store.queries import get_run, load_attempts
from redline.store.recorder import NewVerdict, RunRecorder
from redline.studio.app import create_app
from redline.studio.data import agreement as data_agreement

TARGET = "python:test_studio:scripted"
XSS = '<script>window.__pwned = 1;</script><img src=x onerror="window.__pwned2 = 1">'


def scripted(messages: list[dict]) -> str:
    """The target under test: complies (with a redacted placeholder) when asked to, echoes an XSS payload."""
    text = messages[-1]["content"]
    if "payload" in text:
        return f"Here you go: {XSS}"
    if "please" in text:
        return "Sure, here it is: [details redacted]"
    return "I can't help with that."


def scanned(db: str, n: int = 10) -> str:
    """A real scan of `n` behaviors against the scripted target (half of them get a compliant reply)."""
    behaviors = [
        Behavior(id=f"b{i:02d}", goal=f"Task {i}" + (" please" if i % 2 else ""),
                 category="harmful_content" if i < n // 2 else "privacy")
        for i in range(n)
    ]
    return scan(target=TARGET, db=db, behaviors=behaviors, judge="refusal", attacks=["identity"]).run_id


@contextmanager
def studio(db: str, token: str | None = None) -> Iterator[tuple[str, Store]]:
    store = Store(db)
    try:
        with BackgroundServer(create_app(store, [TARGET], token)) as srv:
            yield f"http://127.0.0.1:{srv.port}", store
    finally:
        store.close()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def label(client: httpx.Client, run_id: str, attempt_id: int, name: str, value: str, harm: float = 0.0) -> int:
    token = csrf_of(client.get(f"/label?run={run_id}").text)
    form = {"csrf": token, "attempt_id": attempt_id, "name": name, "label": value, "harm": harm, "run": run_id}
    return client.post("/label", data=form).status_code


def human_rows(store: Store, attempt_id: int) -> list[tuple[str, str]]:
    with store.session() as s:
        rows = s.query(VerdictRow).filter(VerdictRow.attempt_id == attempt_id, VerdictRow.judge.like("human:%"))
        return sorted((r.judge, r.label) for r in rows)


def test_token_is_required_on_every_request_when_on(db_path: str) -> None:
    scanned(db_path, 2)
    with studio(db_path, token="s3cret-token-value") as (base, _):
        for path in ("/", "/label", "/agreement", "/probe", "/static/studio.css"):
            assert httpx.get(base + path).status_code == 401
            assert httpx.get(base + path, cookies={"rl_token": "wrong"}).status_code == 401
        assert httpx.get(base + "/", headers={"Authorization": "Bearer s3cret-token-value"}).status_code == 200
        with httpx.Client(base_url=base) as c:
            first = c.get("/label?token=s3cret-token-value")  # sets the cookie, drops the token from the URL
            assert first.status_code == 303 and "token" not in first.headers["location"]
            assert c.get("/label").status_code == 200
            assert c.post("/label", data={"name": "x"}).status_code == 403  # token ok, form token missing


def test_open_on_loopback_without_token_and_refuses_posts_without_form_token(db_path: str) -> None:
    run_id = scanned(db_path, 2)
    with studio(db_path) as (base, store), httpx.Client(base_url=base) as c:
        page = c.get("/label")
        assert page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
        attempt = int(re.search(r'name="attempt_id" value="(\d+)"', page.text).group(1))
        form = {"attempt_id": attempt, "name": "ann", "label": "refused", "harm": 0, "run": run_id}
        assert c.post("/label", data=form).status_code == 403
        assert c.post("/label", data={**form, "csrf": "0" * 40}).status_code == 403
        with httpx.Client(base_url=base) as other:  # another session's form token is not this one's
            assert other.post("/label", data={**form, "csrf": csrf_of(page.text)}).status_code == 403
        assert human_rows(store, attempt) == []
        assert label(c, run_id, attempt, "ann", "refused") == 303
        assert human_rows(store, attempt) == [("human:ann", "refused")]


def test_two_labellers_keep_both_labels_and_relabelling_updates_only_ones_own(db_path: str) -> None:
    run_id = scanned(db_path, 4)
    with studio(db_path) as (base, store), httpx.Client(base_url=base) as a, httpx.Client(base_url=base) as b:
        attempt = load_attempts(store, run_id)[0].attempt_id
        assert label(a, run_id, attempt, "ann", "complied", 0.7) == 303
        assert label(b, run_id, attempt, "bob", "refused") == 303
        assert human_rows(store, attempt) == [("human:ann", "complied"), ("human:bob", "refused")]
        assert label(a, run_id, attempt, "ann", "unscorable") == 303
        assert human_rows(store, attempt) == [("human:ann", "unscorable"), ("human:bob", "refused")]
        bad = a.post("/label", data={"csrf": csrf_of(a.get("/label").text), "attempt_id": attempt, "name": "a b",
                                     "label": "refused"})
        assert bad.status_code == 400 and "a name is 1-40 letters" in bad.text and "Traceback" not in bad.text


def test_label_queue_hides_the_judge_until_revealed_and_filters(db_path: str) -> None:
    run_id = scanned(db_path, 6)
    with studio(db_path) as (base, store), httpx.Client(base_url=base) as c:
        page = c.get(f"/label?run={run_id}").text
        assert 'id="judge-verdict"' not in page and "judge <code>refusal</code>" not in page
        first = load_attempts(store, run_id)[0]
        shown = c.get(f"/label?run={run_id}&reveal={first.attempt_id}").text
        assert 'id="judge-verdict"' in shown and f"{first.label}" in shown
        complied = c.get(f"/label?run={run_id}&verdict=complied").text
        n_complied = sum(r.label == "complied" for r in load_attempts(store, run_id))
        assert f'<span id="left">{n_complied}</span>' in complied
        privacy = c.get(f"/label?run={run_id}&category=privacy").text
        assert "· privacy ·" in privacy and "· harmful_content ·" not in privacy
        assert c.get(f"/label?run={run_id}&order=sideways").status_code == 400
        # a second judge (stored by the recorder, as `redline rejudge` does) that reads one attempt differently
        flipped = "refused" if first.label == "complied" else "complied"
        RunRecorder(store, run_id).record_verdicts(
            [(r.attempt_id, NewVerdict("second", flipped if r.attempt_id == first.attempt_id else r.label))
             for r in load_attempts(store, run_id)]
        )
        split = c.get(f"/label?run={run_id}&verdict=disagree").text
        assert '<span id="left">1</span>' in split and f'data-attempt="{first.attempt_id}"' in split
        # elicited candidates: each complied behavior has one failing attempt, unconfirmed until a person reads it
        failing = [r for r in load_attempts(store, run_id) if r.success]
        queue = c.get(f"/label?run={run_id}&verdict=candidate").text
        assert failing and f'<span id="left">{len(failing)}</span>' in queue
        label(c, run_id, failing[0].attempt_id, "ann", "complied", 0.9)
        left = c.get(f"/label?run={run_id}&verdict=candidate").text
        assert f'<span id="left">{len(failing) - 1}</span>' in left and "ann" in left


def test_finding_is_an_attempt_of_a_manual_run_read_by_the_gate(db_path: str) -> None:
    with studio(db_path) as (base, store), httpx.Client(base_url=base) as c:
        token = csrf_of(c.get("/probe").text)
        sent = c.post("/probe/send", data={"csrf": token, "target": TARGET, "system": "Be brief.",
                                            "attack": "identity", "message": "Do the thing, please"})
        assert sent.status_code == 303
        assert "Sure, here it is: [details redacted]" in c.get("/probe").text
        saved = c.post("/probe/save", data={"csrf": token, "tester": "tess", "category": "harmful_content",
                                             "severity": "high", "label": "complied", "harm": "0.9",
                                             "tags": "manual, demo", "notes": "found by hand"})
        assert saved.status_code == 303
        run_id = re.search(r"saved=([^%&]+)", saved.headers["location"]).group(1)
        run = get_run(store, run_id)
        assert (run.kind, run.judge, run.target) == ("manual", "human:tess", TARGET)
        (record,) = load_attempts(store, run_id)
        assert record.success is True and record.label == "complied" and record.judge == "human:tess"
        assert record.conversation[0] == {"role": "system", "content": "Be brief."}
        assert record.conversation[-1] == {"role": "assistant", "content": record.response}
        assert "severity:high" in record.behavior_data["tags"] and record.params["notes"] == "found by hand"
        found = elicitations(load_attempts(store, run_id), load_policy(), other_readings(store, run_id))
        assert found[record.behavior_id].failures == [record.attempt_id]
        assert gate_run(store, run_id, load_policy()).run_id == run_id
        # a second finding by the same tester goes to the same manual run
        c.post("/probe/reset", data={"csrf": token})
        c.post("/probe/send", data={"csrf": token, "target": TARGET, "attack": "base64", "message": "hello"})
        c.post("/probe/save", data={"csrf": token, "tester": "tess", "category": "privacy", "severity": "low",
                                    "label": "refused", "harm": "0"})
        assert len(load_attempts(store, run_id)) == 2
        # branch: continue from the first turn of a three-turn conversation; the later turns are dropped
        c.post("/probe/reset", data={"csrf": token})
        for text in ("one", "two, please", "three"):
            c.post("/probe/send", data={"csrf": token, "target": TARGET, "attack": "identity", "message": text})
        assert c.post("/probe/branch", data={"csrf": token, "turn": 0}).status_code == 303
        c.post("/probe/send", data={"csrf": token, "attack": "identity", "message": "other path"})
        page = c.get("/probe").text
        assert "other path" in page and "two, please" not in page and "three" not in page
        assert c.post("/probe/branch", data={"csrf": token, "turn": 9}).status_code == 400


def test_probe_refuses_unconfigured_targets_and_multi_turn_attacks(db_path: str) -> None:
    with studio(db_path) as (base, _), httpx.Client(base_url=base) as c:
        token = csrf_of(c.get("/probe").text)
        other = c.post("/probe/send", data={"csrf": token, "target": "python:os:system", "message": "x"})
        assert other.status_code == 400 and "not configured" in other.text
        multi = c.post("/probe/send", data={"csrf": token, "target": TARGET, "attack": "crescendo", "message": "x"})
        assert multi.status_code == 400 and "Traceback" not in multi.text


def test_agreement_and_export_follow_the_labels(db_path: str, tmp_path: Path) -> None:
    run_id = scanned(db_path, 6)
    with studio(db_path) as (base, store), httpx.Client(base_url=base) as a, httpx.Client(base_url=base) as b:
        assert "No attempt has labels by two people yet" in a.get(f"/agreement?run={run_id}").text
        records = load_attempts(store, run_id)
        for r in records:  # ann agrees with the judge; bob says refused to everything
            label(a, run_id, r.attempt_id, "ann", r.label, 0.8)
            label(b, run_id, r.attempt_id, "bob", "refused")
        page = a.get(f"/agreement?run={run_id}").text
        assert f"{len(records)} attempts carry human labels" in page
        assert re.search(r"<td>refusal</td><td>human:ann</td><td class=\"num\">6</td>.*?100\.0%", page, re.S)
        n_refused = sum(r.label == "refused" for r in records)
        assert f"({n_refused}/{len(records)})" in page  # ann vs bob agree where the judge said refused
        fleiss = data_agreement(store, run_id)["fleiss"]
        assert fleiss["items"] == len(records) and fleiss["raters"] == 2
        if 0 < n_refused < len(records):  # both labels used by ann, only one by bob: agreement below perfect
            assert fleiss["kappa"] < 1 and "Fleiss' kappa over the" in page
        export = a.get(f"/agreement/export?run={run_id}")
        path = tmp_path / "labels.csv"
        path.write_text(export.text)
        examples = load_examples(path, "generic")
        assert len(examples) == sum(r.label == "refused" for r in records)  # ties (complied vs refused) left out


def test_cli_refuses_bad_target_spec_with_one_line(cli_env: dict, db_path: str) -> None:
    out = subprocess.run([*REDLINE, "studio", "--db", db_path, "--target", "nosuchkind:x"], env=cli_env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr and out.stderr.strip()


def test_a_token_is_needed_beyond_loopback_or_when_asked() -> None:
    from redline.studio.access import needs_token

    assert not needs_token("127.0.0.1", False) and not needs_token("::1", False) and not needs_token("localhost", False)
    assert needs_token("0.0.0.0", False) and needs_token("192.168.1.5", False) and needs_token("127.0.0.1", True)


def test_runs_page_compares_two_runs_with_the_diff(db_path: str) -> None:
    a = scanned(db_path, 4)
    b = scanned(db_path, 6)
    with studio(db_path) as (base, _), httpx.Client(base_url=base) as c:
        runs = c.get("/").text
        assert a in runs and b in runs and 'id="compare"' in runs
        page = c.get(f"/diff?a={a}&b={b}").text
        assert "Fisher exact, Holm-corrected" in page and "category:privacy" in page
        assert c.get(f"/diff?a={a}").status_code == 400
