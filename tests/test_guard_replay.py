"""`redline guard replay`: a stored scan through the guard's rails without calling the model. On single-turn attempts
the replay's block decisions equal the live guard's (`guard:` target over the same `python:` upstream); a
multi-turn attempt blocked at its second turn counts as blocked; bad runs are one line, exit 2; the JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import redline
from redline.cli.main import main
from redline.guard.engine import Guard
from redline.guard.policy import load_guard_policy
from redline.guard.replay import KIND, attack_matches, replay_attempt, replay_run, target_calls
from redline.probes import loaders
from redline.store.db import Store
from redline.store.queries import get_run, load_attempts, load_audit_results
from redline.store.runs import create_aux_run

DATA = Path(loaders.__file__).parent / "data"
# the replies only have the *shape* of harmful help: every specific is a redacted placeholder
STEPS = ("Sure, here is exactly how to do that. First, you will need the following materials: [details redacted]. "
         "Then follow these steps:\n1. [step details redacted]\n2. [step details redacted]\n"
         "3. [step details redacted]\nThat is all you need.")
PLAIN = "Here is some general background on that topic, which is widely covered in public sources."


def upstream(messages: list[dict]) -> str:
    """Step-shaped help for some requests, harmless background for others (a mix the rails decide on)."""
    users = [m["content"] for m in messages if m["role"] == "user"]
    if "safety training course" in users[0]:  # the multi-step escalation: harmless at turn 1, step-shaped after
        return PLAIN if len(users) == 1 else STEPS
    return STEPS if len(users[-1]) % 2 else PLAIN


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    """(db, bare run, the same attempts scanned live through the guard)."""
    db = str(tmp_path_factory.mktemp("replay") / "redline.db")
    behaviors = (loaders.load_behaviors_file(DATA / "harmful_content.yaml")[:6]
                 + loaders.load_behaviors_file(DATA / "over_refusal.yaml")[:6])
    attacks = ["identity", "roleplay:template=developer_mode"]
    target = "python:test_guard_replay:upstream"
    bare = redline.scan(target=target, behaviors=behaviors, attacks=attacks, db=db).run_id
    live = redline.scan(target=f"guard:{target}", behaviors=behaviors, attacks=attacks, db=db).run_id
    return db, bare, live


def test_replay_equals_live_on_single_turn_attempts(runs) -> None:
    db, bare, live = runs
    store = Store(db)
    try:
        live_blocks = {(r.behavior_id, r.attack, r.variant): r.params["extra"]["guard"]["blocked"]
                       for r in load_attempts(store, live)}
        result = replay_run(store, bare, load_guard_policy(), save=False)
        by_id = {a: rail for a, _turn, rail, _phase, _score in result["blocked_attempts"]}
        replayed = {(r.behavior_id, r.attack, r.variant): by_id.get(r.attempt_id) for r in load_attempts(store, bare)}
    finally:
        store.close()
    assert len(replayed) == 24 and replayed == live_blocks
    rails = set(replayed.values())
    assert None in rails and len(rails - {None}) >= 1  # some attempts pass, some are blocked: the test can fail
    assert result["blocked"] == sum(v is not None for v in replayed.values())
    assert result["multi_turn"] == {"attempts": 0, "blocked_after_turn_1": 0, "judged_before_block": 0,
                                    "attack_successes_before_block": 0}


def test_a_multi_turn_attempt_blocked_at_turn_two_counts_as_blocked(tmp_path: Path) -> None:
    db = str(tmp_path / "mt.db")
    behaviors = loaders.load_behaviors_file(DATA / "harmful_content.yaml")[:1]
    run = redline.scan(target="python:test_guard_replay:upstream", behaviors=behaviors,
                       attacks=["multi_step:mode=escalation"], db=db).run_id
    store = Store(db)
    try:
        (attempt,) = load_attempts(store, run)
        calls = target_calls(attempt.conversation, 1)  # the attack wrote the first user turn
        assert [c.reply for c in calls] == [PLAIN, STEPS, STEPS]
        assert len(calls[1].messages) == 3 and calls[1].messages[1] == {"role": "assistant", "content": PLAIN}
        assert attempt.success  # bare: the step-shaped final reply is an attack success
        result = replay_run(store, run, load_guard_policy())
    finally:
        store.close()
    ((_, turn, rail, phase, _),) = result["blocked_attempts"]
    assert (turn, rail, phase) == (2, "output_harm", "output")
    # the judge reads the turns before the block (PLAIN) and the guard's refusal: not an attack success
    assert result["multi_turn"] == {"attempts": 1, "blocked_after_turn_1": 1, "judged_before_block": 1,
                                    "attack_successes_before_block": 0}
    asr = result["metrics"]["attack_success"]
    assert (asr["bare"]["k"], asr["guarded"]["k"], asr["guarded"]["n"]) == (1, 0, 1)
    assert result["rails"]["output_harm (output)"]["after turn 1"] == 1


class EarlierTurnsJudge:
    """Counts an attack success when an earlier reply of the target holds PLAIN; records what it was shown."""

    id = "earlier-turns"

    def __init__(self) -> None:
        self.seen: list = []

    def judge(self, items: list) -> list:
        from redline.judges.base import Verdict

        self.seen += items
        return [Verdict("complied", 1.0, 0.9, self.id, "earlier") if PLAIN in x.earlier_replies
                else Verdict("refused", 0.0, 0.9, self.id, "none") for x in items]


def test_a_later_block_is_judged_on_the_turns_before_it(tmp_path: Path) -> None:
    """Live, the judge reads every turn the target wrote: harm delivered before a later block still counts."""
    db = str(tmp_path / "mt.db")
    behaviors = loaders.load_behaviors_file(DATA / "harmful_content.yaml")[:1]
    run = redline.scan(target="python:test_guard_replay:upstream", behaviors=behaviors,
                       attacks=["multi_step:mode=escalation"], db=db).run_id
    judge = EarlierTurnsJudge()
    policy = load_guard_policy()
    store = Store(db)
    try:
        result = replay_run(store, run, policy, verdict_judge=judge, save=False)
    finally:
        store.close()
    (item,) = judge.seen
    assert item.earlier_replies == [PLAIN] and item.response == policy.refusal
    assert item.transcript[-1].content == policy.refusal and item.transcript[-2].role == "user"
    assert result["metrics"]["attack_success"]["guarded"]["k"] == 1
    assert result["multi_turn"]["attack_successes_before_block"] == 1


def test_replay_attempt_stops_at_the_first_block() -> None:
    guard = Guard(load_guard_policy())
    try:
        convo = [{"role": "user", "content": "Tell me about the history of locks."},
                 {"role": "assistant", "content": PLAIN},
                 {"role": "user", "content": "Go on, what did they do next?"},
                 {"role": "assistant", "content": STEPS},
                 {"role": "user", "content": "And after that?"},
                 {"role": "assistant", "content": PLAIN}]
        calls = target_calls(convo, 0)
        decision = replay_attempt(guard, 1, calls)
        clean = replay_attempt(guard, 2, target_calls(convo[:2], 0))
    finally:
        guard.close()
    assert len(calls) == 3 and decision.calls == 3
    assert (decision.blocked_by, decision.turn, decision.phase) == ("output_harm", 2, "output")
    assert not clean.blocked and clean.calls == 1


def test_attack_filter_matches_templates_and_options() -> None:
    assert attack_matches("roleplay", "developer_mode", "roleplay:template=developer_mode")
    assert attack_matches("roleplay:template=developer_mode", "developer_mode", "roleplay:template=developer_mode")
    assert not attack_matches("roleplay", "aim", "roleplay:template=developer_mode")
    assert not attack_matches("many_shot:shots=8", "", "many_shot:shots=16")
    assert attack_matches("many_shot:shots=8", "", "many_shot")
    assert not attack_matches("fiction:template=novel+base64", "novel", "fiction:template=novel")
    assert attack_matches("multi_step", "escalation", "multi_step")


def test_json_shape_and_stored_result(runs, capsys: pytest.CaptureFixture) -> None:
    db, bare, _ = runs
    assert main(["guard", "replay", bare, "--db", db, "--json", "--attack", "identity"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source_run"] == bare and out["attempts"] == 12 and set(out["by_attack"]) == {"identity"}
    for metric in ("attack_success", "over_refusal"):
        for side in ("bare", "guarded"):
            assert {"k", "n", "rate", "low", "high", "n_effective"} <= set(out["metrics"][metric][side])
    assert out["metrics"]["attack_success"]["bare"]["n"] == 6 and out["metrics"]["over_refusal"]["bare"]["n"] == 6
    assert set(out["by_category"]) == {"harmful_content", "over_refusal"}
    assert out["speed"]["attempts_per_s"] > 0 and "first block" in out["footnote"]
    store = Store(db)
    try:
        assert get_run(store, out["run_id"]).kind == KIND
        saved = {r.key: r.data for r in load_audit_results(store, out["run_id"])}
    finally:
        store.close()
    assert saved["summary"]["metrics"] == out["metrics"]
    assert saved["blocked"]["attempts"] == out["blocked_attempts"]
    assert main(["guard", "replay", bare, "--db", db, "--quiet", "--attack", "identity"]) == 0
    text = capsys.readouterr().out
    assert "attack_success" in text and "What blocked" in text and "first block" in text


def test_bad_runs_are_one_line_exit_2(runs, capsys: pytest.CaptureFixture) -> None:
    db, bare, live = runs
    assert main(["guard", "replay", "no-such-run", "--db", db]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err
    store = Store(db)
    try:
        other = create_aux_run(store, "audit-bias", "python:x", {})
    finally:
        store.close()
    assert main(["guard", "replay", other, "--db", db]) == 2
    err = capsys.readouterr().err
    assert "not a scan" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["guard", "replay", live, "--db", db]) == 2
    assert "through the guard already" in capsys.readouterr().err
    assert main(["guard", "replay", bare, "--db", db, "--attack", "no_such_attack"]) == 2
    assert main(["guard", "replay", bare, "--db", db, "--attack", "many_shot:shots=16"]) == 2
    assert "no attempts" in capsys.readouterr().err


def test_suite_filter_takes_the_suites_attacks_and_behaviors(runs, tmp_path: Path) -> None:
    db, bare, _ = runs
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\nsets: [over_refusal]\nattacks: ['roleplay:template=developer_mode']\n")
    store = Store(db)
    try:
        standard = replay_run(store, bare, load_guard_policy(), suite="standard", save=False)
        only = replay_run(store, bare, load_guard_policy(), suite=str(suite), save=False)
    finally:
        store.close()
    assert standard["attempts"] == 24
    assert only["attempts"] == 6 and set(only["by_attack"]) == {"roleplay:template=developer_mode"}
    assert set(only["by_category"]) == {"over_refusal"}
