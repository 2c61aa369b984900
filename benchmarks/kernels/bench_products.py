"""Matrix products: MindSpore's CPU MatMul against ms_gan's oneDNN products (ms_gan/kernels/gemm.cc), float32 and
with bfloat16 operands (--precision bf16: the conversions included), on the shapes of a dcgan step at batch 128 and
of the fc models, each timed alone in a compiled graph. The bf16 column needs a CPU with AMX or AVX512_BF16.

    python benchmarks/kernels/bench_products.py [--repeats 20] [--output products.json]

This is the measured reason ms_gan's conv layers multiply through the kernels on CPU (docs/performance.md).
"""

import argparse
import time

# (what, transpose a, transpose b, m, n, k): c [m, n] = op(a) @ op(b), op(a) [m, k]
SHAPES = [
    ("dcgan G 256->128 ch, 7->14 px, forward", True, False, 2048, 6272, 256),
    ("dcgan G 128->64 ch, 14->28 px, forward", True, False, 1024, 25088, 128),
    ("dcgan G 128->64 ch, weight gradient", False, True, 128, 1024, 25088),
    ("dcgan D 64->128 ch, 14->7 px, 256 images", False, False, 128, 12544, 1024),
    ("dcgan D 128->256 ch, 7->4 px, 256 images", False, False, 256, 4096, 1152),
    ("fc G 512->1024, batch 128", False, True, 128, 1024, 512),
    ("fc G 1024->784, batch 128", False, True, 128, 784, 1024),
]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=20, help="timed calls per shape and implementation")
    p.add_argument("--output", default="", help="also write the table and each shape's GFLOP/s to this JSON file")
    args = p.parse_args()

    from ms_gan.runtime import prepare_process

    prepare_process("CPU")  # as scripts/train.py: blocking host dispatch, passive OpenMP waits
    import mindspore as ms
    import numpy as np
    from mindspore import ops

    from ms_gan import kernels

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    k = kernels.load()
    kernel_ops = {(False, False): k.mm, (False, True): k.mm_nt, (True, False): k.mm_tn}
    bf16 = bool(kernels.cpu_flags() & set(kernels.BF16_FLAGS))
    if bf16:
        h = kernels.load("bf16")
        bf16_ops = {(False, False): h.mm, (False, True): h.mm_nt, (True, False): h.mm_tn}

    def compiled(op):
        @ms.jit
        def product(a, b):
            return op(a, b)

        return product

    def seconds(f, a, b):
        f(a, b).asnumpy()  # compile and warm up
        start = time.perf_counter()
        for _ in range(args.repeats):
            out = f(a, b)
        out.asnumpy()
        return (time.perf_counter() - start) / args.repeats

    rng = np.random.default_rng(0)
    flags = " ".join(sorted(kernels.cpu_flags() & set(kernels.BF16_FLAGS))) or "none"
    print(f"CPU bfloat16 flags: {flags}")
    header = ["product (m x n x k)", "MindSpore MatMul GFLOP/s", "ms_gan fp32 GFLOP/s", "speed-up"]
    rows = ["| " + " | ".join(header + ["ms_gan bf16 GFLOP/s", "bf16 / fp32"]) + " |", "|---|---|---|---|---|---|"]
    print("\n".join(rows))
    records = []
    for what, ta, tb, m, n, depth in SHAPES:
        a = ms.Tensor(rng.standard_normal((depth, m) if ta else (m, depth)).astype(np.float32))
        b = ms.Tensor(rng.standard_normal((n, depth) if tb else (depth, n)).astype(np.float32))
        flop = 2 * m * n * depth
        native = seconds(compiled(ops.MatMul(transpose_a=ta, transpose_b=tb)), a, b)
        ours = seconds(compiled(kernel_ops[(ta, tb)]), a, b)
        halves = seconds(compiled(bf16_ops[(ta, tb)]), a, b) if bf16 else float("nan")
        rows.append(
            f"| {what} ({m} x {n} x {depth}) | {flop / native / 1e9:.0f} | {flop / ours / 1e9:.0f} | "
            f"{native / ours:.2f}x | {flop / halves / 1e9:.0f} | {ours / halves:.2f}x |"
        )
        print(rows[-1], flush=True)
        gflops = {"matmul": flop / native / 1e9, "fp32": flop / ours / 1e9, "bf16": flop / halves / 1e9}
        records.append({"product": what, "m": m, "n": n, "k": depth, "gflops": gflops})
    if args.output:
        import json

        with open(args.output, "w") as f:
            json.dump({"bf16_flags": flags, "records": records, "table": "\n".join(rows)}, f, indent=1)


if __name__ == "__main__":
    main()
