"""The schema engine of params.yaml: a field's check as dataclass metadata (`spec`), and `parse`, which
turns one raw section into its frozen dataclass or a one-line ConfigError naming the key, e.g.
`params.yaml: train.batch_size must be an integer >= 1, got 0`.

Each field's check lives in its `metadata` (see `spec`): the type (int, float, bool, str, list of
int), an inclusive/exclusive range, a set of choices, whether null is allowed. Keys missing from
params.yaml take the field's default; a field without a default is required. Unknown keys are an
error too (a misspelt key would otherwise be ignored silently).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import field
from typing import Any, TypeVar

from drywet.errors import ConfigError


def spec(kind: type, *, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
         hi_open: bool = False, choices: tuple | None = None, nullable: bool = False,
         default: Any = dataclasses.MISSING, items: type | None = None, auto: bool = False) -> Any:
    """A dataclass field with its check. `kind` is int, float, bool, str or list (of `items`).
    `auto`: the string `auto` is also accepted (e.g. a latency that is measured unless given)."""
    meta = {"kind": kind, "lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open,
            "choices": choices, "nullable": nullable, "items": items, "auto": auto}
    if isinstance(default, list):
        return field(default_factory=lambda: tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


def _describe(meta: dict) -> str:
    kind = meta["kind"]
    words = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
             list: f"a list of {'integers' if meta['items'] is int else 'numbers'}"}[kind]
    if meta["choices"] is not None:
        words = "one of " + ", ".join(str(c) for c in meta["choices"])
    lo, hi = meta["lo"], meta["hi"]
    if lo is not None and hi is not None:
        words += f" in {'(' if meta['lo_open'] else '['}{lo:g}, {hi:g}{')' if meta['hi_open'] else ']'}"
    elif lo is not None:
        words += f" {'>' if meta['lo_open'] else '>='} {lo:g}"
    elif hi is not None:
        words += f" {'<' if meta['hi_open'] else '<='} {hi:g}"
    if meta["auto"]:
        words += " or auto"
    if meta["nullable"]:
        words += " or null"
    return words


def _scalar(value: Any, kind: type) -> Any:
    """Convert one YAML value to `kind`; raises ValueError when it is not one."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ValueError
    if kind is int:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value)
        raise ValueError
    if kind is float:
        if isinstance(value, bool):
            raise ValueError
        out = float(value)  # YAML reads 1e-3 as a string; float() takes it
        if not math.isfinite(out):
            raise ValueError
        return out
    if kind is str:
        if isinstance(value, (dict, list)) or value is None:
            raise ValueError
        return str(value)
    raise TypeError(kind)


def check_value(value: Any, meta: dict, key: str) -> Any:
    def bad() -> ConfigError:
        return ConfigError(f"params.yaml: {key} must be {_describe(meta)}, got {value!r}")

    if value is None:
        if meta["nullable"]:
            return None
        raise bad()
    if meta["auto"] and value == "auto":
        return "auto"
    kind = meta["kind"]
    try:
        if kind is list:
            if not isinstance(value, (list, tuple)):
                raise ValueError
            out = tuple(_scalar(v, meta["items"] or float) for v in value)
            checked = out
        else:
            out = _scalar(value, kind)
            checked = (out,)
    except (ValueError, TypeError):
        raise bad() from None
    for v in checked:
        if meta["choices"] is not None and v not in meta["choices"]:
            raise bad()
        lo, hi = meta["lo"], meta["hi"]
        if lo is not None and (v < lo or (meta["lo_open"] and v == lo)):
            raise bad()
        if hi is not None and (v > hi or (meta["hi_open"] and v == hi)):
            raise bad()
    return out


T = TypeVar("T")


def parse(cls: type[T], raw: Any, section: str) -> T:
    """Build the frozen dataclass `cls` from the params section `raw` (a dict), checking every field."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"params.yaml: {section} must be a mapping of keys to values, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"params.yaml: unknown key {section}.{unknown[0]} "
                          f"(valid keys: {', '.join(fields)})")
    kwargs = {}
    for name, f in fields.items():
        key = f"{section}.{name}"
        if name in raw:
            kwargs[name] = check_value(raw[name], f.metadata, key)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"params.yaml: {key} is missing")
    obj = cls(**kwargs)
    post = getattr(obj, "check", None)
    if post is not None:
        post(section)
    return obj
