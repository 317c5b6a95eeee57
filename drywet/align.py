"""Latency, polarity and gain of the wet recording relative to the dry one, and the clean-up before
learning (DC offset and sub-sonic drift removed by a causal high-pass).

The latency is located on a whitened cross-correlation: the cross-spectrum divided by the dry
signal's power spectrum, i.e. the impulse response of the best linear approximation of the
dry -> wet path. Its peak is sharp even for tonal material (a plain correlation of a sustained
note has side peaks at every pitch period). Whether the alignment can be trusted is judged on how
unambiguous that peak is: its height over a robust spread (the MAD) of the rest of the search
window, in dB (the peak clarity). Heavy honest distortion keeps a clear peak although its plain
correlation is low; different takes, unrelated noise and a wet not explained by the dry do not.

An effect's own filters put the peak a sample or more after the recording chain's delay, so the
latency reported is the onset of the response, never later than that delay. The onset is read on
the response shaped by a Gaussian taper (a pulse without side lobes) and differentiated (a slow
pedestal before the onset, which a distortion's linear approximation often has, then hardly
counts): where its rising edge first climbs to a tenth of its steepest slope, measured against the
same edge of the estimator's own pulse, so a pure delay is found exactly. A response that rises
more slowly than that pulse (a low-pass) started earlier than its tenth-slope point: the excess
rise time is taken off, which errs by up to a sample early rather than a fraction late. A response
not shaped like the pulse from its onset to six samples on (slope correlation under 0.998: a
pedal's, even a fuzz's, whose edge alone looks like a fractional delay's) is put half a sample
earlier still. The rise-time correction is bounded by the response's bend (where its curvature
climbs to a tenth of its top): a heavy drive's slow pedestal stretches the rise without moving
the bend, and the onset stays within 1.4 samples of the bend.
Shifting by the onset leaves a causal model all the dry samples that shape each wet sample.

A dry with little top end (a pickup's roll-off, hiss above it) widens the estimator's pulse, and an
effect's low-pass then looks like a plain delay in the band the dry covers: the onset found as above
lands up to two samples late on plucked notes through such a drive. When the response's edge starts
earlier before its peak than the pulse's does (as a low-pass makes it), the rise time the narrow
band adds to the pulse is taken off as well.

The onset is then checked against a causal model of the chain (`causal_bound`): a least-squares
predictor of the wet from the present and past 23 dry samples (each through x, x^2, x^3 and tanh),
fitted at whole-sample shifts around the onset and scored on held-out audio, loses accuracy once the
shift passes the true latency, most clearly after a 1st-order filter, whose first tap is its largest.
The latency is never later than the latest shift that scores as well as the best (plucked notes
through a 1st-order high-pass, drive and 1st-order low-pass, whose onset reads up to a sample late,
are then found at the chain's delay). Where the score does not rise like a wall past its best (a
4th-order low-pass's first taps are too small to be missed; a heavy drive on very predictable
material scores earlier shifts better), the onset stands.

Two kinds of chain are still found late, by about two samples: a band-pass or a 1.5 kHz low-pass
before a very high-gain clipper, then a low-pass. Their true response starts with taps of 1-2%
and 6-12% of its peak, hidden under the negative lobe of a non-causal pedestal that such a
drive's linear approximation has on guitar material; neither the whitened response nor a causal
least-squares fit shows them (see `python -m benchmarks.align_accuracy`).

The whole signal is used, exactly: dry blocks are correlated with wet blocks extended by the
search range on both sides, and the cross-spectra are summed, so the memory needed is a few
blocks whatever the length of the recording.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy import signal
from scipy.ndimage import uniform_filter1d
from scipy.optimize import minimize_scalar

from drywet.config import AlignParams
from drywet.errors import AlignmentError, ConfigError, InputError

MIN_BLOCK_FFT = 1 << 16  # FFT size (samples) of one correlation block, at least
BATCH_BLOCKS = 16  # blocks transformed together (bounds memory to a few MiB)
WHITEN_SMOOTH_BINS = 9  # smoothing of the dry power spectrum across frequency bins
WHITEN_FLOOR = 1e-3  # floor of the whitening denominator, relative to its mean (-30 dB)
PULSE_TAPER = 2.5  # Gaussian taper of the onset pulse: its standard deviation is Nyquist / this
ONSET_LEVEL = 0.1  # the onset: where the rising edge's slope first climbs to this part of its top
ONSET_TOP = 0.9  # ... and the end of the rise (its rise time runs from ONSET_LEVEL to here)
ONSET_HOLD = 1.0  # samples the slope must stay under the level before the onset (not a ripple)
ONSET_SEARCH = 24.0  # samples searched before the peak
ONSET_STEP = 0.05  # grid step (samples) of that search
ONSET_RISE_WEIGHT = 1.0  # share of the rise time beyond the pulse's own taken off the onset
ONSET_MARGIN = 0.5  # samples taken off the onset of a response shaped unlike a pure delay's ...
ONSET_LIKENESS = 0.002  # ... in full once its slope's correlation with the pulse's is 1 - this
ONSET_LIKENESS_SPAN = 6.0  # ... over this many samples from the onset (and one before it)
ONSET_BEND_SLACK = 1.4  # samples the onset may lie before the bend of the response (see below), at most
ONSET_LEAN_DEAD = 0.1  # the pulse's extra rise time (a band-limited dry's) is taken off the onset: not while the
ONSET_LEAN_SPREAD = 0.3  # response's edge starts less than DEAD samples earlier (before its peak) than the pulse's,
#                          in full once it starts DEAD + SPREAD samples earlier (a low-pass in the chain)
CLARITY_GUARD = 8  # samples each side of the peak left out of the spread it is measured against
STUCK_FRACTION = 0.01  # wet samples at full scale above this share are checked against the dry
STUCK_AGREEMENT = 0.75  # ... and must have the sign the dry predicts this often
RAIL_TAPS = (-4, 28)  # taps (samples, around the latency) of the linear filter that predicts that sign
RAIL_FIT_SAMPLES = 200_000  # samples it is fitted on, at most (evenly spread)
FULL_SCALE = 0.999  # |x| at or above this is at full scale
HIGHPASS_ORDER = 2  # Butterworth order of the clean-up high-pass
FRAC_HALF_TAPS = 32  # fractional-delay filter: taps on each side of the target position
FRAC_KAISER_BETA = 8.0  # its Kaiser window (about -80 dB side lobes)
FRAC_EPS = 1e-6  # fractional parts closer than this (samples) to 0 or 1 count as integer
FRAC_CHUNK = 1 << 20  # samples filtered at a time (bounds memory)
CAUSAL_TAPS = 24  # causal predictor of the latency test: dry taps 0..23 samples back, each through ...
CAUSAL_FEATURES = 4  # ... x, x^2, x^3 and tanh(x) (x in units of the loud dry's RMS), plus a constant
CAUSAL_SHIFTS = (-3, 2)  # integer shifts tried, around the onset (samples)
CAUSAL_BLOCK = 256  # rows are runs of this many consecutive samples (neighbouring shifts' targets and
#                     their noise then differ in one sample per run)
CAUSAL_ROWS = 240_000  # rows of the least-squares system, at most (evenly spread over the loud blocks)
CAUSAL_LOUD_DB = -20.0  # blocks within this of the loud level (90th percentile block energy) are used
CAUSAL_MIN_BLOCKS = 8  # blocks each of the fit and the held-out part need, at least
CAUSAL_CHUNK = 64  # blocks built at a time (bounds memory to a few MiB)
# Held-out error within CAUSAL_TOLERANCE of the best (or CAUSAL_FLOOR of the wet's power, -40 dB)
# counts as good as the best. A fractional latency's interpolation puts a small precursor before the
# chain's delay: its first whole sample cost up to 1.8 % in benchmarks.align_accuracy's cases, a whole
# sample of a 1st-order chain's response 3 % or more; the tolerance sits between.
CAUSAL_TOLERANCE = 0.02
CAUSAL_FLOOR = 1e-4
CAUSAL_WALL = 0.3  # the bound counts when two samples past it the error is this share above the best
CAUSAL_RIDGE = 1e-9  # Tikhonov regularisation, relative to the mean diagonal of the normal matrix


@dataclass(frozen=True)
class Alignment:
    """Where the wet recording sits relative to the dry one.

    latency_samples: positive when the wet lags the dry (fractional when sub-sample refined): the
        onset of the effect's response, not the later peak its filters put after it.
    polarity: +1, or -1 when the wet is inverted.
    peak_correlation: plain normalised correlation at the latency, 0..1 (information only).
    gain: least-squares linear gain, wet ~ gain * polarity * shifted dry (reported, not undone).
    search_range_samples: the lags searched were -range..+range (0 when the latency was given).
    peak_clarity_db: the whitened response's peak over the MAD of the rest of the window, dB.
    """

    latency_samples: float
    latency_ms: float
    polarity: int
    peak_correlation: float
    gain: float
    gain_db: float
    search_range_samples: int
    peak_clarity_db: float = float("inf")


@dataclass(frozen=True)
class CleanUp:
    """What the clean-up removed or found: DC offsets (full scale 1.0) and the share of wet
    samples at full scale (0..1), all measured before the high-pass."""

    dc_dry: float
    dc_wet: float
    wet_full_scale_fraction: float


def highpass(x: np.ndarray, sr: int, corner_hz: float) -> np.ndarray:
    """Causal 2nd-order Butterworth high-pass at corner_hz (Hz): removes DC offset and sub-sonic
    drift. Computed in float64; returns the input's float dtype (float64 for integers). 0 = off."""
    x = np.asarray(x)
    out_dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    if not corner_hz >= 0:
        raise ConfigError(f"align.highpass_hz must be >= 0, got {corner_hz}")
    if corner_hz == 0:
        return x.astype(out_dtype, copy=True)
    if not corner_hz < 0.5 * sr:
        raise ConfigError(f"align.highpass_hz must be below half the sample rate ({sr / 2:g} Hz), got {corner_hz}")
    sos = signal.butter(HIGHPASS_ORDER, corner_hz, btype="highpass", fs=sr, output="sos")
    return signal.sosfilt(sos, x.astype(np.float64)).astype(out_dtype)


def full_scale_fraction(x: np.ndarray) -> float:
    """Share of samples (0..1) at full scale (|x| >= FULL_SCALE)."""
    x = np.asarray(x)
    return float(np.mean(np.abs(x) >= FULL_SCALE)) if x.size else 0.0


def search_range_samples(max_latency_ms: float, sr: int) -> int:
    """Search range in samples for `max_latency_ms` at sample rate `sr` (Hz), rounded up."""
    if not max_latency_ms > 0:
        raise ConfigError(f"align.max_latency_ms must be > 0, got {max_latency_ms}")
    if not sr > 0:
        raise ConfigError(f"sample rate must be > 0, got {sr}")
    return max(1, math.ceil(max_latency_ms * sr / 1000.0 - 1e-9))


def check_lengths(n_dry: int, n_wet: int, max_latency_samples: int, name: str, sr: int) -> None:
    """Raise InputError when dry and wet lengths (samples at `sr` Hz) differ by more than the search
    range, in seconds, with the fix."""
    diff = abs(int(n_dry) - int(n_wet))
    if diff > max_latency_samples:
        raise InputError(
            f"{name}: the dry lasts {n_dry / sr:.3f} s and the wet {n_wet / sr:.3f} s; they differ by "
            f"{diff / sr:.3f} s, more than the alignment search range ({max_latency_samples / sr:.3f} s): trim "
            "both to the same take (same start, same end)")


def _sumsq_parts(x: np.ndarray, mean: float, head: int, tail: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Energy of x - mean (float64), and cumulative energies of its first `head` / last `tail` samples.

    Returns (total, h, t) with h[m] = energy of the first m samples, t[m] = of the last m samples.
    """
    total = 0.0
    chunk = 1 << 20
    for s in range(0, x.size, chunk):
        seg = x[s : s + chunk].astype(np.float64) - mean
        total += float(np.dot(seg, seg))
    head = min(head, x.size)
    tail = min(tail, x.size)
    h = np.concatenate([[0.0], np.cumsum(np.square(x[:head].astype(np.float64) - mean))])
    t = np.concatenate([[0.0], np.cumsum(np.square(x[x.size - tail :][::-1].astype(np.float64) - mean))])
    return total, h, t


def _cross_spectra(
    d: np.ndarray, w: np.ndarray, d_mean: float, w_mean: float, lag: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Summed cross-spectrum conj(D)W and dry power spectrum |D|^2 over blocks, and the FFT size.

    The inverse FFT of the cross-spectrum at index lag + k is sum_i d[i] w[i + k], exactly, for
    every k in -lag..lag.
    """
    n_d, n_w = d.size, w.size
    m = max(MIN_BLOCK_FFT, 1 << math.ceil(math.log2(8 * lag)))
    m = min(m, sfft.next_fast_len(n_d + 2 * lag, real=True))
    block = m - 2 * lag
    n_blocks = -(-n_d // block)
    s_dw = np.zeros(m // 2 + 1, dtype=np.complex128)
    s_dd = np.zeros(m // 2 + 1, dtype=np.float64)
    for b0 in range(0, n_blocks, BATCH_BLOCKS):
        rows = range(b0, min(b0 + BATCH_BLOCKS, n_blocks))
        db = np.zeros((len(rows), m))
        wb = np.zeros((len(rows), m))
        for r, b in enumerate(rows):
            start = b * block
            seg = d[start : start + block]
            db[r, : seg.size] = seg
            db[r, : seg.size] -= d_mean
            lo, hi = start - lag, start + block + lag
            seg = w[max(lo, 0) : min(hi, n_w)]
            if seg.size:
                off = max(lo, 0) - lo
                wb[r, off : off + seg.size] = seg
                wb[r, off : off + seg.size] -= w_mean
        spec_d = sfft.rfft(db, axis=1)
        spec_w = sfft.rfft(wb, axis=1)
        s_dw += np.einsum("ij,ij->j", np.conj(spec_d), spec_w)
        s_dd += np.einsum("ij,ij->j", spec_d.real, spec_d.real) + np.einsum(
            "ij,ij->j", spec_d.imag, spec_d.imag
        )
    return s_dw, s_dd, m


def _eval_spectrum(spec: np.ndarray, m: int, pos: float) -> float:
    """Band-limited (trigonometric) interpolation of irfft(spec, m) at fractional index `pos`."""
    f = np.arange(spec.size)
    terms = spec * np.exp(2j * np.pi * f * pos / m)
    total = terms[0].real + 2.0 * np.sum(terms[1:].real)
    if m % 2 == 0:
        total -= terms[-1].real  # the Nyquist bin appears once, not twice
    return float(total / m)


def _interpolate(spec: np.ndarray, m: int, start: float, n: int) -> np.ndarray:
    """irfft(spec, m) band-limited-interpolated at start + ONSET_STEP * j, j = 0..n-1."""
    up = round(1.0 / ONSET_STEP)
    shifted = spec * np.exp(2j * np.pi * np.arange(spec.size) * (start / m))
    return sfft.irfft(shifted, m * up)[:n] * up


def _walk_back(v: np.ndarray, start: int, level: float, hold: int) -> float:
    """Fractional index where v, followed back from `start`, first drops under `level` and stays
    under it for `hold` grid points (0 when it never does)."""
    below = 0
    for i in range(start, -1, -1):
        if v[i] < level:
            below += 1
            if below >= hold:
                j = i + below - 1
                return j + (level - v[j]) / (v[j + 1] - v[j])
        else:
            below = 0
    return 0.0


def _edge(slope: np.ndarray) -> tuple[float, float]:
    """Grid indices where a rising edge's slope reaches ONSET_LEVEL and ONSET_TOP of its top."""
    top = int(np.argmax(slope))
    hold = max(1, round(ONSET_HOLD / ONSET_STEP))
    return (_walk_back(slope, top, ONSET_LEVEL * slope[top], hold),
            _walk_back(slope, top, ONSET_TOP * slope[top], 1))


def _onset_offset(whitened: np.ndarray, kernel: np.ndarray, m: int, center: float, sign: int) -> float:
    """Offset (samples, usually < 0) from the response's peak at `center` back to its onset.

    Both the response and the estimator's own pulse (`kernel`, what a pure delay gives) are shaped
    by a Gaussian taper and differentiated; the onset is where the response's slope climbs to
    ONSET_LEVEL of its top, relative to the pulse's, minus the rise time it has beyond the pulse's
    and ONSET_MARGIN when it is not shaped like the pulse, but no more than ONSET_BEND_SLACK
    before the response's bend.
    """
    f = np.arange(whitened.size)
    shape = np.exp(-0.5 * (f * (PULSE_TAPER / max(whitened.size - 1, 1))) ** 2) * (2j * np.pi * f / m)
    n = int(round(ONSET_SEARCH / ONSET_STEP)) + 1
    after = int(round(ONSET_LIKENESS_SPAN / ONSET_STEP))  # grid points past the peak, for the likeness
    slope = sign * _interpolate(whitened * shape, m, center - ONSET_SEARCH, n + after)
    pulse = _interpolate(kernel * shape, m, -ONSET_SEARCH, n)
    r_lo, r_hi = _edge(slope[:n])
    p_lo, p_hi = _edge(pulse)
    excess = max(0.0, (r_hi - r_lo) - (p_hi - p_lo))
    # How much the response looks like a pure delay's: correlation of the two slopes from a sample
    # before their onsets to ONSET_LIKENESS_SPAN after (past the peak: a pedal whose edge matches the
    # pulse's, like a fuzz's, still decays unlike it), the pulse moved (band-limited) so that its
    # onset falls exactly on the response's; a grid step of misalignment alone would cost 1e-3 of
    # likeness. A response unlike it (a pedal's) is put a little earlier still.
    moved = _interpolate(kernel * shape, m, -ONSET_SEARCH - ONSET_STEP * (r_lo - p_lo), n + after)
    a = int(r_lo)
    lo = max(a - round(1.0 / ONSET_STEP), 0)
    seg_r = slope[lo : a + after]
    seg_p = moved[lo : a + after]
    norm = float(np.linalg.norm(seg_r) * np.linalg.norm(seg_p))
    likeness = float(np.dot(seg_r, seg_p)) / norm if norm > 0 else 0.0
    margin = ONSET_MARGIN * float(np.clip((1.0 - likeness) / ONSET_LIKENESS, 0.0, 1.0))
    onset = ONSET_STEP * ((r_lo - p_lo) - ONSET_RISE_WEIGHT * excess) - margin
    # The bend: where the response's curvature (second derivative) first climbs to ONSET_LEVEL of
    # its top, against the pulse's. A slow pedestal before the onset (a heavy drive's linear
    # approximation has one) stretches the slope's rise and the rise-time correction overshoots;
    # the curvature hardly sees the pedestal, and a response has started by the time it bends.
    curve = sign * _interpolate(whitened * shape * (2j * np.pi * f / m), m, center - ONSET_SEARCH, n)
    p_curve = _interpolate(kernel * shape * (2j * np.pi * f / m), m, -ONSET_SEARCH, n)
    bend = ONSET_STEP * (_edge(curve)[0] - _edge(p_curve)[0])
    # A dry with little top end (a pickup rolls off above 3-5 kHz; its hiss fills the rest) widens the
    # pulse: an effect's low-pass then looks like a plain delay in the band the dry covers, and its
    # onset cannot be told from its peak. Lean early by the rise time the narrower band adds when the
    # response's edge starts earlier before its peak than the pulse's does (a low-pass spreads it
    # that way; a plain delay or a memoryless clipper does not, and is found as before).
    flat = _edge(_interpolate(np.ones_like(kernel) * shape, m, -ONSET_SEARCH, n))
    widened = ONSET_STEP * max(0.0, (p_hi - p_lo) - (flat[1] - flat[0]))
    spread = float(np.clip((ONSET_STEP * (p_lo - r_lo) - ONSET_LEAN_DEAD) / ONSET_LEAN_SPREAD, 0.0, 1.0))
    return max(onset, bend - ONSET_BEND_SLACK) - widened * spread


def _causal_rows(d: np.ndarray, w: np.ndarray, starts: np.ndarray, scale: float,
                 shifts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Design f(dry[n - k]) (k = 0..CAUSAL_TAPS-1, then a constant) and targets wet[n + L] for every
    shift L, for n in the blocks starting at `starts`; one column per sample n (row-major products
    of this layout run several times faster than those of its transpose)."""
    idx = starts[:, None] + np.arange(-(CAUSAL_TAPS - 1), CAUSAL_BLOCK)[None, :]
    x = d[idx].astype(np.float64) / scale
    feats = np.stack([x, x * x, x * x * x, np.tanh(x)])
    windows = np.lib.stride_tricks.sliding_window_view(feats, CAUSAL_TAPS, axis=-1)  # (feature, block, sample, tap)
    n = starts.size * CAUSAL_BLOCK
    design = np.empty((CAUSAL_FEATURES * CAUSAL_TAPS + 1, n))
    design[:-1] = windows.transpose(0, 3, 1, 2).reshape(-1, n)
    design[-1] = 1.0
    at = (starts[:, None] + np.arange(CAUSAL_BLOCK)[None, :]).reshape(-1)
    return design, w[at[None, :] + shifts[:, None]].astype(np.float64)


def causal_errors(dry: np.ndarray, wet: np.ndarray, shifts: np.ndarray) -> np.ndarray | None:
    """Held-out error / energy of the causal predictor of wet[n + L] from dry[n - k] (CAUSAL_TAPS
    taps of x, x^2, x^3, tanh(x)) for each shift L in `shifts` (see `causal_bound`); None when the
    loud blocks are too few to fit and score it."""
    d = np.asarray(dry)
    w = np.asarray(wet)
    shifts = np.asarray(shifts, dtype=np.int64)
    block = CAUSAL_BLOCK
    first = max(CAUSAL_TAPS - 1, -int(shifts[0]))
    last = min(d.size - block, w.size - block - int(shifts[-1]))  # the last block's start, at most
    n_blocks = (last - first) // block + 1 if last >= first else 0
    if n_blocks < 4 * CAUSAL_MIN_BLOCKS:
        return None
    grid = d[first : first + n_blocks * block].reshape(n_blocks, block)
    energy = np.einsum("ij,ij->i", grid, grid, dtype=np.float64)
    loud = np.flatnonzero(energy >= np.percentile(energy, 90) * 10 ** (CAUSAL_LOUD_DB / 10))
    loud = loud[energy[loud] > 0]
    if loud.size > CAUSAL_ROWS // block:  # evenly spread, deterministic
        loud = loud[np.linspace(0, loud.size - 1, CAUSAL_ROWS // block).round().astype(int)]
    if loud.size < 4 * CAUSAL_MIN_BLOCKS:
        return None
    scale = math.sqrt(float(np.sum(energy[loud])) / (loud.size * block))
    starts = first + block * loud
    fit = (np.arange(starts.size) // 2) % 2 == 0
    n_cols = CAUSAL_FEATURES * CAUSAL_TAPS + 1
    gram = np.zeros((n_cols, n_cols))
    cross = np.zeros((shifts.size, n_cols))
    fitted = starts[fit]
    for c in range(0, fitted.size, CAUSAL_CHUNK):
        x, y = _causal_rows(d, w, fitted[c : c + CAUSAL_CHUNK], scale, shifts)
        gram += x @ x.T
        cross += y @ x.T
    gram[np.diag_indices(n_cols)] += CAUSAL_RIDGE * float(np.trace(gram)) / n_cols
    coef = np.linalg.solve(gram, cross.T)  # (column, shift)
    held = starts[~fit]
    err = np.empty((held.size, shifts.size))
    power = np.empty((held.size, shifts.size))
    for c in range(0, held.size, CAUSAL_CHUNK):
        x, y = _causal_rows(d, w, held[c : c + CAUSAL_CHUNK], scale, shifts)
        err[c : c + CAUSAL_CHUNK] = np.square(y - coef.T @ x).reshape(shifts.size, -1, block).sum(axis=2).T
        power[c : c + CAUSAL_CHUNK] = np.square(y).reshape(shifts.size, -1, block).sum(axis=2).T
    explained = np.any(err <= power, axis=1)
    total = power[explained].sum(axis=0)
    if np.sum(explained) < CAUSAL_MIN_BLOCKS or not np.all(total > 0):
        return None
    return err[explained].sum(axis=0) / total


def direction_errors(dry: np.ndarray, wet: np.ndarray, latency: float) -> tuple[float, float] | None:
    """(wet from dry, dry from wet): the causal predictor's least held-out error over the shifts
    around `latency` (and around minus it for the reverse); None when either cannot be measured. A
    pair's input is the side that predicts the other better: the effect loses what it clips."""
    k = math.floor(latency)
    forward = causal_errors(dry, wet, np.arange(k + CAUSAL_SHIFTS[0], k + CAUSAL_SHIFTS[1] + 2))
    reverse = causal_errors(wet, dry, np.arange(-k + CAUSAL_SHIFTS[0], -k + CAUSAL_SHIFTS[1] + 2))
    if forward is None or reverse is None:
        return None
    return float(forward.min()), float(reverse.min())


def causal_bound(dry: np.ndarray, wet: np.ndarray, estimate: float) -> int | None:
    """The latest integer latency (samples) at which a causal predictor of the wet from the dry does
    as well as at any shift near `estimate`; None when the test cannot tell.

    For each shift L in estimate + CAUSAL_SHIFTS, wet[n + L] ~ sum_k w_k f(dry[n - k]) is fitted by
    least squares on half of the loud blocks and its error measured on the other half (alternate
    pairs of blocks). A shift later than the true latency hides the dry samples that shape the wet's
    first taps from the predictor: its held-out error jumps (a 1st-order filter's first tap is its
    largest). Earlier shifts cost only the predictor's far taps, so the error falls towards the
    truth and jumps past it. The bound is the latest shift within CAUSAL_TOLERANCE (or
    CAUSAL_FLOOR) of the best; it counts only when the shift two samples later costs CAUSAL_WALL
    more and the best is not the earliest shift tried: a heavy drive's predictor also gains a little
    from dry samples after the truth (they stand in for the cross terms it lacks), so on very
    predictable material its error slopes down to earlier shifts (under 17 % over two samples in
    benchmarks.align_accuracy's cases) instead of meeting a wall (39 % and more where it acted).
    Held-out blocks no shift explains (error above their own energy: material the fit half never
    showed) carry no timing and are left out.
    """
    k0 = math.floor(estimate)
    shifts = np.arange(k0 + CAUSAL_SHIFTS[0], k0 + CAUSAL_SHIFTS[1] + 1)
    e = causal_errors(dry, wet, shifts)
    if e is None:
        return None
    best = float(e.min())
    i = int(np.flatnonzero(e <= best * (1 + CAUSAL_TOLERANCE) + CAUSAL_FLOOR)[-1])
    if int(np.argmin(e)) == 0 or i + 2 >= e.size or e[i + 2] < best * (1 + CAUSAL_WALL) + CAUSAL_FLOOR:
        return None
    return int(shifts[i])


def _peak_clarity_db(h: np.ndarray, index: int) -> float:
    """|h| at `index` over the robust spread (1.4826 x MAD) of h outside +-CLARITY_GUARD of it, dB."""
    rest = np.concatenate([h[: max(0, index - CLARITY_GUARD)], h[index + CLARITY_GUARD + 1 :]])
    if rest.size < 8:
        return float("inf")
    spread = 1.4826 * float(np.median(np.abs(rest - np.median(rest))))
    peak = abs(float(h[index]))
    if spread <= 0.0:
        return float("inf") if peak > 0 else float("-inf")
    return 20.0 * math.log10(peak / spread) if peak > 0 else float("-inf")


def estimate_alignment(
    dry: np.ndarray,
    wet: np.ndarray,
    sr: int,
    max_latency_ms: float,
    min_peak_clarity_db: float,
    subsample: bool = True,
    latency: float | None = None,
    polarity: int | None = None,
) -> Alignment:
    """Estimate latency (samples, ms), polarity and gain of `wet` relative to `dry`.

    Searches lags within +-max_latency_ms. Raises AlignmentError when the response's peak lies on
    the edge of that range or its clarity (dB over the rest of the window) is below
    `min_peak_clarity_db`. `latency` (samples) skips the search: the correlation, gain and clarity
    are then reported at that lag and nothing is refused. `polarity` (+1/-1) overrides the sign.
    """
    if not math.isfinite(min_peak_clarity_db):
        raise ConfigError(f"align.min_peak_clarity_db must be a finite number (dB), got {min_peak_clarity_db}")
    if polarity not in (None, 1, -1):
        raise ConfigError(f"align.polarity must be auto, 1 or -1, got {polarity!r}")
    lag = search_range_samples(max_latency_ms, sr)
    if latency is not None:
        if not math.isfinite(latency):
            raise ConfigError(f"align.latency must be auto or a number of samples, got {latency!r}")
        lag = max(lag, math.ceil(abs(latency)) + CLARITY_GUARD + 2)
    d = np.asarray(dry)
    w = np.asarray(wet)
    if d.ndim != 1 or w.ndim != 1:
        raise InputError(f"alignment needs mono signals, got shapes {d.shape} and {w.shape}")
    n_d, n_w = d.size, w.size
    if min(n_d, n_w) < 4 * lag:
        raise InputError(
            f"too short to align: {min(n_d, n_w)} samples; at least {4 * lag} needed for a "
            f"+-{1000.0 * lag / sr:g} ms search range"
        )
    # Means removed: a DC offset (asymmetric clipping, an interface) carries no timing.
    d_mean = float(np.mean(d, dtype=np.float64))
    w_mean = float(np.mean(w, dtype=np.float64))
    edge = lag + abs(n_d - n_w) + 1
    e_d, head_d, tail_d = _sumsq_parts(d, d_mean, edge, edge)
    e_w, head_w, tail_w = _sumsq_parts(w, w_mean, edge, edge)
    if not (math.isfinite(e_d) and math.isfinite(e_w)):
        raise InputError("cannot align: the dry or the wet signal contains NaN or infinite samples")
    if e_d <= 0.0 or e_w <= 0.0:
        raise AlignmentError("cannot align: the dry or the wet signal is constant (silent)")

    s_dw, s_dd, m = _cross_spectra(d, w, d_mean, w_mean, lag)
    power = uniform_filter1d(s_dd, WHITEN_SMOOTH_BINS, mode="nearest")
    denominator = power + WHITEN_FLOOR * float(np.mean(power))
    whitened = s_dw / denominator
    h = sfft.irfft(whitened, m)[: 2 * lag + 1]  # index lag + k <-> lag k
    range_ms = 1000.0 * lag / sr

    if latency is not None:
        tau = float(latency)
        clarity = _peak_clarity_db(h, lag + int(round(tau)))
    else:
        k = int(np.argmax(np.abs(h))) - lag
        clarity = _peak_clarity_db(h, lag + k)
        if abs(k) >= lag:
            raise AlignmentError(
                f"alignment peak on the edge of the search range (+-{range_ms:.1f} ms, +-{lag} "
                f"samples): the latency is probably larger; raise align.max_latency_ms"
            )
        if clarity < min_peak_clarity_db:
            raise AlignmentError(
                f"alignment not trustworthy: the response's peak stands only {clarity:.1f} dB over "
                f"the rest of the +-{range_ms:.1f} ms window (align.min_peak_clarity_db "
                f"{min_peak_clarity_db:g}): dry and wet from different takes, a wet of unrelated "
                f"noise, or a wet not explained by the dry?"
            )
        tau = float(k)
        if subsample:
            res = minimize_scalar(
                lambda t: -abs(_eval_spectrum(whitened, m, lag + t)),
                bounds=(k - 1.0, k + 1.0),
                method="bounded",
                options={"xatol": 1e-4},
            )
            # Keep the refinement only if it really is a peak at least as high as the integer one.
            if res.success and -res.fun >= abs(h[lag + k]):
                tau = float(res.x)
        # Step back from the peak to the onset of the response (see the module docstring).
        peak_sign = 1 if _eval_spectrum(whitened, m, lag + tau) >= 0 else -1
        kernel = (s_dd / denominator).astype(np.complex128)
        tau += float(np.clip(_onset_offset(whitened, kernel, m, lag + tau, peak_sign), -ONSET_SEARCH, 0.0))
        if not subsample:
            tau = float(math.floor(tau + 0.25))  # one sample early rather than a fraction late
        # Never later than the causal bound (see causal_bound); its own fraction when already earlier.
        bound = causal_bound(d, w, tau)
        if bound is not None:
            tau = min(tau, float(bound))
        if abs(tau) >= lag:
            raise AlignmentError(
                f"alignment onset on the edge of the search range (+-{range_ms:.1f} ms): the "
                f"latency is probably larger; raise align.max_latency_ms"
            )
    c = _eval_spectrum(s_dw, m, lag + tau)  # plain correlation at the (fractional) lag
    kk = int(round(tau))
    ed = e_d - head_d[max(0, -kk)] - tail_d[max(0, n_d - n_w + kk)]
    ew = e_w - head_w[max(0, kk)] - tail_w[max(0, n_w - n_d - kk)]
    rho = c / math.sqrt(ed * ew) if ed > 0 and ew > 0 else 0.0
    if polarity is None:
        polarity = peak_sign if latency is None else (1 if c >= 0 else -1)
    gain = float(abs(c) / ed) if ed > 0 else 0.0
    return Alignment(
        latency_samples=tau,
        latency_ms=1000.0 * tau / sr,
        polarity=int(polarity),
        peak_correlation=min(abs(rho), 1.0),
        gain=gain,
        gain_db=20.0 * math.log10(gain) if gain > 0 else float("-inf"),
        search_range_samples=lag if latency is None else 0,
        peak_clarity_db=clarity,
    )


def _fractional_taps(frac: float) -> np.ndarray:
    """Kaiser-windowed sinc taps t[j] such that sum_j t[j] x[n + j - H + 1] ~ x(n + frac)."""
    half = FRAC_HALF_TAPS
    offsets = np.arange(-half + 1, half + 1) - frac  # distance of each tap from the target
    # The continuous Kaiser window, spanning +-half samples, evaluated at the tap offsets.
    win = np.i0(FRAC_KAISER_BETA * np.sqrt(np.clip(1.0 - (offsets / half) ** 2, 0.0, None)))
    win /= np.i0(FRAC_KAISER_BETA)
    taps = np.sinc(offsets) * win
    return taps / taps.sum()  # unit gain at DC


def apply_alignment(dry: np.ndarray, wet: np.ndarray, alignment: Alignment) -> tuple[np.ndarray, np.ndarray]:
    """Shift `wet` earlier by the latency (fractional part by a windowed-sinc filter), undo its
    polarity, and trim both signals to the samples valid in both. The gain is left as is.
    """
    d = np.asarray(dry)
    w = np.asarray(wet)
    out_dtype = w.dtype if np.issubdtype(w.dtype, np.floating) else np.float64
    tau = float(alignment.latency_samples)
    n0 = math.floor(tau)
    frac = tau - n0
    if frac > 1.0 - FRAC_EPS:
        n0, frac = n0 + 1, 0.0
    elif frac < FRAC_EPS:
        frac = 0.0
    n_d, n_w = d.size, w.size
    half = FRAC_HALF_TAPS
    # Output sample i pairs dry[i] with wet(i + tau).
    if frac == 0.0:
        start, stop = max(0, -n0), min(n_d, n_w - n0)
    else:
        start, stop = max(0, half - 1 - n0), min(n_d, n_w - n0 - half)
    if stop <= start:
        raise InputError(f"nothing left after aligning by {tau:.2f} samples")
    out = np.empty(stop - start, dtype=out_dtype)
    if frac == 0.0:
        out[:] = w[start + n0 : stop + n0]
    else:
        kernel = _fractional_taps(frac)[::-1]
        for i0 in range(start, stop, FRAC_CHUNK):
            i1 = min(i0 + FRAC_CHUNK, stop)
            seg = w[i0 + n0 - half + 1 : i1 + n0 + half].astype(np.float64)
            out[i0 - start : i1 - start] = signal.oaconvolve(seg, kernel, mode="valid")
    if alignment.polarity < 0:
        np.negative(out, out=out)
    return d[start:stop].copy(), out


def _linear_prediction(dry: np.ndarray, wet: np.ndarray, shift: int, at: np.ndarray) -> np.ndarray:
    """The wet at indices `at` as the best short linear filter of the shifted dry predicts it (taps
    RAIL_TAPS around the latency, fitted by least squares on the samples off the rails): an effect's
    filters before its clipper (a pre-emphasis, a tone stack) decide which rail it clips to, which the
    dry's own sign alone does not tell."""
    d = np.asarray(dry, np.float64)
    w = np.asarray(wet, np.float64)
    taps = np.arange(RAIL_TAPS[0], RAIL_TAPS[1] + 1)
    lo, hi = shift + taps[-1], min(w.size, d.size + shift + taps[0])
    fit = np.arange(max(lo, 0), hi)
    fit = fit[np.abs(w[fit]) < FULL_SCALE]
    if fit.size > RAIL_FIT_SAMPLES:
        fit = fit[:: -(-fit.size // RAIL_FIT_SAMPLES)]
    if fit.size < 4 * taps.size:
        return d[at - shift]
    design = d[fit[:, None] - shift - taps[None, :]]
    coef, *_ = np.linalg.lstsq(design, w[fit], rcond=None)
    return d[at[:, None] - shift - taps[None, :]] @ coef


def check_full_scale(dry: np.ndarray, wet: np.ndarray, alignment: Alignment) -> float:
    """Share of wet samples at full scale (0..1); AlignmentError when more than STUCK_FRACTION of
    them are there and the dry does not explain it: a clipping effect goes to full scale with the
    sign a short linear filter of the shifted dry predicts, a stuck converter or a start-up
    transient pinned at one rail does not."""
    d = np.asarray(dry)
    w = np.asarray(wet)
    fraction = full_scale_fraction(w)
    if fraction <= STUCK_FRACTION:
        return fraction
    shift = int(round(alignment.latency_samples))
    at_rail = np.flatnonzero(np.abs(w) >= FULL_SCALE)
    at_rail = at_rail[(at_rail - shift - RAIL_TAPS[1] >= 0) & (at_rail - shift - RAIL_TAPS[0] < d.size)]
    predicted = np.sign(_linear_prediction(d, w, shift, at_rail))
    agreement = float(np.mean(predicted == np.sign(w[at_rail]))) if at_rail.size else 0.0
    if agreement < STUCK_AGREEMENT:
        raise AlignmentError(
            f"wet stuck at full scale for {100 * fraction:.1f}% of its samples, not explained by the "
            f"dry (only {100 * agreement:.0f}% of them have the sign the dry predicts): a converter "
            f"or interface fault, or a start-up transient in the wet take?"
        )
    return fraction


def clean_and_estimate(
    dry: np.ndarray,
    wet: np.ndarray,
    sr: int,
    *,
    max_latency_ms: float,
    min_peak_clarity_db: float,
    subsample: bool = True,
    latency: float | None = None,
    polarity: int | None = None,
    highpass_hz: float = 5.0,
) -> tuple[np.ndarray, np.ndarray, Alignment, CleanUp]:
    """The align stage's work on arrays: measure DC and full-scale share, high-pass both signals
    (`highpass`, the same filter for both), estimate the alignment, check the full-scale samples.

    Returns the filtered dry and wet (not yet shifted), the alignment and what the clean-up found.
    """
    cleanup = CleanUp(
        dc_dry=float(np.mean(dry, dtype=np.float64)),
        dc_wet=float(np.mean(wet, dtype=np.float64)),
        wet_full_scale_fraction=full_scale_fraction(wet),
    )
    dry_f = highpass(dry, sr, highpass_hz)
    wet_f = highpass(wet, sr, highpass_hz)
    try:
        found = estimate_alignment(
            dry_f, wet_f, sr, max_latency_ms, min_peak_clarity_db, subsample, latency, polarity
        )
    except AlignmentError as exc:
        if cleanup.wet_full_scale_fraction > STUCK_FRACTION:
            raise AlignmentError(
                f"{exc}; the wet is stuck at full scale for "
                f"{100 * cleanup.wet_full_scale_fraction:.1f}% of its samples"
            ) from None
        raise
    check_full_scale(dry, wet, found)
    return dry_f, wet_f, found, cleanup


def align_pair(dry: np.ndarray, wet: np.ndarray, sr: int,
               p: AlignParams) -> tuple[np.ndarray, np.ndarray, Alignment, CleanUp]:
    """`clean_and_estimate` with params.yaml's `align` section, then `apply_alignment`: the aligned
    dry (high-passed, or as recorded with `highpass_dry: false`, which is what a plugin feeds a
    model) and wet, the alignment and what the clean-up found. The align stage and the capture's
    trials both cut their audio with it."""
    dry_f, wet_f, found, cleanup = clean_and_estimate(
        dry, wet, sr, max_latency_ms=p.max_latency_ms, min_peak_clarity_db=p.min_peak_clarity_db,
        subsample=p.subsample, latency=None if p.latency == "auto" else float(p.latency),
        polarity=None if p.polarity == "auto" else int(p.polarity), highpass_hz=p.highpass_hz)
    kept = dataclasses.replace(found, polarity=1) if p.keep_polarity else found  # the wet's inversion stays
    dry_a, wet_a = apply_alignment(dry_f if p.highpass_dry else dry.astype(dry_f.dtype), wet_f, kept)
    return dry_a, wet_a, found, cleanup
