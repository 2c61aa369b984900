"""Name what happened in a training run: python scripts/diagnose.py RUN_DIR

Verdict: stable, mode collapse, convergence failure, D dominant or diverged, with the evidence (signals and
steps), and for a failure its cures as train.py flags, best first (train.py --cure RUN_DIR applies one);
written to RUN_DIR/samples/diagnosis.json beside what infer.py and evaluate.py write.
Sample diversity and coverage come from the run's newest generator and the MNIST classifier; with
--no_samples only the log is read.
"""

import argparse
import os

import _cli

from ms_gan.errors import UserError
from ms_gan.ranges import HUGE, count


def parse_args(argv=None):
    p = _cli.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir")
    p.add_argument("--no_samples", action="store_true", help="judge from the log alone")
    p.add_argument("--classifier", default="", help="default: the run's (the shipped one in ms_gan/assets)")
    p.add_argument("--num", type=count(100, HUGE).parse, default=2000, help="samples drawn for diversity and coverage")
    return p.parse_args(argv)


def main(args):
    from ms_gan.runtime import prepare_process

    prepare_process("CPU")  # before MindSpore is imported (reading the config looks its model up)
    from ms_gan.checkpoint import CONFIG_NAME, list_checkpoints
    from ms_gan.config import load_config
    from ms_gan.diagnose import diagnose, prescribe, prescription, record, report
    from ms_gan.fileio import write_json
    from ms_gan.runlog import LOG_NAME, read_log

    if not os.path.isdir(args.run_dir):
        raise UserError(f"{args.run_dir} is not a directory")
    config = load_config(os.path.join(args.run_dir, CONFIG_NAME))
    log_path = os.path.join(args.run_dir, LOG_NAME)
    if not os.path.isfile(log_path):
        raise UserError(f"no {LOG_NAME} in {args.run_dir}")
    metrics = real = None
    if not args.no_samples and list_checkpoints(args.run_dir):
        from ms_gan.checkpoint import resolve_generator, run_record
        from ms_gan.data import run_data_dir
        from ms_gan.metrics import Evaluator
        from ms_gan.models import load_generator
        from ms_gan.runtime import setup_context

        setup_context("CPU", "graph", config.seed)
        run = run_record(args.run_dir)
        evaluator = Evaluator.for_run(config, run_data_dir(config, run.data_fingerprint), args.num, args.classifier)
        net_g = load_generator(config, resolve_generator(args.run_dir)[0])
        metrics, real = evaluator.score_generator(net_g, config, shares=run.cluster_shares), evaluator.real_row
    verdict, evidence = diagnose(
        read_log(log_path), metrics, real, expected_classes=config.digit_classes, loss=config.loss
    )
    out_path = os.path.join(args.run_dir, "samples", "diagnosis.json")  # training's own diagnosis.json stays
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    write_json(out_path, record(verdict, evidence, config))
    print(report(verdict, evidence))
    cures = prescription(prescribe(verdict, config), args.run_dir)
    if cures:
        print(cures)


if __name__ == "__main__":
    _cli.run(main, parse_args())
