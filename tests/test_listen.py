"""Blind ABX test: trials (seeded, balanced, loudness-matched), the page (no key in it), the binomial
p-value, scoring (`python -m drywet listen-score`), the report stage's outputs, and the page in
headless Chromium answered by mouse clicks, saved through a real download and scored.

The browser test drives Chromium over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
JSON messages ending in a NUL byte on file descriptors 3 and 4), so it needs no package beyond the
standard library.
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import select
import signal
import subprocess
import sys
import time
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from drywet import listen
from drywet.app.cli import main as cli
from drywet.config import load_effects
from drywet.errors import InputError
from drywet.listen import ListenTrial, render_listen
from drywet.report import AudioClip, EffectSection, save_section, write_report
from tests.browser import FLAGS, find_chromium
from tests.test_report import _chromium_or_skip

ROOT = Path(__file__).resolve().parents[1]
SR = 16000


def _signal(seconds: float = 3.0, sr: int = SR, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A target (a clipped two-note tone with noise) and a quieter, slightly wrong model of it."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    dry = 0.3 * np.sin(2 * np.pi * 196.0 * t) + 0.2 * np.sin(2 * np.pi * 247.0 * t)
    target = np.tanh(3.0 * dry) * 0.6 + 0.003 * rng.standard_normal(t.size)
    model = 0.5 * np.tanh(2.5 * dry) + 0.003 * rng.standard_normal(t.size)
    return target, model


def _clips(positions: tuple[str, ...] = ("",), sr: int = SR) -> list[AudioClip]:
    """Clips labelled as stages/section.py labels them (dry, target, prediction per knob position)."""
    clips = []
    for i, where in enumerate(positions):
        target, model = _signal(seed=i, sr=sr)
        suffix = f", {where}" if where else ""
        clips += [AudioClip("dry (input)" + suffix, 0.1 * target, sr),
                  AudioClip(listen.TARGET_LABEL + suffix, target, sr),
                  AudioClip("prediction (epoch 3 of 3)" + suffix, model, sr)]
    clips += [AudioClip("checkpoint, epoch 1", 0.2 * target, sr),
              AudioClip("target at the checkpoint excerpt", target, sr)]
    return clips


def _trials(effects: dict[str, int], seconds: float = listen.TRIAL_S) -> list[listen.Trial]:
    out = []
    for fx, n in effects.items():
        out += listen.build_trials(fx, listen.pairs_from_clips(_clips()), n, seconds)
    return out


def _shown(trials: list[listen.Trial]) -> list[ListenTrial]:
    return [ListenTrial(t.effect, t.number, t.where, t.a, t.b, t.x, t.sample_rate) for t in trials]


def _db(a: np.ndarray, b: np.ndarray) -> float:
    return 20 * np.log10(listen.rms(a) / listen.rms(b))


# ----------------------------------------------------------------------------------------------
# Trials


def test_trials_are_seeded_and_byte_stable() -> None:
    one, two = _trials({"sd1": 8, "b65": 8}), _trials({"sd1": 8, "b65": 8})
    assert listen.key(one) == listen.key(two)
    for s, t in zip(one, two, strict=True):
        for c in ("a", "b", "x"):
            assert np.array_equal(getattr(s, c), getattr(t, c))
    assert render_listen("t", _shown(one), "p") == render_listen("t", _shown(two), "p")
    pairs = listen.pairs_from_clips(_clips())
    other = listen.build_trials("sd1", pairs, 8, seed=1)
    assert [(t.x_is, t.model_is) for t in other] != [(t.x_is, t.model_is) for t in one[:8]]
    # the two effects draw different orders from the same seed
    assert [(t.x_is, t.model_is) for t in one[:8]] != [(t.x_is, t.model_is) for t in one[8:]]


@pytest.mark.parametrize("count", [1, 2, 7, 8, 13])
def test_model_side_and_x_side_are_balanced(count: int) -> None:
    trials = listen.build_trials("sd1", listen.pairs_from_clips(_clips()), count)
    assert [t.number for t in trials] == list(range(1, count + 1))
    for side in ("x_is", "model_is"):
        n_a = sum(getattr(t, side) == "A" for t in trials)
        assert n_a in (count // 2, (count + 1) // 2), side


def test_x_repeats_one_clip_and_the_model_is_loudness_matched_to_0_01_db() -> None:
    (pair,) = listen.pairs_from_clips(_clips())
    assert abs(_db(pair.model, pair.target)) > 1.0  # the raw prediction is quieter: matching matters
    trials = listen.build_trials("sd1", [pair], 8)
    windows = listen.trial_windows(len(pair.target), SR, 8)
    assert len({w.start for w in windows}) == 8 and all(w.stop - w.start == 2 * SR for w in windows)
    for t, w in zip(trials, windows, strict=True):
        same, other = (t.a, t.b) if t.x_is == "A" else (t.b, t.a)
        assert np.max(np.abs(t.x - same)) <= 2 * listen.LSB  # the same clip, each with its own dither
        assert not np.array_equal(t.x, same)
        assert np.max(np.abs(t.x - other)) > 0.01
        model, target = (t.a, t.b) if t.model_is == "A" else (t.b, t.a)
        np.testing.assert_allclose(target, pair.target[w], atol=2 * listen.LSB)  # the recording is not scaled
        assert abs(_db(model, target)) < 0.01


def test_loudness_matching_turns_both_down_rather_than_clip() -> None:
    target, model = _signal()
    t, m = listen.loudness_matched(target, 0.1 * model)
    assert np.array_equal(t, target) and abs(_db(m, t)) < 1e-9
    hot = np.sign(model) * np.minimum(1.0, 4 * np.abs(model))  # louder in RMS than the target, peaks at 1
    quiet_target = 0.95 * target / np.max(np.abs(target))
    t, m = listen.loudness_matched(quiet_target, 0.2 * hot)
    assert abs(_db(m, t)) < 1e-9
    assert max(np.max(np.abs(t)), np.max(np.abs(m))) <= listen.PEAK + 1e-12
    silent = np.zeros(100)
    assert np.array_equal(listen.loudness_matched(silent, model[:100])[1], model[:100])


def test_knob_positions_give_one_pair_each_and_trials_cycle_over_them() -> None:
    pairs = listen.pairs_from_clips(_clips(("gain 0.2", "gain 0.8")))
    assert [p.where for p in pairs] == ["gain 0.2", "gain 0.8"]
    trials = listen.build_trials("fz", pairs, 5)
    assert [t.where for t in trials] == ["gain 0.2", "gain 0.8"] * 2 + ["gain 0.2"]
    with pytest.raises(InputError, match="no target clip followed by a prediction"):
        listen.pairs_from_clips([AudioClip("dry (input)", np.zeros(10), SR)], "data/report/x")


# ----------------------------------------------------------------------------------------------
# The page


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.audio: list[dict[str, str]] = []
        self.text: list[str] = []
        self.trials: list[dict[str, str]] = []
        self.fieldset_text: list[str] = []
        self._skip = 0
        self._in_trial = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "audio":
            self.audio.append(a)
        elif tag == "fieldset":
            self.trials.append(a)
            self.fieldset_text.append("")
            self._in_trial = True
        elif tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag == "fieldset":
            self._in_trial = False

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)
        if self._in_trial:
            self.fieldset_text[-1] += " " + data


def test_page_plays_a_b_x_per_trial_and_holds_no_key() -> None:
    trials = _trials({"sd1": 4, "b65": 3})
    key = listen.key(trials)
    page = render_listen("ABX", _shown(trials), key["page"])
    p = _Page()
    p.feed(page)
    assert [a["title"] for a in p.audio] == ["A", "B", "X"] * 7
    assert [(t["data-effect"], t["data-trial"]) for t in p.trials] == [
        *(("sd1", str(n)) for n in range(1, 5)), *(("b65", str(n)) for n in range(1, 4))]
    uris = [a["src"] for a in p.audio]
    assert len(set(uris)) == len(uris)  # X's file is never a byte copy of A's or B's
    for t, x in zip(trials, uris[2::3], strict=True):
        decoded = sf.read(io.BytesIO(base64.b64decode(x.split(",", 1)[1])))[0]
        np.testing.assert_allclose(decoded, t.x, atol=2 * listen.LSB)
    text = " ".join(p.text)
    assert "loudness-matched" in text.lower() and "RMS" in text and key["page"] in text
    # A trial shows its number, A, B, X and the two answers; nothing else that could tell them apart.
    assert [" ".join(t.split()) for t in p.fieldset_text] == [f"Trial {t.number} A B X X is A X is B" for t in trials]
    assert "model_is" not in page and json.dumps(key["effects"]) not in page
    assert page.count("<script>") == 2 and "http" not in page


def test_p_value_is_the_exact_binomial_tail() -> None:
    assert listen.p_value(0, 0) == 1.0
    assert (listen.p_value(0, 1), listen.p_value(1, 1)) == (1.0, 0.5)
    assert [listen.p_value(k, 3) for k in range(4)] == [1.0, 7 / 8, 4 / 8, 1 / 8]
    assert [Fraction(listen.p_value(k, 8)) for k in (6, 7, 8)] == [Fraction(37, 256), Fraction(9, 256),
                                                                   Fraction(1, 256)]
    assert listen.p_value(12, 16) == pytest.approx(2517 / 65536, abs=0)
    with pytest.raises(ValueError):
        listen.p_value(4, 3)


# ----------------------------------------------------------------------------------------------
# Scoring


def _answers(key: dict, right: dict[str, int], page: str | None = None) -> dict:
    """Answers with the first right[fx] trials of each effect correct and the rest wrong."""
    out = []
    for fx, ts in key["effects"].items():
        for i, t in enumerate(ts):
            wrong = "B" if t["x_is"] == "A" else "A"
            out.append({"effect": fx, "trial": t["trial"], "x_is": t["x_is"] if i < right.get(fx, 0) else wrong})
    return {"version": listen.VERSION, "page": page or key["page"], "answers": out}


def test_score_counts_correct_answers_per_effect_and_overall() -> None:
    key = listen.key(_trials({"sd1": 8, "b65": 4}))
    got = listen.score(_answers(key, {"sd1": 8, "b65": 2}), key)
    assert got["effects"]["sd1"] == {"trials": 8, "correct": 8, "unanswered": 0, "p_value": 1 / 256}
    assert got["effects"]["b65"] == {"trials": 4, "correct": 2, "unanswered": 0, "p_value": 11 / 16}
    assert got["overall"] == {"trials": 12, "correct": 10, "unanswered": 0,
                              "p_value": listen.p_value(10, 12)}
    partial = _answers(key, {"sd1": 3})
    partial["answers"] = partial["answers"][:3]
    got = listen.score(partial, key)
    assert got["effects"]["sd1"]["trials"] == 3 and got["effects"]["sd1"]["unanswered"] == 5
    assert got["effects"]["b65"] == {"trials": 0, "correct": 0, "unanswered": 4, "p_value": 1.0}


def test_score_refuses_another_pages_answers_and_malformed_ones() -> None:
    key = listen.key(_trials({"sd1": 4}))
    with pytest.raises(InputError, match="another build of the listening page"):
        listen.score(_answers(key, {}, page="0123456789abcdef"), key)
    good = _answers(key, {})
    for bad, why in [([], "JSON object"), ({**good, "version": 2}, "version"), ({**good, "page": ""}, "page id"),
                     ({**good, "answers": {}}, "answers list"),
                     ({**good, "answers": [{"effect": "sd1", "trial": "1", "x_is": "A"}]}, "answer 1"),
                     ({**good, "answers": [{"effect": "sd1", "trial": 1, "x_is": "C"}]}, "answer 1"),
                     ({**good, "answers": good["answers"][:1] * 2}, "answered twice")]:
        with pytest.raises(InputError, match=why):
            listen.score(bad, key)
    with pytest.raises(InputError, match="sd1 trial 9 is not on page"):
        listen.score({**good, "answers": [{"effect": "sd1", "trial": 9, "x_is": "A"}]}, key)
    with pytest.raises(InputError, match="not a listening-test key"):
        listen.score(good, {"page": key["page"]})


def test_listen_score_command_writes_sorted_metrics_and_one_line_errors(tmp_path: Path, capsys) -> None:
    key = listen.key(_trials({"sd1": 4}))
    (tmp_path / "key.json").write_text(json.dumps(key))
    (tmp_path / "answers.json").write_text(json.dumps(_answers(key, {"sd1": 3})))
    out = tmp_path / "metrics" / "listening.json"
    args = ["--key", str(tmp_path / "key.json"), "--out", str(out)]
    assert cli(["listen-score", str(tmp_path / "answers.json"), *args]) == 0
    text = out.read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert json.loads(text)["effects"]["sd1"] == {"trials": 4, "correct": 3, "unanswered": 0, "p_value": 5 / 16}
    assert "sd1: 3 of 4 correct, p = 0.3125" in capsys.readouterr().out
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "other.json").write_text(json.dumps(_answers(key, {}, page="ffffffffffffffff")))
    for name, why in [("broken.json", "not a readable JSON answers file"), ("missing.json", "not found"),
                      ("other.json", "another build")]:
        assert cli(["listen-score", str(tmp_path / name), *args]) == 2
        err = capsys.readouterr().err
        assert why in err and err.count("\n") == 1 and "Traceback" not in err


# ----------------------------------------------------------------------------------------------
# The report stage


def _stage_repo(tmp_path: Path, trials: int) -> tuple[Path, list[str]]:
    """A folder with the repository's params.yaml (abx_trials set) and a report section per effect."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["report"]["abx_trials"] = trials
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    effects = list(load_effects(tmp_path / "params.yaml"))
    for fx in effects:
        row = [["effect", fx], ["source", "test"]]
        save_section(EffectSection(fx, fx, {"esr": 0.1}, _clips()), tmp_path / "data" / "report" / fx,
                     extra={"row": row})
    return tmp_path, effects


def _run_stage(repo: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "stages.report", "--sections", "data/report", "--html", "plots/report.html",
           "--markdown", "metrics/report.md", "--listen", "plots/listen.html", "--key", "data/listen_key.json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=True)


def test_report_stage_writes_the_page_and_its_key_byte_stably(tmp_path: Path) -> None:
    repo, effects = _stage_repo(tmp_path, 3)
    _run_stage(repo)
    page, key = (repo / "plots" / "listen.html").read_bytes(), (repo / "data" / "listen_key.json").read_bytes()
    _run_stage(repo)
    assert (repo / "plots" / "listen.html").read_bytes() == page
    assert (repo / "data" / "listen_key.json").read_bytes() == key
    k = json.loads(key)
    assert list(k["effects"]) == effects and all(len(ts) == 3 for ts in k["effects"].values())
    assert f'data-page="{k["page"]}"' in page.decode()
    assert page.decode().count("<audio ") == 9 * len(effects)


# ----------------------------------------------------------------------------------------------
# In a browser: click every answer, save (a real download), score the file


TRAMPOLINE = ("import os, sys\n"
              "r, w = int(sys.argv[1]), int(sys.argv[2])\n"
              "os.dup2(r, 3); os.dup2(w, 4); os.close(r); os.close(w)\n"
              "os.execv(sys.argv[3], sys.argv[3:])\n")


class _DevTools:
    """Headless Chromium driven over the DevTools protocol on a pipe (fd 3: commands, fd 4: replies)."""

    def __init__(self, binary: str, profile: Path) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()
        # Above 4, so moving them onto 3 and 4 never overwrites one with the other; a small Python
        # trampoline does the moving (Debian's chromium is a shell script, and dash takes one-digit
        # descriptors only).
        hi_r, hi_w = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(out_w, fcntl.F_DUPFD, 10)
        os.close(cmd_r)
        os.close(out_w)
        args = [binary, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"]
        self.proc = subprocess.Popen([sys.executable, "-c", TRAMPOLINE, str(hi_r), str(hi_w), *args],
                                     pass_fds=(hi_r, hi_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(hi_r)
        os.close(hi_w)
        self._buf, self._id, self.events = b"", 0, []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._out_r], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._out_r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_event(self, method: str, match=lambda params: True, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method and match(e.get("params", {})):
                    return self.events.pop(i)["params"]
            self.events.append(self._read(deadline))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
            self.proc.wait(timeout=10)
        except (OSError, RuntimeError, TimeoutError, subprocess.TimeoutExpired):
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._out_r)


def _evaluate(dt: _DevTools, session: str, expression: str):
    got = dt.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
    assert "exceptionDetails" not in got, got
    return got["result"].get("value")


def _click(dt: _DevTools, session: str, selector: str) -> None:
    """A left-button mouse click at the centre of the element, scrolled into view first."""
    x, y = _evaluate(dt, session, f"""(function () {{
        var e = document.querySelector({json.dumps(selector)});
        e.scrollIntoView({{block: "center"}});
        var r = e.getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2];
    }})()""")
    for kind in ("mousePressed", "mouseReleased"):
        dt.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
                session)


def test_page_is_answered_by_clicks_saved_and_scored_in_headless_chromium(tmp_path: Path, capsys) -> None:
    _chromium_or_skip()
    trials = _trials({"sd1": 4, "b65": 4}, seconds=1.0)
    key = listen.key(trials)
    (tmp_path / "key.json").write_text(json.dumps(key))
    page = tmp_path / "listen.html"
    write_report(page, render_listen("ABX", _shown(trials), key["page"]))
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    # Answer sd1 right throughout and b65 right in its first trial only.
    want = {(fx, t["trial"]): (t["x_is"] if fx == "sd1" or t["trial"] == 1 else "B" if t["x_is"] == "A" else "A")
            for fx, ts in key["effects"].items() for t in ts}

    dt = _DevTools(find_chromium(), tmp_path / "profile")
    try:
        dt.send("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads),
                                                "eventsEnabled": True})
        target = dt.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = dt.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        dt.send("Page.enable", session=session)
        dt.send("Page.navigate", {"url": page.resolve().as_uri()}, session)
        dt.wait_event("Page.loadEventFired", timeout=60)
        for _ in range(100):  # the page's self-check: every player has loaded its clip
            state = _evaluate(dt, session, "document.getElementById('selfcheck').dataset.state")
            if state in ("done", "timeout"):
                break
            time.sleep(0.1)
        ready = _evaluate(dt, session, "document.getElementById('selfcheck').dataset.audioReady")
        assert (state, ready) == ("done", str(3 * len(trials)))
        assert _evaluate(dt, session, "document.getElementById('answered').textContent") == "0"
        for i, t in enumerate(trials):
            _click(dt, session, f'input[name="trial-{i}"][value="{want[(t.effect, t.number)]}"]')
        assert _evaluate(dt, session, "document.getElementById('answered').textContent") == str(len(trials))
        _click(dt, session, "#save")
        done = dt.wait_event("Browser.downloadProgress", lambda p: p.get("state") in ("completed", "canceled"))
        assert done["state"] == "completed"
        shown = _evaluate(dt, session, "document.getElementById('saved-json').value")
        status = _evaluate(dt, session, "document.getElementById('saved').textContent")
    finally:
        dt.close()

    saved = downloads / f"listen-answers-{key['page']}.json"
    assert saved.is_file(), sorted(p.name for p in downloads.iterdir())
    data = json.loads(saved.read_text())
    assert saved.read_text() == shown and f"Saved {len(trials)} of {len(trials)} answers" in status
    assert list(data) == ["answers", "page", "version"] and data["page"] == key["page"]
    assert {(a["effect"], a["trial"]): a["x_is"] for a in data["answers"]} == want
    assert "correct" not in status

    out = tmp_path / "listening.json"
    assert cli(["listen-score", str(saved), "--key", str(tmp_path / "key.json"), "--out", str(out)]) == 0
    got = json.loads(out.read_text())
    assert got["effects"]["sd1"] == {"trials": 4, "correct": 4, "unanswered": 0, "p_value": 1 / 16}
    assert got["effects"]["b65"] == {"trials": 4, "correct": 1, "unanswered": 0, "p_value": 15 / 16}
    assert got["overall"]["correct"] == 5 and got["page"] == key["page"]
