"""Train a GAN on MNIST: python scripts/train.py [--model dcgan] [--device_target CPU] ...

Continue a stopped or killed run with --resume RUN_DIR (its saved settings are used; --epochs, the learning
rates, the device and mode, workers, checkpoint and evaluation settings may be changed, and --data_dir may
point at another copy of the same data).
"""

import argparse
import dataclasses
import sys

import _cli
from ms_gan.config import (AMP_LEVELS, CONV_IMPLS, DATASET_NAMES, DEVICES, LOSS_NAMES, LR_SCHEDULES, MODELS, MODES,
                           TrainConfig)

RESUMABLE = ("data_dir", "epochs", "lr", "lr_d", "device_target", "mode", "conv_impl", "amp_level", "num_workers", "save_every", "keep_last",
             "eval_every", "eval_samples", "classifier", "distribute")


def parse_args(argv=None):
    d = TrainConfig()
    p = _cli.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                    argument_default=None)  # None = not given, so --resume can tell what the user changed
    p.add_argument("--model", choices=MODELS, help=f"fc: tutorial MLP GAN; fc_improved: its LayerNorm + LeakyReLU "
                   f"generator; dcgan: conv GAN; cgan: conditional conv GAN that draws the digit you ask for "
                   f"(default {d.model})")
    p.add_argument("--dataset", choices=DATASET_NAMES, help="mnist (default) or fashion_mnist: the default data "
                   "folder, download source and evaluation classifier")
    p.add_argument("--data_dir", help="folder with train/ and test/ (MindSpore's MNIST_Data layout) or the four IDX "
                   "files side by side, raw or .gz (default: ~/.cache/ms_gan/data/MNIST_Data or FashionMNIST_Data, "
                   "downloaded when absent)")
    p.add_argument("--data_url", help="where to download from when --data_dir is not given (MNIST: a zip; "
                   "Fashion-MNIST: the folder URL of the four .gz files)")
    p.add_argument("--epochs", type=int, help=f"default {d.epochs}")
    p.add_argument("--batch_size", type=int, help=f"default {d.batch_size}")
    p.add_argument("--latent_dim", type=int, help=f"default {d.latent_dim}")
    p.add_argument("--lr", type=float, help=f"Adam learning rate for G, and D unless --lr_d (default {d.lr})")
    p.add_argument("--lr_d", type=float, help="Adam learning rate for D (default: --lr)")
    p.add_argument("--lr_schedule", choices=LR_SCHEDULES, help="constant (default); linear: flat for the first half "
                   "of the run, then down to 0 at the last step; cosine: half a cosine down to 0 (both nets; the run's "
                   "length is --epochs, so a resume with more epochs moves the curve)")
    p.add_argument("--beta1", type=float, help=f"Adam beta1 (default {d.beta1})")
    p.add_argument("--beta2", type=float, help=f"Adam beta2 (default {d.beta2})")
    p.add_argument("--ngf", type=int, help=f"generator width, conv models (default {d.ngf})")
    p.add_argument("--ndf", type=int, help=f"discriminator width, conv models (default {d.ndf})")
    p.add_argument("--seed", type=int, help=f"default {d.seed}")
    p.add_argument("--save_every", type=int, help=f"epochs between checkpoints (default {d.save_every})")
    p.add_argument("--keep_last", type=int, help="keep only the newest K checkpoints (default: all)")
    p.add_argument("--output_dir", help=f"runs go to OUTPUT_DIR/RUN_NAME (default {d.output_dir})")
    p.add_argument("--run_name", help="default: MODEL-DATE-TIME")
    p.add_argument("--device_target", choices=DEVICES, help=f"default {d.device_target}")
    p.add_argument("--mode", choices=MODES, help="graph: compiled step (default); pynative: eager")
    p.add_argument("--conv_impl", choices=CONV_IMPLS, help="convolutions: gemm = ms_gan's CPU kernels (compiled "
                   "on first use with g++), native = MindSpore's; default auto = gemm on CPU when they build")
    p.add_argument("--amp_level", choices=AMP_LEVELS, help="mixed precision on GPU/Ascend with dynamic loss scaling "
                   "(default O0 = float32; on CPU a notice, and float32)")
    p.add_argument("--num_workers", type=int, help=f"dataset worker threads (default {d.num_workers})")
    p.add_argument("--distribute", action="store_true", default=None, help="data-parallel training over the workers "
                   "msrun starts: msrun --worker_num=N --local_worker_num=N scripts/train.py --distribute ... "
                   "(--batch_size is the global batch, split evenly)")
    p.add_argument("--classes", type=_digits, help="train on these digits only, e.g. 8 or 3,5,8")
    p.add_argument("--eval_every", type=int, help="evaluate sample quality every K epochs (FD, IS, precision, "
                   "recall, coverage) and keep checkpoints/best by FD (default: never)")
    p.add_argument("--eval_samples", type=int, help=f"samples per evaluation (default {d.eval_samples})")
    p.add_argument("--classifier", help="evaluation classifier for the metrics (default: the dataset's shipped "
                   "one in ms_gan/assets; scripts/train_classifier.py makes another)")
    g = p.add_argument_group("losses and stabilisers")
    g.add_argument("--loss", choices=LOSS_NAMES, help="bce: non-saturating BCE (default); lsgan: least squares; "
                   "hinge; wgan-gp: Wasserstein critic with gradient penalty (D gets LayerNorm)")
    g.add_argument("--gp_weight", type=float, help=f"wgan-gp penalty weight lambda (default {d.gp_weight})")
    g.add_argument("--n_critic", type=int, help=f"D updates per G update (default {d.n_critic}; wgan-gp: try 5)")
    g.add_argument("--label_smoothing", type=float, help="D's target for real images, e.g. 0.9 (one-sided "
                   "label smoothing; bce and lsgan; default 1 = off)")
    g.add_argument("--ema_decay", type=float, help="keep an exponential moving average of G with this decay; "
                   "grids, evaluation and infer.py then use it (default: 0.999 for dcgan and cgan, 0 = off for fc)")
    g.add_argument("--spectral_norm", action="store_true", default=None,
                   help="spectral normalisation on every D layer (replaces D's BatchNorm)")
    g.add_argument("--clip_grad_norm", type=float, help="clip each net's gradients to this global L2 norm "
                   "(default 0 = off)")
    p.add_argument("--resume", help="continue this run directory from its newest complete checkpoint")
    return p.parse_args(argv)


def _digits(text: str) -> list:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected digits like 8 or 3,5,8, got {text!r}") from None


def build_config(args):
    """The config to train with: defaults + flags, or for --resume the saved config + the changeable flags."""
    from ms_gan.checkpoint import CONFIG_NAME, find_run_dir
    from ms_gan.config import load_config
    from ms_gan.errors import UserError

    given = {k: v for k, v in vars(args).items() if v is not None and k != "resume"}
    if not args.resume:
        fields = {f.name for f in dataclasses.fields(TrainConfig)}
        return TrainConfig(**{k: v for k, v in given.items() if k in fields}).validate()
    import os

    if not os.path.isdir(args.resume):
        raise UserError(f"--resume {args.resume} is not a directory")
    config = load_config(os.path.join(find_run_dir(args.resume), CONFIG_NAME))
    fixed = sorted(k for k in given if k not in RESUMABLE and given[k] != getattr(config, k, None))
    if fixed:
        raise UserError(f"--resume keeps the run's settings; {', '.join('--' + k for k in fixed)} cannot change "
                        f"(changeable: {', '.join('--' + k for k in RESUMABLE)})")
    config.distribute = False  # how this process runs, not a property of the run: only a flag turns it on
    return dataclasses.replace(config, **{k: given[k] for k in given if k in RESUMABLE}).validate()


def main(args):
    from ms_gan.runtime import prepare_process

    prepare_process(args.device_target or "CPU")  # before MindSpore is imported
    from ms_gan.trainer import Interrupted, TrainingDiverged, train

    config = build_config(args)
    try:
        train(config, resume_dir=args.resume or "")
    except TrainingDiverged as e:
        sys.exit(f"error: training diverged: {e}")
    except Interrupted as e:
        print(str(e), file=sys.stderr)
        sys.exit(128 + e.signum)


if __name__ == "__main__":
    _cli.run(main, parse_args())
