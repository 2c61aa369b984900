"""What the scripts share: one-line errors and notes. (ms_gan itself is importable because requirements.txt
installs it, editable, from pyproject.toml.)"""

import argparse
import sys
import warnings

from ms_gan import log, stops

# first of all, before numpy or MindSpore start threads of their own (each inherits the blocked SIGTERM)
stops.watch()
log.show()  # the library's messages, as they are, on stdout


# ms_gan's warnings (e.g. kernels.KernelFallback) are notes to the user: one line each, not file:line + source
warnings.formatwarning = lambda message, category, *_: f"note: {message}\n"


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line (`error: ...`, exit 2) instead of usage plus message."""

    def error(self, message):
        self.exit(2, f"error: {message} (see --help)\n")


def run(main, args) -> None:
    """Call main(args); a UserError or Ctrl-C becomes one line on stderr and a non-zero exit."""
    from ms_gan.errors import UserError

    try:
        main(args)
    except UserError as e:
        sys.exit(f"error: {e}")
    except KeyboardInterrupt:
        sys.exit("interrupted by Ctrl-C")
    except OSError as e:  # a full disk, a folder made read-only under a running tool: what, where, not a traceback
        where = f" {e.filename}" if e.filename else ""
        sys.exit(
            f"error: cannot write or read{where}: {e.strerror or e} (temporary files were removed; files that "
            "were already complete are as they were)"
        )
