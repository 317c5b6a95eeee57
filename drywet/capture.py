"""Capture checks: how good a model of this recording can be, and a verdict on how good it is.

A model cannot predict the part of its target's noise that its input does not explain, so what a
linear filter of the dry leaves of the wet in the recording's quiet parts sets the best ESR any
model can reach (`esr_floor`): the gear's own amplification of the DI's hiss is learnable, and left
out. Where the dry signal plays one section
twice, the two wet takes of it show how repeatable the capture is (`repeat_esr`): a pedal whose
knob moved, or a drifting chain, makes them differ. The verdict reads the test ESR against the
bands Neural Amp Modeler prints after training. Pure functions on numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Neural Amp Modeler's bands for the validation ESR, best first: (upper bound, verdict).
VERDICT_BANDS = (
    (0.01, "great"),
    (0.035, "not bad"),
    (0.1, "might sound ok"),
    (0.3, "probably won't sound great"),
)
VERDICT_WORST = "something seems to have gone wrong"

NOISE_WINDOW_S = 0.05  # windows the noise floor is measured over (50 ms: several periods of 82 Hz)
NOISE_QUANTILE = 0.02  # the quietest 2 % of windows stand for the noise floor
DIGITAL_SILENCE = 1e-20  # mean square below this is digital silence (padding), not noise
# Dry taps (samples from the aligned position) of the filter the floor leaves out: long enough for a
# cabinet's impulse response, so what a model can learn of it is not counted as noise.
FLOOR_TAPS = (-4, 252)
FLOOR_ROWS = 200_000  # samples that filter is fitted on, at most (evenly spread over the quiet windows)
FLOOR_CHUNK = 16_384  # rows built at a time (bounds memory to a few tens of MiB)

REPEAT_MIN_S = 0.25  # shortest repeated section looked for
REPEAT_MAX_DIFF = 1e-3  # the two dry copies count as the same input below this ESR
REPEAT_CANDIDATES = 24  # autocorrelation peaks examined
LEVEL_FLOOR_DB = -40.0  # level normalisation stops this far below the take's mean power
REPEAT_WINDOW_S = 0.02  # windows the two copies are compared over
QUIET_DB = -60.0  # windows this far below the loudest neither confirm nor break a repeat


def verdict(esr: float) -> str:
    """Neural Amp Modeler's wording for a test ESR: < 0.01 great, < 0.035 not bad, < 0.1 might
    sound ok, < 0.3 probably won't sound great, otherwise something seems to have gone wrong."""
    if not np.isfinite(esr):
        return VERDICT_WORST
    for bound, words in VERDICT_BANDS:
        if esr < bound:
            return words
    return VERDICT_WORST


def _window_power(x: np.ndarray, n_win: int) -> np.ndarray:
    """Mean square of consecutive, non-overlapping windows of n_win samples (the tail is dropped)."""
    n = (x.size // n_win) * n_win
    return np.mean(np.square(x[:n].reshape(-1, n_win), dtype=np.float64), axis=1)


def noise_power(x: np.ndarray, sr: int, window_s: float = NOISE_WINDOW_S,
                quantile: float = NOISE_QUANTILE) -> float:
    """Mean square of the quietest `quantile` of `window_s` windows (full-scale units squared).

    Windows of digital silence are skipped: padding is not the noise under the playing. A take
    that never rests has no window of noise alone, so the value is then an upper bound.
    Returns NaN when no window qualifies.
    """
    x = np.asarray(x, dtype=np.float64)
    n_win = max(1, int(round(window_s * sr)))
    power = _window_power(x, n_win) if x.size >= n_win else np.array([np.mean(np.square(x))] if x.size else [])
    quiet = _quietest(power, quantile)
    return float(np.mean(power[quiet])) if quiet.size else float("nan")


def noise_floor_dbfs(x: np.ndarray, sr: int) -> float:
    """The noise floor (RMS of the quietest windows, see `noise_power`) in dBFS."""
    p = noise_power(x, sr)
    return float(10.0 * np.log10(p)) if np.isfinite(p) and p > 0 else float("nan")


def _quietest(power: np.ndarray, quantile: float) -> np.ndarray:
    """Indices of the quietest `quantile` of windows of mean square `power` (at least one; digital
    silence left out)."""
    ok = np.flatnonzero(power > DIGITAL_SILENCE)
    k = int(np.ceil(quantile * ok.size))
    return ok[np.argsort(power[ok], kind="stable")[:k]]


def unexplained_power(dry: np.ndarray, wet: np.ndarray, sr: int, window_s: float = NOISE_WINDOW_S,
                      quantile: float = NOISE_QUANTILE) -> float:
    """Mean square of the wet's quietest `quantile` of `window_s` windows less what a linear filter of
    the aligned dry (taps FLOOR_TAPS, least squares over those windows) explains there: the noise the
    DI does not explain (the interface's, the gear's own), not the DI's hiss the gear amplifies, which
    a model learns. NaN when no window qualifies."""
    d = np.asarray(dry, dtype=np.float64)
    w = np.asarray(wet, dtype=np.float64)
    n = min(d.size, w.size)
    n_win = max(1, int(round(window_s * sr)))
    quiet = _quietest(_window_power(w[:n], n_win), quantile) if n >= n_win else np.array([], dtype=int)
    if quiet.size == 0:
        return float("nan")
    at = (quiet[:, None] * n_win + np.arange(n_win)[None, :]).reshape(-1)
    if at.size > FLOOR_ROWS:
        at = at[np.linspace(0, at.size - 1, FLOOR_ROWS).round().astype(int)]
    lo = FLOOR_TAPS[0]
    hi = min(FLOOR_TAPS[1], lo + at.size // 4)  # a short take's few quiet samples fit a shorter filter
    if hi - lo < 8:  # too few samples to fit any filter honestly
        return float("nan")
    padded = np.pad(d[:n], (hi, -lo))  # dry[i - k] for k in lo..hi-1 sits at padded[i - k + hi]
    taps = hi - np.arange(lo, hi)[None, :]

    def rows(c: int) -> tuple[np.ndarray, np.ndarray]:
        part = at[c:c + FLOOR_CHUNK]
        return padded[part[:, None] + taps], w[part]

    gram, cross = np.zeros((hi - lo, hi - lo)), np.zeros(hi - lo)
    for c in range(0, at.size, FLOOR_CHUNK):
        x, y = rows(c)
        gram += x.T @ x
        cross += x.T @ y
    gram[np.diag_indices(hi - lo)] += 1e-9 * float(np.trace(gram)) / (hi - lo) + 1e-300
    coef = np.linalg.solve(gram, cross)
    residual = 0.0
    for c in range(0, at.size, FLOOR_CHUNK):
        x, y = rows(c)
        residual += float(np.sum(np.square(y - x @ coef)))
    return residual / at.size


def esr_floor(dry: np.ndarray, wet: np.ndarray, sr: int) -> float:
    """Unexplained noise energy (`unexplained_power`) / signal energy of the aligned `wet`: the ESR
    of a model that predicts everything but that noise, so no model scores better on this target
    (assumes the noise runs through the take). The check, the align stage and the capture's
    summary all report this one number for the whole aligned take."""
    w = np.asarray(wet, dtype=np.float64)
    total = float(np.mean(np.square(w))) if w.size else 0.0
    p = unexplained_power(dry, w, sr)
    if not (total > 0 and np.isfinite(p)):
        return float("nan")
    return p / total


@dataclass(frozen=True)
class Repeat:
    """A section of `length` samples played at `first` and again at `second` (sample indices)."""

    first: int
    second: int
    length: int


def _levelled(x: np.ndarray, n_win: int) -> np.ndarray:
    """`x` differenced (flatter spectrum: sharper peaks) and divided by its local RMS over n_win
    samples, so a soft repeated passage counts as much as a loud sustained chord."""
    d = np.diff(x, prepend=x[:1])
    cum = np.concatenate(([0.0], np.cumsum(np.square(d))))
    lo = np.clip(np.arange(d.size) - n_win // 2, 0, d.size)
    power = (cum[np.minimum(lo + n_win, d.size)] - cum[lo]) / n_win  # centred moving average
    floor = float(np.mean(np.square(d))) * 10.0 ** (LEVEL_FLOOR_DB / 10.0)
    return d / np.sqrt(np.maximum(power, floor) + 1e-300)


def _autocorrelation(x: np.ndarray) -> np.ndarray:
    """sum_t x[t] x[t + lag] for lag = 0 .. len(x) - 1 (FFT, zero-padded: no wrap-around)."""
    n = x.size
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(x, size)
    return np.fft.irfft(spec * np.conj(spec), size)[:n]


def _matching_run(x: np.ndarray, lag: int, n_win: int, max_diff: float) -> tuple[int, int]:
    """The longest span (start, length) where x[t] ≈ x[t + lag], window by window.

    A window matches when the two copies differ by less than `max_diff` of their energy. Two takes
    of one section still differ by their own noise floors: the smallest difference seen in any
    window measures that, and windows too quiet to pass the test against it (or QUIET_DB below the
    loudest) neither match nor break a run. Runs start and end on a matching window.
    """
    a, b = x[:-lag], x[lag:]
    e_a, e_b = _window_power(a, n_win), _window_power(b, n_win)
    diff = _window_power(a - b, n_win)
    energy = 0.5 * (e_a + e_b)
    floor = diff[diff > DIGITAL_SILENCE]
    noise_diff = float(floor.min()) if floor.size else 0.0
    # x2: a window's noise energy scatters around its mean (chi-square over n_win samples).
    threshold = max(energy.max(initial=0.0) * 10.0 ** (QUIET_DB / 10.0), 2.0 * noise_diff / max_diff)
    quiet = energy < threshold
    match = (diff <= max_diff * energy) & ~quiet
    idx = np.flatnonzero(match)
    if idx.size == 0:
        return 0, 0
    # Runs: matching windows with no mismatching (loud, different) window between them.
    group = np.cumsum(~match & ~quiet)[idx]
    cut = np.flatnonzero(np.diff(group)) + 1
    firsts, lasts = idx[np.r_[0, cut]], idx[np.r_[cut - 1, idx.size - 1]]
    best = int(np.argmax(lasts - firsts))
    return int(firsts[best]) * n_win, int(lasts[best] - firsts[best] + 1) * n_win


def _is_periodic(x: np.ndarray, sr: int, max_diff: float) -> bool:
    """Whether `x` matches itself (ESR below `max_diff`) at some delay from 1 ms to half its
    length: a steady tone, whose every period "repeats", rather than a passage played twice."""
    d = np.diff(x)
    n = d.size
    lo, hi = max(2, int(0.001 * sr)), n // 2
    if hi <= lo:
        return False
    r = _autocorrelation(d)
    cum = np.concatenate(([0.0], np.cumsum(np.square(d))))
    lags = np.arange(lo, hi)
    e_head, e_tail = cum[n - lags], cum[n] - cum[lags]  # energies of d[:n-L] and d[L:]
    diff = e_head + e_tail - 2.0 * r[lags]
    return bool(np.any(diff <= max_diff * 0.5 * (e_head + e_tail)))


def find_repeat(dry: np.ndarray, sr: int, min_s: float = REPEAT_MIN_S,
                max_diff: float = REPEAT_MAX_DIFF) -> Repeat | None:
    """The longest section of `dry` that is played twice (at least `min_s` long), or None.

    Candidate delays are the highest peaks of the autocorrelation (of the level-normalised signal,
    see `_levelled`) at delays of at least `min_s`; each is kept only if the two copies agree
    sample by sample (ESR below `max_diff` window by window) for `min_s` or longer, and only if
    the section is not a steady tone (which matches itself one period later). The copies never
    overlap. Works on any recording: a take with no repeated section gives None.
    """
    x = np.asarray(dry, dtype=np.float64)
    min_len = max(1, int(round(min_s * sr)))
    n_win = max(1, min(int(round(REPEAT_WINDOW_S * sr)), min_len))
    if x.size < 2 * min_len or not np.any(x):
        return None
    r = _autocorrelation(_levelled(x, n_win))
    lags = np.arange(min_len, x.size - min_len + 1)
    if lags.size == 0:
        return None
    score = r[lags]
    best: Repeat | None = None
    tried: list[int] = []
    for idx in np.argsort(score)[::-1]:
        if len(tried) >= REPEAT_CANDIDATES or score[idx] <= 0:
            break
        lag = int(lags[idx])
        if any(abs(lag - t) < n_win for t in tried):  # the same peak, one sample over
            continue
        tried.append(lag)
        start, length = _matching_run(x, lag, n_win, max_diff)
        length = min(length, lag)  # the second copy starts where the first has ended, or later
        if length >= min_len and (best is None or length > best.length) and \
                not _is_periodic(x[start:start + length], sr, max_diff):
            best = Repeat(start, start + lag, length)
    return best


def esr_between(reference: np.ndarray, other: np.ndarray) -> float:
    """sum (other - reference)^2 / sum reference^2 (NaN for a silent reference)."""
    ref = np.asarray(reference, dtype=np.float64)
    err = np.asarray(other, dtype=np.float64) - ref
    denom = float(np.sum(np.square(ref)))
    return float(np.sum(np.square(err)) / denom) if denom > 0 else float("nan")


def repeat_esr(wet: np.ndarray, repeat: Repeat) -> float:
    """ESR of the wet take's second copy of a repeated section against its first."""
    a = wet[repeat.first:repeat.first + repeat.length]
    b = wet[repeat.second:repeat.second + repeat.length]
    return esr_between(a, b)


def sig(value: float, digits: int = 4) -> float | None:
    """`value` to `digits` significant digits (JSON-friendly: NaN becomes None)."""
    if value is None or not np.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


def capture_checks(dry: np.ndarray, target: np.ndarray, sr: int, esr: float) -> dict:
    """The capture checks of one test part, flat for metrics JSON.

    noise_floor_dbfs, esr_floor: from the target's quietest windows; repeat_esr, repeat_seconds:
    from a section the dry signal plays twice (absent when it plays none); verdict: the test `esr`
    in Neural Amp Modeler's words.
    """
    out: dict = {
        "noise_floor_dbfs": sig(noise_floor_dbfs(target, sr)),
        "esr_floor": sig(esr_floor(dry, target, sr)),
        "verdict": verdict(esr),
    }
    rep = find_repeat(dry, sr)
    if rep is not None:
        out["repeat_esr"] = sig(repeat_esr(target, rep))
        out["repeat_seconds"] = sig(rep.length / sr)
    return out


def capture_checks_parts(dry: np.ndarray, target: np.ndarray, sr: int, esr: float,
                         bounds: np.ndarray) -> dict:
    """`capture_checks` of a test part made of several takes laid end to end (a knob-conditioned
    capture's positions, take i in [bounds[i], bounds[i + 1])), each take measured on its own (they
    may share their dry signal, which is no repeat): noise_floor_dbfs and esr_floor from the takes'
    noise power over their signal power, repeat_esr (with its repeat_seconds) the worst take's.
    """
    spans = list(zip(np.asarray(bounds[:-1], int), np.asarray(bounds[1:], int), strict=True))
    noise = signal = 0.0
    for a, b in spans:
        t = np.asarray(target[a:b], dtype=np.float64)
        p = unexplained_power(dry[a:b], t, sr)
        if np.isfinite(p):
            noise += p * t.size
        signal += float(np.sum(np.square(t)))
    n = max(1, spans[-1][1] - spans[0][0])
    out: dict = {
        "noise_floor_dbfs": sig(10.0 * np.log10(noise / n)) if noise > 0 else None,
        "esr_floor": sig(noise / signal) if noise > 0 and signal > 0 else None,
        "verdict": verdict(esr),
    }
    worst = None
    for a, b in spans:
        rep = find_repeat(dry[a:b], sr)
        if rep is not None:
            value = repeat_esr(target[a:b], rep)
            if worst is None or value > worst[0]:
                worst = (value, rep.length / sr)
    if worst is not None:
        out["repeat_esr"] = sig(worst[0])
        out["repeat_seconds"] = sig(worst[1])
    return out
