"""One writer per run: an OS file lock on RUN/.lock, held for as long as a process trains in the run.

The lock is the kernel's (flock), so it dies with its process: a run whose trainer was SIGKILLed or lost its
machine is free again at once, and no stale lock file ever needs deleting. The file also holds the owner's pid
and command line, so a refusal can say who holds the run.
"""

import fcntl
import os
import sys
import time

from ms_gan.errors import UserError

LOCK_NAME = ".lock"


class RunLock:
    """Hold RUN_DIR's lock, or raise UserError naming the process that holds it. Release with release() (or
    by the process ending)."""

    def __init__(self, run_dir: str, hint: str):
        """HINT: what the user can do when RUN_DIR cannot be written (e.g. which flag writes elsewhere)."""
        self.path = os.path.join(run_dir, LOCK_NAME)
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise UserError(f"run {run_dir} is not writable ({e.strerror or e}); {hint}") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = os.pread(self.fd, 4096, 0).decode(errors="replace").strip() or "another process"
            os.close(self.fd)
            raise UserError(
                f"run {run_dir} is in use by {owner}; wait for it to end or stop it first "
                "(one process trains a run at a time)"
            ) from None
        os.ftruncate(self.fd, 0)
        os.pwrite(
            self.fd,
            f"process {os.getpid()} ({' '.join(sys.argv)[:200]}, since {time.strftime('%H:%M:%S')})\n".encode(),
            0,
        )

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)  # closing the last descriptor drops the lock
            self.fd = None
