"""Train a GAN on MNIST: python scripts/train.py [--model dcgan] [--device_target CPU] ..."""

import argparse
import dataclasses
import sys

import _cli  # noqa: F401  (puts the checkout on sys.path)
from ms_gan.config import DEVICES, MODELS, MODES, TrainConfig


def parse_args(argv=None):
    d = TrainConfig()
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default=d.model, choices=MODELS, help="fc: tutorial MLP GAN; dcgan: conv GAN; "
                   "cgan: conditional conv GAN that draws the digit you ask for")
    p.add_argument("--data_dir", default=d.data_dir, help="MNIST_Data folder with train/ and test/ "
                   "(default: ./data/MNIST_Data, downloaded when absent)")
    p.add_argument("--data_url", default=d.data_url, help="zip to download when --data_dir is not given")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch_size", type=int, default=d.batch_size)
    p.add_argument("--latent_dim", type=int, default=d.latent_dim)
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate for G and D")
    p.add_argument("--beta1", type=float, default=d.beta1)
    p.add_argument("--ngf", type=int, default=d.ngf, help="generator width (conv models)")
    p.add_argument("--ndf", type=int, default=d.ndf, help="discriminator width (conv models)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--save_every", type=int, default=d.save_every, help="epochs between checkpoints")
    p.add_argument("--output_dir", default=d.output_dir, help="runs go to OUTPUT_DIR/RUN_NAME")
    p.add_argument("--run_name", default=d.run_name, help="default: MODEL-DATE-TIME")
    p.add_argument("--device_target", default=d.device_target, choices=DEVICES)
    p.add_argument("--mode", default=d.mode, choices=MODES, help="graph: compiled step (default)")
    p.add_argument("--num_workers", type=int, default=d.num_workers, help="dataset worker threads")
    return p.parse_args(argv)


def main(args):
    from ms_gan.runtime import prepare_process

    prepare_process(args.device_target)  # before MindSpore is imported
    from ms_gan.trainer import TrainingDiverged, train

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    try:
        train(config)
    except TrainingDiverged as e:
        sys.exit(f"error: training diverged: {e}")


if __name__ == "__main__":
    _cli.run(main, parse_args())
