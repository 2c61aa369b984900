"""What a number may be: one Range per numeric setting, checked the same way for a flag, a config.json field
and a Python caller, so that no setting can forget to refuse NaN, infinities, negatives or absurd sizes."""

import math
import os
from dataclasses import dataclass

from ms_gan.errors import UserError

HUGE = 1_000_000  # an upper bound for counts no 28x28 run needs more of (a typo, not a setting)


def cores() -> int:
    """The cores this process may use (its affinity, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Range:
    """An int or float setting's allowed values: LOW to HIGH (HIGH may be a function, e.g. of the machine's
    cores), each end included unless LOW_OPEN / HIGH_OPEN. Floats must be finite. NONE: None is allowed
    (the setting's default is worked out later)."""

    kind: type
    low: float
    high: object
    low_open: bool = False
    high_open: bool = False
    none: bool = False

    def describe(self) -> str:
        high = self.high() if callable(self.high) else self.high
        low_text, high_text = f"{self.low:g}", f"{high:g}"
        if self.kind is int and not self.low_open and not self.high_open:
            return f"an integer from {low_text} to {high_text}"
        kind = "an integer" if self.kind is int else "a number"
        return f"{kind} in {'(' if self.low_open else '['}{low_text}, {high_text}{')' if self.high_open else ']'}"

    def check(self, name: str, value):
        """VALUE if it is allowed, as KIND; else UserError naming NAME (e.g. "--lr") and what it takes."""
        if value is None and self.none:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (self.kind is int and not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())))
        ):
            raise UserError(f"{name} takes {self.describe()}, got {value!r}")
        high = self.high() if callable(self.high) else self.high
        if (
            not math.isfinite(value)
            or value < self.low
            or value > high
            or (self.low_open and value == self.low)
            or (self.high_open and value == high)
        ):
            raise UserError(f"{name} takes {self.describe()}, got {value!r}")
        return self.kind(value)

    def parse(self, text: str):
        """argparse's type: the flag's text as a checked number (argparse names the flag in its error)."""
        import argparse

        try:
            value = self.kind(text) if self.kind is int else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {self.describe()}, got {text!r}") from None
        try:
            return self.check("value", value)
        except UserError:
            raise argparse.ArgumentTypeError(f"expected {self.describe()}, got {text!r}") from None


def count(low: int = 1, high=HUGE) -> Range:
    return Range(int, low, high)


def share(low_open: bool = False, high_open: bool = False) -> Range:
    """A number from 0 to 1."""
    return Range(float, 0.0, 1.0, low_open, high_open)


SEED = Range(int, 0, 2**31 - 1)
