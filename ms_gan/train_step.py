"""The compiled GAN update: (1) update D on real and fake, (2) update G; returns only numbers."""

import mindspore as ms
from mindspore import nn, ops

from ms_gan.losses import LOSSES
from ms_gan.runlog import STEP_METRICS  # noqa: F401  (the order train_step's numbers come in)


def make_optimizers(net_g, net_d, config):
    """Adam for each net, with prefixed names so the two optimizers' moments never collide."""
    opt_g = nn.Adam(net_g.trainable_params(), learning_rate=config.lr, beta1=config.beta1, beta2=config.beta2)
    opt_d = nn.Adam(net_d.trainable_params(), learning_rate=config.lr_d or config.lr, beta1=config.beta1,
                    beta2=config.beta2)
    _prefix_own_parameters(opt_g, "optim_g.")
    _prefix_own_parameters(opt_d, "optim_d.")
    return opt_g, opt_d


def _prefix_own_parameters(optimizer, prefix: str) -> None:
    """Rename the optimizer's own state (moments, step, beta powers) but not the network parameters it
    holds: `update_parameters_name` would rename those too, and the generator's checkpoint would then
    carry the optimizer's prefix."""
    shared = {id(p) for p in optimizer.parameters}
    for _, param in optimizer.parameters_and_names():
        if id(param) not in shared and not param.name.startswith(prefix):
            param.name = prefix + param.name


def make_updates(net_g, net_d, opt_g, opt_d, loss: str = "bce"):
    """Two uncompiled functions: update_d(real, z, labels) -> [4] and update_g(z, labels) -> g_loss."""
    d_loss_fn, g_loss_fn = LOSSES[loss]

    def forward_d(real, z, labels):
        fake = ops.stop_gradient(net_g(z, labels))
        real_logits, fake_logits = net_d(real, labels), net_d(fake, labels)
        loss_real, loss_fake = d_loss_fn(real_logits, fake_logits)
        acc_real = ops.mean((real_logits > 0).astype(ms.float32))
        acc_fake = ops.mean((fake_logits < 0).astype(ms.float32))
        return loss_real + loss_fake, (loss_real, loss_fake, acc_real, acc_fake)

    def forward_g(z, labels):
        return g_loss_fn(net_d(net_g(z, labels), labels))

    grad_d = ms.value_and_grad(forward_d, None, opt_d.parameters, has_aux=True)
    grad_g = ms.value_and_grad(forward_g, None, opt_g.parameters)

    def update_d(real, z, labels):
        (_, (loss_real, loss_fake, acc_real, acc_fake)), grads = grad_d(real, z, labels)
        opt_d(grads)
        return ops.stack((loss_real, loss_fake, acc_real, acc_fake))

    def update_g(z, labels):
        loss, grads = grad_g(z, labels)
        opt_g(grads)
        return loss

    return update_d, update_g


def make_train_step(net_g, net_d, opt_g, opt_d, loss: str = "bce", jit: bool = True):
    """One step = (1) update D, (2) update G with the same z. Returns a [5] tensor in STEP_METRICS order."""
    update_d, update_g = make_updates(net_g, net_d, opt_g, opt_d, loss)

    def train_step(real, z, labels):
        d_stats = update_d(real, z, labels)  # (1) update D
        g_loss = update_g(z, labels)         # (2) update G
        loss_real, loss_fake, acc_real, acc_fake = d_stats[0], d_stats[1], d_stats[2], d_stats[3]
        return ops.stack((loss_real, loss_fake, g_loss, acc_real, acc_fake))

    return ms.jit(train_step) if jit else train_step
