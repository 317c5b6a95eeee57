"""Latency, polarity and gain of the wet recording relative to the dry one (FFT cross-correlation).

The latency is located on a whitened cross-correlation: the cross-spectrum divided by the dry
signal's power spectrum, i.e. the impulse response of the best linear approximation of the
dry -> wet path. Its peak is sharp even for tonal material (a plain correlation of a sustained
note has side peaks at every pitch period). An effect's own filters put that peak a sample or two
after the recording chain's delay, so the latency reported is the onset of the response: where its
rising edge crosses a tenth of the way up, measured against the same edge of the estimator's own
pulse (so a pure delay is found exactly). Shifting by the onset leaves a causal model all the dry
samples that shape each wet sample. Whether the alignment can be trusted is judged on the
plain normalised correlation at that lag: 1.0 for a delayed copy, typically 0.6-0.95 for a
distortion pedal.

The whole signal is used, exactly: dry blocks are correlated with wet blocks extended by the
search range on both sides, and the cross-spectra are summed, so the memory needed is a few
blocks whatever the length of the recording.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy import signal
from scipy.ndimage import uniform_filter1d
from scipy.optimize import minimize_scalar

from drywet.errors import AlignmentError, ConfigError, InputError

MIN_BLOCK_FFT = 1 << 16  # FFT size (samples) of one correlation block, at least
BATCH_BLOCKS = 16  # blocks transformed together (bounds memory to a few MiB)
WHITEN_SMOOTH_BINS = 9  # smoothing of the dry power spectrum across frequency bins
WHITEN_FLOOR = 1e-3  # floor of the whitening denominator, relative to its mean (-30 dB)
ONSET_LEVEL = 0.1  # the response's onset: where its rising edge crosses this fraction of the peak
ONSET_SEARCH = 6.0  # samples searched before the peak for that crossing
ONSET_STEP = 0.05  # grid step (samples) of that search
ONSET_BASELINE = 24.0  # samples before the search window whose mean is the response's baseline
FRAC_HALF_TAPS = 32  # fractional-delay filter: taps on each side of the target position
FRAC_KAISER_BETA = 8.0  # its Kaiser window (about -80 dB side lobes)
FRAC_EPS = 1e-6  # fractional parts closer than this (samples) to 0 or 1 count as integer
FRAC_CHUNK = 1 << 20  # samples filtered at a time (bounds memory)


@dataclass(frozen=True)
class Alignment:
    """Where the wet recording sits relative to the dry one.

    latency_samples: positive when the wet lags the dry (fractional when sub-sample refined): the
        onset of the effect's response, not the later peak its filters put after it.
    polarity: +1, or -1 when the wet is inverted.
    peak_correlation: plain normalised correlation at the latency, 0..1.
    gain: least-squares linear gain, wet ~ gain * polarity * shifted dry (reported, not undone).
    search_range_samples: the lags searched were -range..+range.
    """

    latency_samples: float
    latency_ms: float
    polarity: int
    peak_correlation: float
    gain: float
    gain_db: float
    search_range_samples: int


def search_range_samples(max_latency_ms: float, sr: int) -> int:
    """Search range in samples for `max_latency_ms` at sample rate `sr` (Hz), rounded up."""
    if not max_latency_ms > 0:
        raise ConfigError(f"align.max_latency_ms must be > 0, got {max_latency_ms}")
    if not sr > 0:
        raise ConfigError(f"sample rate must be > 0, got {sr}")
    return max(1, math.ceil(max_latency_ms * sr / 1000.0 - 1e-9))


def check_lengths(n_dry: int, n_wet: int, max_latency_samples: int, name: str) -> None:
    """Raise InputError when dry and wet lengths (samples) differ by more than the search range."""
    diff = abs(int(n_dry) - int(n_wet))
    if diff > max_latency_samples:
        raise InputError(
            f"{name}: dry has {n_dry} samples and wet {n_wet}; they differ by {diff} samples, more "
            f"than the alignment search range ({max_latency_samples} samples): not the same take?"
        )


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


def _rising_edge(spec: np.ndarray, m: int, center: float, sign: int) -> float:
    """Offset (samples, <= 0) from `center` back to where the band-limited pulse of irfft(spec)
    around it rises through ONSET_LEVEL of the way from its baseline (the level just before the
    search window; distortion leaves a low pedestal there) to its value at `center`."""
    grid = np.arange(0.0, -(ONSET_SEARCH + ONSET_BASELINE), -ONSET_STEP)
    f = np.arange(spec.size)
    fold = np.where(f == 0, 1.0, 2.0)
    if m % 2 == 0:
        fold[-1] = 1.0  # the Nyquist bin counts once
    phase = np.exp(2j * np.pi * f[None, :] * (center + grid[:, None]) / m)
    values = sign * np.real(phase @ (spec * fold)) / m
    base = max(0.0, float(np.mean(values[grid < -ONSET_SEARCH])))  # a pedestal, never a dip
    level = base + ONSET_LEVEL * (values[0] - base)
    search = values[grid >= -ONSET_SEARCH]
    below = np.flatnonzero(search < level)
    if values[0] <= base or below.size == 0:
        return 0.0
    i = int(below[0])  # first grid point, going back from the peak, under the level
    v0, v1 = search[i - 1], search[i]
    return float(grid[i - 1] + (grid[i] - grid[i - 1]) * (v0 - level) / (v0 - v1))


def estimate_alignment(
    dry: np.ndarray,
    wet: np.ndarray,
    sr: int,
    max_latency_ms: float,
    min_correlation: float,
    subsample: bool = True,
) -> Alignment:
    """Estimate latency (samples, ms), polarity and gain of `wet` relative to `dry`.

    Searches lags within +-max_latency_ms. Raises AlignmentError when the best peak lies on the
    edge of that range or its plain normalised correlation is below `min_correlation`.
    """
    if not 0.0 <= min_correlation <= 1.0:
        raise ConfigError(f"align.min_correlation must be within 0..1, got {min_correlation}")
    lag = search_range_samples(max_latency_ms, sr)
    d = np.asarray(dry)
    w = np.asarray(wet)
    if d.ndim != 1 or w.ndim != 1:
        raise InputError(f"alignment needs mono signals, got shapes {d.shape} and {w.shape}")
    n_d, n_w = d.size, w.size
    if min(n_d, n_w) < 4 * lag:
        raise InputError(
            f"too short to align: {min(n_d, n_w)} samples; at least {4 * lag} needed for a "
            f"+-{max_latency_ms:g} ms search range"
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
    whitened = s_dw / (power + WHITEN_FLOOR * float(np.mean(power)))
    h = sfft.irfft(whitened, m)[: 2 * lag + 1]  # index lag + k <-> lag k
    k = int(np.argmax(np.abs(h))) - lag

    def overlap_energy(kk: int) -> tuple[float, float]:
        """Energies (dry, wet) of the samples paired at integer lag kk."""
        ed = e_d - head_d[max(0, -kk)] - tail_d[max(0, n_d - n_w + kk)]
        ew = e_w - head_w[max(0, kk)] - tail_w[max(0, n_w - n_d - kk)]
        return ed, ew

    range_ms = 1000.0 * lag / sr
    if abs(k) >= lag:
        raise AlignmentError(
            f"alignment peak on the edge of the search range (+-{range_ms:.1f} ms, +-{lag} "
            f"samples): the latency is probably larger; raise align.max_latency_ms"
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
    # The peak is the top of the effect's response, which its filters place a sample or two after
    # the recording chain's delay. Step back to the onset of the response: its rising edge measured
    # against the same edge of the estimator's own pulse (the whitened dry autocorrelation, i.e.
    # what a pure delay would give), so that a pure delay is found exactly.
    sign = 1 if _eval_spectrum(whitened, m, lag + tau) >= 0 else -1
    kernel = s_dd / (power + WHITEN_FLOOR * float(np.mean(power)))
    edge = _rising_edge(whitened, m, lag + tau, sign) - _rising_edge(kernel.astype(complex), m, 0.0, 1)
    tau += float(np.clip(edge, -ONSET_SEARCH, 0.0))
    if not subsample:
        tau = float(round(tau))
    c = _eval_spectrum(s_dw, m, lag + tau)  # plain correlation at the (fractional) lag
    ed, ew = overlap_energy(int(round(tau)))
    rho = c / math.sqrt(ed * ew) if ed > 0 and ew > 0 else 0.0
    peak = min(abs(rho), 1.0)
    if peak < min_correlation:
        raise AlignmentError(
            f"alignment not trustworthy: peak normalised correlation {peak:.2f} < "
            f"align.min_correlation {min_correlation:.2f} within +-{range_ms:.1f} ms "
            f"(not the same take, or a latency beyond the search range?)"
        )
    gain = float(abs(c) / ed)
    return Alignment(
        latency_samples=tau,
        latency_ms=1000.0 * tau / sr,
        polarity=1 if c >= 0 else -1,
        peak_correlation=peak,
        gain=gain,
        gain_db=20.0 * math.log10(gain) if gain > 0 else float("-inf"),
        search_range_samples=lag,
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
