"""Score a generator's samples against real digits: python scripts/evaluate.py --ckpt RUN_DIR

FD (Frechet distance in an MNIST classifier's feature space), Inception Score with that classifier,
precision/recall (k-NN manifolds), class coverage and, for conditional models, the share of samples read as
the requested digit; next to the same numbers for held-out real digits. Writes RUN_DIR/metrics.json.
A samples.npz from scripts/infer.py can be scored instead with --samples.
"""

import argparse
import os

import _cli
from ms_gan.errors import UserError


def parse_args(argv=None):
    p = _cli.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--ckpt", help="a run directory, checkpoint folder or generator .ckpt")
    source.add_argument("--samples", help="a samples.npz written by scripts/infer.py")
    p.add_argument("--data_dir", default="", help="MNIST_Data folder for the real reference (default: the run's)")
    p.add_argument("--classifier", default="", help="cached classifier (default: the run's, or "
                   "data/mnist_classifier.ckpt for --samples); trained on --data_dir when absent")
    p.add_argument("--no_ema", action="store_true", help="score the raw generator of a run trained with --ema_decay")
    p.add_argument("--num", type=int, default=10000, help="samples to draw (--ckpt)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(args):
    from ms_gan.runtime import prepare_process

    if args.num <= 0:
        raise UserError(f"--num must be positive, got {args.num}")
    prepare_process("CPU")
    import numpy as np

    from ms_gan.checkpoint import find_run_dir, load_into, resolve_generator
    from ms_gan.classifier import load_or_train_classifier
    from ms_gan.data import resolve_data_dir
    from ms_gan.fileio import write_json
    from ms_gan.metrics import Evaluator, format_table
    from ms_gan.models import build_generator
    from ms_gan.runtime import setup_context

    config = None
    if args.ckpt:
        ckpt_path, config = resolve_generator(args.ckpt, ema=not args.no_ema)
    elif not os.path.isfile(args.samples):
        raise UserError(f"--samples {args.samples} does not exist")
    data_dir = args.data_dir or (config.data_dir if config else "")
    if not data_dir:
        raise UserError("--data_dir is needed to score a samples.npz (the real digits to compare with)")
    data_dir = resolve_data_dir(data_dir, "")
    setup_context("CPU", "graph", args.seed)
    from ms_gan.config import default_classifier

    classifier = load_or_train_classifier(args.classifier or (config.classifier_path if config else
                                                              default_classifier("mnist")), data_dir)
    classes = (config.classes or None) if config else None
    evaluator = Evaluator(classifier, data_dir, classes, args.num)
    print(f"classifier reads {evaluator.classifier_test_accuracy:.4f} of the real test digits correctly")

    if config:
        net_g = build_generator(config)
        load_into(net_g, ckpt_path, what=f"{config.model} generator")
        name, scores = f"{config.model} ({os.path.relpath(ckpt_path)})", evaluator.score_generator(net_g, config, args.seed)
        out_path = os.path.join(find_run_dir(ckpt_path), "metrics.json")
    else:
        try:
            with np.load(args.samples) as saved:
                images, labels = saved["images"], saved["labels"] if "labels" in saved else None
        except (OSError, ValueError, KeyError) as e:
            raise UserError(f"{args.samples} is not a samples.npz with an 'images' array ({e})") from None
        if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
            raise UserError(f"{args.samples}: images must be uint8 [N, 28, 28], got {images.dtype} {images.shape}")
        name, scores = os.path.relpath(args.samples), evaluator.score_images(images, labels)
        out_path = os.path.join(os.path.dirname(os.path.abspath(args.samples)), "metrics.json")
    rows = {name: scores, "real digits (held-out train vs test)": evaluator.real_row}
    print(format_table(rows))
    print("class histogram (share per digit 0-9): "
          + " ".join(f"{c / scores['num_samples']:.3f}" for c in scores["class_histogram"]))
    write_json(out_path, {"samples": scores, "real": evaluator.real_row,
                          "classifier_test_accuracy": evaluator.classifier_test_accuracy})
    print(f"wrote {out_path}")


if __name__ == "__main__":
    _cli.run(main, parse_args())
