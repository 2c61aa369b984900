"""Score a generator's samples against real digits: python scripts/evaluate.py --ckpt RUN_DIR

FD (Frechet distance in an MNIST classifier's feature space), Inception Score with that classifier,
precision/recall (k-NN manifolds), class coverage and, for conditional models, the share of samples read as
the requested digit; next to the same numbers for held-out real digits. Writes RUN_DIR/samples/metrics.json
(metrics_truncationT.json with --truncation T, metrics_keepF.json with --keep F). A samples.npz from
scripts/infer.py can be scored instead with --samples.
"""

import argparse
import os

import _cli

from ms_gan.errors import UserError, one_line
from ms_gan.ranges import HUGE, SEED, Range, count, share


def parse_args(argv=None):
    p = _cli.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--ckpt", help="a run directory, checkpoint folder or generator .ckpt")
    source.add_argument("--samples", help="a samples.npz written by scripts/infer.py")
    p.add_argument("--data_dir", default="", help="MNIST_Data folder for the real reference (default: the run's)")
    p.add_argument(
        "--classifier",
        default="",
        help="evaluation classifier .ckpt (default: the run's, normally "
        "the shipped one in ms_gan/assets; see scripts/train_classifier.py)",
    )
    p.add_argument("--no_ema", action="store_true", help="score the raw generator of a run trained with --ema_decay")
    p.add_argument("--num", type=count(100, HUGE).parse, default=10000, help="samples to draw (--ckpt)")
    p.add_argument(
        "--truncation",
        type=Range(float, 0.0, 100.0).parse,
        default=0.0,
        metavar="T",
        help="--ckpt: redraw every latent component farther than T from 0 (the truncation trick: "
        "higher precision, lower recall); 0, the default, draws as training did",
    )
    p.add_argument(
        "--keep",
        type=share(low_open=True).parse,
        default=1.0,
        metavar="F",
        help="--ckpt: draw --num / F samples and score --num of them, picked with the odds of being real "
        "the run's discriminator gives each (discriminator rejection sampling; needs the checkpoint "
        "folder's discriminator.ckpt); 1, the default, keeps every sample",
    )
    p.add_argument("--seed", type=SEED.parse, default=0)
    p.add_argument(
        "--output",
        default="",
        help="where to write the metrics JSON (default: "
        "RUN_DIR/samples/metrics.json, metrics_truncationT.json with --truncation T, "
        "metrics_keepF.json with --keep F, or metrics.json beside --samples)",
    )
    return p.parse_args(argv)


def main(args):
    from ms_gan.runtime import prepare_process

    if args.truncation and args.samples:
        raise UserError("--truncation applies to --ckpt, where samples are drawn")
    if args.keep < 1 and args.samples:
        raise UserError("--keep applies to --ckpt, where samples are drawn")
    images = labels = config = None
    if args.samples:  # read and check the file before anything slow
        images, labels = _read_samples(args.samples)
    prepare_process("CPU")
    from ms_gan.checkpoint import (
        discriminator_path,
        find_run_dir,
        resolve_generator,
        run_record,
    )
    from ms_gan.config import default_classifier
    from ms_gan.data import check_same_data, resolve_data_dir, run_data_dir
    from ms_gan.fileio import write_json
    from ms_gan.metrics import Evaluator, format_table
    from ms_gan.models import load_discriminator, load_generator
    from ms_gan.runtime import setup_context

    if args.ckpt:
        ckpt_path, config = resolve_generator(args.ckpt, ema=not args.no_ema)
        run = run_record(ckpt_path)
        if args.keep < 1:
            discriminator_path(ckpt_path)  # there is one, before anything is written
        out_name = (
            "_".join(
                ["metrics"]
                + ([f"truncation{args.truncation:g}"] if args.truncation else [])
                + ([f"keep{args.keep:g}"] if args.keep < 1 else [])
            )
            + ".json"
        )
        out_path = args.output or os.path.join(find_run_dir(ckpt_path), "samples", out_name)
    else:
        out_path = args.output or os.path.join(os.path.dirname(os.path.abspath(args.samples)), "metrics.json")
    check_output(out_path)  # before anything slow
    if args.data_dir:
        data_dir = resolve_data_dir(args.data_dir)
        if config:  # the samples are scored against the test split: it must be the very one the run recorded
            check_same_data(data_dir, run.data_fingerprint, "this run was evaluated against", splits=("test",))
    elif config:
        data_dir = run_data_dir(config, run.data_fingerprint)
    else:
        raise UserError("--data_dir is needed to score a samples.npz (the real digits to compare with)")
    setup_context("CPU", "graph", args.seed)
    if config:
        evaluator = Evaluator.for_run(config, data_dir, args.num, args.classifier)
    else:
        evaluator = Evaluator(args.classifier or default_classifier("mnist"), data_dir, None, args.num)
    print(
        f"classifier {evaluator.classifier_id} reads {evaluator.classifier_test_accuracy:.4f} "
        f"of the real test digits correctly"
    )

    if config:
        net_g = load_generator(config, ckpt_path)
        net_d = load_discriminator(config, ckpt_path) if args.keep < 1 else None
        drawn = "".join(
            [
                f", truncation {args.truncation:g}" if args.truncation else "",
                f", D picks {args.keep:g}" if args.keep < 1 else "",
            ]
        )
        name = f"{config.model} ({os.path.relpath(ckpt_path)}){drawn}"
        scores = evaluator.score_generator(
            net_g, config, args.seed, args.truncation, net_d, args.keep, shares=run.cluster_shares
        )
    else:
        name, scores = os.path.relpath(args.samples), evaluator.score_images(images, labels)
    rows = {name: scores, "real digits (held-out train vs test)": evaluator.real_row}
    print(format_table(rows))
    print(
        "class histogram (share per digit 0-9): "
        + " ".join(f"{c / scores['num_samples']:.3f}" for c in scores["class_histogram"])
    )
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    write_json(
        out_path,
        {
            "samples": scores,
            "real": evaluator.real_row,
            "classifier": evaluator.classifier_id,
            "classifier_test_accuracy": evaluator.classifier_test_accuracy,
            "seed": args.seed,
            "truncation": args.truncation,
            "keep": args.keep,
        },
    )
    print(f"wrote {out_path}")


MIN_SAMPLES = 100  # what FD's covariances, the IS's 10 splits and the k-NN manifolds need to mean anything


def check_output(path: str) -> None:
    """PATH may receive the metrics: not a folder, not a file evaluate.py did not write (it is never replaced), and
    in a place that can be written. A one-line UserError otherwise."""
    import json

    if os.path.isdir(path):
        raise UserError(
            f"--output {path} is a folder; name the metrics file, e.g. {os.path.join(path, 'metrics.json')}"
        )
    if os.path.exists(path):
        try:
            with open(path) as f:
                ours = {"samples", "real", "classifier"} <= set(json.load(f))
        except (OSError, ValueError, TypeError):
            ours = False
        if not ours:
            raise UserError(
                f"{path} exists and was not written by evaluate.py; it is left as it is (name another --output)"
            )
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UserError(f"cannot write {path}: {folder} is not a writable folder")


def _read_samples(path: str):
    """(uint8 images [N, 28, 28], labels [N] or None) from a samples.npz, checked as a whole; a one-line UserError
    names the first thing wrong."""
    import zipfile

    import numpy as np

    if not os.path.isfile(path):
        raise UserError(f"--samples {path} does not exist" + (" (it is a folder)" if os.path.isdir(path) else ""))
    try:
        with np.load(path, allow_pickle=False) as saved:
            if "images" not in saved:
                raise UserError(f"{path} has no 'images' array (it holds {', '.join(saved.files) or 'nothing'})")
            images, labels = saved["images"], saved["labels"] if "labels" in saved else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise UserError(f"{path} is not a samples.npz written by infer.py ({one_line(e, 120)})") from None
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise UserError(
            f"{path}: images must be uint8 [N, 28, 28] (infer.py's), got {images.dtype} {list(images.shape)}"
        )
    if len(images) < MIN_SAMPLES:
        raise UserError(f"{path} holds {len(images)} images; the metrics need at least {MIN_SAMPLES}")
    if labels is not None:
        if labels.ndim != 1 or len(labels) != len(images):
            raise UserError(f"{path}: labels must be one per image ([{len(images)}]), got {list(labels.shape)}")
        if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() > 9:
            raise UserError(
                f"{path}: labels must be the digits 0-9 the images were drawn as, got {labels.dtype} "
                f"values {labels.min()}..{labels.max()}"
            )
    return images, labels


if __name__ == "__main__":
    _cli.run(main, parse_args())
