"""The README's and docs' tables, written from the runs' own files: python benchmarks/tables.py [--write]

Each table sits in a Markdown file between `<!-- table:NAME -->` and `<!-- /table:NAME -->`. Without --write
this prints every table; with --write it puts them into the files. tests/test_tables.py fails when a file and
this script disagree, so no number in a table is typed by hand.

- results: each showcase run's evaluate.py metrics (metrics.json), the real digits' row, and the commands that
  make each row, derived from the run's own config.json.
- longer: the longer recipes' runs, as results.
- failure_modes: the failure-mode guide's digit-8 runs: each one's verdict (diagnosis.json) and last evaluation.
- options: benchmarks/compare_options.py's JSON (each loss and stabiliser on the fc GAN) and the commit that made it.
- speed: benchmarks/bench_train.py's JSON (ms_gan against its PyTorch twin).
- precision, bf16_runs: the same recipes trained with --precision fp32 and bf16 (metrics, and the whole runs' wall
  times from their summary.json).
- ab_*, products: tables benchmarks/ab_commits.py (two commits' steps, alternating in one sitting) and
  benchmarks/kernels/bench_products.py printed, from their JSON.
"""

import argparse
import dataclasses
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOWCASE = os.path.join("result", "showcase")
RESULT_RUNS = ("fc", "fc-seed1", "dcgan", "dcgan-seed1", "cgan", "cgan-seed1")
LONGER_RUNS = ("cgan_14ep_linear", "clusters_10ep_b32", "dcgan_14ep_b32", "fashion_cgan")
FAILURE_RUNS = ("stable", "mode_collapse", "convergence_failure")
SPEED_JSON = os.path.join("benchmarks", "results_current_cpu_2core.json")
# the tables benchmarks print themselves, kept in their JSON: benchmarks/ab_commits.py, bench_products.py
PRINTED = {
    "ab_plain_models": os.path.join("benchmarks", "results_ab_plain_models_cpu_2core.json"),
    "ab_bf16": os.path.join("benchmarks", "results_ab_bf16_cpu_2core.json"),
    "products": os.path.join("benchmarks", "results_products_cpu_2core.json"),
}
# where each table goes
PLACES = {
    "results": ("README.md", "docs/results.md"),
    "longer": ("docs/results.md",),
    "failure_modes": ("docs/diagnosis.md",),
    "options": ("docs/losses.md",),
    "speed": ("README.md", "docs/performance.md"),
    "ab_plain_models": ("docs/performance.md",),
    "ab_bf16": ("docs/performance.md",),
    "products": ("docs/performance.md",),
    "bf16_runs": ("docs/performance.md", "docs/results.md"),
    "precision": ("docs/results.md",),
}
# settings that say where a run was written or what it was trained on, not how: never part of its command
NOT_FLAGS = (
    "output_dir",
    "run_name",
    "data_dir",
    "data_url",
    "data_fingerprint",
    "cluster_shares",
    "num_workers",
    "keep_last",
    "save_every",
    "device_target",
    "num_classes",
    "num_grid",
    "cured_from",
)


def _load(path: str) -> dict:
    with open(os.path.join(ROOT, path)) as f:
        return json.load(f)


def train_command(config: dict) -> str:
    """The train.py command that makes a run with CONFIG: every flag whose value is not the model's default."""
    sys.path.insert(0, ROOT)
    from ms_gan.config import TrainConfig

    defaults = dataclasses.asdict(TrainConfig(model=config["model"], dataset=config.get("dataset", "mnist")).settled())
    flags = []
    for name, value in config.items():
        if name in NOT_FLAGS or name not in defaults or defaults[name] == value or name == "model":
            continue
        flags.append(_flag(name, value))
    return " ".join(["python scripts/train.py --model", config["model"], *flags])


def _flag(name: str, value) -> str:
    if value is True:
        return f"--{name}"
    if isinstance(value, list):
        return f"--{name} {','.join(map(str, value))}"
    return f"--{name} {value:g}" if isinstance(value, float) else f"--{name} {value}"


def results_table(runs=RESULT_RUNS) -> str:
    rows = [
        "| run | model | seed | epochs (steps) | FD ↓ | IS ↑ | precision | recall | digits covered | label acc. |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    commands, real = [], None
    for name in runs:
        folder = os.path.join(SHOWCASE, name)
        config, metrics = _load(os.path.join(folder, "config.json")), _load(os.path.join(folder, "metrics.json"))
        steps = _load(os.path.join(folder, "summary.json"))["steps"]
        m = metrics["samples"]
        accuracy = f"{m['label_accuracy']:.3f}" if "label_accuracy" in m else ""
        rows.append(
            f"| {name} | {config['model']} | {config['seed']} | {config['epochs']} ({steps:,}) | "
            f"{m['fd']:.2f} | {m['inception_score']:.2f} | {m['precision']:.3f} | {m['recall']:.3f} | "
            f"{m['digits_covered']} | {accuracy} |"
        )
        commands.append(
            f"{train_command(config)} --run_name {name}   # then: python scripts/evaluate.py --ckpt result/{name}"
        )
        real = real or metrics["real"]
    rows.append(
        f"| real digits (held out) | | | | {real['fd']:.2f} | {real['inception_score']:.2f} | "
        f"{real['precision']:.3f} | {real['recall']:.3f} | {real['digits_covered']} | "
        f"{real.get('label_accuracy', 0):.3f} |"
    )
    return "\n".join(rows + ["", "```bash", *commands, "```"])


# (model, seed, the float32 run, the bfloat16 run): the same 5-epoch recipe with --precision bf16
PRECISION_RUNS = (
    ("dcgan", 0, "dcgan", "dcgan-bf16"),
    ("dcgan", 1, "dcgan-seed1", "dcgan-bf16-seed1"),
    ("cgan", 0, "cgan", "cgan-bf16"),
    ("cgan", 1, "cgan-seed1", "cgan-bf16-seed1"),
)


def precision_table() -> str:
    """fp32 against bf16 on each seed: FD, precision, recall and (cgan) label accuracy, from each run's metrics.json."""
    rows = [
        "| model | seed | FD fp32 | FD bf16 | precision fp32 / bf16 | recall fp32 / bf16 | label acc. fp32 / bf16 |",
        "|---|---|---|---|---|---|---|",
    ]
    commands = []
    for model, seed, fp32, bf16 in PRECISION_RUNS:
        a, b = (_load(os.path.join(SHOWCASE, run, "metrics.json"))["samples"] for run in (fp32, bf16))
        accuracy = f"{a['label_accuracy']:.3f} / {b['label_accuracy']:.3f}" if "label_accuracy" in a else ""
        rows.append(
            f"| {model} | {seed} | {a['fd']:.2f} | {b['fd']:.2f} | {a['precision']:.3f} / {b['precision']:.3f} | "
            f"{a['recall']:.3f} / {b['recall']:.3f} | {accuracy} |"
        )
        config = _load(os.path.join(SHOWCASE, bf16, "config.json"))
        commands.append(
            f"{train_command(config)} --run_name {bf16}   # then: python scripts/evaluate.py --ckpt result/{bf16}"
        )
    return "\n".join(rows + ["", "```bash", *commands, "```"])


# (fp32 run, bf16 run): whole trainings in one sitting, one after the other, on one host (docs/performance.md)
BF16_RUNS = (("dcgan-fp32", "dcgan-bf16"), ("cgan_14ep_linear", "cgan_14ep_linear-bf16"))
# the PyTorch twin's whole 5-epoch dcgan, fp32 and autocast, in the same sitting (bench_train.py --process)
TWIN_PROCESS_JSON = os.path.join("benchmarks", "results_process_bf16_cpu_2core.json")


def bf16_runs_table() -> str:
    """Whole runs at fp32 and bf16: train.py's own training time (summary.json) and evaluate.py's metrics, and the
    PyTorch twin's training loop on the dcgan (its timing.json, through bench_train.py --process)."""
    rows = [
        "| run | precision | epochs (steps) | training s | bf16 / fp32 time | FD ↓ | IS ↑ | precision | recall "
        "| label acc. |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    commands = []
    for pair in BF16_RUNS:
        walls = []
        for name in pair:
            folder = os.path.join(SHOWCASE, name)
            config, summary = _load(os.path.join(folder, "config.json")), _load(os.path.join(folder, "summary.json"))
            m = _load(os.path.join(folder, "metrics.json"))["samples"]
            walls.append(summary["wall_seconds"])
            ratio = f"{walls[1] / walls[0]:.2f}" if len(walls) == 2 else ""
            accuracy = f"{m['label_accuracy']:.3f}" if "label_accuracy" in m else ""
            rows.append(
                f"| {name} | {config.get('precision', 'fp32')} | {config['epochs']} ({summary['steps']:,}) | "
                f"{summary['wall_seconds']:.0f} | {ratio} | {m['fd']:.2f} | {m['inception_score']:.2f} | "
                f"{m['precision']:.3f} | {m['recall']:.3f} | {accuracy} |"
            )
            commands.append(
                f"{train_command(config)} --run_name {name}   # then: python scripts/evaluate.py --ckpt result/{name}"
            )
        if pair == BF16_RUNS[0]:
            twin = {r["precision"]: r for r in _load(TWIN_PROCESS_JSON)["processes"] if r["framework"] == "torch"}
            for precision, name in (("fp32", "fp32"), ("bf16", "autocast bf16")):
                r = twin[precision]
                ratio = f"{r['train_seconds'] / twin['fp32']['train_seconds']:.2f}" if precision == "bf16" else ""
                rows.append(
                    f"| PyTorch twin, {r['model']} | {name} | {r['epochs']} ({r['steps']:,}) | "
                    f"{r['train_seconds']:.0f} | {ratio} | | | | | |"
                )
    commands.append(
        "python benchmarks/bench_train.py --models '' --process dcgan --precisions fp32,bf16 --frameworks torch "
        f"--repeats 1 --output {TWIN_PROCESS_JSON}   # the twin's rows"
    )
    return "\n".join(rows + ["", "```bash", *commands, "```"])


def _made_at(path: str) -> str:
    """The commit that added PATH's current version (its run's results), or "(uncommitted)"."""
    import subprocess

    out = subprocess.run(["git", "log", "-1", "--format=%h", "--", path], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or "(uncommitted)"


def longer_table() -> str:
    """As results_table, with the commit each run's metrics were made at: these runs are not retrained with
    every change (hours of CPU), so the table says which code made each."""
    table = results_table(LONGER_RUNS).replace("| real digits (held out) |", "| real MNIST digits (held out) |")
    lines = table.split("\n")
    lines[0] += " made at |"
    lines[1] += "---|"
    for i, name in enumerate(LONGER_RUNS, start=2):
        lines[i] += f" {_made_at(os.path.join(SHOWCASE, name, 'metrics.json'))} |"
    lines[2 + len(LONGER_RUNS)] += " |"
    return "\n".join(lines)


def failure_modes_table() -> str:
    """The digit-8 runs: verdict, D's medians over the last third, the last evaluation (metrics.csv)."""
    import csv

    rows = [
        "| run | flags beyond the baseline's | verdict | FD ↓ | precision | recall | diversity | made at |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base = _load(os.path.join(SHOWCASE, "failure_modes", "stable", "config.json"))
    for name in FAILURE_RUNS:
        folder = os.path.join(SHOWCASE, "failure_modes", name)
        config = _load(os.path.join(folder, "config.json"))
        changed = " ".join(
            _flag(k, v) for k, v in sorted(config.items()) if k not in NOT_FLAGS + ("run_name",) and base.get(k) != v
        )
        with open(os.path.join(ROOT, folder, "metrics.csv"), newline="") as f:
            last = list(csv.DictReader(f))[-1]
        verdict = _load(os.path.join(folder, "diagnosis.json"))["verdict"]
        rows.append(
            f"| {name} | {changed or '(none)'} | **{verdict}** | {float(last['fd']):.2f} | "
            f"{float(last['precision']):.3f} | {float(last['recall']):.3f} | {float(last['diversity']):.2f} | "
            f"{_made_at(os.path.join(folder, 'metrics.csv'))} |"
        )
    command = train_command(base).replace("python scripts/train.py", "python scripts/train.py", 1)
    return "\n".join(
        rows
        + [
            "",
            "```bash",
            f"{command} --run_name stable   # and the flags above, one run each",
            "python scripts/diagnose.py result/stable",
            "```",
        ]
    )


OPTIONS_JSON = os.path.join(SHOWCASE, "compare", "compare_fc.json")


def options_table() -> str:
    data = _load(OPTIONS_JSON)
    commit = _made_at(OPTIONS_JSON)
    rows = [
        f"Measured at commit {commit} by `python benchmarks/compare_options.py --json "
        f"result/compare_fc.json`: {data['model']}, {data['epochs']} epochs, seed {data['seed']}.",
        "",
        "| option | flags | FD ↓ | IS ↑ | precision | recall | digits | images/s | diagnosis |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["rows"]:
        flags = f"`{r['flags']}`" if r["flags"] else "(defaults)"
        rows.append(
            f"| {r['option']} | {flags} | {r['fd']:.1f} | {r['inception_score']:.2f} | {r['precision']:.3f} | "
            f"{r['recall']:.3f} | {r['digits_covered']} | {r['images_per_second']:.0f} | {r['diagnosis']} |"
        )
    return "\n".join(rows)


def speed_table() -> str:
    import statistics

    records = _load(SPEED_JSON)["records"]
    precisions = sorted({r.get("precision", "fp32") for r in records}, key=["fp32", "bf16"].index)

    def median(model, framework, precision, measure):  # over the benchmark's repeats
        return statistics.median(
            measure(r)
            for r in records
            if (r["model"], r["framework"], r.get("precision", "fp32")) == (model, framework, precision)
        )

    rows = [
        "| model | precision | ms_gan ms/step | PyTorch ms/step | ms_gan vs PyTorch | ms_gan vs its fp32 | "
        "ms_gan generates (img/s) | PyTorch generates (img/s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model in ("fc", "dcgan", "cgan"):
        for precision in precisions:
            ms_step, torch_step = (
                median(model, f, precision, lambda r: r["compute_ms"] + r["data_wait_ms"]) for f in ("ms", "torch")
            )
            ms_fp32 = median(model, "ms", "fp32", lambda r: r["compute_ms"] + r["data_wait_ms"])
            ms_gen, torch_gen = (
                median(model, f, precision, lambda r: r["infer_images_per_s"]) for f in ("ms", "torch")
            )
            torch_name = "fp32" if precision == "fp32" else "autocast bf16"
            rows.append(
                f"| {model} | {precision} (PyTorch {torch_name}) | {ms_step:.1f} | {torch_step:.1f} | "
                f"{torch_step / ms_step:.2f}x | {ms_fp32 / ms_step:.2f}x | {ms_gen:.0f} | {torch_gen:.0f} |"
            )
    return "\n".join(rows)


def printed_table(name: str):
    """The table a benchmark printed and kept in its JSON, PRINTED[NAME]."""
    return lambda: _load(PRINTED[name])["table"]


TABLES = {
    "ab_plain_models": printed_table("ab_plain_models"),
    "ab_bf16": printed_table("ab_bf16"),
    "products": printed_table("products"),
    "bf16_runs": bf16_runs_table,
    "precision": precision_table,
    "results": results_table,
    "longer": longer_table,
    "failure_modes": failure_modes_table,
    "options": options_table,
    "speed": speed_table,
}


def put(text: str, name: str, table: str) -> str:
    """TEXT with the block between NAME's markers replaced by TABLE."""
    pattern = re.compile(rf"(<!-- table:{name} -->\n)(?:.*?\n)?(<!-- /table:{name} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"error: no <!-- table:{name} --> block")
    return pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--write", action="store_true", help="put the tables into README.md and docs/")
    args = p.parse_args()
    for name, make in TABLES.items():
        table = make()
        if not args.write:
            print(f"<!-- table:{name} -->\n{table}\n<!-- /table:{name} -->\n")
            continue
        for place in PLACES[name]:
            path = os.path.join(ROOT, place)
            with open(path) as f:
                text = f.read()
            new = put(text, name, table)
            if new != text:
                with open(path, "w") as f:
                    f.write(new)
                print(f"wrote the {name} table into {place}")


if __name__ == "__main__":
    main()
