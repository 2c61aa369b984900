"""ms_gan's training step and generation at two commits, A/B in one sitting: bench_train.py's ms_gan worker run
from each checkout in turn, alternating which goes first, then the medians side by side.

    git worktree add ../ms_gan-old <commit>
    python benchmarks/ab_commits.py ../ms_gan-old . --models fc,dcgan,cgan --repeats 5 --output ab.json
    python benchmarks/ab_commits.py ../ms_gan-old . --precision bf16 ...   # both sides at --precision bf16
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

KEYS = ("compute_ms", "data_wait_ms", "infer_images_per_s")


def measure(tree: str, model: str, args) -> dict:
    """One bench_train.py ms_gan worker of TREE's code on MODEL (a fresh process, as bench_train.py runs it)."""
    steps = {"fc": 60, "dcgan": 8, "cgan": 8}[model]
    cmd = [sys.executable, os.path.join(tree, "benchmarks", "bench_train.py"), "--worker", "ms", "--models", model]
    cmd += ["--batch_sizes", "128", "--steps", str(steps), "--warmup", "2", "--num_images", "0", "--inference"]
    cmd += ["--data_dir", args.data_dir, "--precision", args.precision]
    env = dict(os.environ, PYTHONPATH=tree)  # TREE's ms_gan, not the installed one
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=tree, env=env)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"error: the worker of {tree} on {model} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(lines[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="checkout A (e.g. the older commit's worktree)")
    p.add_argument("b", help="checkout B")
    p.add_argument("--models", default="fc,dcgan,cgan")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--data_dir", default=os.environ.get("MS_GAN_MNIST_DIR", ""))
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16"), help="both sides' --precision")
    p.add_argument("--output", default="")
    args = p.parse_args()
    if not args.data_dir:
        raise SystemExit("error: --data_dir (or MS_GAN_MNIST_DIR): the MNIST folder both checkouts read")
    trees = {"A": os.path.abspath(args.a), "B": os.path.abspath(args.b)}
    git = ["git", "rev-parse", "--short", "HEAD"]
    commits = {k: subprocess.run(git, cwd=t, capture_output=True, text=True).stdout.strip() for k, t in trees.items()}
    records = []
    for repeat in range(args.repeats):
        for model in args.models.split(","):
            for side in ("A", "B") if repeat % 2 == 0 else ("B", "A"):
                record = {"side": side, "commit": commits[side], "model": model, **measure(trees[side], model, args)}
                records.append(record)
                print(json.dumps({k: record[k] for k in ("side", "model", *KEYS) if k in record}), flush=True)
    rows = [
        f"| model | A ({commits['A']}) ms/step | B ({commits['B']}) ms/step | B / A | A generates img/s | "
        "B generates img/s |",
        "|---|---|---|---|---|---|",
    ]
    for model in args.models.split(","):
        med = {
            side: {
                k: statistics.median(r[k] for r in records if r["model"] == model and r["side"] == side) for k in KEYS
            }
            for side in "AB"
        }
        step = {side: med[side]["compute_ms"] + med[side]["data_wait_ms"] for side in "AB"}
        rows.append(
            f"| {model} | {step['A']:.1f} | {step['B']:.1f} | {step['B'] / step['A']:.3f} | "
            f"{med['A']['infer_images_per_s']:.0f} | {med['B']['infer_images_per_s']:.0f} |"
        )
    table = "\n".join(rows)
    print(f"\nmedians of {args.repeats} alternating repeats:\n{table}")
    if args.output:
        with open(args.output, "w") as f:
            result = {"commits": commits, "precision": args.precision, "records": records, "table": table}
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
