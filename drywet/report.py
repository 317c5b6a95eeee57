"""The listening report: one self-contained HTML page with players, figures and metrics per effect
(drywet.listen renders the blind ABX page with this page's shell, `html_page`).

Everything the page needs is inside it (audio as 16-bit WAV and figures as PNG, both in base64
data URIs; the CSS and self-check script of drywet/templates inlined), so it opens from disk,
offline, with no server. Audio costs about 1.33 × 2 bytes per sample in the page (≈ 1.3 MB per 10 s at
48 kHz), so callers pass excerpts (see `excerpt`) rather than whole recordings.
"""

from __future__ import annotations

import base64
import html
import math
import numbers
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from drywet.audio import loudest_window_start, pcm16_wav_bytes, read_wav, rms_dbfs, write_wav
from drywet.errors import ConfigError, InputError
from drywet.fileio import atomic_write, write_bytes, write_json
from drywet.pipeline.contracts import SectionFile

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MISSING = "–"  # shown for an absent or NaN value
SELFCHECK_TIMEOUT_MS = 3000  # after this, the self-check stops waiting for audio metadata


@dataclass
class AudioClip:
    """A labelled mono (1-D) or multi-channel (frames × channels) signal in full-scale units."""

    label: str
    samples: np.ndarray
    sample_rate: int


@dataclass
class Figure:
    """A PNG image (the file's bytes) with the caption shown under it and used as its alt text."""

    caption: str
    png: bytes


@dataclass
class EffectSection:
    """Everything the report shows for one effect; `name` is the params.yaml key, `title` the heading."""

    name: str
    title: str
    metrics: dict[str, float | int | str]
    clips: list[AudioClip] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: str = ""
    checks: dict[str, float | int | str | None] = field(default_factory=dict)  # see `capture_summary`


# ----------------------------------------------------------------------------------------------
# Capture checks

CHECK_KEYS = ("verdict", "esr", "esr_floor", "noise_floor_dbfs", "repeat_esr", "repeat_seconds")


def capture_checks(metrics: Mapping[str, object]) -> dict[str, object]:
    """The capture-check entries of an effect's metrics (see drywet.capture), in display order."""
    return {k: metrics[k] for k in CHECK_KEYS if k in metrics}


def capture_summary(checks: Mapping[str, object]) -> str:
    """One plain-text paragraph: the verdict on the test ESR, beside what the recording allows."""
    text = []
    if "verdict" in checks:
        esr = f" (test ESR {format_value(checks.get('esr'))})" if "esr" in checks else ""
        text.append(f"Verdict{esr}: {checks['verdict']}, in Neural Amp Modeler's bands "
                    "(< 0.01 great, < 0.035 not bad, < 0.1 might sound ok, < 0.3 probably won't sound great).")
    if checks.get("esr_floor") is not None:
        text.append(f"The noise floor ({format_value(checks.get('noise_floor_dbfs'))} dBFS in the target's "
                    f"quietest windows) allows no ESR below {format_value(checks['esr_floor'])}.")
    if checks.get("repeat_esr") is not None:
        text.append(f"The two wet takes of a section the dry signal plays twice "
                    f"({format_value(checks.get('repeat_seconds'))} s) differ by ESR "
                    f"{format_value(checks['repeat_esr'])}.")
    elif "verdict" in checks:
        text.append("The dry signal plays no section twice, so repeatability is not measured.")
    return " ".join(text)


# ----------------------------------------------------------------------------------------------
# Where the recordings come from

BENCH_NOTE = ("The virtual bench's stand-in pedals are physically motivated models, not recordings of real "
              "pedals.")
VERDICT_NOTE = ("Verdicts use Neural Amp Modeler's bands for the test ESR; the ESR floor is what the "
                "recording's noise allows.")


def sources_intro(sources: Sequence[tuple[str, str, bool]]) -> str:
    """A page's opening paragraph from (effect, its source as the table shows it, recorded on the
    virtual bench?) per effect: a player's recordings are called recordings, and only a page with a
    bench effect says that the bench's stand-in pedals are models."""
    named = "; ".join(f"{name}: {text if bench else 'recordings in ' + text}" for name, text, bench in sources)
    notes = [BENCH_NOTE] if any(bench for *_, bench in sources) else []
    return " ".join([f"Source{'s' if len(sources) > 1 else ''}: {named}.", *notes, VERDICT_NOTE])


# ----------------------------------------------------------------------------------------------
# Excerpts


def excerpt(x: np.ndarray, sr: int, seconds: float, start_s: float | None = None) -> slice:
    """The sample range of a `seconds`-long excerpt of `x`: its loudest window, or from `start_s`.

    Returns a slice, so the same window can be cut from the dry, target and predicted signals
    (pass the target as `x`). The loudest window is searched on a 10 ms grid and the earliest of
    equally loud windows wins, so the choice is deterministic. A signal shorter than `seconds`
    is returned whole; a `start_s` too close to the end is moved back so the excerpt stays full.
    """
    if not seconds > 0:
        raise ConfigError(f"excerpt length must be positive, got {seconds} s")
    if sr <= 0:
        raise ConfigError(f"sample rate must be positive, got {sr} Hz")
    x = np.asarray(x)
    n = x.shape[0]
    win = int(round(seconds * sr))
    if win >= n:
        return slice(0, n)
    last = n - win
    if start_s is not None:
        if start_s < 0:
            raise ConfigError(f"excerpt start must be >= 0 s, got {start_s} s")
        start = min(int(round(start_s * sr)), last)
        return slice(start, start + win)
    start = loudest_window_start(x, win, hop=max(1, sr // 100))
    return slice(start, start + win)


# ----------------------------------------------------------------------------------------------
# Encoding


def wav_data_uri(samples: np.ndarray, sample_rate: int) -> str:
    """16-bit PCM WAV of `samples` (NaN → 0, clipped to [-1, 1]) as a `data:audio/wav;base64,` URI."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise ValueError(f"audio clip: expected a non-empty 1-D or 2-D signal, got shape {x.shape}")
    if sample_rate <= 0:
        raise ValueError(f"audio clip: sample rate must be positive, got {sample_rate} Hz")
    x = np.clip(np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    return "data:audio/wav;base64," + base64.b64encode(pcm16_wav_bytes(x, sample_rate)).decode("ascii")


def png_data_uri(png: bytes) -> str:
    """A PNG file's bytes as a `data:image/png;base64,` URI; anything else is rejected."""
    if not bytes(png[:8]) == PNG_SIGNATURE:
        raise ValueError("figure: not a PNG file (missing PNG signature)")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# ----------------------------------------------------------------------------------------------
# Formatting


def format_value(value: object) -> str:
    """A table cell's text: integers as is, floats to 4 significant digits, NaN as a dash."""
    if value is None:
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v):
            return MISSING
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if v == 0:
            return "0"
        if 1e-3 <= abs(v) < 1e5:
            return f"{v:.4g}"
        return f"{v:.3e}"
    try:
        if pd.isna(value):
            return MISSING
    except (TypeError, ValueError):  # list-like values have no single truth value
        pass
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _cell(tag: str, value: object) -> str:
    cls = ' class="num"' if _is_number(value) else ""
    return f"<{tag}{cls}>{html.escape(format_value(value))}</{tag}>"


def paragraphs(text: str) -> str:
    """Plain text → escaped <p> blocks, one per blank-line-separated paragraph."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    return "".join(f"<p>{html.escape(b)}</p>" for b in blocks)


def section_ids(names: Iterable[str]) -> list[str]:
    """Unique, URL-safe element ids for the effect sections."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        base = "effect-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "x")
        slug, i = base, 2
        while slug in seen:
            slug, i = f"{base}-{i}", i + 1
        seen.add(slug)
        out.append(slug)
    return out


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], first_is_html: bool = False) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = []
    for row in rows:
        cells = list(row)
        if first_is_html:
            first = f'<th scope="row">{cells[0]}</th>'
        else:
            first = _cell("th", cells[0]).replace("<th", '<th scope="row"', 1)
        body.append("<tr>" + first + "".join(_cell("td", v) for v in cells[1:]) + "</tr>")
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _column_label(col: object) -> str:
    if isinstance(col, (tuple, list)):
        return " / ".join(str(c) for c in col if str(c))
    return str(col)


def dataframe_table(df: pd.DataFrame) -> str:
    """A DataFrame as an escaped HTML table; the index is shown unless it is a plain 0..n-1 range."""
    show_index = not (isinstance(df.index, pd.RangeIndex) and df.index.name is None)
    columns = [_column_label(c) for c in df.columns]
    if show_index:
        index_name = _column_label(df.index.names if df.index.nlevels > 1 else df.index.name or "")
        headers = [index_name, *columns]
        rows = (
            [_column_label(idx), *vals]
            for idx, vals in zip(df.index, df.itertuples(index=False, name=None), strict=True)
        )
    else:
        headers = columns
        rows = (list(vals) for vals in df.itertuples(index=False, name=None))
    if not headers:
        return '<p class="empty">(empty table)</p>'
    return _table(headers, rows)


def _metric_keys(sections: Sequence[EffectSection]) -> list[str]:
    keys: dict[str, None] = {}
    for s in sections:
        keys.update(dict.fromkeys(s.metrics))
    return list(keys)


def _overview(sections: Sequence[EffectSection], slugs: Sequence[str]) -> str:
    keys = _metric_keys(sections)
    rows = (
        [f'<a href="#{slug}">{html.escape(s.title)}</a>', *(s.metrics.get(k) for k in keys)]
        for s, slug in zip(sections, slugs, strict=True)
    )
    return _table(["effect", *keys], rows, first_is_html=True)


def _metrics_list(metrics: Mapping[str, object]) -> str:
    if not metrics:
        return '<p class="empty">(no metrics)</p>'
    return _table(["metric", "value"], ([k, v] for k, v in metrics.items()))


def _clip_html(clip: AudioClip) -> str:
    x = np.asarray(clip.samples)
    n = x.shape[0] if x.ndim else 0
    seconds = n / clip.sample_rate if clip.sample_rate > 0 else 0.0
    uri = wav_data_uri(x, clip.sample_rate)
    finite = np.nan_to_num(np.asarray(x, dtype=np.float64))
    peak = float(np.max(np.abs(finite))) if finite.size else 0.0
    meta = f"{seconds:.2f} s · {clip.sample_rate} Hz · RMS {rms_dbfs(finite):.1f} dBFS"
    if peak > 1.0:
        meta += " · clipped to ±1 for playback"
    label = html.escape(clip.label)
    return (
        '<div class="clip">'
        f'<div class="clip-label">{label}</div>'
        f'<audio controls preload="auto" title="{label}" src="{uri}"></audio>'
        f'<div class="clip-meta">{html.escape(meta)}</div>'
        "</div>"
    )


def _figure_html(fig: Figure) -> str:
    caption = html.escape(fig.caption)
    return (
        f'<figure><img src="{png_data_uri(fig.png)}" alt="{caption}" loading="eager">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _section_html(section: EffectSection, slug: str) -> str:
    parts = [f'<section class="effect" id="{slug}">']
    parts.append(
        f'<h2>{html.escape(section.title)} <span class="name">{html.escape(section.name)}</span></h2>'
    )
    if section.notes.strip():
        parts.append(f'<div class="notes">{paragraphs(section.notes)}</div>')
    if section.checks:
        parts.append('<h3>Capture checks</h3><div class="checks">')
        parts.append(paragraphs(capture_summary(section.checks)))
        parts.append(_table(["check", "value"], ([k, v] for k, v in section.checks.items())))
        parts.append("</div>")
    if section.clips:
        parts.append("<h3>Listen</h3>")
        parts.append('<div class="clips">' + "".join(_clip_html(c) for c in section.clips) + "</div>")
    if section.figures:
        parts.append("<h3>Figures</h3>")
        parts.append('<div class="figures">' + "".join(_figure_html(f) for f in section.figures) + "</div>")
    parts.append("<h3>Metrics</h3>")
    parts.append(_metrics_list(section.metrics))
    parts.append("</section>")
    return "\n".join(parts)


# ----------------------------------------------------------------------------------------------
# The page

def template(name: str) -> str:
    """A file from drywet/templates (package data: the page's CSS and its self-check script)."""
    return resources.files("drywet").joinpath("templates", name).read_text(encoding="utf-8")


def _css() -> str:
    return template("report.css")


def _selfcheck_js() -> str:
    return template("selfcheck.js").replace("TIMEOUT_MS", str(SELFCHECK_TIMEOUT_MS))


ABX_LINK = "Blind ABX test: target against model"


def relative_link(target: str | os.PathLike, page: str | os.PathLike) -> str:
    """`target`'s path relative to the folder of `page` (POSIX separators), for a link between pages."""
    return Path(os.path.relpath(Path(target), Path(page).parent)).as_posix()


def render_report(
    title: str,
    sections: list[EffectSection],
    tables: Sequence[tuple[str, pd.DataFrame]] = (),
    intro: str = "",
    pages: Sequence[tuple[str, str]] = (),
) -> str:
    """The whole report as one HTML string: overview table, then each effect, then extra tables.

    Text (titles, labels, captions, notes, table cells) is plain text and is escaped; `intro` and
    `notes` may contain blank-line-separated paragraphs; `pages`: (label, relative link) of pages
    that go with this one (its blind ABX test), listed first. The output depends only on the inputs.
    """
    slugs = section_ids(s.name for s in sections)
    n_audio = sum(len(s.clips) for s in sections)
    n_images = sum(len(s.figures) for s in sections)
    t = html.escape(title)

    body = ["<header>", f"<h1>{t}</h1>"]
    if intro.strip():
        body.append(paragraphs(intro))
    links = [f'<li><a href="{html.escape(href)}">{html.escape(label)}</a></li>' for label, href in pages]
    links += [
        f'<li><a href="#{slug}">{html.escape(s.title)}</a></li>'
        for s, slug in zip(sections, slugs, strict=True)
    ]
    links += [f'<li><a href="#table-{i}">{html.escape(name)}</a></li>' for i, (name, _) in enumerate(tables)]
    if links:
        body.append(f"<nav><ul>{''.join(links)}</ul></nav>")
    body.append("</header>")

    if sections:
        body.append('<section class="overview"><h2>Overview</h2>')
        body.append(_overview(sections, slugs))
        body.append("</section>")
    body.extend(_section_html(s, slug) for s, slug in zip(sections, slugs, strict=True))
    for i, (name, df) in enumerate(tables):
        body.append(f'<section class="extra" id="table-{i}"><h2>{html.escape(name)}</h2>')
        body.append(dataframe_table(df))
        body.append("</section>")

    return html_page(title, body, n_audio, n_images)


def html_page(title: str, body: Sequence[str], audio_total: int, images_total: int, *, main_attrs: str = "",
              css: str = "", script: str = "") -> str:
    """A self-contained page: `body` (HTML lines) in <main> with the report's CSS (then `css`), the
    self-check expecting `audio_total` players and `images_total` images, then `script`."""
    selfcheck = (
        f'<div id="selfcheck" hidden data-state="not-run" data-audio-total="{audio_total}" '
        f'data-audio-ready="0" data-audio-failed="0" data-images-total="{images_total}" data-images-ok="0"></div>'
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_css()}{css}</style>\n</head>\n<body>\n<main{main_attrs}>\n"
        + "\n".join(body)
        + f"\n</main>\n{selfcheck}\n<script>{_selfcheck_js()}</script>\n"
        + (f"<script>{script}</script>\n" if script else "")
        + "</body>\n</html>\n"
    )


def write_report(path: str | os.PathLike, html: str) -> None:
    """Write the page atomically (temp file + rename), creating its folder, as UTF-8."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(html, encoding="utf-8", newline="\n"), ".html")


# ----------------------------------------------------------------------------------------------
# A section on disk: what the per-effect stage hands to the report stage

SECTION_FILE = "section.json"


def save_section(section: EffectSection, folder: str | os.PathLike,
                 extra: Mapping[str, object] | None = None) -> None:
    """Write `section` into `folder`: section.json, clip_NN.wav (16-bit, as the page embeds them)
    and figure_NN.png. `extra` (JSON-able) is stored beside it for the caller (e.g. a table row)."""
    folder = Path(folder)
    clips = []
    for i, clip in enumerate(section.clips):
        name = f"clip_{i:02d}.wav"
        x = np.clip(np.nan_to_num(np.asarray(clip.samples, dtype=np.float64)), -1.0, 1.0)
        write_wav(folder / name, x, clip.sample_rate, "PCM_16")
        clips.append({"label": clip.label, "file": name})
    figures = []
    for i, fig in enumerate(section.figures):
        png_data_uri(fig.png)  # rejects anything but a PNG now rather than at render time
        name = f"figure_{i:02d}.png"
        write_bytes(folder / name, fig.png)
        figures.append({"caption": fig.caption, "file": name})
    write_json(folder / SECTION_FILE, {
        "name": section.name, "title": section.title, "notes": section.notes,
        "metrics": [[k, v] for k, v in section.metrics.items()],  # pairs: keeps the display order
        "checks": [[k, v] for k, v in section.checks.items()],
        "clips": clips, "figures": figures, "extra": dict(extra or {}),
    })


def load_section(folder: str | os.PathLike) -> tuple[EffectSection, dict]:
    """Read a section written by `save_section`; returns it and its `extra`."""
    folder = Path(folder)
    path = folder / SECTION_FILE
    if not path.is_file():
        raise InputError(f"{path}: report section not found (run its section stage first)")
    d = SectionFile.load(path)
    clips = []
    for c in d.clips:
        x, sr = read_wav(folder / c["file"])
        clips.append(AudioClip(c["label"], x, sr))
    figures = [Figure(f["caption"], (folder / f["file"]).read_bytes()) for f in d.figures]
    section = EffectSection(d.name, d.title, dict(map(tuple, d.metrics)), clips, figures, d.notes,
                            dict(map(tuple, d.checks)))
    return section, d.extra
