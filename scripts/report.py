"""Rebuild a run's page, or compare runs on one page: python scripts/report.py RUN [RUN ...] [--output PAGE]

Without --output, rewrites each RUN/index.html (training writes it after every epoch; this is for a run made
before pages existed, or after evaluate.py/diagnose.py). With --output, writes that one page with the runs side
by side and leaves the runs' own pages as they are. Only pages ms_gan wrote are ever replaced. The pages open
from disk in any browser; they fetch nothing.
"""

import argparse
import os

import _cli

from ms_gan.errors import UserError


def parse_args(argv=None):
    p = _cli.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="run directories written by scripts/train.py")
    p.add_argument(
        "--output",
        default="",
        help="write one page comparing the runs to this file (e.g. "
        "compare.html); the runs' own pages are left as they are",
    )
    return p.parse_args(argv)


def main(args):
    from ms_gan.report import is_run_dir, write_comparison_page, write_run_page

    for run_dir in args.runs:
        if not is_run_dir(run_dir):
            raise UserError(f"{run_dir} is not a run directory (train.py writes config.json and log.csv into one)")
    if not args.output:
        for run_dir in args.runs:
            print(f"wrote {write_run_page(run_dir)}")
        return
    folder = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(folder):
        raise UserError(f"--output {args.output}: the folder {folder} does not exist")
    print(f"wrote {write_comparison_page(args.runs, args.output)}")


if __name__ == "__main__":
    _cli.run(main, parse_args())
