"""`python -m drywet listen-score ANSWERS.json`: the answers saved from the blind ABX page scored
against the page's key (drywet.listen.score), written to metrics/listening.json."""

from __future__ import annotations

import json
from pathlib import Path

from drywet.errors import InputError


def run(args) -> int:
    """`listen-score`: answers + key -> metrics/listening.json and a short summary (no TensorFlow)."""
    from drywet.fileio import write_json
    from drywet.listen import score

    def read(path: str, what: str) -> object:
        try:
            return json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: {what} not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: not a readable JSON {what} ({exc})") from None

    key = read(args.key, "listening-test key (run the report stage, or section@<fx> for an effect's own page)")
    result = score(read(args.answers, "answers file"), key, args.answers, args.key)
    write_json(args.out, result)
    for name, s in [*result["effects"].items(), ("overall", result["overall"])]:
        print(f"{name}: {s['correct']} of {s['trials']} correct, p = {s['p_value']:.4g}"
              + (f" ({s['unanswered']} unanswered)" if s["unanswered"] else ""))
    print(f"wrote {args.out}")
    return 0
