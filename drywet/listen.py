"""A blind ABX listening test: the wet recording against the model's prediction, trial by trial.

Each trial plays A, B and X: A and B are the same stretch of the test part as recorded (target) and
as predicted (model), in an order drawn per trial; X is a second copy of one of them. The listener
says which. Metrics say how far the prediction is from the recording; this says whether an ear can
tell them apart. The key (which of A/B is the model, which one X copies) never enters the page: it is
kept beside it (`key`), and `score` checks a listener's answers against it, so the page cannot
leak or fake a score.

Pure functions on numpy arrays; `page` builds the trials of report sections (every effect's for the
report stage, one effect's for its section stage), `render_listen` renders them without the key (in
drywet.report's page shell), and `python -m drywet listen-score` scores a saved answers file.
"""

from __future__ import annotations

import hashlib
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from drywet.errors import InputError
from drywet.report import EffectSection, html_page, paragraphs, section_ids, template, wav_data_uri

VERSION = 1  # of the answers file and the key; both carry it
CHOICES = ("A", "B")
TRIAL_S = 2.0  # longest trial excerpt (s): a phrase or two, short enough to hold X in memory
PEAK = 0.99  # a loudness-matched pair louder than this is turned down together, so neither clips
LSB = 1.0 / 32767  # one step of the page's 16-bit audio
SEED = 0
# The labels stages/section.py gives the target and prediction clips of a section (a knob position's
# clips carry ", <knob> <value>" after them).
TARGET_LABEL = "target (wet recording)"
MODEL_LABEL = "prediction ("


class Clip(Protocol):
    """What `pairs_from_clips` reads of a report clip (drywet.report.AudioClip)."""

    label: str
    samples: np.ndarray
    sample_rate: int


@dataclass(frozen=True)
class Pair:
    """The same stretch of the test part as recorded (`target`) and as predicted (`model`)."""

    target: np.ndarray
    model: np.ndarray
    sample_rate: int
    where: str = ""  # e.g. a knob position, shown with the trial (the same for A and B)


@dataclass(frozen=True)
class Trial:
    """One ABX trial: the three clips as played (full-scale float) and its key (`x_is`, `model_is`)."""

    effect: str
    number: int  # 1-based, within the effect
    a: np.ndarray
    b: np.ndarray
    x: np.ndarray
    sample_rate: int
    where: str
    x_is: str  # "A" or "B": the clip X copies
    model_is: str  # "A" or "B": the clip that is the prediction


# ----------------------------------------------------------------------------------------------
# The page (it shows ListenTrials: the key never reaches it)


@dataclass
class ListenTrial:
    """One ABX trial as the page shows it: clips A, B and X and where they come from. It has no key
    field: which clip is the model and which X copies stays in the key (`key`)."""

    effect: str
    number: int
    where: str
    a: np.ndarray
    b: np.ndarray
    x: np.ndarray
    sample_rate: int


def listen_intro(key: str | None = None) -> str:
    """The ABX page's instructions; `key` (the key's path) is named in the scoring command when the
    page's key is not listen-score's default (an effect's own page)."""
    command = "python -m drywet listen-score FILE" + (f" --key {key}" if key else "")
    return (
        "For each trial, play A, B and X, as often as you like. A and B are the same few seconds of the test "
        "part: one is the wet recording, the other the model's prediction from the same dry input, in an "
        "order drawn at random for each trial. X is the same as one of them. Answer \"X is A\" or \"X is B\"; "
        "when you cannot tell, guess. Headphones help; playing one clip pauses the others.\n\n"
        "Loudness-matched: in every trial the prediction is scaled so its RMS level equals the recording's "
        "(when that would clip, both are turned down together), so level gives nothing away. Each clip has its "
        "own inaudible dither (one step of 16-bit audio), so X's file is never a copy of A's or B's.\n\n"
        f"The page never says whether an answer is right. Save answers downloads a JSON file; {command} "
        "scores it against the key kept beside the page and writes metrics/listening.json (per effect: "
        "trials, correct, and the p-value of doing as well by guessing)."
    )


LISTEN_INTRO = listen_intro()


def _trial_html(t: ListenTrial, index: int) -> str:
    where = f' <span class="where">{html.escape(t.where)}</span>' if t.where else ""
    clips = []
    for name, samples in (("A", t.a), ("B", t.b), ("X", t.x)):
        clips.append(
            f'<div class="clip abx-{name.lower()}"><div class="clip-label">{name}</div>'
            f'<audio controls preload="auto" title="{name}" src="{wav_data_uri(samples, t.sample_rate)}"></audio></div>'
        )
    answers = "".join(
        f'<label><input type="radio" name="trial-{index}" value="{c}"> X is {c}</label>' for c in ("A", "B")
    )
    return (
        f'<fieldset class="trial" data-effect="{html.escape(t.effect)}" data-trial="{int(t.number)}">'
        f"<legend>Trial {int(t.number)}{where}</legend>"
        f'<div class="abx-clips">{"".join(clips)}</div><div class="abx-answer">{answers}</div></fieldset>'
    )


def render_listen(title: str, trials: Sequence[ListenTrial], page_id: str, intro: str = LISTEN_INTRO) -> str:
    """The blind ABX page as one HTML string: per effect its trials (players A, B, X and the two
    answers), then the Save answers button. The output depends only on the inputs."""
    effects: dict[str, list[tuple[int, ListenTrial]]] = {}
    for i, trial in enumerate(trials):
        effects.setdefault(trial.effect, []).append((i, trial))
    slugs = section_ids(effects)
    body = ["<header>", f"<h1>{html.escape(title)}</h1>", paragraphs(intro),
            f'<p class="page-id">Page <code>{html.escape(page_id)}</code>, {len(trials)} trials.</p>']
    links = [f'<li><a href="#{slug}">{html.escape(fx)}</a></li>' for fx, slug in zip(effects, slugs, strict=True)]
    if links:
        body.append(f"<nav><ul>{''.join(links)}</ul></nav>")
    body.append("</header>")
    for (fx, items), slug in zip(effects.items(), slugs, strict=True):
        body.append(f'<section class="abx-effect" id="{slug}"><h2>{html.escape(fx)} '
                    f'<span class="name">{len(items)} trials</span></h2>')
        body.extend(_trial_html(trial, i) for i, trial in items)
        body.append("</section>")
    body.append(
        '<section class="abx-save"><p><span id="answered">0</span> of '
        f'<span id="total">{len(trials)}</span> trials answered.</p>'
        '<p><button type="button" id="save">Save answers</button> <span id="saved" role="status"></span></p>'
        '<textarea id="saved-json" readonly hidden rows="6" aria-label="the saved answers, '
        'to copy if the download did not start"></textarea></section>'
    )
    return html_page(title, body, 3 * len(trials), 0,
                     main_attrs=f' id="listen" data-page="{html.escape(page_id)}" data-version="{VERSION}"',
                     css=template("listen.css"), script=template("listen.js"))


# ----------------------------------------------------------------------------------------------
# Building


def pairs_from_clips(clips: Sequence[Clip], name: str = "section") -> list[Pair]:
    """The (target, prediction) pairs of a report section's clips: each target clip with the
    prediction clip that follows it (one pair per knob position). InputError when there is none."""
    pairs = []
    for clip, after in zip(clips, clips[1:], strict=False):
        if clip.label.startswith(TARGET_LABEL) and after.label.startswith(MODEL_LABEL):
            if clip.sample_rate != after.sample_rate:
                raise InputError(f"{name}: target and prediction clips differ in sample rate")
            n = min(len(clip.samples), len(after.samples))
            where = clip.label[len(TARGET_LABEL):].lstrip(", ")
            pairs.append(Pair(np.asarray(clip.samples[:n], dtype=np.float64),
                              np.asarray(after.samples[:n], dtype=np.float64), int(clip.sample_rate), where))
    if not pairs:
        raise InputError(f"{name}: no target clip followed by a prediction clip to build listening trials from")
    return pairs


def rms(x: np.ndarray) -> float:
    """Root mean square of `x` (full scale = 1.0); 0 for an empty signal."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def loudness_matched(target: np.ndarray, model: np.ndarray, peak: float = PEAK) -> tuple[np.ndarray, np.ndarray]:
    """`model` scaled so its RMS equals `target`'s; if either then peaks above `peak`, both are turned
    down by the same factor, so the RMS stay equal and nothing clips. A silent signal is left as is."""
    target = np.asarray(target, dtype=np.float64)
    model = np.asarray(model, dtype=np.float64)
    r_t, r_m = rms(target), rms(model)
    if r_t > 0 and r_m > 0:
        model = model * (r_t / r_m)
    top = max(float(np.max(np.abs(target), initial=0.0)), float(np.max(np.abs(model), initial=0.0)))
    if top > peak:
        target, model = target * (peak / top), model * (peak / top)
    return target, model


def trial_windows(n: int, sr: int, count: int, seconds: float = TRIAL_S) -> list[slice]:
    """`count` windows of `seconds` (at most `n` samples) spread evenly from the start to the end."""
    length = min(n, max(1, int(round(seconds * sr))))
    if count == 1:
        return [slice(0, length)]
    starts = np.round(np.linspace(0, n - length, count)).astype(int)
    return [slice(int(s), int(s) + length) for s in starts]


def balanced(rng: np.random.Generator, count: int) -> list[str]:
    """`count` draws of "A"/"B", as many of each (the odd one drawn too), in a shuffled order."""
    labels = list(CHOICES) * (count // 2)
    if count % 2:
        labels.append(CHOICES[int(rng.integers(2))])
    return [labels[i] for i in rng.permutation(count)]


def dithered(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`x` plus triangular noise of ±1 step of 16-bit audio (at about -101 dBFS, inaudible): each clip
    gets its own, so X's embedded file is never a byte copy of A's or B's."""
    return x + LSB * (rng.random(x.shape) - rng.random(x.shape))


def effect_rng(effect: str, seed: int = SEED) -> np.random.Generator:
    """The generator an effect's trials are drawn from: fixed by `seed` and the effect's name."""
    return np.random.default_rng([seed, *effect.encode("utf-8")])


def build_trials(effect: str, pairs: Sequence[Pair], count: int, seconds: float = TRIAL_S,
                 seed: int = SEED) -> list[Trial]:
    """`count` ABX trials of one effect, cycling over `pairs` (knob positions), each pair's windows
    spread over it. Which of A/B is the model and which X copies are each balanced over the trials
    and drawn from `effect_rng(effect, seed)`, so the same inputs give the same trials."""
    if count < 1:
        raise ValueError(f"trials must be at least 1, got {count}")
    if not pairs:
        raise InputError(f"{effect}: no target/prediction pair to build listening trials from")
    rng = effect_rng(effect, seed)
    model_is, x_is = balanced(rng, count), balanced(rng, count)
    per_pair = [len(range(j, count, len(pairs))) for j in range(len(pairs))]
    windows = [trial_windows(min(len(p.target), len(p.model)), p.sample_rate, k, seconds) if k else []
               for p, k in zip(pairs, per_pair, strict=True)]
    trials = []
    for i in range(count):
        pair = pairs[i % len(pairs)]
        w = windows[i % len(pairs)][i // len(pairs)]
        target, model = loudness_matched(pair.target[w], pair.model[w])
        a, b = (model, target) if model_is[i] == "A" else (target, model)
        x = a if x_is[i] == "A" else b
        a, b, x = (dithered(c, rng) for c in (a, b, x))
        trials.append(Trial(effect, i + 1, a, b, x, pair.sample_rate, pair.where, x_is[i], model_is[i]))
    return trials


def page_id(trials: Sequence[Trial]) -> str:
    """A short hash of what the page plays (effects, numbers, rates, the three clips of every trial):
    ties an answers file and a key to one build of the page."""
    h = hashlib.sha256()
    for t in trials:
        h.update(repr((t.effect, t.number, t.sample_rate)).encode())
        for clip in (t.a, t.b, t.x):
            h.update(np.ascontiguousarray(clip, dtype="<f4").tobytes())
    return h.hexdigest()[:16]


def key(trials: Sequence[Trial]) -> dict[str, Any]:
    """The key to a page of `trials` (JSON-able): its page id and, per effect and trial, which of A/B
    X copies and which is the model."""
    effects: dict[str, list[dict[str, Any]]] = {}
    for t in trials:
        effects.setdefault(t.effect, []).append({"trial": t.number, "x_is": t.x_is, "model_is": t.model_is})
    return {"version": VERSION, "page": page_id(trials), "effects": effects}


def page(title: str, sections: Sequence[EffectSection], count: int, folder: str = "",
         intro: str = LISTEN_INTRO) -> tuple[str, dict[str, Any]]:
    """The ABX page (HTML) of `count` trials per section, built from its target and prediction clips,
    and the page's key (`key`). `folder` holds the sections, for error messages."""
    trials = [t for s in sections
              for t in build_trials(s.name, pairs_from_clips(s.clips, str(Path(folder) / s.name)), count)]
    k = key(trials)
    shown = [ListenTrial(t.effect, t.number, t.where, t.a, t.b, t.x, t.sample_rate) for t in trials]
    return render_listen(title, shown, k["page"], intro), k


# ----------------------------------------------------------------------------------------------
# Scoring


def p_value(correct: int, trials: int) -> float:
    """One-sided binomial p-value of guessing: P(at least `correct` of `trials` right at p = 1/2)."""
    if not 0 <= correct <= trials:
        raise ValueError(f"correct must be in [0, {trials}], got {correct}")
    tail = sum(math.comb(trials, k) for k in range(correct, trials + 1))
    return float(Fraction(tail, 2 ** trials))


def parse_answers(data: object, name: str = "answers") -> tuple[str, list[tuple[str, int, str]]]:
    """The page id and (effect, trial, x_is) answers of a saved answers file's JSON; InputError
    (one line naming `name`) for anything else."""
    def bad(why: str) -> InputError:
        return InputError(f"{name}: not a listening-test answers file ({why})")

    if not isinstance(data, dict):
        raise bad("expected a JSON object")
    if data.get("version") != VERSION:
        raise bad(f"version {data.get('version')!r}, expected {VERSION}")
    page = data.get("page")
    if not isinstance(page, str) or not page:
        raise bad("no page id")
    answers = data.get("answers")
    if not isinstance(answers, list):
        raise bad("no answers list")
    out, seen = [], set()
    for i, a in enumerate(answers):
        if not (isinstance(a, dict) and isinstance(a.get("effect"), str) and type(a.get("trial")) is int
                and a.get("x_is") in CHOICES):
            raise bad(f"answer {i + 1} is not {{effect, trial, x_is: \"A\"|\"B\"}}")
        item = (a["effect"], a["trial"], a["x_is"])
        if item[:2] in seen:
            raise bad(f"{item[0]} trial {item[1]} answered twice")
        seen.add(item[:2])
        out.append(item)
    return page, out


def parse_key(data: object, name: str = "key") -> tuple[str, dict[str, list[tuple[int, str]]]]:
    """The page id and, per effect, (trial, x_is) of a key written by `key`; InputError otherwise."""
    bad = InputError(f"{name}: not a listening-test key (version {VERSION}); rebuild it with the report stage")
    if not (isinstance(data, dict) and data.get("version") == VERSION and isinstance(data.get("page"), str)
            and isinstance(data.get("effects"), dict)):
        raise bad
    effects = {}
    for fx, ts in data["effects"].items():
        if not (isinstance(ts, list) and all(isinstance(t, dict) and type(t.get("trial")) is int
                                             and t.get("x_is") in CHOICES for t in ts)):
            raise bad
        effects[fx] = [(t["trial"], t["x_is"]) for t in ts]
    return data["page"], effects


def _tally(trials: int, correct: int, unanswered: int) -> dict[str, Any]:
    return {"trials": trials, "correct": correct, "unanswered": unanswered, "p_value": p_value(correct, trials)}


def score(answers: object, key_data: object, name: str = "answers", key_name: str = "key") -> dict[str, Any]:
    """Per effect and overall: answered trials, correct ones, unanswered ones, and the p-value of
    doing as well by guessing. InputError when the answers come from another page than the key's
    or name a trial the key does not have."""
    page, given = parse_answers(answers, name)
    key_page, key_effects = parse_key(key_data, key_name)
    if page != key_page:
        raise InputError(f"{name}: answers are for page {page}, {key_name} is for page {key_page} "
                         "(answers from another build of the listening page)")
    truth = {(fx, n): x for fx, ts in key_effects.items() for n, x in ts}
    for fx, n, _ in given:
        if (fx, n) not in truth:
            raise InputError(f"{name}: {fx} trial {n} is not on page {page}")
    effects = {}
    for fx, ts in key_effects.items():
        mine = [(n, x) for f, n, x in given if f == fx]
        right = sum(truth[(fx, n)] == x for n, x in mine)
        effects[fx] = _tally(len(mine), right, len(ts) - len(mine))
    overall = _tally(*(sum(e[k] for e in effects.values()) for k in ("trials", "correct", "unanswered")))
    return {"version": VERSION, "page": page, "effects": effects, "overall": overall}
