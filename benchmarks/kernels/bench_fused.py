"""The fused CPU kernels against the MindSpore ops they replace, A/B in one process (alternating rounds, medians):

- the cgan's conditional BatchNorm tail, relu(x * scale + shift) per sample and channel (kernels' ScaleShiftReLU,
  one pass each way) against ms_gan's plain-op ScaleShiftReLU (a MatMul spreading scale and shift, Mul, Add,
  ReLU): its three layers' forward and backward at batch 128, then whole cgan training steps;
- the fc generator's drawing: its folded layers as one-pass product + bias + ReLU kernels (DenseReLU) against
  MindSpore's Dense and ReLU, 10,000 samples.

    python benchmarks/kernels/bench_fused.py [--rounds 8]

This is the measured reason for these two kernels (docs/performance.md).
"""

import argparse
import time


def alternate(variants: dict, rounds: int, calls: int) -> dict:
    """{name: fn()} -> {name: [ms per call, one per round]}, the order flipped every round."""
    import numpy as np

    names, times = list(variants), {name: [] for name in variants}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            for _ in range(calls):
                variants[name]()
            times[name].append((time.perf_counter() - start) / calls * 1e3)
    return {name: float(np.median(t)) for name, t in times.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=8, help="alternating rounds per comparison")
    args = p.parse_args()

    from ms_gan.runtime import prepare_process

    prepare_process("CPU")  # as scripts/train.py: blocking host dispatch, passive OpenMP waits
    import mindspore as ms
    import numpy as np
    from mindspore import ops

    from ms_gan.config import TrainConfig
    from ms_gan.models import build_discriminator, build_generator, folded
    from ms_gan.models.layers import Layers, ScaleShiftReLU
    from ms_gan.runtime import setup_context
    from ms_gan.sampling import _draw
    from ms_gan.train_step import make_optimizers, make_steps

    setup_context("CPU", "graph", 0)
    rng = np.random.default_rng(0)
    rows = []

    # the three conditional BatchNorm tails of a cgan G at batch 128, forward and backward
    shapes = [(128, 256, 7, 7), (128, 128, 14, 14), (128, 64, 28, 28)]
    inputs = [
        ms.Tensor(rng.standard_normal(s).astype(np.float32))
        for shape in shapes
        for s in (shape, shape[:2], shape[:2], shape)
    ]

    def layer_step(impl):
        layers = [Layers(impl).scale_shift_relu() for _ in shapes]

        def loss(x0, s0, b0, w0, x1, s1, b1, w1, x2, s2, b2, w2):  # (x, scale, shift, weights) per layer
            return (
                ops.sum(layers[0](x0, s0, b0) * w0)
                + ops.sum(layers[1](x1, s1, b1) * w1)
                + ops.sum(layers[2](x2, s2, b2) * w2)
            )

        step = ms.jit(ms.value_and_grad(loss, grad_position=tuple(i for i in range(12) if i % 4 != 3)))
        return lambda: step(*inputs)[0].asnumpy()

    ms_per = alternate({"plain": layer_step("native"), "fused": layer_step("gemm")}, args.rounds, 10)
    rows.append(("cgan G's three conditional BatchNorm tails, forward + backward, ms", ms_per))

    # whole cgan training steps, the same networks but for the tails
    config = TrainConfig(model="cgan").validate()
    real = ms.Tensor(rng.uniform(-1, 1, (128, 1, 28, 28)).astype(np.float32))
    z = ms.Tensor(rng.standard_normal((128, config.latent_dim)).astype(np.float32))
    labels = ms.Tensor(rng.integers(0, 10, 128).astype(np.int32))
    steps = {}
    for name in ("plain", "fused"):
        net_g, net_d = build_generator(config), build_discriminator(config)
        if name == "plain":
            for norm in (net_g.norm1, net_g.norm2, net_g.norm3):
                norm.scale_shift_relu = ScaleShiftReLU()
        opt_g, opt_d = make_optimizers(net_g, net_d, config)
        train_step = make_steps(net_g, net_d, opt_g, opt_d)[0]
        train_step(real, z, labels).asnumpy()  # compile
        steps[name] = lambda train_step=train_step: train_step(real, z, labels).asnumpy()
    rows.append(("cgan training step (batch 128), ms", alternate(steps, args.rounds, 8)))

    # drawing 10,000 fc samples in batches of 2,000, through the folded copy
    z = rng.standard_normal((10000, config.latent_dim), dtype=np.float32)
    no_labels = np.zeros(10000, np.int32)
    net_g = build_generator(TrainConfig(model="fc").validate())
    fused = folded.FoldedFCGenerator(net_g).load_from()
    resolve = folded.resolve
    folded.resolve = lambda *a: "native"
    plain = folded.FoldedFCGenerator(net_g).load_from()
    folded.resolve = resolve
    draws = {
        name: (lambda net=net: _draw(net, z, no_labels, 2000)) for name, net in (("plain", plain), ("fused", fused))
    }
    for draw in draws.values():
        draw()  # compile
    ms_per = alternate(draws, args.rounds, 3)
    rows.append(("fc drawing, 10,000 samples, ms", ms_per))

    print("| measurement (median of %d alternating rounds) | MindSpore ops | fused kernel | speed-up |" % args.rounds)
    print("|---|---|---|---|")
    for what, t in rows:
        print(f"| {what} | {t['plain']:.1f} | {t['fused']:.1f} | {t['plain'] / t['fused']:.2f}x |")


if __name__ == "__main__":
    main()
