"""Made-up hand-off files for tests that run one stage on its own (drywet.pipeline.contracts)."""

from __future__ import annotations

from drywet.pipeline.contracts import AlignFile, AlignReport

ALIGN_REPORT = dict(latency_samples=0.0, latency_ms=0.0, latency_source="auto", polarity=1, peak_correlation=0.99,
                    peak_clarity_db=40.0, gain_db=0.0, dc_dry=0.0, dc_wet=0.0, wet_full_scale_fraction=0.0,
                    highpass_hz=5.0, highpass_dry=True, aligned_seconds=1.0, esr_floor=1e-4,
                    noise_floor_dbfs=-90.0, sample_rate=16000)


def align_file(**fields) -> AlignFile:
    """A plain effect's alignment report with `fields` set and made-up values for the others."""
    return AlignFile({".": AlignReport(**{**ALIGN_REPORT, **fields})})
