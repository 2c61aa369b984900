"""Read a generator's digits with an MNIST classifier: python scripts/evaluate.py --ckpt RUN_DIR --data_dir DIR

Prints the class histogram and how many digits are covered and, for conditional models, the share of
samples read as the digit they were asked for; writes RUN_DIR/metrics.json.
"""

import argparse
import json
import os

import _cli
from ms_gan.errors import UserError


def parse_args(argv=None):
    p = _cli.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", required=True, help="a run directory or a generator .ckpt in one")
    p.add_argument("--data_dir", default="", help="MNIST_Data folder: trains the classifier if it is not cached")
    p.add_argument("--classifier", default=os.path.join("data", "mnist_classifier.ckpt"))
    p.add_argument("--num", type=int, default=10000, help="samples to draw")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(args):
    from ms_gan.runtime import prepare_process

    if args.num <= 0:
        raise UserError(f"--num must be positive, got {args.num}")
    prepare_process("CPU")
    import numpy as np

    from ms_gan.checkpoint import find_run_dir, load_into, resolve_generator
    from ms_gan.classifier import load_or_train_classifier, predict
    from ms_gan.data import read_split
    from ms_gan.models import build_generator
    from ms_gan.runtime import setup_context
    from ms_gan.sampling import generate
    from ms_gan.visualize import to_uint8

    ckpt_path, config = resolve_generator(args.ckpt)
    setup_context("CPU", "graph", args.seed)
    classifier = load_or_train_classifier(args.classifier, args.data_dir)
    net_g = build_generator(config)
    load_into(net_g, ckpt_path, what=f"{config.model} generator")

    rng = np.random.default_rng(args.seed)
    z = rng.standard_normal((args.num, config.latent_dim), dtype=np.float32)
    labels = (np.arange(args.num) % config.num_classes).astype(np.int32)
    predicted = predict(classifier, to_uint8(generate(net_g, z, labels)))
    histogram = np.bincount(predicted, minlength=10)
    metrics = {"checkpoint": ckpt_path, "model": config.model, "num_samples": args.num,
               "class_histogram": histogram.tolist(), "digits_covered": int((histogram >= 0.01 * args.num).sum())}
    print(f"{args.num} samples from {ckpt_path}")
    print("class histogram (digit: share): " + "  ".join(f"{d}: {c / args.num:.3f}" for d, c in enumerate(histogram)))
    print(f"digits covered (>=1% of samples): {metrics['digits_covered']}/10")
    if config.conditional:
        hit = predicted == labels
        metrics["label_accuracy"] = float(hit.mean())
        metrics["label_accuracy_per_digit"] = [float(hit[labels == d].mean()) for d in range(config.num_classes)]
        print(f"read as the requested digit: {metrics['label_accuracy']:.4f}  (per digit: "
              + " ".join(f"{a:.2f}" for a in metrics["label_accuracy_per_digit"]) + ")")
    if args.data_dir:
        test_x, test_y = read_split(args.data_dir, "test")
        metrics["classifier_test_accuracy"] = float((predict(classifier, test_x) == test_y).mean())
        print(f"reference: the classifier reads {metrics['classifier_test_accuracy']:.4f} of real test digits correctly")
    run_dir = find_run_dir(ckpt_path)
    path = os.path.join(run_dir, "metrics.json")
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(metrics, f, indent=2)
    os.replace(tmp, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    _cli.run(main, parse_args())
