"""GAN loss pairs on discriminator logits, each registered with what it can do (registry.Loss), and the WGAN-GP
gradient penalty. REAL_TARGET < 1 is one-sided label smoothing; with FAKE_TARGET > 0 too, two-sided (for the
losses with targets).
"""

import mindspore as ms
from mindspore import ops

from ms_gan.diagnose import won_by_accuracy, won_by_bce
from ms_gan.registry import register_loss


def bce_with_logits(logits, target):
    """Mean binary cross-entropy of sigmoid(logits) against a constant target, computed stably."""
    # BCE(x, y) = softplus(x) - x * y; softplus never overflows where log(sigmoid(x)) would
    return ops.mean(ops.softplus(logits) - logits * target)


def bce_d_loss(real_logits, fake_logits, real_target=1.0, fake_target=0.0):
    """Discriminator: real -> 1, fake -> 0 (or the smoothed targets). Returns (loss on real, loss on fake)."""
    return bce_with_logits(real_logits, real_target), bce_with_logits(fake_logits, fake_target)


def bce_g_loss(fake_logits):
    """Generator, non-saturating form: make D call fakes real."""
    return bce_with_logits(fake_logits, 1.0)


def lsgan_d_loss(real_logits, fake_logits, real_target=1.0, fake_target=0.0):
    """Least squares (Mao et al., 2017): D regresses reals to 1 and fakes to 0, each term halved."""
    return 0.5 * ops.mean((real_logits - real_target) ** 2), 0.5 * ops.mean((fake_logits - fake_target) ** 2)


def lsgan_g_loss(fake_logits):
    return 0.5 * ops.mean((fake_logits - 1.0) ** 2)


def hinge_d_loss(real_logits, fake_logits, real_target=1.0, fake_target=0.0):
    """Hinge (Lim & Ye; Miyato et al.): D is only pushed while a real scores below 1 or a fake above -1."""
    return ops.mean(ops.relu(1.0 - real_logits)), ops.mean(ops.relu(1.0 + fake_logits))


def wgan_d_loss(real_logits, fake_logits, real_target=1.0, fake_target=0.0):
    """Wasserstein critic: raise real scores, lower fake ones (the gradient penalty is added by the step)."""
    return -ops.mean(real_logits), ops.mean(fake_logits)


def wgan_g_loss(fake_logits):
    return -ops.mean(fake_logits)


def zero_threshold(real_logits, fake_logits):
    return 0.0


def midpoint_threshold(real_logits, fake_logits):
    # a critic's scores have no fixed origin: read "accuracy" against the middle of the two means
    return (ops.mean(real_logits) + ops.mean(fake_logits)) / 2


def half_threshold(real_logits, fake_logits):
    return 0.5


register_loss(
    "bce",
    help="non-saturating BCE",
    d_loss=bce_d_loss,
    g_loss=bce_g_loss,
    threshold=zero_threshold,
    curve_label="BCE loss",
    targets=True,
    d_won=won_by_bce,
)
register_loss(
    "lsgan",
    help="least squares",
    d_loss=lsgan_d_loss,
    g_loss=lsgan_g_loss,
    threshold=half_threshold,
    curve_label="least-squares loss",
    targets=True,
    d_won=won_by_accuracy,
)
register_loss(
    "hinge",
    help="hinge",
    d_loss=hinge_d_loss,
    g_loss=wgan_g_loss,
    threshold=zero_threshold,
    curve_label="hinge loss (G: -D(G(z)))",
    d_won=won_by_accuracy,
)
register_loss(
    "wgan-gp",
    help="Wasserstein critic with gradient penalty (D gets LayerNorm)",
    d_loss=wgan_d_loss,
    g_loss=wgan_g_loss,
    threshold=midpoint_threshold,
    curve_label="Wasserstein loss (+ penalty on fake)",
    gradient_penalty=True,
)


def top_k_fakes(fake_logits, share):
    """Top-k training (Sinha et al., 2020): G's loss on FAKE_LOGITS [N] with the gradient of only the
    round(SHARE * N) fakes D scores most real (at least one); the others are held constant. Returns (logits to
    take G's loss of, N / k), the factor that makes the gradient that of the mean over the k kept ones."""
    n = fake_logits.shape[0]
    k = ops.maximum(ops.round(share * n), 1.0)
    ranked = ops.stop_gradient(ops.sort(fake_logits, descending=True)[0])
    threshold = ops.gather(ranked, (k - 1).astype(ms.int32), 0)
    kept = ops.where(fake_logits >= threshold, fake_logits, ops.stop_gradient(fake_logits))
    return kept, n / k


def gradient_penalty(critic, real, fake, labels, mix):
    """WGAN-GP (Gulrajani et al., 2017): mean over samples of (||d critic / d x_hat_i|| - 1)^2, with
    x_hat_i = mix_i * real_i + (1 - mix_i) * fake_i and mix [N, 1, 1, 1] in [0, 1].

    The norm is per sample: the gradient of sum_i critic(x_hat_i) with respect to the batch x_hat holds
    each sample's own gradient in its own row (the critic must not mix samples, so no BatchNorm), and
    each row is normed separately. Norming the whole batch gradient at once is the classic bug."""
    x_hat = mix * real + (1.0 - mix) * fake

    # labels go in as an argument, not from the closure: captured, they broke graph compilation for the cgan's
    # critic ("parameters number of the function is 3, but the number of provided arguments is 2", MindSpore 2.10)
    def critic_sum(x, labels_):
        return ops.sum(critic(x, labels_))

    grads = ops.grad(critic_sum, grad_position=0)(x_hat, labels)  # [N, C, H, W]
    # [N, C, H, W] -> [N]; the epsilon keeps the norm's own gradient finite at 0
    norms = ops.sqrt(ops.sum(ops.reshape(grads**2, (grads.shape[0], -1)), dim=1) + 1e-12)
    return ops.mean((norms - 1.0) ** 2)
