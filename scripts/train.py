"""Train a GAN on MNIST: python scripts/train.py [--model dcgan] [--device_target CPU] ...

Continue a stopped or killed run with --resume RUN_DIR (its saved settings are used; --epochs, the learning
rates, the device and mode, workers, checkpoint and evaluation settings may be changed, and --data_dir may
point at another copy of the same data).

Cure a failed run with --cure RUN_DIR: a new run, RUN_DIR-cureK beside it, with RUN_DIR's settings and the K-th
cure (--cure_number, default 1) its diagnosis prescribes (scripts/diagnose.py lists them); other flags given
apply on top.
"""

import argparse
import dataclasses
import sys

import _cli

from ms_gan.config import TrainConfig, choices_of, described_choices
from ms_gan.ranges import count

TYPES = {str: str, int: int, float: float}


def parse_args(argv=None):
    """One flag per TrainConfig field (its option() metadata gives help, choices and group), plus --resume.
    Every flag defaults to None = not given, so --resume can tell what the user changed."""
    p = _cli.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, argument_default=None)
    groups = {}
    for f in dataclasses.fields(TrainConfig):
        meta = f.metadata
        if not meta["flag"]:
            continue
        target = groups.setdefault(meta["group"], p.add_argument_group(meta["group"])) if meta["group"] else p
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        unset = default is False or default in ("", [])
        shown = "" if unset or "(default" in meta["help"] else f" (default {default})"
        listed = described_choices(f)
        kwargs = {"help": meta["help"] + (f" ({listed})" if listed else "") + shown}
        if f.type is bool:
            kwargs.update(action="store_true", default=None)
        else:
            parse = meta["allowed"].parse if meta["allowed"] else _digits if f.type is list else TYPES[f.type]
            kwargs.update(type=parse, choices=choices_of(f) or None)
        target.add_argument("--" + f.name, **kwargs)
    p.add_argument("--resume", help="continue this run directory from its newest complete checkpoint")
    p.add_argument("--cure", help="start a new run with this run's settings and a cure for what its diagnosis found")
    p.add_argument(
        "--cure_number",
        type=count(1, 100).parse,
        default=1,
        help="which of the prescribed cures --cure applies (default 1, the best measured)",
    )
    return p.parse_args(argv)


def _digits(text: str) -> list:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected digits like 8 or 3,5,8, got {text!r}") from None


def build_config(args):
    """(the config to train with: defaults + flags, or for --resume the saved config + the changeable flags; and
    for --cure, the run cured, its verdict and the cure's flags, else "")."""
    import os

    from ms_gan.checkpoint import CONFIG_NAME, run_to_resume
    from ms_gan.config import load_config
    from ms_gan.errors import UserError

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    given = {k: v for k, v in vars(args).items() if v is not None and k in fields}
    if given.get("classifier") and not os.path.isfile(given["classifier"]):
        raise UserError(
            f"--classifier {given['classifier']} is not a file (a classifier .ckpt from scripts/train_classifier.py)"
        )
    if args.cure:
        if args.resume:
            raise UserError("--cure starts a new run from a diagnosed one; it cannot be combined with --resume")
        return cured_config(args.cure, args.cure_number, given)
    if not args.resume:
        return TrainConfig(**given).settled(), ""
    args.resume = run_to_resume(args.resume)
    config = load_config(os.path.join(args.resume, CONFIG_NAME))
    resumable = [f.name for f in dataclasses.fields(TrainConfig) if f.metadata["resumable"]]
    fixed = sorted(k for k in given if k not in resumable and given[k] != getattr(config, k, None))
    if fixed:
        raise UserError(
            f"--resume keeps the run's settings; {', '.join('--' + k for k in fixed)} cannot change "
            f"(changeable: {', '.join('--' + k for k in resumable)})"
        )
    config.distribute = False  # how this process runs, not a property of the run: only a flag turns it on
    return dataclasses.replace(config, **{k: given[k] for k in given if k in resumable}).settled(), ""


def cured_config(run_dir: str, number: int, given: dict):
    """RUN_DIR's config with the NUMBER-th cure of its newest diagnosis (training's diagnosis.json or
    diagnose.py's samples/diagnosis.json, whichever was written last), as a new run beside it; GIVEN flags win."""
    import json
    import os

    from ms_gan.checkpoint import CONFIG_NAME, find_run_dir
    from ms_gan.config import load_config
    from ms_gan.diagnose import newest_diagnosis, prescribe
    from ms_gan.errors import UserError

    if not os.path.isdir(run_dir):
        raise UserError(f"--cure {run_dir} is not a directory")
    run_dir = find_run_dir(run_dir)
    config = load_config(os.path.join(run_dir, CONFIG_NAME))
    path = newest_diagnosis(run_dir)
    if path is None:
        raise UserError(f"{run_dir} has no diagnosis yet: run python scripts/diagnose.py {run_dir} first")
    try:
        with open(path) as f:
            verdict = json.load(f)["verdict"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"cannot read the verdict in {path}: {e}") from None
    cures = prescribe(verdict, config)
    if not cures:
        raise UserError(f"{run_dir} was diagnosed {verdict!r}: there is nothing to cure")
    if not 1 <= number <= len(cures):
        raise UserError(
            f"--cure_number {number}: the diagnosis of {run_dir} ({verdict}) prescribes cures 1-{len(cures)}"
        )
    cure = cures[number - 1]
    changes = {
        "run_name": f"{os.path.basename(run_dir)}-cure{number}",
        "output_dir": os.path.dirname(run_dir),
        "distribute": False,
        **cure.changes,
    }
    config = dataclasses.replace(config, **{**changes, **given}).settled()
    print(
        f"curing {run_dir} ({verdict}) with {cure.flags}: a new run in "
        f"{os.path.join(config.output_dir, config.run_name)}",
        flush=True,
    )
    return config, f"{run_dir} ({verdict}): {cure.flags}"


def device_named(argv) -> str:
    """The device ARGV asks for (--device_target, else a --resume run's own), read before the flags are parsed:
    parsing lists the registered models, which imports MindSpore, and the process must be prepared first."""
    import json
    import os

    values = {}
    for i, arg in enumerate(argv):
        for flag in ("--device_target", "--resume"):
            if arg == flag and i + 1 < len(argv):
                values[flag] = argv[i + 1]
            elif arg.startswith(flag + "="):
                values[flag] = arg.split("=", 1)[1]
    if "--device_target" in values:
        return values["--device_target"]
    try:
        with open(os.path.join(values.get("--resume", ""), "config.json")) as f:
            return str(json.load(f).get("device_target", "CPU"))
    except (OSError, ValueError, AttributeError):
        return "CPU"


def main(args):
    from ms_gan.trainer import Interrupted, StoppedOnFailure, TrainingDiverged, train

    config, cured_from = build_config(args)
    try:
        train(config, resume_dir=args.resume or "", cured_from=cured_from)
    except TrainingDiverged as e:
        sys.exit(f"error: training diverged: {e}")
    except StoppedOnFailure as e:
        sys.exit(f"error: stopped on failure (--stop_on_failure): {e}")
    except Interrupted as e:
        print(str(e), file=sys.stderr)
        sys.exit(128 + e.signum)


if __name__ == "__main__":
    from ms_gan.runtime import prepare_process

    prepare_process(device_named(sys.argv[1:]))  # before MindSpore is imported
    _cli.run(main, parse_args())
