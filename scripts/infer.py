"""Draw digits from a trained generator: python scripts/infer.py --ckpt RUN_DIR_OR_CKPT [--num 64] [--label 7]

Writes samples-NNN.png (a grid) and samples-NNN.npz (the images) into RUN_DIR/samples, NNN numbering the calls so
that no call replaces another's. Latent-space views: --interpolate 10 adds interpolation-NNN.png (a walk between
two latent points; for cgan one row per digit), --style_grid 10 adds style_grid-NNN.png (cgan: the same z down
each column, one row per digit).
"""

import os

import _cli

from ms_gan.config import DEVICES
from ms_gan.errors import UserError
from ms_gan.ranges import SEED, Range, count, share


def parse_args(argv=None):
    p = _cli.Parser(description=__doc__)
    p.add_argument("--ckpt", required=True, help="a run directory (newest generator) or a generator .ckpt in one")
    p.add_argument("--num", type=count(1, 100_000).parse, default=64, help="how many images")
    p.add_argument(
        "--label",
        type=count(0, 254).parse,
        default=None,
        help="conditional models: draw only this digit (0-9), or with --clusters this cluster",
    )
    p.add_argument("--seed", type=SEED.parse, default=0, help="same seed, same images")
    p.add_argument(
        "--truncation",
        type=Range(float, 0.0, 100.0).parse,
        default=0.0,
        metavar="T",
        help="redraw every latent component farther than T from 0 (the truncation trick: more typical, "
        "less varied digits; about 1.5 is mild); 0, the default, draws as training did",
    )
    p.add_argument(
        "--keep",
        type=share(low_open=True).parse,
        default=1.0,
        metavar="F",
        help="draw --num / F images and keep --num of them, picked with the odds of being real the "
        "run's discriminator gives each (discriminator rejection sampling; needs the checkpoint "
        "folder's discriminator.ckpt); 1, the default, keeps every image",
    )
    p.add_argument("--output_dir", default="", help="default: RUN_DIR/samples")
    p.add_argument(
        "--ncol",
        type=count(0, 1000).parse,
        default=0,
        help="grid columns (default: about square; cgan: one row per digit)",
    )
    p.add_argument(
        "--interpolate",
        type=count(0, 1000).parse,
        default=0,
        metavar="STEPS",
        help="also write interpolation-NNN.png: STEPS images between two latent points drawn from --seed",
    )
    p.add_argument(
        "--style_grid",
        type=count(0, 1000).parse,
        default=0,
        metavar="STYLES",
        help="conditional models: also write style_grid-NNN.png, digits 0-9 x STYLES latent codes",
    )
    p.add_argument(
        "--no_ema",
        action="store_true",
        help="runs trained with --ema_decay: use the raw generator, not its moving average",
    )
    p.add_argument("--device_target", default="CPU", choices=DEVICES)
    return p.parse_args(argv)


def main(args):
    from ms_gan.runtime import prepare_process

    if args.interpolate == 1:
        raise UserError("--interpolate takes 2 or more steps (0: off)")
    prepare_process(args.device_target)
    import numpy as np

    from ms_gan.api import load_generator
    from ms_gan.checkpoint import discriminator_path, find_run_dir, resolve_generator
    from ms_gan.fileio import remove_quietly, save_npz
    from ms_gan.models import load_discriminator
    from ms_gan.sampling import (
        candidate_labels,
        draw_discriminator_picked,
        generate,
        interpolation_inputs,
        latent_codes,
        row_names,
        style_grid_inputs,
    )
    from ms_gan.visualize import save_grid, to_uint8

    ckpt_path, config = resolve_generator(args.ckpt, ema=not args.no_ema)
    if args.keep < 1:
        discriminator_path(ckpt_path)  # there is one, before anything is written
    if args.style_grid and not config.conditional:
        raise UserError(f"--style_grid needs a conditional model; this checkpoint is a {config.model!r} generator")
    if args.label is not None:
        if not config.conditional:
            raise UserError(f"--label needs a conditional model; this checkpoint is a {config.model!r} generator")
        if not 0 <= args.label < config.num_classes:
            raise UserError(f"--label must be in 0-{config.num_classes - 1}, got {args.label}")
    run_dir = find_run_dir(ckpt_path)
    output_dir = args.output_dir or os.path.join(run_dir, "samples")
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create --output_dir {output_dir}: {e.strerror}") from None
    if not os.access(output_dir, os.W_OK):
        raise UserError(f"--output_dir {output_dir} is not writable")

    generator = load_generator(args.ckpt, args.device_target, ema=not args.no_ema)  # resolves as above
    net_g = generator.net
    if args.keep < 1:
        labels = generator.labels_for(args.num, args.label)
        net_d = load_discriminator(config, ckpt_path)
        rng = np.random.default_rng(args.seed)
        candidates = candidate_labels(labels, args.keep)
        z = latent_codes(rng, len(candidates), config.latent_dim, args.truncation)
        images, labels = draw_discriminator_picked(net_g, net_d, z, candidates, labels, rng)
        images = to_uint8(images)
    else:  # one row per digit by default: --num split as evenly as it goes (64 -> rows of 7, 7, 7, 7, 6, ..., 6)
        images, labels = generator.sample_with_labels(args.num, args.label, args.seed, args.truncation)

    arrays = {"images": images}
    if config.conditional:  # cluster ids are not digits: evaluate.py scores "labels" as the digits asked for
        arrays["labels" if config.labelled else "clusters"] = labels
    grid, ncol, row_labels = images, args.ncol or max(1, int(round(args.num**0.5))), None
    if config.conditional and args.label is None and not args.ncol:
        grid, ncol = _rows_by_label(images, labels, config.num_classes)
        row_labels = row_names(config, range(config.num_classes))
    source = os.path.basename(os.path.dirname(ckpt_path))
    asked = "digit" if config.labelled else "cluster"
    title = f"{config.model}: {source}" + (f", {asked} {args.label}" if args.label is not None else "")
    pictures = {"samples": (grid, ncol, title, row_labels)}  # every image drawn before any file is written
    if args.interpolate:
        z, labels, rows = interpolation_inputs(config, args.interpolate, args.seed, args.label)
        pictures["interpolation"] = (
            generate(net_g, z, labels),
            args.interpolate,
            f"{config.model}: {source}, latent interpolation",
            row_names(config, sorted(set(labels.tolist()))) if config.conditional else None,
        )
    if args.style_grid:
        z, labels = style_grid_inputs(config, args.style_grid, args.seed)
        pictures["style_grid"] = (
            generate(net_g, z, labels),
            args.style_grid,
            f"{config.model}: {source}, one z per column",
            row_names(config, range(config.num_classes)),
        )

    number = _claim_number(output_dir)
    written = [f"samples-{number:03d}.npz"]
    try:
        save_npz(os.path.join(output_dir, written[0]), **arrays)
        for kind, (picture, columns, heading, rows) in pictures.items():
            written.append(f"{kind}-{number:03d}.png")
            save_grid(picture, os.path.join(output_dir, written[-1]), ncol=columns, title=heading, row_labels=rows)
    except BaseException:  # this call's files go, whole or not at all; other calls' files are never touched
        for name in written:
            remove_quietly(os.path.join(output_dir, name))
        raise
    print(f"wrote {args.num} images from {ckpt_path} to {output_dir}: {', '.join(written)}")


def _claim_number(output_dir: str) -> int:
    """The first NNN that no samples-NNN.* in OUTPUT_DIR has, claimed at once (samples-NNN.npz created empty,
    exclusively, then written whole), so two calls at the same moment cannot take the same number."""
    number = 1 + max(
        [int(name[8:11]) for name in os.listdir(output_dir) if name.startswith("samples-") and name[8:11].isdigit()],
        default=0,
    )
    while True:
        try:
            os.close(os.open(os.path.join(output_dir, f"samples-{number:03d}.npz"), os.O_CREAT | os.O_EXCL))
            return number
        except FileExistsError:
            number += 1


def _rows_by_label(images, labels, num_classes: int):
    """One grid row per label, as wide as the longest, short rows padded with blank cells: (grid, ncol)."""
    import numpy as np

    ncol = max(1, int(np.bincount(labels, minlength=num_classes).max()))
    grid = np.zeros((num_classes * ncol, 28, 28), dtype=np.uint8)
    for label in range(num_classes):
        row = images[labels == label]
        grid[label * ncol : label * ncol + len(row)] = row
    return grid, ncol


if __name__ == "__main__":
    _cli.run(main, parse_args())
