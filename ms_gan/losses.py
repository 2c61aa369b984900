"""GAN loss pairs on discriminator logits, chosen by name."""

from mindspore import ops


def bce_with_logits(logits, target: float):
    """Mean binary cross-entropy of sigmoid(logits) against a constant target, computed stably."""
    # BCE(x, y) = softplus(x) - x * y; softplus never overflows where log(sigmoid(x)) would
    return ops.mean(ops.softplus(logits) - logits * target)


def bce_d_loss(real_logits, fake_logits):
    """Discriminator: real -> 1, fake -> 0. Returns (loss on real, loss on fake)."""
    return bce_with_logits(real_logits, 1.0), bce_with_logits(fake_logits, 0.0)


def bce_g_loss(fake_logits):
    """Generator, non-saturating form: make D call fakes real."""
    return bce_with_logits(fake_logits, 1.0)


LOSSES = {"bce": (bce_d_loss, bce_g_loss)}
