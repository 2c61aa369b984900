"""How the library speaks: every module logs to `logging.getLogger(__name__)` under "ms_gan"; the scripts and the
Python API attach one handler that prints each message as it is, and data-parallel workers other than rank 0 keep
quiet (their records carry `extra=EVERY_RANK` when each must speak, as a parameter checksum does)."""

import logging
import sys

EVERY_RANK = {"every_rank": True}


class _Rank0(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "every_rank", False)


_QUIET = _Rank0()


def show(stream=None) -> None:
    """Print ms_gan's messages (INFO and up), bare, to STREAM (default stdout); once, whoever asks first."""
    root = logging.getLogger("ms_gan")
    if not root.handlers:
        handler = logging.StreamHandler(stream or sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False


def only_rank_0(lead: bool) -> None:
    """On a data-parallel worker that is not rank 0 (LEAD False), drop every message not marked EVERY_RANK."""
    root = logging.getLogger("ms_gan")
    if lead:
        root.removeFilter(_QUIET)
    else:
        root.addFilter(_QUIET)
