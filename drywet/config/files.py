"""params.yaml as a file: reading a section into its dataclass (an effect's overrides merged over it)
and editing entries in place with its comments kept (`set_section_entry`, what `capture` writes).
Nothing outside drywet.config reads or writes params.yaml."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml

from drywet.config.effects import OVERRIDABLE, EffectParams, effects, gear
from drywet.config.schema import check_value, parse
from drywet.config.sections import SECTIONS
from drywet.errors import ConfigError

PARAMS_FILE = "params.yaml"
T = TypeVar("T")


def load_raw(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """The whole params file as a dict (a broken file is a one-line ConfigError)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (run from the repository root)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections")
    return data


def load_section(cls: type[T], path: str | Path = PARAMS_FILE, section: str | None = None,
                 effect: str | None = None) -> T:
    """Parse one section of params.yaml into `cls` (the section's name from SECTIONS by default).
    With `effect`, that effect's override of the section (`effects.<effect>.<section>`, for the
    sections in OVERRIDABLE) is merged over it key by key first."""
    section = section or SECTIONS[cls]
    raw = load_raw(path)
    if section not in raw:
        raise ConfigError(f"params.yaml: section {section} is missing")
    merged = raw[section]
    if effect is not None and section in OVERRIDABLE and raw.get("effects") is not None:
        fx = effects(raw.get("effects")).get(effect)
        override = fx.overrides.get(section) if fx is not None else None
        if override:
            if not isinstance(merged, dict):
                raise ConfigError(f"params.yaml: {section} must be a mapping of keys to values, got {merged!r}")
            # keys the section lacks are reported under the effect's own key
            fields = {f.name: f for f in dataclasses.fields(cls)}
            for key, value in override.items():  # a bad value is reported under the effect's own key
                if key not in fields:
                    raise ConfigError(f"params.yaml: unknown key effects.{effect}.{section}.{key} "
                                      f"(valid keys: {', '.join(fields)})")
                check_value(value, fields[key].metadata, f"effects.{effect}.{section}.{key}")
            merged = {**merged, **override}
    return parse(cls, merged, section)


def load_effects(path: str | Path = PARAMS_FILE) -> dict[str, EffectParams]:
    """The `effects` section of params.yaml, each effect with its entry of the `gear` section."""
    raw = load_raw(path)
    out = effects(raw.get("effects"))
    return {name: dataclasses.replace(fx, gear=gear(raw.get("gear"), name)) for name, fx in out.items()}


def _yaml_scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_scalar(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a YAML string


def _yaml_block(name: str, entry: dict, indent: int = 2) -> list[str]:
    """`name:` and its mapping as YAML lines (nested mappings in flow style), `indent` spaces in."""
    pad = " " * indent
    lines = [f"{pad}{name}:"]
    for key, value in entry.items():
        if isinstance(value, dict):
            flow = ", ".join(f"{k}: {_yaml_scalar(v)}" for k, v in value.items())
            lines.append(f"{pad}  {key}: {{{flow}}}")
        else:
            lines.append(f"{pad}  {key}: {_yaml_scalar(value)}")
    return lines


def set_section_entry(text: str, section: str, name: str, entry: dict) -> str:
    """params.yaml's text with `section.name` set to `entry` (replacing an entry of that name, else
    appended to the section; the section is added at the end when missing). Comments elsewhere stay."""
    lines = text.splitlines()
    block = _yaml_block(name, entry)
    start = next((i for i, line in enumerate(lines) if re.match(rf"^{re.escape(section)}:(\s|$)", line)), None)
    if start is None:
        lines += ["", f"{section}:", *block]
        return "\n".join(lines) + "\n"
    if not re.match(rf"^{re.escape(section)}:\s*(#.*)?$", lines[start]):  # a flow mapping on one line
        current = yaml.safe_load(lines[start])[section] or {}
        if not isinstance(current, dict):
            raise ConfigError(f"params.yaml: {section} must be a mapping, got {current!r}")
        lines[start:start + 1] = [f"{section}:"] + [ln for key, value in current.items()
                                                    for ln in _yaml_block(str(key), value)]
    end = start + 1  # the section runs to the next line that starts at column 0 (not a comment or blank)
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith((" ", "#"))):
        end += 1
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1  # leave the blank lines and comments that introduce the next section
    own = next((i for i in range(start + 1, end) if re.match(rf"^  {re.escape(name)}:", lines[i])), None)
    if own is None:
        lines[end:end] = block
    else:
        stop = own + 1
        while stop < end and (not lines[stop].strip() or lines[stop].startswith("    ")):
            stop += 1
        lines[own:stop] = block
    return "\n".join(lines) + "\n"


def write_entries(path: str | Path, entries: list[tuple[str, str, dict]]) -> dict[str, Any]:
    """Set each (section, name, entry) in the params file at `path` (`set_section_entry`: comments
    stay), check the edited file's effects and gear sections, and only then replace the file (a bad
    entry leaves it as it was); returns the edited file's contents."""
    from drywet.fileio import write_text

    path = Path(path)
    text = path.read_text()
    for section, name, entry in entries:
        text = set_section_entry(text, section, name, entry)
    raw = yaml.safe_load(text)
    checked = effects(raw.get("effects"))
    for name in checked:
        gear(raw.get("gear"), name)
    write_text(path, text)
    return raw
