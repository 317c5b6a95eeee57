"""Three stand-in pedals: physically motivated models of an overdrive (`sd1`), a tube saturator (`b65`)
and a fuzz (`fuzz`), not the real Boss SD-1, Wampler Black '65 or any particular fuzz.

All run their nonlinearity at `oversample` times the sample rate. Distortion creates harmonics far
above the Nyquist frequency; at 1x they fold back as inharmonic aliases, which a model would then
learn as if they were part of the pedal. At 8x the strong harmonics lie below the high-rate Nyquist
and the decimation filter (resample_poly with an 80 dB Kaiser design) removes them before they can
fold; first-order antiderivative anti-aliasing (see `TabulatedCurve`) tames the rest, which a hard
clipper otherwise sprays up to the high-rate Nyquist.

Each stand-in has a drive knob, `gain` (0 to 1, like a pot's travel): None, or 0.5, is the setting the
plain bench records; knob-conditioned captures record several settings (see `apply_pedal`).

The signal is treated as volts with full scale (1.0) = 1 V peak, a typical guitar level.
Everything linear runs at the base rate on the whole signal; only the static or slowly varying
nonlinearity runs at the high rate, in blocks, so memory stays small for long recordings.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy import signal

from drywet.errors import ConfigError

# Resampler: passband to 0.43 fs (19 kHz at 44.1 kHz); images and aliases that would land in it
# are attenuated by STOP_DB. Anything folding into 19-22 kHz is inaudible and cheap to allow.
PASS_EDGE = 0.43  # fraction of the base sample rate
STOP_DB = 80.0
BLOCK_SAMPLES = 32768  # base-rate samples resampled at a time (fewer, larger calls are faster)
KERNEL_SAMPLES = 16384  # high-rate samples per kernel call: its float64 temporaries stay in L2

# Silicon diode (1N4148-class) and SD-1-like component values.
DIODE_IS = 2.52e-9  # saturation current, A
DIODE_NVT = 1.752 * 0.02585  # emission coefficient x thermal voltage, V
SD1_R_LEG = 4.7e3  # ohms, gain-setting leg to ground ...
SD1_C_LEG = 47e-9  # ... in series with this cap: gain rises above 1/(2 pi R C) = 720 Hz
SD1_R_FB = 51e3 + 50e3  # feedback resistor + drive pot (1 M, audio taper) at ~10 o'clock, ohms
SD1_R_FB_FIXED = 51e3  # the fixed part of that feedback resistance, ohms
SD1_DRIVE_POT = 1e6  # the drive pot, ohms; its knob `gain` g gives (TAPER^g - 1) / (TAPER - 1) of it
SD1_TAPER = 361.0  # audio taper: 5 % of the resistance at mid travel, so g = 0.5 is SD1_R_FB exactly
SD1_C_FB = 51e-12  # feedback cap across the diodes: slew-limits the clipped part above ~30 kHz
OPAMP_GBW_HZ = 3e6  # gain-bandwidth of a 4558-class op-amp
SD1_TONE_HZ = (3200.0, 8000.0)  # two first-order low-passes (tone at about noon)
SD1_LEVEL = 0.3
OUTPUT_HP_HZ = 16.0  # output coupling cap (1 uF into 10 kOhm): removes the clipping's DC

# Triode (12AX7-like Koren constants) with the plate voltage held fixed: no load line.
TRIODE_MU, TRIODE_EX, TRIODE_KG1, TRIODE_KP, TRIODE_KVB = 100.0, 1.4, 1060.0, 600.0, 300.0
TRIODE_VP = 250.0  # plate voltage, V
B65_DRIVE = 8.0  # input gain into the grid; the knob `gain` g sets 2 x 16^g (g = 0.5: 8)
B65_BIAS_V = -1.2  # quiescent grid bias, V
B65_GRID_K = 12.0  # 1/V, sharpness of grid-conduction limiting at 0 V
B65_SHIFT = 1.5  # bias shift per volt of rectified grid overdrive, V/V
B65_TAU_S = 0.04  # coupling-cap charge time constant, s
B65_PLATE_LP_HZ = 22e3  # plate load with stray + next-stage Miller capacitance
B65_LEVEL = 0.25

# Fuzz: a starved, high-gain inverting transistor stage that hard-clips, direct-coupled to the
# output (no output coupling cap, so its collector bias shows as a DC offset).
FUZZ_INPUT_HP_HZ = 60.0  # input coupling cap into the base
FUZZ_GAIN = -120.0  # small-signal gain of the inverting stage; the knob `gain` g sets it x 4^(g - 0.5)
FUZZ_GATE_V = 0.004  # base-emitter dead zone (volts at the input): soft notes are gated
FUZZ_SWING = (-0.6, 0.64)  # collector swing around its bias (V): asymmetric hard clipping
FUZZ_COLLECTOR_LP_HZ = 9000.0  # Miller capacitance of the stage
FUZZ_BIAS_V = 0.34  # collector bias at the output (DC offset of the output)


def _kaiser_lowpass(cutoff: float, width: float) -> np.ndarray:
    """Odd-length Kaiser low-pass; cutoff and transition width relative to the Nyquist frequency."""
    numtaps, beta = signal.kaiserord(STOP_DB, width)
    numtaps |= 1  # odd: resample_poly then centres the output exactly on the input
    return signal.firwin(numtaps, cutoff, window=("kaiser", beta)).astype(np.float32)


@lru_cache(maxsize=8)
def _stages(oversample: int) -> tuple[tuple[int, np.ndarray], ...]:
    """Resampling stages (factor, FIR): a sharp 2x stage, then one cheap wide-transition stage."""
    if oversample == 1:
        return ()
    # Transition from PASS_EDGE fs to (1 - PASS_EDGE) fs, relative to the stage's output Nyquist.
    def sharp(factor: int) -> np.ndarray:
        return _kaiser_lowpass(1.0 / factor, 2.0 * (1.0 - 2.0 * PASS_EDGE) / factor)

    if oversample % 2:  # odd factor: one sharp stage
        return ((oversample, sharp(oversample)),)
    first = (2, sharp(2))
    rest = oversample // 2
    if rest == 1:
        return (first,)
    # After the first stage the band is [0, (1 - PASS_EDGE) fs]; its images start at
    # (1 + PASS_EDGE) fs, so the second stage can afford a wide transition band.
    wide = (2.0 * PASS_EDGE) / rest
    return first, (rest, _kaiser_lowpass(1.0 / rest, wide))


def _context(stages: tuple[tuple[int, np.ndarray], ...]) -> int:
    """Base-rate samples of context each side that make block results equal to whole-signal ones."""
    rate, total = 1, 0.0
    for factor, h in stages:
        rate *= factor
        total += (len(h) // 2) / rate
    return int(np.ceil(total)) + 8


def _up(x: np.ndarray, stages: tuple[tuple[int, np.ndarray], ...]) -> np.ndarray:
    for factor, h in stages:
        x = signal.resample_poly(x, factor, 1, window=h)
    return x


def _down(y: np.ndarray, stages: tuple[tuple[int, np.ndarray], ...]) -> np.ndarray:
    for factor, h in reversed(stages):
        y = signal.resample_poly(y, 1, factor, window=h)
    return y


def run_oversampled(
    x: np.ndarray,
    oversample: int,
    kernel: Callable[[np.ndarray], np.ndarray],
    block: int | None = None,
) -> np.ndarray:
    """down(kernel(up(x))) computed block by block; equal to the whole-signal result (float32).

    `kernel` maps a high-rate float32 block to one of the same length and may keep state (IIR `zi`)
    between calls: it sees the high-rate signal exactly once, in order. Each block is upsampled with
    enough input context that the resampler's edges never show, and the decimator runs one context
    behind so it always has the following samples too: block seams are inaudible by construction.
    """
    x = np.array(x, dtype=np.float32)
    # Flush the tails that IIR filters leave after a signal stops: as float32 denormals they
    # would make every multiplication on them several times slower.
    x[np.abs(x) < np.float32(1e-15)] = 0.0  # -300 dB
    stages = _stages(oversample)
    if not stages:
        return np.asarray(kernel(x), dtype=np.float32)
    n, ctx = x.size, _context(stages)
    block = max(int(block or BLOCK_SAMPLES), 4 * ctx)
    xp = np.concatenate([np.zeros(ctx, np.float32), x, np.zeros(ctx, np.float32)])
    out = np.empty(n, dtype=np.float32)
    pending = np.zeros(ctx * oversample, dtype=np.float32)  # high-rate output from base time t0 on
    t0 = -ctx  # outside [0, n) the high-rate signal is zero, as resample_poly's padding assumes
    for a in range(0, max(n, 1), block):
        b = min(a + block, n)
        hi = _up(xp[a : b + 2 * ctx], stages)[ctx * oversample : (ctx + b - a) * oversample]
        processed = np.empty_like(hi)
        for k in range(0, hi.size, KERNEL_SAMPLES):  # cache-sized pieces, in order
            processed[k : k + KERNEL_SAMPLES] = kernel(hi[k : k + KERNEL_SAMPLES])
        parts = [pending, processed]
        if b == n:
            parts.append(np.zeros(ctx * oversample, dtype=np.float32))
        pending = np.concatenate(parts)
        end = t0 + pending.size // oversample
        low = _down(pending, stages)
        out[t0 + ctx : end - ctx] = low[ctx : low.size - ctx]
        pending = pending[-2 * ctx * oversample :]
        t0 = end - 2 * ctx
    return out


class TabulatedCurve:
    """A static transfer curve on a uniform grid, evaluated with first-order antiderivative
    anti-aliasing (ADAA) on a piecewise-linear table.

    ADAA outputs the curve's mean over the segment between consecutive input samples,
    (F(x[n]) - F(x[n-1])) / (x[n] - x[n-1]) with F the antiderivative, instead of the curve at
    the sample: a hard clipper's corners then no longer spray harmonics up to the high-rate
    Nyquist, which cuts aliasing by a further ~20-30 dB on top of oversampling, for a half-sample
    delay at the high rate. The table makes the exact curve (an implicit diode equation, a triode
    law) cheap at 170 million samples per 8 minutes, with an error > 110 dB below the signal.
    Inputs outside the grid are clamped (both curves are flat or nearly so there).
    """

    _TOL_CELLS = 1e-4  # input steps below this (in grid cells) use the curve value instead

    def __init__(self, lo: float, hi: float, values: Callable[[np.ndarray], np.ndarray], n: int):
        grid = np.linspace(lo, hi, n)
        step = (hi - lo) / (n - 1)
        self._scale, self._offset, self._top = 1.0 / step, lo / step, float(n - 1) - 1e-9
        self._y = values(grid).astype(np.float64)
        self._dy = np.append(np.diff(self._y), 0.0)
        # Antiderivative at the grid points, in grid units (exact for the piecewise-linear curve).
        self._g = np.concatenate([[0.0], np.cumsum(self._y[:-1] + 0.5 * self._dy[:-1])])

    def _locate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Position on the grid (clamped, float64), cell index and fractional part of each input."""
        pos = np.multiply(x, self._scale, dtype=np.float64)
        pos -= self._offset
        np.clip(pos, 0.0, self._top, out=pos)
        idx = pos.astype(np.int32)
        return pos, idx, pos - idx

    def values(self, x: np.ndarray) -> np.ndarray:
        """The curve itself at x (no anti-aliasing), float64."""
        _, idx, frac = self._locate(x)
        return self._y.take(idx) + frac * self._dy.take(idx)

    def adaa(self, x: np.ndarray, prev: tuple[float, float] | None) -> tuple[np.ndarray, tuple[float, float]]:
        """Anti-aliased curve output for the block x (float32), and the state for the next block.

        `prev` is the previous block's last (grid position, antiderivative); None at the start.
        """
        pos, idx, frac = self._locate(x)
        y0 = self._y.take(idx)
        value = self._dy.take(idx)
        value *= frac
        value += y0
        # G(pos) = G_i + frac * (y_i + value) / 2, built in place in y0.
        anti = y0
        anti += value
        anti *= frac
        anti *= 0.5
        anti += self._g.take(idx)
        if prev is None:
            prev = (float(pos[0]), float(anti[0]))
        state = (float(pos[-1]), float(anti[-1]))
        step = frac  # reuse the buffer: frac is no longer needed
        step[0] = pos[0] - prev[0]
        np.subtract(pos[1:], pos[:-1], out=step[1:])
        d_anti = pos  # likewise
        d_anti[0] = anti[0] - prev[1]
        np.subtract(anti[1:], anti[:-1], out=d_anti[1:])
        np.divide(d_anti, step, out=value, where=np.abs(step) > self._TOL_CELLS)
        return value.astype(np.float32), state


def _diode_feedback(u: np.ndarray, r_fb: float = SD1_R_FB) -> np.ndarray:
    """Voltage v across R_fb || (1 diode one way, 2 in series the other) for the 'open' voltage u.

    The feedback current u / R_fb splits between the resistor and the diodes:
    u = v + R_fb Is (exp(v / nVt) - exp(-v / (2 nVt))). Two diodes in series need twice the
    voltage, so negative swings clip at about twice the positive threshold (the SD-1's asymmetry).
    Solved by bisection; |v| <= |u| brackets the root.
    """
    scale = r_fb * DIODE_IS

    def excess(v: np.ndarray) -> np.ndarray:
        pos = np.exp(np.minimum(v / DIODE_NVT, 700.0))
        neg = np.exp(np.minimum(-v / (2.0 * DIODE_NVT), 700.0))
        return v + scale * (pos - neg) - u

    lo, hi = np.minimum(u, 0.0), np.maximum(u, 0.0)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        above = excess(mid) > 0
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return 0.5 * (lo + hi)


def _bilinear_first_order(b: tuple[float, float], a: tuple[float, float], sr: float, f_warp: float):
    """Digital first-order filter from analog (b1 s + b0)/(a1 s + a0), prewarped at f_warp (Hz)."""
    k = 2 * np.pi * f_warp / np.tan(np.pi * f_warp / sr)  # replaces 2*sr in the bilinear transform
    (b1, b0), (a1, a0) = b, a
    num = np.array([b0 + b1 * k, b0 - b1 * k])
    den = np.array([a0 + a1 * k, a0 - a1 * k])
    return num / den[0], den / den[0]


def _one_pole_lowpass(f_hz: float, sr: float):
    return _bilinear_first_order((0.0, 1.0), (1.0 / (2 * np.pi * f_hz), 1.0), sr, f_hz)


def _one_pole_highpass(f_hz: float, sr: float):
    tau = 1.0 / (2 * np.pi * f_hz)
    return _bilinear_first_order((tau, 0.0), (tau, 1.0), sr, f_hz)


def _check(x: np.ndarray, sr: int, oversample: int) -> np.ndarray:
    if not (isinstance(oversample, (int, np.integer)) and oversample >= 1):
        raise ConfigError(f"oversample must be an integer >= 1, got {oversample!r}")
    if sr <= 0:
        raise ConfigError(f"sample_rate must be positive, got {sr}")
    x = np.asarray(x)
    if x.ndim != 1:
        raise ConfigError(f"pedal input must be mono (1-D), got shape {x.shape}")
    return x.astype(np.float64)


@lru_cache(maxsize=8)
def _sd1_curve(r_fb: float = SD1_R_FB) -> TabulatedCurve:
    # u reaches ~ gain (22 at the default drive) x input peak (1 V); 5 mV steps keep the
    # interpolation error < 1 uV. A higher drive (larger R_fb) widens the range, same steps.
    if r_fb <= SD1_R_FB:
        return TabulatedCurve(-64.0, 64.0, lambda u: _diode_feedback(u, r_fb), 25601)
    span = 64.0 * r_fb / SD1_R_FB
    return TabulatedCurve(-span, span, lambda u: _diode_feedback(u, r_fb), int(np.ceil(2 * span / 0.005)) + 1)


def _knob(gain: float | None, pedal: str) -> float | None:
    """A drive knob's travel, checked: None (the default setting) or a number in [0, 1]."""
    if gain is None:
        return None
    if isinstance(gain, bool) or not (isinstance(gain, (int, float, np.floating)) and 0.0 <= float(gain) <= 1.0):
        raise ConfigError(f"{pedal}: knob gain must be a number from 0 to 1, got {gain!r}")
    return float(gain)


def sd1_feedback_ohms(gain: float | None = None) -> float:
    """The SD-1 stand-in's feedback resistance (ohms) at drive-knob travel `gain` (None: SD1_R_FB)."""
    gain = _knob(gain, "sd1")
    if gain is None:
        return SD1_R_FB
    return SD1_R_FB_FIXED + SD1_DRIVE_POT * (SD1_TAPER**gain - 1.0) / (SD1_TAPER - 1.0)


class _CurveStage:
    """High-rate kernel: anti-aliased static curve, then a linear IIR; states carry across blocks."""

    def __init__(self, curve: TabulatedCurve, b: np.ndarray, a: np.ndarray):
        self._curve = curve
        self._b, self._a = b.astype(np.float32), a.astype(np.float32)
        self._zi = np.zeros(max(len(a), len(b)) - 1, dtype=np.float32)
        self._prev: tuple[float, float] | None = None

    def __call__(self, hi: np.ndarray) -> np.ndarray:
        y, self._prev = self._curve.adaa(hi, self._prev)
        # A -400 dB offset keeps the filter out of denormal numbers in digital silence, where a
        # float IIR otherwise settles on a denormal limit cycle that slows every later operation.
        y += np.float32(1e-20)
        y, self._zi = signal.lfilter(self._b, self._a, y, zi=self._zi)
        return y


def _two_poles(freqs_hz: tuple[float, float], sr: float) -> tuple[np.ndarray, np.ndarray]:
    """Two real first-order low-pass poles as one biquad (b, a), unity gain at DC."""
    (b1, a1), (b2, a2) = (_one_pole_lowpass(f, sr) for f in freqs_hz)
    return np.convolve(b1, b2), np.convolve(a1, a2)


def sd1(x: np.ndarray, sr: int, oversample: int = 8, gain: float | None = None) -> np.ndarray:
    """SD-1-style overdrive stand-in: frequency-dependent op-amp gain into asymmetric diode clipping.

    Non-inverting stage with the diodes in its feedback: out = in + v, where v is the feedback
    voltage. The gain leg (R + C to ground) makes the gain rise above ~720 Hz up to ~27 dB, so
    bass is clipped less (the mid-hump of this pedal family). Then a tone low-pass, the output
    coupling high-pass and the level. Input and output in volts (full scale 1 V), float32. The drive
    knob `gain` (0 to 1) sets the feedback resistance (`sd1_feedback_ohms`): about 21 dB of gain at
    0, 27 dB at 0.5 (the default), 47 dB at 1, with the clipping and its poles following.
    """
    x = _check(x, sr, oversample)
    r_fb = sd1_feedback_ohms(gain)
    # Open voltage across the feedback: the leg current x sC/(1 + sRC) times R_fb.
    tau_leg = SD1_R_LEG * SD1_C_LEG
    b_leg, a_leg = _bilinear_first_order((r_fb * SD1_C_LEG, 0.0), (tau_leg, 1.0), sr, 720.0)
    u = signal.lfilter(b_leg, a_leg, x)
    # The feedback cap in parallel with the diodes limits how fast v can move, and the op-amp's
    # loop gain runs out at GBW / gain: two poles after a static clipper (a standard
    # simplification of the stateful diode-capacitor loop). Both tame the clipper's harmonics
    # before decimation, as they do in the circuit.
    high_sr = sr * oversample
    f_fb = 1.0 / (2 * np.pi * r_fb * SD1_C_FB)
    f_gbw = OPAMP_GBW_HZ * SD1_R_LEG / (SD1_R_LEG + r_fb)
    poles = tuple(min(f, 0.45 * high_sr) for f in (f_fb, f_gbw))
    y = x + run_oversampled(u, oversample, _CurveStage(_sd1_curve(r_fb), *_two_poles(poles, high_sr)))
    for f_hz in SD1_TONE_HZ:
        y = signal.lfilter(*_one_pole_lowpass(min(f_hz, 0.45 * sr), sr), y)
    y = signal.lfilter(*_one_pole_highpass(OUTPUT_HP_HZ, sr), y)
    return (SD1_LEVEL * y).astype(np.float32)


def _triode_plate_current(vg: np.ndarray) -> np.ndarray:
    """Koren's triode law at a fixed plate voltage, with grid conduction limiting at 0 V (mA-ish).

    Above 0 V the grid conducts and clamps itself (smooth min with 0); far below the bias the
    tube cuts off smoothly (softplus). The 1.4 power law in between gives even harmonics.
    """
    vg = -np.logaddexp(0.0, -B65_GRID_K * vg) / B65_GRID_K  # smooth min(vg, 0)
    e1 = (TRIODE_VP / TRIODE_KP) * np.logaddexp(
        0.0, TRIODE_KP * (1.0 / TRIODE_MU + vg / np.sqrt(TRIODE_KVB + TRIODE_VP**2))
    )
    return 2.0 * e1**TRIODE_EX / TRIODE_KG1 * 1e3


@lru_cache(maxsize=1)
def _b65_curve() -> TabulatedCurve:
    """Normalised transfer (Ip(vg) - Ip(bias)) / gm(bias): small signals pass with gain 1."""
    ip0 = float(_triode_plate_current(np.array([B65_BIAS_V]))[0])
    dv = 1e-4
    ip = _triode_plate_current(np.array([B65_BIAS_V - dv, B65_BIAS_V + dv]))
    gm = float(ip[1] - ip[0]) / (2 * dv)
    # The plate current rises with the grid voltage; the stage inverts and a second stage (not
    # modelled) inverts back, so the pedal as a whole keeps the polarity.
    # The grid swings between ~-15 V (loud, bias shifted) and +5 V; 1 mV steps.
    return TabulatedCurve(-16.0, 6.0, lambda vg: (_triode_plate_current(vg) - ip0) / gm, 22001)


class _TriodeKernel:
    """High-rate triode stage with a slowly shifting bias (state: the envelope filter's zi)."""

    def __init__(self, high_sr: float, drive: float = B65_DRIVE):
        self._drive = np.float32(drive)
        # One-pole low-pass of the rectified grid overdrive: the coupling cap charged by grid current.
        pole = np.exp(-1.0 / (B65_TAU_S * high_sr))
        self._b = np.array([1.0 - pole], dtype=np.float32)
        self._a = np.array([1.0, -pole], dtype=np.float32)
        self._zi = np.zeros(1, dtype=np.float32)
        plate = _one_pole_lowpass(min(B65_PLATE_LP_HZ, 0.45 * high_sr), high_sr)
        self._stage = _CurveStage(_b65_curve(), *plate)

    def __call__(self, hi: np.ndarray) -> np.ndarray:
        vg = hi * self._drive
        vg += np.float32(B65_BIAS_V)
        # The floor (instead of 0) keeps the envelope filter out of denormal numbers, which are
        # ~5x slower, during the long quiet stretches where the grid never conducts.
        overdrive = np.maximum(vg, np.float32(1e-20))
        env, self._zi = signal.lfilter(self._b, self._a, overdrive, zi=self._zi)
        env *= np.float32(B65_SHIFT)
        vg -= env  # grid current pushes the bias negative: the operating point follows the level
        return self._stage(vg)


def b65(x: np.ndarray, sr: int, oversample: int = 8, gain: float | None = None) -> np.ndarray:
    """Tube-saturator stand-in: triode curve with a level-dependent bias, then a tone-stack EQ.

    The bias shift follows a ~40 ms envelope, so the response to a note depends on what was
    played before it (memory well beyond a few samples), as in a cathode/grid-biased tube stage.
    The EQ is a low shelf, a mid scoop and a high shelf (blackface-style voicing). Volts in and
    out (full scale 1 V), float32. The drive knob `gain` (0 to 1) sets the input gain into the grid,
    2 x 16^gain (2 to 32; 8 at 0.5, the default).
    """
    x = _check(x, sr, oversample)
    gain = _knob(gain, "b65")
    drive = B65_DRIVE if gain is None else 2.0 * 16.0**gain
    y = run_oversampled(x, oversample, _TriodeKernel(sr * oversample, drive)).astype(np.float64)
    y = signal.lfilter(*_one_pole_highpass(OUTPUT_HP_HZ, sr), y)
    sos = np.vstack(
        [
            _biquad("lowshelf", 120.0, 0.707, 4.0, sr),
            _biquad("peak", 650.0, 0.8, -5.0, sr),
            _biquad("highshelf", 3200.0, 0.707, 3.0, sr),
            signal.butter(2, min(9000.0, 0.45 * sr), fs=sr, output="sos")[0],
        ]
    )
    y = signal.sosfilt(sos, y)
    return (B65_LEVEL * y).astype(np.float32)


def _fuzz_curve_values(v: np.ndarray, gain: float = FUZZ_GAIN) -> np.ndarray:
    """Dead zone of +-FUZZ_GATE_V, then the inverting gain, then hard clipping at FUZZ_SWING."""
    gated = np.sign(v) * np.maximum(np.abs(v) - FUZZ_GATE_V, 0.0)
    return np.clip(gain * gated, *FUZZ_SWING)


@lru_cache(maxsize=8)
def _fuzz_curve(gain: float = FUZZ_GAIN) -> TabulatedCurve:
    # The curve is flat beyond +-0.01 V (+-0.015 V at the knob's lowest gain); 2 uV steps resolve
    # its corners.
    return TabulatedCurve(-0.02, 0.02, lambda v: _fuzz_curve_values(v, gain), 20001)


def fuzz(x: np.ndarray, sr: int, oversample: int = 8, gain: float | None = None) -> np.ndarray:
    """Fuzz stand-in: a gated, high-gain inverting stage that hard-clips asymmetrically.

    The output is square-ish and inverted; notes below a few millivolts are gated to silence; the
    collector bias leaves a DC offset of about FUZZ_BIAS_V V, and the loudest swings sit at full
    scale (the output is limited to +-1 V, as the next stage's supply would). Volts in and out
    (full scale 1 V), float32. The knob `gain` (0 to 1) scales the stage's gain by 4^(gain - 0.5):
    -60 to -240 (-120 at 0.5, the default).
    """
    x = _check(x, sr, oversample)
    gain = _knob(gain, "fuzz")
    stage_gain = FUZZ_GAIN if gain is None else FUZZ_GAIN * 4.0 ** (gain - 0.5)
    x = signal.lfilter(*_one_pole_highpass(FUZZ_INPUT_HP_HZ, sr), x)
    high_sr = sr * oversample
    collector = _one_pole_lowpass(min(FUZZ_COLLECTOR_LP_HZ, 0.45 * high_sr), high_sr)
    y = run_oversampled(x, oversample, _CurveStage(_fuzz_curve(stage_gain), *collector)).astype(np.float64)
    y += FUZZ_BIAS_V
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def _biquad(kind: str, f_hz: float, q: float, gain_db: float, sr: float) -> np.ndarray:
    """RBJ audio-EQ-cookbook biquad as one sos row."""
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2 * np.pi * f_hz / sr
    cw, alpha = np.cos(w0), np.sin(w0) / (2 * q)
    if kind == "peak":
        b = [1 + alpha * amp, -2 * cw, 1 - alpha * amp]
        a = [1 + alpha / amp, -2 * cw, 1 - alpha / amp]
    else:
        sq = 2 * np.sqrt(amp) * alpha
        sign = 1.0 if kind == "lowshelf" else -1.0
        b = [
            amp * ((amp + 1) - sign * (amp - 1) * cw + sq),
            sign * 2 * amp * ((amp - 1) - sign * (amp + 1) * cw),
            amp * ((amp + 1) - sign * (amp - 1) * cw - sq),
        ]
        a = [
            (amp + 1) + sign * (amp - 1) * cw + sq,
            -sign * 2 * ((amp - 1) + sign * (amp + 1) * cw),
            (amp + 1) + sign * (amp - 1) * cw - sq,
        ]
    return np.concatenate([np.array(b) / a[0], np.array(a) / a[0]])


PEDALS: dict[str, Callable[..., np.ndarray]] = {"sd1": sd1, "b65": b65, "fuzz": fuzz}
PEDAL_POLARITY = {"sd1": 1, "b65": 1, "fuzz": -1}  # sign of each pedal's small-signal gain
PEDAL_KNOBS = {"sd1": ("gain",), "b65": ("gain",), "fuzz": ("gain",)}  # each stand-in's knobs (0 to 1)


def apply_pedal(name: str, x: np.ndarray, sr: int, oversample: int = 8, gain: float | None = None) -> np.ndarray:
    """Run the stand-in pedal `name` ("sd1", "b65" or "fuzz") on x (volts, full scale 1 V); float32 out.
    `gain`: the drive knob's travel from 0 to 1 (None: the default setting, the same as 0.5)."""
    try:
        pedal = PEDALS[name]
    except KeyError:
        raise ConfigError(f"unknown pedal {name!r}; the bench has {', '.join(sorted(PEDALS))}") from None
    if gain is None:
        return pedal(x, sr, oversample)
    return pedal(x, sr, oversample, gain=gain)
