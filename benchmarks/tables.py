"""The README's and docs' tables, written from the runs' own files: python benchmarks/tables.py [--write]

Each table sits in a Markdown file between `<!-- table:NAME -->` and `<!-- /table:NAME -->`. Without --write
this prints every table; with --write it puts them into the files. tests/test_tables.py fails when a file and
this script disagree, so no number in a table is typed by hand.

- results: each showcase run's evaluate.py metrics (metrics.json), the real digits' row, and the commands that
  make each row, derived from the run's own config.json.
- speed: benchmarks/bench_train.py's JSON (ms_gan against its PyTorch twin).
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
SPEED_JSON = os.path.join("benchmarks", "results_current_cpu_2core.json")
# where each table goes
PLACES = {"results": ("README.md", "docs/results.md"), "speed": ("README.md", "docs/performance.md")}
# settings that say where a run was written or what it was trained on, not how: never part of its command
NOT_FLAGS = ("output_dir", "run_name", "data_dir", "data_url", "data_fingerprint", "cluster_shares", "num_workers",
             "keep_last", "save_every", "device_target", "num_classes", "num_grid", "cured_from")


def _load(path: str) -> dict:
    with open(os.path.join(ROOT, path)) as f:
        return json.load(f)


def train_command(config: dict) -> str:
    """The train.py command that makes a run with CONFIG: every flag whose value is not the model's default."""
    sys.path.insert(0, ROOT)
    from ms_gan.config import TrainConfig

    defaults = dataclasses.asdict(TrainConfig(model=config["model"], dataset=config.get("dataset", "mnist"))
                                  .validate())
    flags = []
    for name, value in config.items():
        if name in NOT_FLAGS or name not in defaults or defaults[name] == value or name == "model":
            continue
        flags.append(f"--{name}" if value is True else f"--{name} {value:g}" if isinstance(value, float)
                     else f"--{name} {value}")
    return " ".join(["python scripts/train.py --model", config["model"], *flags])


def results_table() -> str:
    rows = ["| model | seed | epochs (steps) | FD ↓ | IS ↑ | precision | recall | digits covered | label acc. |",
            "|---|---|---|---|---|---|---|---|---|"]
    commands, real = [], None
    for name in RESULT_RUNS:
        folder = os.path.join(SHOWCASE, name)
        config, metrics = _load(os.path.join(folder, "config.json")), _load(os.path.join(folder, "metrics.json"))
        steps = _load(os.path.join(folder, "summary.json"))["steps"]
        m = metrics["samples"]
        accuracy = f"{m['label_accuracy']:.3f}" if "label_accuracy" in m else ""
        rows.append(f"| {config['model']} | {config['seed']} | {config['epochs']} ({steps:,}) | {m['fd']:.2f} | "
                    f"{m['inception_score']:.2f} | {m['precision']:.3f} | {m['recall']:.3f} | "
                    f"{m['digits_covered']} | {accuracy} |")
        commands.append(f"{train_command(config)} --run_name {name}   # then: python scripts/evaluate.py "
                        f"--ckpt result/{name}")
        real = real or metrics["real"]
    rows.append(f"| real digits (held out) | | | {real['fd']:.2f} | {real['inception_score']:.2f} | "
                f"{real['precision']:.3f} | {real['recall']:.3f} | {real['digits_covered']} | "
                f"{real.get('label_accuracy', 0):.3f} |")
    return "\n".join(rows + ["", "```bash", *commands, "```"])


def speed_table() -> str:
    records = _load(SPEED_JSON)["records"]
    by = {(r["model"], r["framework"]): r for r in records}
    rows = ["| model | ms_gan ms/step | PyTorch ms/step | ms_gan vs PyTorch | ms_gan generates (img/s) | "
            "PyTorch generates (img/s) |", "|---|---|---|---|---|---|"]
    for model in ("fc", "dcgan", "cgan"):
        ms_row, torch_row = by[(model, "ms")], by[(model, "torch")]
        ms_step = ms_row["compute_ms"] + ms_row["data_wait_ms"]
        torch_step = torch_row["compute_ms"] + torch_row["data_wait_ms"]
        rows.append(f"| {model} | {ms_step:.1f} | {torch_step:.1f} | {torch_step / ms_step:.2f}x | "
                    f"{ms_row['infer_images_per_s']:.0f} | {torch_row['infer_images_per_s']:.0f} |")
    return "\n".join(rows)


TABLES = {"results": results_table, "speed": speed_table}


def put(text: str, name: str, table: str) -> str:
    """TEXT with the block between NAME's markers replaced by TABLE."""
    pattern = re.compile(rf"(<!-- table:{name} -->\n).*?(\n<!-- /table:{name} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"error: no <!-- table:{name} --> block")
    return pattern.sub(lambda m: m.group(1) + table + m.group(2), text)


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
