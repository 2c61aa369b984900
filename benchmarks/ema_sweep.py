"""How long an average of G serves best: one training run, several moving averages of G kept beside it, each scored.

    python benchmarks/ema_sweep.py --model cgan --seed 0 --averages 32,16,9,6,3 --data_dir ../shared/data/mnist
    python benchmarks/ema_sweep.py --model cgan --epochs 13 --lr_schedule linear --averages 32,16,9 ...  # best recipe

Trains once as scripts/train.py would with default flags but --epochs and --lr_schedule (the same trajectory, so
the run's own generator_ema.ckpt is among the results), and after every step updates, in numpy, one average of
G's weights (BatchNorm statistics included) per entry of --averages: an integer P averages with decay
(1 + n)/(1 + n + P) after n updates (P = 9 is ms_gan's warm-up, which sets the decay for the first 8,990 updates),
weighting step k of n about as (k/n)**(P-1), centred n/(P+1) steps back. Each average is saved beside the run's
last checkpoint (average_P.ckpt) and scored by scripts/evaluate.py, with the raw G and the run's own average;
prints a markdown table.
"""

import argparse
import json
import os
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.join(ROOT, "..", "shared", "data", "mnist")


class Averages:
    """One running average of G's parameters per P, updated from the weights after each step."""

    def __init__(self, powers):
        self.powers, self.names, self.values = powers, None, {}

    def update(self, step: int, generator) -> None:
        """The first call (step 0, before training) starts every average at G's initial weights, as
        GeneratorEMA does; each later one is update number STEP."""
        import numpy as np

        params = list(generator.get_parameters())
        weights = [p.asnumpy() for p in params]
        if self.names is None:
            self.names = [p.name for p in params]
            self.values = {power: [w.copy() for w in weights] for power in self.powers}
            return
        n = step - 1  # updates before this one
        for power, averages in self.values.items():
            decay = np.float32((1.0 + n) / (1.0 + n + power))
            for average, weight in zip(averages, weights):
                average *= decay
                average += (np.float32(1) - decay) * weight

    def save(self, folder: str) -> dict:
        """{P: the .ckpt in FOLDER holding that average, named as the generator's own checkpoint}."""
        import mindspore as ms

        paths = {}
        for power, averages in self.values.items():
            paths[power] = os.path.join(folder, f"average_{power}.ckpt")
            ms.save_checkpoint([{"name": n, "data": ms.Tensor(a)} for n, a in zip(self.names, averages)], paths[power])
        return paths


def main():
    from ms_gan.config import LR_SCHEDULES, TrainConfig  # no MindSpore import behind it

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="cgan", choices=("dcgan", "cgan"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--lr_schedule", default="constant", choices=LR_SCHEDULES)
    p.add_argument("--lr_d", type=float, default=None, help="D's learning rate (default: the model's, as train.py)")
    p.add_argument("--averages", default="32,16,9,6,3", help="comma-separated powers P (see above)")
    p.add_argument("--data_dir", default=DEFAULT_DATA)
    p.add_argument("--output_dir", default=os.path.join(tempfile.gettempdir(), "ms_gan_ema_sweep"))
    args = p.parse_args()
    try:
        powers = [int(part) for part in args.averages.split(",") if part.strip()]
    except ValueError:
        powers = []
    if not powers or min(powers) < 1:
        raise SystemExit(f"error: --averages takes positive integers like 32,16,9, got {args.averages!r}")

    from ms_gan.runtime import prepare_process

    prepare_process("CPU")  # as scripts/train.py does, before MindSpore is imported
    from parity import SCORES, _evaluate  # evaluate.py in a subprocess, and its columns, as the parity table

    from ms_gan.checkpoint import list_checkpoints, read_state
    from ms_gan.errors import UserError
    from ms_gan.trainer import train

    averages = Averages(powers)
    try:
        name = f"{args.model}-{args.epochs}ep-{args.lr_schedule}-seed{args.seed}"
        config = TrainConfig(
            model=args.model,
            seed=args.seed,
            epochs=args.epochs,
            lr_schedule=args.lr_schedule,
            lr_d=args.lr_d,
            data_dir=args.data_dir,
            output_dir=args.output_dir,
            run_name=name,
        ).settled()
        run_dir = train(config, after_step=averages.update)
    except UserError as e:
        raise SystemExit(f"error: {e}") from None
    last = list_checkpoints(run_dir)[-1]
    steps = read_state(last)["step"]
    candidates = {
        "none (the raw G)": os.path.join(last, "generator.ckpt"),
        "the run's own (--ema_decay 0.999)": os.path.join(last, "generator_ema.ckpt"),
    }
    candidates.update(
        {
            f"P = {power}, centred {round(steps / (power + 1))} steps back": path
            for power, path in averages.save(last).items()
        }
    )
    columns = [column for column in SCORES if column[0] != "IS"]
    rows = ["| average of G | " + " | ".join(c[0] for c in columns) + " |", "|---|" + "---|" * len(columns)]
    for name, ckpt in candidates.items():
        scores = _evaluate(["--ckpt", ckpt], ckpt[: -len(".ckpt")] + "_metrics.json", argparse.Namespace(num=10000))
        print(json.dumps({"average": name, "seed": args.seed, **scores}), flush=True)
        rows.append(
            f"| {name} | "
            + " | ".join(fmt.format(scores[key]) if key in scores else "" for _, key, fmt in columns)
            + " |"
        )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
