"""Rebuild a run's page, or compare runs on one page: python scripts/report.py RUN [RUN ...]

With one run, rewrites RUN/index.html (training writes it after every epoch; this is for a run made
before pages existed, or after evaluate.py/diagnose.py). With several, also writes one page with the runs
side by side (--output, default compare.html in the current folder). The pages open from disk in any
browser; they fetch nothing.
"""

import argparse
import os

import _cli
from ms_gan.errors import UserError


def parse_args(argv=None):
    p = _cli.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="run directories written by scripts/train.py")
    p.add_argument("--output", default="compare.html", help="the comparison page, with several runs")
    return p.parse_args(argv)


def main(args):
    from ms_gan.report import write_comparison_page, write_run_page

    for run_dir in args.runs:
        if not os.path.isfile(os.path.join(run_dir, "config.json")):
            raise UserError(f"{run_dir} is not a run directory (no config.json)")
    for run_dir in args.runs:
        print(f"wrote {write_run_page(run_dir)}")
    if len(args.runs) > 1:
        folder = os.path.dirname(os.path.abspath(args.output))
        if not os.path.isdir(folder):
            raise UserError(f"--output {args.output}: the folder {folder} does not exist")
        print(f"wrote {write_comparison_page(args.runs, args.output)}")


if __name__ == "__main__":
    _cli.run(main, parse_args())
