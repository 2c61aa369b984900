"""Train an evaluation classifier: python scripts/train_classifier.py --dataset mnist --data_dir DIR

The metrics (FD, IS, precision/recall, coverage, label accuracy) are computed in the feature space of a
small classifier. ms_gan ships one per dataset in ms_gan/assets/, made by this script, so every machine
scores the same samples the same way. Run it only to make a new one: by default it writes to --output
(not over the shipped file), and prints the test accuracy and the SHA-256 that metrics files record.
--install replaces the shipped classifier and its entry in ms_gan/assets/classifiers.json.
"""

import argparse
import os

import _cli

from ms_gan.ranges import SEED, count


def parse_args(argv=None):
    from ms_gan.config import DATASET_NAMES

    p = _cli.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=DATASET_NAMES, default="mnist")
    p.add_argument("--data_dir", default="", help="the dataset's folder (default: as scripts/train.py finds it)")
    p.add_argument("--epochs", type=count(1, 1000).parse, default=8)
    p.add_argument("--seed", type=SEED.parse, default=0)
    p.add_argument("--output", default="", help="where to write the .ckpt (default: DATASET_classifier.ckpt here)")
    p.add_argument("--install", action="store_true", help="replace the shipped classifier in ms_gan/assets/")
    return p.parse_args(argv)


def main(args):
    from ms_gan.runtime import prepare_process

    prepare_process("CPU")
    from ms_gan.classifier import install_classifier, shipped_path, train_classifier
    from ms_gan.data import resolve_data_dir
    from ms_gan.fileio import sha256
    from ms_gan.runtime import setup_context

    data_dir = resolve_data_dir(args.data_dir, "", args.dataset)
    output = shipped_path(args.dataset) if args.install else (args.output or f"{args.dataset}_classifier.ckpt")
    setup_context("CPU", "graph", args.seed)
    _, accuracy, n_train = train_classifier(data_dir, output, epochs=args.epochs, seed=args.seed)
    digest = sha256(output)
    if args.install:
        install_classifier(
            args.dataset,
            {
                "file": os.path.basename(output),
                "sha256": digest,
                "test_accuracy": round(accuracy, 4),
                "train_images": n_train,
                "epochs": args.epochs,
                "seed": args.seed,
                "command": f"python scripts/train_classifier.py --dataset {args.dataset} --epochs {args.epochs} "
                f"--seed {args.seed} --install --data_dir <{args.dataset} folder>",
            },
        )
    print(f"wrote {output}: test accuracy {accuracy:.4f}, sha256 {digest[:16]}")


if __name__ == "__main__":
    _cli.run(main, parse_args())
