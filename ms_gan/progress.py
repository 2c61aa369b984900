"""A dependency-free progress display with ETA: a live bar on a terminal, periodic lines otherwise."""

import sys
import time


def format_seconds(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def plural(n: int, noun: str) -> str:
    """ "1 epoch", "3 epochs"."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


class Progress:
    def __init__(self, total_steps: int, steps_per_epoch: int, stream=None, line_every: float = 15.0):
        self.total, self.per_epoch = total_steps, steps_per_epoch
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.line_every = line_every
        self.start = self.last_line = time.perf_counter()
        self.done_at_start = 0

    def start_at(self, done: int) -> None:
        self.done_at_start = done
        self.start = time.perf_counter()

    def update(self, done: int, epoch: int, epochs: int, stats: dict) -> None:
        now = time.perf_counter()
        if not self.live and now - self.last_line < self.line_every and done != self.total:
            return
        self.last_line = now
        rate = (done - self.done_at_start) / max(now - self.start, 1e-9)
        eta = (self.total - done) / rate if rate > 0 else 0.0
        in_epoch = done - (epoch - 1) * self.per_epoch
        filled = int(20 * in_epoch / self.per_epoch)
        numbers = " ".join(f"{k} {v:.3f}" for k, v in stats.items())
        text = (
            f"epoch {epoch}/{epochs} [{'#' * filled}{'.' * (20 - filled)}] {in_epoch}/{self.per_epoch} "
            f"{numbers} | {rate:.1f} step/s ETA {format_seconds(eta)}"
        )
        if self.live:
            self.stream.write("\r" + text + "\033[K")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()
