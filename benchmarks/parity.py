"""Framework parity: ms_gan and its PyTorch twin, trained alike, scored alike.

    python benchmarks/parity.py                                  # dcgan and cgan, seeds 0 and 1, 5 epochs
    python benchmarks/parity.py --models dcgan --seeds 0 --epochs 1

For each model and seed, ms_gan trains through scripts/train.py with its default flags, and the twin
(benchmarks/torch_reference.py: the same layers, DCGAN init, Adam settings, loss, learning-rate curve and EMA
of G, built from the same TrainConfig defaults) trains for the same number of steps on the same images at the
same batch size. Both generators then draw the same 10,000 (z, label) pairs evaluate.py draws, and
scripts/evaluate.py scores both (ms_gan's with --ckpt, the twin's with --samples). Prints a JSON line per
run and a markdown table; everything stays under OUTPUT_DIR. Needs torch (benchmarks/requirements.txt).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.join(ROOT, "..", "shared", "data", "mnist")
SCORES = (
    ("FD", "fd", "{:.2f}"),
    ("IS", "inception_score", "{:.2f}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("label acc.", "label_accuracy", "{:.3f}"),
)


def train_ms(model, seed, args) -> dict:
    """Train through scripts/train.py (default flags but --lr_d), score with evaluate.py --ckpt."""
    run_dir = os.path.join(args.output_dir, "ms_gan", f"{model}-seed{seed}")
    train = [
        sys.executable,
        os.path.join(ROOT, "scripts", "train.py"),
        "--model",
        model,
        "--seed",
        str(seed),
        "--epochs",
        str(args.epochs),
        "--data_dir",
        args.data_dir,
        "--output_dir",
        os.path.dirname(run_dir),
        "--run_name",
        os.path.basename(run_dir),
    ] + _lr_d_flag(args)
    finished = os.path.isfile(os.path.join(run_dir, "summary.json"))
    if finished and args.reuse:
        _check_defaults(run_dir, model, seed, args)
    else:
        _run(train, f"ms_gan {model} seed {seed}")
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    metrics = _evaluate(["--ckpt", run_dir], os.path.join(run_dir, "metrics.json"), args)
    return {"wall_seconds": summary["wall_seconds"], "images_per_second": summary["images_per_second"], **metrics}


def _lr_d_flag(args) -> list:
    return [] if args.lr_d is None else ["--lr_d", repr(args.lr_d)]


def _check_defaults(run_dir, model, seed, args) -> None:
    """--reuse: a finished run counts only if it was trained exactly as this script would train it."""
    from ms_gan.config import TrainConfig, load_config

    saved = load_config(os.path.join(run_dir, "config.json")).to_dict()
    wanted = TrainConfig(model=model, seed=seed, epochs=args.epochs, lr_d=args.lr_d).settled().to_dict()
    ignore = {"data_dir", "data_fingerprint", "output_dir", "run_name", "num_workers"}
    differ = sorted(k for k in wanted if k not in ignore and saved.get(k) != wanted[k])
    if differ:
        raise SystemExit(f"error: --reuse: {run_dir} differs from the defaults in {', '.join(differ)}")


def train_torch(model, seed, args) -> dict:
    """Train the twin in a fresh process (this file with --torch_worker), score its samples.npz."""
    out_dir = os.path.join(args.output_dir, "torch", f"{model}-seed{seed}")
    os.makedirs(out_dir, exist_ok=True)
    worker = [
        sys.executable,
        os.path.abspath(__file__),
        "--torch_worker",
        out_dir,
        "--models",
        model,
        "--seeds",
        str(seed),
        "--epochs",
        str(args.epochs),
        "--data_dir",
        args.data_dir,
        "--num",
        str(args.num),
    ] + _lr_d_flag(args)
    timing_path = os.path.join(out_dir, "timing.json")
    if not (args.reuse and os.path.isfile(timing_path)):
        _run(worker, f"torch {model} seed {seed}")
    with open(timing_path) as f:
        timing = json.load(f)
    metrics = _evaluate(
        ["--samples", os.path.join(out_dir, "samples.npz"), "--data_dir", args.data_dir],
        os.path.join(out_dir, "metrics.json"),
        args,
    )
    return {**timing, **metrics}


def torch_worker(out_dir, model, seed, args) -> None:
    """Train the twin with ms_gan's default settings for MODEL; write OUT_DIR/samples.npz and print timing."""
    import numpy as np
    import torch
    from torch_reference import Batches, GeneratorEMA, build, make_train_step

    from ms_gan.config import TrainConfig
    from ms_gan.data import read_split
    from ms_gan.visualize import to_uint8

    config = TrainConfig(model=model, seed=seed, epochs=args.epochs, lr_d=args.lr_d).settled()
    torch.manual_seed(seed)
    images, labels = read_split(args.data_dir, "train")
    data = Batches(images, labels, config.batch_size, config.latent_dim, seed=seed)
    total = len(data) * config.epochs
    net_g, net_d = build(model, config.latent_dim, config.ngf, config.ndf)
    ema = None
    if config.ema_decay:
        ema = GeneratorEMA(net_g, build(model, config.latent_dim, config.ngf, config.ndf)[0], config.ema_decay)
    step = make_train_step(
        net_g,
        net_d,
        config.learning_rates("g", total),
        (config.beta1, config.beta2),
        lr_d=config.learning_rates("d", total),
        loss=config.loss,
        ema=ema,
    )
    net_g.train()
    net_d.train()
    # --precision bf16: what a PyTorch user adds for bfloat16 on CPU, torch.autocast around the step and the drawing
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")
    start = time.perf_counter()
    for _ in range(config.epochs):
        for real, z, batch_labels in data:
            with autocast:
                step(real, z, batch_labels)
    wall = time.perf_counter() - start
    sampler = ema.net if ema else net_g
    sampler.eval()
    # the very (z, labels) evaluate.py --ckpt draws (metrics.Evaluator.score_generator, seed 0)
    z = np.random.default_rng(0).standard_normal((args.num, config.latent_dim), dtype=np.float32)
    wanted = (np.arange(args.num) % config.num_classes).astype(np.int64)
    with torch.no_grad(), autocast:
        fakes = [
            sampler(torch.from_numpy(z[i : i + 500]), torch.from_numpy(wanted[i : i + 500])).float().numpy()
            for i in range(0, args.num, 500)
        ]
    arrays = {"images": to_uint8(np.concatenate(fakes))}
    if config.conditional:
        arrays["labels"] = wanted.astype(np.int32)
    np.savez(os.path.join(out_dir, "samples.npz"), **arrays)
    with open(os.path.join(out_dir, "timing.json"), "w") as f:  # written last: its presence means finished
        json.dump(
            {
                "wall_seconds": round(wall, 1),
                "images_per_second": round(total * config.batch_size / wall, 1),
                "steps": total,
            },
            f,
        )


def _evaluate(source, output, args) -> dict:
    cmd = [
        sys.executable,
        os.path.join(ROOT, "scripts", "evaluate.py"),
        *source,
        "--num",
        str(args.num),
        "--output",
        output,
    ]
    _run(cmd, f"evaluate.py {' '.join(source)}")
    with open(output) as f:
        return json.load(f)["samples"]


def _run(cmd, what) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SystemExit(f"error: {what} failed: {last}")
    return out.stdout


def table(records) -> str:
    lines = [
        "| model | framework | seed | " + " | ".join(c[0] for c in SCORES) + " | wall s | images/s |",
        "|---|---|---|" + "---|" * (len(SCORES) + 2),
    ]
    for r in records:
        cells = [fmt.format(r[key]) if key in r else "" for _, key, fmt in SCORES]
        lines.append(
            f"| {r['model']} | {r['framework']} | {r['seed']} | "
            + " | ".join(cells)
            + f" | {r['wall_seconds']:.0f} | {r['images_per_second']:.0f} |"
        )
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="dcgan,cgan")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--epochs", type=int, default=5, help="5 epochs of the 24,345 shared digits = 950 steps")
    p.add_argument("--num", type=int, default=10000, help="samples each generator is scored on")
    p.add_argument(
        "--lr_d",
        type=float,
        default=None,
        help="D's learning rate for both frameworks (default: the "
        "model's, as train.py; 0 = G's rate, the cgan's default before it learnt at twice G's)",
    )
    p.add_argument("--data_dir", default=DEFAULT_DATA)
    p.add_argument("--output_dir", default=os.path.join(tempfile.gettempdir(), "ms_gan_parity"))
    p.add_argument("--frameworks", default="ms_gan,torch")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="score an ms_gan run already finished in OUTPUT_DIR "
        "(trained with these very defaults, which is checked) instead of training it again",
    )
    p.add_argument("--torch_worker", help=argparse.SUPPRESS)
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16"), help=argparse.SUPPRESS)
    args = p.parse_args()
    models, seeds = args.models.split(","), [int(s) for s in args.seeds.split(",")]
    if args.torch_worker:
        torch_worker(args.torch_worker, models[0], seeds[0], args)
        return
    frameworks = args.frameworks.split(",")
    if "torch" in frameworks:
        try:
            import torch  # noqa: F401
        except ImportError:
            raise SystemExit("error: torch is not installed: pip install -r benchmarks/requirements.txt") from None
    records = []
    for model in models:
        for seed in seeds:
            for framework in frameworks:
                result = (train_ms if framework == "ms_gan" else train_torch)(model, seed, args)
                record = {"model": model, "framework": framework, "seed": seed, **result}
                print(json.dumps({k: v for k, v in record.items() if not isinstance(v, (list, dict))}), flush=True)
                records.append(record)
    print(table(records))
    with open(os.path.join(args.output_dir, "parity.json"), "w") as f:
        json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
