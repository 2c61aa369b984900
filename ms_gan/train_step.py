"""The compiled GAN update: (1) update D on real and fake, (2) update G; returns only numbers."""

import mindspore as ms
from mindspore import amp, nn, ops

from ms_gan import registry
from ms_gan.losses import gradient_penalty, top_k_fakes
from ms_gan.runlog import STEP_METRICS  # noqa: F401  (the order train_step's numbers come in)


def make_optimizers(net_g, net_d, config, total_steps: int = 1):
    """Adam for each net, with prefixed names so the two optimizers' moments never collide; with an
    --lr_schedule, each rate follows it over the TOTAL_STEPS steps of the run."""
    opt_g = nn.Adam(
        net_g.trainable_params(),
        learning_rate=learning_rates(config, "g", total_steps),
        beta1=config.beta1,
        beta2=config.beta2,
    )
    opt_d = nn.Adam(
        net_d.trainable_params(),
        learning_rate=learning_rates(config, "d", total_steps),
        beta1=config.beta1,
        beta2=config.beta2,
    )
    _prefix_own_parameters(opt_g, "optim_g.")
    _prefix_own_parameters(opt_d, "optim_d.")
    return opt_g, opt_d


def learning_rates(config, net: str, total_steps: int):
    """NET's learning rate as the optimizer takes it: a number, or for a schedule a Tensor with the rate of
    each of its updates (MindSpore's dynamic learning rate, indexed by the optimizer's own step count, which
    its checkpoint keeps, so a resumed run continues on the curve)."""
    rates = config.learning_rates(net, total_steps)
    return rates if isinstance(rates, float) else ms.Tensor(rates)


def _prefix_own_parameters(optimizer, prefix: str) -> None:
    """Rename the optimizer's own state (moments, step, beta powers) but not the network parameters it
    holds: `update_parameters_name` would rename those too, and the generator's checkpoint would then
    carry the optimizer's prefix."""
    shared = {id(p) for p in optimizer.parameters}
    for _, param in optimizer.parameters_and_names():
        if id(param) not in shared and not param.name.startswith(prefix):
            param.name = prefix + param.name


def make_updates(
    net_g,
    net_d,
    opt_g,
    opt_d,
    loss: str = "bce",
    label_smoothing: float = 1.0,
    fake_label: float = 0.0,
    gp_weight: float = 10.0,
    clip_grad_norm: float = 0.0,
    reducers=(None, None),
    loss_scale: bool = False,
    top_k_shares=None,
):
    """Three uncompiled functions: update_d(real, z, labels, mix) -> the five STEP_METRICS of D's update (its
    loss on real and on fake, the G loss its fakes scored before the update, its accuracy on each),
    update_g(z, labels) -> g_loss, and update_both(real, z, labels, mix) -> (update_d's numbers, g_loss), the
    two in a row on one forward pass of G (the same numbers as update_d then update_g, one G forward cheaper).

    LOSS names a registered loss; LABEL_SMOOTHING and FAKE_LABEL are D's targets for reals and fakes; with a
    gradient penalty (wgan-gp),
    GP_WEIGHT * penalty on the interpolates mix * real + (1 - mix) * fake joins D's loss on fakes. CLIP_GRAD_NORM >
    0 clips each net's gradients to that global norm before its optimizer sees them. REDUCERS (for D, for G) average
    the gradients over data-parallel workers first (None: one process). LOSS_SCALE (mixed precision) scales each
    loss up before differentiating and the gradients back down, skipping an update whose gradients overflowed and
    shrinking the scale, as float16 gradients would otherwise underflow to zero. TOP_K_SHARES (float32 [G updates],
    or None = all) is the share of each batch's fakes G learns from at each of its updates (losses.top_k_fakes),
    read at opt_g's own step count, as a learning-rate schedule is."""
    declared = registry.loss(loss)
    d_loss_fn, g_loss_fn, threshold_fn = declared.d_loss, declared.g_loss, declared.threshold
    penalised = declared.gradient_penalty
    one_call = getattr(net_d, "per_sample", False)
    scale_d, scale_g = _loss_scaler("d", loss_scale), _loss_scaler("g", loss_scale)

    def forward_d(real, fake, labels, mix):
        if one_call:  # reals and fakes through D as one batch (models.layers.is_per_sample)
            n = real.shape[0]
            logits = net_d(ops.concat((real, fake)), ops.concat((labels, labels)))
            real_logits, fake_logits = logits[:n], logits[n:]
        else:
            real_logits, fake_logits = net_d(real, labels), net_d(fake, labels)
        loss_real, loss_fake = d_loss_fn(real_logits, fake_logits, label_smoothing, fake_label)
        if penalised:
            loss_fake = loss_fake + gp_weight * gradient_penalty(net_d, real, fake, labels, mix)
        threshold = ops.stop_gradient(threshold_fn(real_logits, fake_logits))
        acc_real = ops.mean((real_logits > threshold).astype(ms.float32))
        acc_fake = ops.mean((fake_logits < threshold).astype(ms.float32))
        g_loss = ops.stop_gradient(g_loss_fn(fake_logits))
        loss_d = loss_real + loss_fake
        if scale_d is not None:
            loss_d = scale_d.scale(loss_d)
        return loss_d, (loss_real, loss_fake, g_loss, acc_real, acc_fake)  # STEP_METRICS order

    def forward_g(fake, labels):
        logits = net_d(fake, labels)
        loss_g = objective = g_loss_fn(logits)
        if top_k_shares is not None:
            # the share for this update; the last one stays past the end (a resume with more epochs)
            update = ops.minimum(opt_g.global_step, top_k_shares.shape[0] - 1)
            kept, factor = top_k_fakes(logits, ops.gather(top_k_shares, update, 0)[0])
            objective = g_loss_fn(kept) * factor
        return (scale_g.scale(objective) if scale_g is not None else objective), loss_g

    grad_d = ms.value_and_grad(forward_d, None, opt_d.parameters, has_aux=True)
    grad_fake = ms.value_and_grad(forward_g, 0, has_aux=True)  # G's loss and its gradient at the fakes
    reduce_d, reduce_g = reducers

    def clip(grads):
        return ops.clip_by_global_norm(grads, clip_grad_norm) if clip_grad_norm > 0 else grads

    def apply(optimizer, scaler, reduce, grads):
        if reduce is not None:
            grads = reduce(grads)
        if scaler is not None:
            grads = scaler.unscale(grads)
            finite = amp.all_finite(grads)
            scaler.adjust(finite)
            if finite:
                optimizer(clip(grads))
        else:
            optimizer(clip(grads))

    def update_d(real, z, labels, mix=None):
        (_, stats), grads = grad_d(real, ops.stop_gradient(net_g(z, labels)), labels, mix)
        apply(opt_d, scale_d, reduce_d, grads)
        return stats

    def update_g(z, labels, fake=None, pullback=None):
        if fake is None:
            fake, pullback = ms.vjp(net_g, z, labels, weights=opt_g.parameters)
        (_, loss_g), d_fake = grad_fake(fake, labels)
        apply(opt_g, scale_g, reduce_g, pullback(d_fake)[1])  # [1]: the weights' part, not z's and labels'
        return loss_g

    def update_both(real, z, labels, mix=None):
        # one G forward for both updates, as the PyTorch DCGAN example does: D learns from the fakes
        # (detached), then G's gradient flows back through the updated D and the same forward pass
        fake, pullback = ms.vjp(net_g, z, labels, weights=opt_g.parameters)
        (_, stats), grads = grad_d(real, ops.stop_gradient(fake), labels, mix)
        apply(opt_d, scale_d, reduce_d, grads)
        return stats, update_g(z, labels, fake, pullback)

    return update_d, update_g, update_both


def make_steps(
    net_g, net_d, opt_g, opt_d, config=None, ema=None, jit: bool = True, replicas=None, total_steps: int = 1
):
    """(train_step, critic_step), each called as step(real, z, labels, mix=None) -> [5] tensor in
    STEP_METRICS order, built on one set of updates (one loss scaler per net, one gradient reducer, one
    state sync). CONFIG (a TrainConfig; None = defaults) gives the loss and the stabilisers, over a run of
    TOTAL_STEPS steps (--top_k's schedule); REPLICAS (distributed.Replicas) the data-parallel workers.

    train_step = (1) update D, (2) update G with the same z and the same forward pass of G (its fakes,
    detached, train D; G's gradient then comes back through the updated D), (3) on several workers, average the
    non-trained state and the step's numbers, (4) with EMA, fold G into its average.
    critic_step (None unless config.n_critic > 1) = (1) alone, G's loss read off the same fakes; the
    caller runs it n_critic - 1 times before each train_step.

    Puts both nets in training mode (BatchNorm on each batch's statistics), which the steps compile in: a
    MindSpore Cell starts in inference mode. Whoever draws samples in between (sampling.generate) restores it."""
    net_g.set_train(True)
    net_d.set_train(True)
    options = {}
    if config is not None:
        options = {
            "loss": config.loss,
            "label_smoothing": config.label_smoothing,
            "fake_label": config.fake_label,
            "gp_weight": config.gp_weight,
            "clip_grad_norm": config.clip_grad_norm,
            "loss_scale": config.mixed_precision,
        }
        if config.top_k < 1:
            options["top_k_shares"] = ms.Tensor(config.top_k_shares(total_steps))
    sync = None
    if replicas is not None and replicas.size > 1:
        options["reducers"] = (replicas.grad_reducer(opt_d), replicas.grad_reducer(opt_g))
        sync = replicas.state_sync(net_g, net_d)
    update_d, _, update_both = make_updates(net_g, net_d, opt_g, opt_d, **options)

    def agree(stats):
        if sync is None:
            return stats
        sync()  # (3) the workers agree
        return sync.mean(stats)

    def train_step(real, z, labels, mix=None):
        # (1) update D, (2) update G, on one forward pass of G
        (loss_real, loss_fake, _, acc_real, acc_fake), g_loss = update_both(real, z, labels, mix)
        stats = agree(ops.stack((loss_real, loss_fake, g_loss, acc_real, acc_fake)))
        if ema is not None:
            ema()  # (4) average G
        return stats

    def critic_step(real, z, labels, mix=None):
        return agree(ops.stack(update_d(real, z, labels, mix)))

    compile_ = ms.jit if jit else (lambda fn: fn)
    n_critic = config.n_critic if config is not None else 1
    return compile_(train_step), (compile_(critic_step) if n_critic > 1 else None)


def _loss_scaler(net: str, enabled: bool):
    """A dynamic loss scaler with its own parameter names (two scalers' defaults would collide in graph mode)."""
    if not enabled:
        return None
    scaler = amp.DynamicLossScaler(scale_value=2.0**12, scale_factor=2, scale_window=1000)
    scaler.scale_value.name, scaler.counter.name = f"loss_scale_{net}.value", f"loss_scale_{net}.counter"
    return scaler
