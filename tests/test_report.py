"""Report: embedded audio and images decode to what was given, text is escaped, the page plays.

The browser test opens a rendered page in headless Chromium and reads the page's own self-check
(how many <audio> elements loaded metadata, how many <img> decoded) from the dumped DOM.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from matplotlib.figure import Figure as MplFigure

from drywet.errors import ConfigError, InputError
from drywet.report import (
    AudioClip,
    EffectSection,
    Figure,
    capture_checks,
    excerpt,
    format_value,
    load_section,
    render_report,
    save_section,
    write_report,
)
from tests.browser import dump_dom, find_chromium

matplotlib.use("Agg")

SR = 16000
PCM16_TOL = 1e-4  # 16-bit quantisation step is 3.1e-5; allow for rounding and scaling conventions
SKIP_NO_CHROMIUM = "Chromium not found (install Debian's 'chromium' package to run the report browser test)"


class _Page(HTMLParser):
    """Collects the attributes of <audio>, <img>, <figcaption> text and #selfcheck from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.audio: list[dict[str, str]] = []
        self.images: list[dict[str, str]] = []
        self.captions: list[str] = []
        self.selfcheck: dict[str, str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "audio":
            self.audio.append(a)
        elif tag == "img":
            self.images.append(a)
        elif tag == "figcaption":
            self._in_caption = True
            self.captions.append("")
        elif tag == "div" and a.get("id") == "selfcheck":
            self.selfcheck = a

    def handle_endtag(self, tag: str) -> None:
        if tag == "figcaption":
            self._in_caption = False

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            self.captions[-1] += data


def _parse(page: str) -> _Page:
    p = _Page()
    p.feed(page)
    p.close()
    return p


def _decode(uri: str, mime: str) -> bytes:
    prefix = f"data:{mime};base64,"
    assert uri.startswith(prefix)
    return base64.b64decode(uri[len(prefix) :], validate=True)


def _png(freq: float, colour: str = "tab:blue") -> bytes:
    fig = MplFigure(figsize=(2.0, 1.2))
    ax = fig.add_subplot()
    t = np.linspace(0.0, 1.0, 200)
    ax.plot(t, np.sin(2 * np.pi * freq * t), color=colour)
    ax.set_title(f"{freq:g} Hz")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    return buf.getvalue()


def _tone(freq: float, seconds: float = 0.5, level: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _sections(n_checkpoints: int = 2) -> list[EffectSection]:
    rng = np.random.default_rng(0)
    out = []
    for k, (name, title) in enumerate([("sd1", "Boss SD-1 · l1_u16_f32"), ("b65", "B65 · l2_u32_f64")]):
        dry = _tone(110.0 * (k + 1))
        target = np.tanh(3.0 * dry)
        clips = [
            AudioClip("dry", dry, SR),
            AudioClip("target", target, SR),
            AudioClip("prediction", 0.9 * target + 0.01 * rng.standard_normal(dry.size), SR),
        ]
        clips += [
            AudioClip(
                f"checkpoint epoch {5 * (i + 1)}", 0.5 * target + 0.05 * rng.standard_normal(dry.size), SR
            )
            for i in range(n_checkpoints)
        ]
        metrics: dict[str, float | int | str] = {
            "esr": 0.0123 * (k + 1),
            "r2": 0.98765,
            "latency_samples": 3 + k,
        }
        if k == 1:
            metrics["hf_error_db"] = -12.5
        figures = [Figure(f"{name} spectrograms", _png(3 + k)), Figure(f"{name} waveforms", _png(5 + k))]
        out.append(EffectSection(name, title, metrics, clips, figures, notes=f"Notes for {name}."))
    return out


# ----------------------------------------------------------------------------------------------
# Pure Python


def test_audio_is_embedded_per_clip_and_decodes_to_the_samples() -> None:
    sections = _sections()
    page = render_report("Listening report", sections)
    parsed = _parse(page)
    clips = [c for s in sections for c in s.clips]
    assert len(parsed.audio) == len(clips) == page.count("<audio ")
    for attrs, clip in zip(parsed.audio, clips, strict=True):
        assert "controls" in attrs and attrs["preload"] == "auto"
        assert attrs["title"] == clip.label
        data, sr = sf.read(io.BytesIO(_decode(attrs["src"], "audio/wav")), dtype="float64")
        assert sr == clip.sample_rate
        assert sf.info(io.BytesIO(_decode(attrs["src"], "audio/wav"))).subtype == "PCM_16"
        np.testing.assert_allclose(data, np.clip(clip.samples, -1, 1), atol=PCM16_TOL)
    # Labels appear in the given order.
    positions = [page.index(f">{c.label}</div>") for c in sections[0].clips]
    assert positions == sorted(positions)


def test_audio_is_clipped_to_full_scale_and_non_finite_samples_are_silenced() -> None:
    x = np.array([0.5, 1.5, -2.0, np.nan, -0.25] * 400)
    page = render_report("r", [EffectSection("e", "E", {}, [AudioClip("hot", x, 8000)], [])])
    (attrs,) = _parse(page).audio
    data, sr = sf.read(io.BytesIO(_decode(attrs["src"], "audio/wav")), dtype="float64")
    assert sr == 8000
    np.testing.assert_allclose(data, np.tile([0.5, 1.0, -1.0, 0.0, -0.25], 400), atol=PCM16_TOL)
    assert "clipped to ±1 for playback" in page


def test_images_decode_to_the_png_bytes_with_alt_and_caption() -> None:
    sections = _sections()
    parsed = _parse(render_report("r", sections))
    figures = [f for s in sections for f in s.figures]
    assert len(parsed.images) == len(figures)
    for attrs, caption, fig in zip(parsed.images, parsed.captions, figures, strict=True):
        assert _decode(attrs["src"], "image/png") == fig.png
        assert attrs["alt"] == caption == fig.caption


def test_non_png_figure_is_rejected() -> None:
    with pytest.raises(ValueError, match="PNG"):
        render_report("r", [EffectSection("e", "E", {}, [], [Figure("x", b"GIF89a....")])])


def test_overview_table_has_the_union_of_metric_keys_and_formatted_values() -> None:
    page = render_report("r", _sections())
    overview = page[page.index('class="overview"') : page.index('class="effect"')]
    for key in ("esr", "r2", "latency_samples", "hf_error_db"):
        assert f"<th>{key}</th>" in overview
    for value in ("0.0123", "0.0246", "0.9877", ">3<", ">4<", "-12.5"):
        assert value in overview
    assert overview.count("–") == 1  # sd1 has no hf_error_db
    assert '<a href="#effect-sd1">' in overview and '<a href="#effect-b65">' in overview
    assert 'id="effect-sd1"' in page and 'id="effect-b65"' in page


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3, "3"),
        (np.int64(-7), "-7"),
        (0.0123456, "0.01235"),
        (np.float32(0.5), "0.5"),
        (123456.0, "1.235e+05"),
        (1.5e-6, "1.500e-06"),
        (0.0, "0"),
        (float("nan"), "–"),
        (None, "–"),
        (float("inf"), "∞"),
        (True, "yes"),
        ("l1_u16_f32", "l1_u16_f32"),
    ],
)
def test_format_value(value: object, text: str) -> None:
    assert format_value(value) == text


def test_special_characters_are_escaped_everywhere() -> None:
    evil = "<script>alert(\"x\")</script> & 'q'"
    section = EffectSection(
        name='a"b<c',
        title=evil,
        metrics={evil: evil},
        clips=[AudioClip(evil, _tone(220.0, 0.1), SR)],
        figures=[Figure(evil, _png(2))],
        notes=evil,
    )
    table = pd.DataFrame({evil: [evil, "<b>bold</b>"]}, index=pd.Index(["x<y", "z"], name="run&id"))
    page = render_report(evil, [section], tables=[(evil, table)], intro=evil)
    assert "<script>alert" not in page
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;" in page
    assert "run&amp;id" in page and "x&lt;y" in page
    parsed = _parse(page)
    assert parsed.images[0]["alt"] == evil and parsed.captions == [evil]
    assert parsed.audio[0]["title"] == evil
    assert page.count("<script>") == 1  # only the page's own self-check


def test_extra_tables_render_from_dataframes() -> None:
    experiments = pd.DataFrame(
        {"structure": ["l1_u16_f32", "l2_u32_f64"], "esr": [0.05, float("nan")], "epochs": [10, 20]}
    )
    best = pd.DataFrame({"esr": [0.01]}, index=pd.Index(["sd1"], name="effect"))
    page = render_report("r", _sections(), tables=[("Experiments", experiments), ("Best models", best)])
    assert page.index("<h2>Experiments</h2>") < page.index("<h2>Best models</h2>")
    assert page.index('id="effect-b65"') < page.index("<h2>Experiments</h2>")
    assert "<th>structure</th>" in page and '<th scope="row">l2_u32_f64</th>' in page
    assert '<td class="num">0.05</td>' in page and '<td class="num">–</td>' in page
    assert "<th>effect</th>" in page and '<th scope="row">sd1</th>' in page
    assert '<a href="#table-0">Experiments</a>' in page


def test_render_is_deterministic_and_self_contained() -> None:
    a = render_report("r", _sections(), intro="First paragraph.\n\nSecond.")
    b = render_report("r", _sections(), intro="First paragraph.\n\nSecond.")
    assert a == b
    assert "<p>First paragraph.</p><p>Second.</p>" in a
    for external in ("http://", "https://", "<link", "@import", "url("):
        assert external not in a
    sc = _parse(a).selfcheck
    assert sc is not None and "hidden" in sc
    assert sc["data-audio-total"] == "10" and sc["data-images-total"] == "4"


def test_write_report_is_atomic_and_utf8(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "report.html"
    write_report(path, "<p>µ – ✓</p>")
    write_report(path, "<p>ü</p>")
    assert path.read_text(encoding="utf-8") == "<p>ü</p>"
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]


def test_excerpt_picks_the_loudest_window() -> None:
    rng = np.random.default_rng(1)
    x = 0.01 * rng.standard_normal(10 * SR)
    x[int(6.2 * SR) : int(6.7 * SR)] += 0.8 * np.sin(np.arange(int(0.5 * SR)) / 5.0)
    sl = excerpt(x, SR, 2.0)
    assert sl.stop - sl.start == 2 * SR
    assert sl.start <= 6.2 * SR and sl.stop >= 6.7 * SR
    assert sl.start % (SR // 100) == 0
    assert excerpt(x.copy(), SR, 2.0) == sl


def test_excerpt_breaks_ties_towards_the_earliest_window() -> None:
    x = np.zeros(10 * SR)
    x[int(6.2 * SR) : int(6.7 * SR)] = 0.3 * np.sin(np.arange(int(0.5 * SR)) / 3.0)
    # Every 2 s window from 4.7 s to 6.2 s holds the whole burst; rounding must not pick another.
    assert excerpt(x, SR, 2.0) == slice(int(4.7 * SR), int(6.7 * SR))


def test_excerpt_with_start_short_input_and_bad_length() -> None:
    x = np.ones(3 * SR)
    assert excerpt(x, SR, 1.0, start_s=0.5) == slice(SR // 2, SR // 2 + SR)
    assert excerpt(x, SR, 1.0, start_s=2.9) == slice(2 * SR, 3 * SR)  # kept full length
    assert excerpt(x, SR, 5.0) == slice(0, 3 * SR)
    assert excerpt(x, SR, 1.0) == slice(0, SR)  # constant signal: earliest window
    with pytest.raises(ConfigError):
        excerpt(x, SR, 0.0)
    with pytest.raises(ConfigError):
        excerpt(x, SR, 1.0, start_s=-1.0)


def test_capture_checks_show_the_verdict_beside_the_floors() -> None:
    metrics = {"esr": 0.02, "mae": 0.1, "verdict": "not bad", "esr_floor": 1.5e-5, "noise_floor_dbfs": -87.3,
               "repeat_esr": 2.5e-5, "repeat_seconds": 6.0}
    checks = capture_checks(metrics)
    assert list(checks) == ["verdict", "esr", "esr_floor", "noise_floor_dbfs", "repeat_esr", "repeat_seconds"]
    page = render_report("r", [EffectSection("fx", "FX", metrics, checks=checks)])
    block = page[page.index("<h3>Capture checks</h3>"):page.index("<h3>Metrics</h3>")]
    assert "not bad" in block and "1.500e-05" in block and "-87.3 dBFS" in block and "6 s" in block
    no_repeat = render_report("r", [EffectSection("fx", "FX", {}, checks=capture_checks(
        {"esr": 0.5, "verdict": "something seems to have gone wrong", "esr_floor": None}))])
    assert "plays no section twice" in no_repeat and "ESR below" not in no_repeat
    assert "Capture checks" not in render_report("r", _sections())


def test_section_round_trips_through_its_folder(tmp_path: Path) -> None:
    section = _sections()[1]
    section.checks = {"verdict": "great", "esr_floor": 1e-6}
    save_section(section, tmp_path, extra={"row": {"effect": "b65", "esr": 0.02}})
    again, extra = load_section(tmp_path)
    assert extra == {"row": {"effect": "b65", "esr": 0.02}}
    for c_again, c in zip(again.clips, section.clips, strict=True):
        assert (c_again.label, c_again.sample_rate) == (c.label, c.sample_rate)
        np.testing.assert_allclose(c_again.samples, np.clip(c.samples, -1, 1), atol=PCM16_TOL)
    assert [(f.caption, f.png) for f in again.figures] == [(f.caption, f.png) for f in section.figures]
    assert (again.name, again.title, again.notes, again.metrics, again.checks) == (
        section.name, section.title, section.notes, section.metrics, section.checks)
    with pytest.raises(InputError, match="section"):
        load_section(tmp_path / "missing")


# ----------------------------------------------------------------------------------------------
# In a browser


def _chromium_or_skip() -> str:
    path = find_chromium()
    may_install = (
        os.environ.get("DRYWET_INSTALL_CHROMIUM") == "1"
        and hasattr(os, "geteuid")
        and os.geteuid() == 0
        and shutil.which("apt-get") is not None
    )
    if path is None and may_install:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                pytest.fail(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
        path = find_chromium()
    if path is None:
        pytest.skip(SKIP_NO_CHROMIUM)
    return path


def _selfcheck(page_path: Path) -> dict[str, str]:
    sc = _parse(dump_dom(page_path, timeout=60)).selfcheck
    assert sc is not None, "no #selfcheck element in the dumped DOM"
    assert sc.get("data-state") in ("done", "timeout"), f"self-check script did not run: {sc}"
    return sc


def test_report_plays_in_headless_chromium(tmp_path: Path) -> None:
    _chromium_or_skip()
    sections = _sections(n_checkpoints=2)
    tables = [("Experiments", pd.DataFrame({"structure": ["l1_u16_f32"], "esr": [0.05]}))]
    path = tmp_path / "report.html"
    write_report(path, render_report("Listening report", sections, tables, intro="Two effects."))
    sc = _selfcheck(path)
    n_audio = sum(len(s.clips) for s in sections)
    n_images = sum(len(s.figures) for s in sections)
    assert (sc["data-audio-total"], sc["data-images-total"]) == (str(n_audio), str(n_images))
    assert sc["data-audio-ready"] == str(n_audio), f"audio without metadata: {sc}"
    assert sc["data-images-ok"] == str(n_images), f"images that did not decode: {sc}"
    assert sc["data-state"] == "done"


def test_browser_self_check_notices_a_broken_audio_and_image(tmp_path: Path) -> None:
    _chromium_or_skip()
    page = render_report("r", _sections(n_checkpoints=0))
    # Replace the payloads' leading bytes ("RIFF" / PNG signature) so they no longer decode.
    page = page.replace("data:audio/wav;base64,UklGR", "data:audio/wav;base64,AAAAA", 1)
    page = page.replace("data:image/png;base64,iVBOR", "data:image/png;base64,AAAAA", 1)
    path = tmp_path / "broken.html"
    write_report(path, page)
    sc = _selfcheck(path)
    assert (sc["data-audio-total"], sc["data-audio-ready"], sc["data-audio-failed"]) == ("6", "5", "1")
    assert (sc["data-images-total"], sc["data-images-ok"]) == ("4", "3")
