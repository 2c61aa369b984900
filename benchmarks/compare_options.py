"""What each loss and stabiliser does to quality and speed: real runs, same model, epochs and seed.

    python benchmarks/compare_options.py                          # fc, 10 epochs, every option
    python benchmarks/compare_options.py --model dcgan --epochs 3 --only baseline,wgan-gp

Each option trains through scripts/train.py (a fresh process, the default path) with --eval_every set to
the last epoch, so the final generator (its EMA when --ema_decay is on) is scored on --eval_samples
samples. Prints a JSON line per run and a markdown table; the runs stay under OUTPUT_DIR for their grids.
"""

import argparse
import csv
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.join(ROOT, "..", "shared", "data", "mnist")

OPTIONS = {  # name -> train.py flags on top of the shared base
    "baseline": [],
    "lsgan": ["--loss", "lsgan"],
    "hinge": ["--loss", "hinge"],
    "wgan-gp": ["--loss", "wgan-gp", "--n_critic", "5"],
    "label smoothing": ["--label_smoothing", "0.9"],
    "TTUR": ["--lr", "1e-4", "--lr_d", "4e-4"],
    "EMA": ["--ema_decay", "0.999"],
    "spectral norm": ["--spectral_norm"],
    "grad clipping": ["--clip_grad_norm", "1.0"],
    "improved FC G": ["--model", "fc_improved"],
}


def run_option(name, flags, args) -> dict:
    run_name = name.replace(" ", "_")
    run_dir = os.path.join(args.output_dir, run_name)
    cmd = [
        sys.executable,
        os.path.join(ROOT, "scripts", "train.py"),
        "--model",
        args.model,
        "--epochs",
        str(args.epochs),
        "--seed",
        str(args.seed),
        "--data_dir",
        args.data_dir,
        "--eval_every",
        str(args.epochs),
        "--eval_samples",
        str(args.eval_samples),
        "--output_dir",
        args.output_dir,
        "--run_name",
        run_name,
        *flags,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return {"option": name, "flags": " ".join(flags), "error": done.stderr.strip().splitlines()[-1:]}
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        metrics = list(csv.DictReader(f))[-1]
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    with open(os.path.join(run_dir, "diagnosis.json")) as f:
        verdict = json.load(f)["verdict"]
    return {
        "option": name,
        "flags": " ".join(flags),
        "fd": float(metrics["fd"]),
        "inception_score": float(metrics["inception_score"]),
        "precision": float(metrics["precision"]),
        "recall": float(metrics["recall"]),
        "digits_covered": int(float(metrics["digits_covered"])),
        "images_per_second": summary["images_per_second"],
        "wall_seconds": summary["wall_seconds"],
        "diagnosis": verdict,
        "run_dir": run_dir,
    }


def table(rows) -> str:
    lines = [
        "| option | flags | FD | IS | precision | recall | digits | images/s | diagnosis |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['option']} | `{r['flags']}` | failed: {' '.join(r['error'])} | | | | | | |")
            continue
        lines.append(
            f"| {r['option']} | `{r['flags'] or '(defaults)'}` | {r['fd']:.1f} | {r['inception_score']:.2f} "
            f"| {r['precision']:.3f} | {r['recall']:.3f} | {r['digits_covered']} "
            f"| {r['images_per_second']:.0f} | {r['diagnosis']} |"
        )
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="fc")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval_samples", type=int, default=10000)
    p.add_argument("--data_dir", default=DEFAULT_DATA)
    p.add_argument("--output_dir", default=os.path.join(ROOT, "result", "compare"))
    p.add_argument("--only", default="", help="comma-separated option names (default: all)")
    p.add_argument("--json", default="", help="also write the rows to this JSON file")
    args = p.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(OPTIONS)
    unknown = [n for n in names if n not in OPTIONS]
    if unknown:
        sys.exit(f"error: unknown option(s) {', '.join(unknown)}; choose from {', '.join(OPTIONS)}")
    rows = []
    for name in names:
        rows.append(run_option(name, OPTIONS[name], args))
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n{args.model}, {args.epochs} epochs, seed {args.seed}, {args.eval_samples} samples scored\n")
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "epochs": args.epochs, "seed": args.seed, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
