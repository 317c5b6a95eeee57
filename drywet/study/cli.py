"""The study as DVC experiments: queue a grid of parameter sets, then gather every experiment's
params and metrics into one table (one row per experiment and effect) with the findings figures.

    python -m drywet.study queue --preset small      # dvc exp run --queue -S ... for each grid point
    python -m drywet.study run -j 1                  # dvc queue start -j 1 and wait
    python -m drywet.study aggregate                 # table + figures from `dvc exp show`
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from drywet.dvcrun import run_dvc
from drywet.study.grid import PRESETS, grid, queue_commands
from drywet.study.pages import aggregate
from drywet.study.table import best_models
from drywet.tables import to_markdown


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m drywet.study", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    q = sub.add_parser("queue", help="queue a preset's grid as DVC experiments")
    q.add_argument("--preset", default="small", help=f"one of: {', '.join(PRESETS)}")
    q.add_argument("--dry", action="store_true", help="print the commands only")
    r = sub.add_parser("run", help="start the queue (dvc queue start -j N) and wait for it")
    r.add_argument("-j", "--jobs", type=int, default=1)
    r.add_argument("--engine", choices=("dvc", "ray"), default="dvc",
                   help="dvc: the local DVC queue (default); ray: one Ray task per queued point (drywet/study/ray.py)")
    r.add_argument("--address", default=None, help="ray: the cluster (auto, HOST:PORT; default: Ray's own choice)")
    r.add_argument("--git-remote", default="origin", help="ray: git remote the tasks clone from and push to")
    r.add_argument("--dvc-remote", default=None, help="ray: DVC remote for the outputs (default: the default one)")
    r.add_argument("--max-retries", type=int, default=2, help="ray: new attempts for a failed point")
    a = sub.add_parser("aggregate", help="collect every experiment into metrics/study.{csv,md} + figures")
    a.add_argument("--metrics-dir", default="metrics")
    a.add_argument("--plots-dir", default="plots/study")
    a.add_argument("--all-commits", action="store_true", help="include experiments of every commit")
    a.add_argument("--remote", default=None, help="first dvc exp pull every experiment from this git remote")
    a.add_argument("--fresh", action="store_true",
                   help="only the experiments found now (default: keep named rows of the existing study.csv)")
    sub.add_parser("presets", help="list the presets")
    args = ap.parse_args(argv)
    if args.command == "presets":
        for name, p in PRESETS.items():
            print(f"{name:8s} {len(grid(p)):3d} experiments  {p.about}")
    elif args.command == "queue":
        for cmd in queue_commands(args.preset):
            print(" ".join(cmd)) if args.dry else run_dvc(cmd[1:], echo=True, check=True)
    elif args.command == "run" and args.engine == "ray":
        from drywet.study.ray import run_on_ray

        run_on_ray(args.address, args.git_remote, args.dvc_remote, args.max_retries)
    elif args.command == "run":
        run_dvc(["queue", "start", "-j", str(args.jobs)], echo=True, check=True)
        while True:  # wait for the workers; `dvc queue status` lists what is left
            status = run_dvc(["queue", "status"], capture=True).stdout
            if not any(w in status for w in ("Queued", "Running")):
                break
            time.sleep(20)
        print(status, flush=True)
    else:
        import dvc.api

        if args.remote:  # metrics are in git, so the experiments' refs are enough
            run_dvc(["exp", "pull", "--no-cache", *(["-A"] if args.all_commits else []), args.remote], echo=True,
                    check=True)
        rows = dvc.api.exp_show(num=10_000 if args.all_commits else 1)
        df = aggregate(rows, Path(args.metrics_dir), Path(args.plots_dir), keep_previous=not args.fresh)
        print(to_markdown(best_models(df)), flush=True)
        print(json.dumps({"experiments": int(df["experiment"].nunique()), "models": len(df)}))
    return 0

