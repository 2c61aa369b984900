"""ms_gan's CPU kernels: gemm_conv.cc and gemm.cc compiled on first use and wrapped as MindSpore custom operators.

On CPU, MindSpore 2.10 runs convolutions through oneDNN's plain-layout GEMM path, much slower than its matrix
products on these layers, and builds LeakyReLU from Maximum, whose backward takes several kernels. ms_gan
instead computes each convolution as one large matrix product between an unfolded input and the weights
(models/layers.py): gemm_conv.cc rearranges memory around it (Im2Col, Col2Im, SwapNC), applies LeakyReLU in
one pass, and runs BatchNorm in training with the scale, shift and (leaky) ReLU after it in two passes each way;
gemm.cc multiplies through the sgemm of the oneDNN that MindSpore ships, one call per core, faster than
MindSpore's MatMul on these shapes (benchmarks/kernels/bench_products.py), and for drawing from the fc generator,
runs each hidden layer's product, bias and ReLU in one pass (cells.FoldedDenseStack).
Each training operator's gradient is built from these operators, so they differentiate twice (WGAN-GP), except
BatchNorm's, which nothing differentiates twice (WGAN-GP's critic has LayerNorm).

The library is compiled with the system C++ compiler into a per-user cache, keyed by a hash of the sources,
the flags, MindSpore's library folder and this CPU's features (it is built with -march=native, so a library built
on one host may not run on another that shares the cache). Where no compiler works or MindSpore's oneDNN is
missing, `load` raises KernelUnavailable with the reason, and `resolve` falls back to MindSpore's own ops.
"""

import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import warnings

from ms_gan.errors import UserError
from ms_gan.fileio import temp_path, user_cache_dir

log = logging.getLogger(__name__)

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = [os.path.join(HERE, name) for name in ("gemm_conv.cc", "gemm.cc")]
HEADERS = [os.path.join(HERE, "kernels.h")]  # included by the sources: part of the library's key
# -fno-trapping-math lets GCC vectorise the LeakyReLU selects (IEEE traps are never enabled here)
FLAGS = ["-O3", "-march=native", "-fno-trapping-math", "-fopenmp", "-shared", "-fPIC", "-std=c++17"]
DNNL = "libdnnl.so.3"  # the oneDNN MindSpore ships in mindspore/lib; gemm.cc calls its sgemm


class KernelUnavailable(UserError):
    """The kernels cannot be built or loaded here; the message says why, in one line."""


def cache_dir() -> str:
    return user_cache_dir("kernels")


def mindspore_lib_dir() -> str:
    """MindSpore's own shared libraries, where its oneDNN is, found without importing MindSpore."""
    import importlib.util

    spec = importlib.util.find_spec("mindspore")
    lib = os.path.join(os.path.dirname(spec.origin), "lib") if spec and spec.origin else ""
    if not os.path.exists(os.path.join(lib, DNNL)):
        raise KernelUnavailable(f"MindSpore's oneDNN ({DNNL}) was not found in {lib or 'the mindspore package'}")
    return lib


def library_path() -> str:
    """The compiled library, built now if these sources, these flags, this MindSpore and this machine have none yet."""
    lib = mindspore_lib_dir()
    link = [f"-L{lib}", f"-l:{DNNL}", f"-Wl,-rpath,{lib}"]
    host = platform.machine() + " " + " ".join(sorted(_proc_cpu_flags()))
    digest = hashlib.sha1(" ".join(FLAGS + link).encode() + host.encode())
    for source in SOURCES + HEADERS:
        with open(source, "rb") as f:
            digest.update(f.read())
    key = digest.hexdigest()[:16]
    path = os.path.join(cache_dir(), f"gemm_conv-{key}.so")
    if os.path.exists(path):
        return path
    compiler = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        raise KernelUnavailable("no C++ compiler (g++) found to build ms_gan's CPU kernels")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    log.info(
        f"building ms_gan's CPU kernels with {compiler} (once for this machine and MindSpore, a few seconds; "
        f"kept in {os.path.dirname(path)})"
    )
    # build beside the target and rename: several processes (msrun workers) may build at once
    tmp = temp_path(path, ".so")
    try:
        result = subprocess.run([compiler, *FLAGS, "-o", tmp, *SOURCES, *link], capture_output=True, text=True)
        if result.returncode != 0:
            first = (result.stderr.strip().splitlines() or ["no output"])[0]
            raise KernelUnavailable(f"compiling ms_gan's CPU kernels with {compiler} failed: {first}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


class KernelFallback(UserWarning):
    """--conv_impl auto could not use the kernels and took MindSpore's own convolutions."""


BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of CPUs that multiply bfloat16 in hardware


def accelerate(net, precision: str = "fp32"):
    """NET with the kernels in place of the MindSpore layers they compute faster (cells.accelerate); PRECISION
    "bf16": their matrix products (and the Dense layers') take bfloat16 operands, float32 accumulation and output."""
    from ms_gan.kernels.cells import accelerate as swap_in

    return swap_in(net, precision)


@functools.cache
def load(precision: str = "fp32"):
    """The custom operators (a namespace with im2col, col2im, swap_nc, leaky_relu, leaky_relu_grad, the
    matrix products mm = a @ b, mm_nt = a @ b^T, mm_tn = a^T @ b, scale_shift_relu and its gradient, bn_ssr
    (BatchNorm in training, scale, shift and (leaky) ReLU) and its gradient, bn1d_relu (the fc generator's
    BatchNorm1d and ReLU in training) and its gradient, and the drawing-only dense_relu and
    dense_bias), built once per process. With PRECISION "bf16" the three products (and so their gradients) round
    their operands to bfloat16 and accumulate in float32. Raises KernelUnavailable."""
    ops_ = _make_ops(library_path()) if precision == "fp32" else load("fp32")
    return ops_ if precision == "fp32" else ops_.bf16


def cpu_flags() -> set:
    """This CPU's feature flags (Linux's /proc/cpuinfo; MS_GAN_CPU_FLAGS, space-separated, stands in for it)."""
    if "MS_GAN_CPU_FLAGS" in os.environ:
        return set(os.environ["MS_GAN_CPU_FLAGS"].split())
    return _proc_cpu_flags()


def _proc_cpu_flags() -> set:
    """This CPU's feature flags as Linux reports them (empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def resolve_precision(precision: str, device_target: str, impl: str) -> str:
    """ "bf16" or "fp32" for --precision PRECISION on DEVICE_TARGET with the convolutions IMPL ("gemm"/"native").
    bf16 is the CPU kernels' (MindSpore's own bfloat16 is Ascend's): asked for where it cannot run, it is a
    KernelUnavailable saying why; "auto" takes it where the CPU multiplies bfloat16 in hardware, else float32 with
    a one-line notice."""
    if precision == "fp32":
        return "fp32"
    if device_target != "CPU":
        if precision == "bf16":
            raise KernelUnavailable(
                f"--precision bf16 is for the CPU kernels; on {device_target} use --amp_level O1, O2 or O3 "
                "(MindSpore's float16 mixed precision)"
            )
        _warn_once(f"--precision auto: float32 on {device_target} (for float16 mixed precision: --amp_level)")
        return "fp32"
    why = ""
    if impl != "gemm":
        why = "ms_gan's CPU kernels are not in use (--conv_impl native, PyNative mode, or they could not be built)"
    elif not cpu_flags() & set(BF16_FLAGS):
        why = f"this CPU has no bfloat16 instructions ({' or '.join(BF16_FLAGS)})"
    if not why:
        return "bf16"
    if precision == "bf16":
        raise KernelUnavailable(f"--precision bf16: {why}; use --precision fp32 or auto")
    _warn_once(f"--precision auto: float32, since {why}")
    return "fp32"


def resolve(conv_impl: str, device_target: str, mode: str = "graph", twice_differentiated: bool = False) -> str:
    """'gemm' or 'native' for a --conv_impl choice. 'auto' means gemm on CPU in GRAPH mode (PyNative is for
    debugging, and there MindSpore does not differentiate custom operators twice, as WGAN-GP needs); it
    falls back to native, with a one-line notice, when the kernels cannot be built."""
    if conv_impl == "native" or (conv_impl == "auto" and (device_target != "CPU" or mode != "graph")):
        return "native"
    if device_target != "CPU":
        raise KernelUnavailable(f"--conv_impl gemm is for CPU; on {device_target} use auto or native")
    if mode != "graph" and twice_differentiated:
        raise KernelUnavailable(
            "--conv_impl gemm cannot be differentiated twice (wgan-gp) in PyNative mode; "
            "use --mode graph or --conv_impl native"
        )
    try:
        load()
    except (KernelUnavailable, OSError, TypeError) as err:  # TypeError: MindSpore refused the library path
        if conv_impl == "gemm":
            raise KernelUnavailable(str(err)) from err
        _warn_once(f"{err}; using MindSpore's own convolutions (slower on CPU)")
        return "native"
    return "gemm"


@functools.cache
def _warn_once(message: str) -> None:
    warnings.warn(message, KernelFallback, stacklevel=3)


def geometry(kernel: int, stride: int, padding: int, channel_major: bool = False):
    """The tensor that carries a convolution's geometry to Im2Col/Col2Im, in its shape: MindSpore infers
    every instance of a custom operator with one shape function, which sees shapes, never values.
    CHANNEL_MAJOR: the image side (Im2Col's input, Col2Im's output) is [C, N, H, W]."""
    import mindspore as ms
    import numpy as np

    return ms.Tensor(np.zeros((kernel, stride, padding + 1, 1 + channel_major), np.int32))


def _bf16_products(k, custom):
    """K's operators with the three matrix products (and so their gradients) on bfloat16 operands."""
    from types import SimpleNamespace

    h = SimpleNamespace(**vars(k))

    def mm_bprop(a, b, out, dout):
        return h.mm_nt(dout, b), h.mm_tn(a, dout)

    def mm_nt_bprop(a, b, out, dout):
        return h.mm(dout, b), h.mm_tn(dout, a)

    def mm_tn_bprop(a, b, out, dout):
        return h.mm_nt(b, dout), h.mm(a, dout)

    h.mm = custom("MatMulNN16", lambda a, b: (a[0], b[1]), mm_bprop)
    h.mm_nt = custom("MatMulNT16", lambda a, b: (a[0], b[0]), mm_nt_bprop)
    h.mm_tn = custom("MatMulTN16", lambda a, b: (a[1], b[1]), mm_tn_bprop)
    return h


def _make_ops(path: str):
    from types import SimpleNamespace

    from mindspore import ops

    def out_size(size, g):
        kernel, stride, padding = g[0], g[1], g[2] - 1
        return (size + 2 * padding - kernel) // stride + 1

    # image [N, C, H, W] (g[3] = 2: [C, N, H, W]) -> cols [C * k * k, N, Ho, Wo]
    def im2col_shape(x, g):
        n, c = (x[1], x[0]) if g[3] == 2 else (x[0], x[1])
        return (c * g[0] * g[0], n, out_size(x[2], g), out_size(x[3], g))

    # cols [C * k * k, N, Ho, Wo] -> image [N, C, H, W] (g[3] = 2: [C, N, H, W]), H and W from LIKE's shape
    def col2im_shape(cols, g, like):
        n, c = cols[1], cols[0] // (g[0] * g[0])
        return (c, n, like[0], like[1]) if g[3] == 2 else (n, c, like[0], like[1])

    def im2col_bprop(x, g, out, dout):
        return k.col2im(dout, g, x[0, 0]), ops.zeros_like(g)

    def col2im_bprop(cols, g, like, out, dout):
        return k.im2col(dout, g), ops.zeros_like(g), ops.zeros_like(like)

    def swap_bprop(x, out, dout):
        return (k.swap_nc(dout),)

    def leaky_relu_bprop(x, slope, out, dout):
        return k.leaky_relu_grad(x, slope, dout), ops.zeros_like(slope)

    def leaky_relu_grad_bprop(x, slope, dy, out, dout):
        # d/dx is zero almost everywhere; d/d(dy) is the same piecewise-constant map
        return ops.zeros_like(x), ops.zeros_like(slope), k.leaky_relu_grad(x, slope, dout)

    def same(x, *rest):
        return x

    # the three products and their gradients: each gradient is two of the three
    def mm_bprop(a, b, out, dout):  # a @ b
        return k.mm_nt(dout, b), k.mm_tn(a, dout)

    def mm_nt_bprop(a, b, out, dout):  # a @ b^T
        return k.mm(dout, b), k.mm_tn(dout, a)

    def mm_tn_bprop(a, b, out, dout):  # a^T @ b
        return k.mm_nt(b, dout), k.mm(a, dout)

    # conditional BatchNorm's tail, relu(x * s + b) with s, b [N, C] per sample and channel, and its gradient
    def ssr_bprop(x, s, b, out, dout):
        return k.scale_shift_relu_grad(x, s, b, dout)

    def ssr_grad_bprop(x, s, b, dy, out, dout):
        # the gradient (dx, ds, db) is linear in dy and, where the ReLU's mask m is fixed (almost everywhere),
        # dx = m dy s and ds = sum_hw m dy x are linear in s and x: plain ops, for a second derivative (WGAN-GP)
        ddx, dds, ddb = dout
        planes = (x.shape[0], x.shape[1], 1, 1)
        s4, b4, dds4, ddb4 = (ops.reshape(t, planes) for t in (s, b, dds, ddb))
        masked = ops.cast(x * s4 + b4 > 0, x.dtype) * dy
        return (
            masked * dds4,
            ops.reduce_sum(masked * ddx, (2, 3)),
            ops.zeros_like(b),
            ops.cast(x * s4 + b4 > 0, x.dtype) * (s4 * ddx + x * dds4 + ddb4),
        )

    # BatchNorm (training) + scale + shift + (leaky) ReLU, settings [eps, slope]: (y, mean, var); mean and var
    # only move the running statistics, under stop_gradient, so their gradients are not taken
    def bn_ssr_bprop(x, s, t, settings, out, dout):
        dx, ds, dt = k.bn_ssr_grad(x, s, t, out[1], out[2], settings, dout[0])
        return dx, ds, dt, ops.zeros_like(settings)

    def custom(name, shape, bprop):
        return ops.Custom(f"{path}:{name}", shape, same, func_type="aot", bprop=bprop)

    k = SimpleNamespace()
    k.im2col = custom("Im2Col", im2col_shape, im2col_bprop)
    k.col2im = custom("Col2Im", col2im_shape, col2im_bprop)
    k.swap_nc = custom("SwapNC", lambda x: (x[1], x[0], *x[2:]), swap_bprop)
    k.leaky_relu = custom("LeakyReLU", same, leaky_relu_bprop)
    k.leaky_relu_grad = custom("LeakyReLUGrad", same, leaky_relu_grad_bprop)
    k.mm = custom("MatMulNN", lambda a, b: (a[0], b[1]), mm_bprop)
    k.mm_nt = custom("MatMulNT", lambda a, b: (a[0], b[0]), mm_nt_bprop)
    k.mm_tn = custom("MatMulTN", lambda a, b: (a[1], b[1]), mm_tn_bprop)
    k.scale_shift_relu = custom("ScaleShiftReLU", lambda x, s, b: x, ssr_bprop)
    k.scale_shift_relu_grad = ops.Custom(
        f"{path}:ScaleShiftReLUGrad",
        lambda x, s, b, dy: (x, s, b),
        lambda x, s, b, dy: (x, x, x),
        func_type="aot",
        bprop=ssr_grad_bprop,
    )

    # settings [2, 1, L]: L = 2 hands y over channel-major, [C, N, H, W]; L = 3 takes x channel-major too
    # (gemm_conv.cc)
    def bn_ssr_shape(x, s, t, settings):
        y = (x[1], x[0], x[2], x[3]) if settings[2] == 2 else x
        channels = x[0:1] if settings[2] == 3 else x[1:2]
        return y, channels, channels

    k.bn_ssr = ops.Custom(
        f"{path}:BatchNormScaleShiftReLU",
        bn_ssr_shape,
        lambda x, s, t, settings: (x, x, x),
        func_type="aot",
        bprop=bn_ssr_bprop,
    )
    # differentiated once only: nothing differentiates BatchNorm twice (WGAN-GP's critic has LayerNorm instead)
    k.bn_ssr_grad = ops.Custom(
        f"{path}:BatchNormScaleShiftReLUGrad",
        lambda x, s, t, mean, var, settings, dy: (x, s, t),
        lambda x, s, t, mean, var, settings, dy: (x, x, x),
        func_type="aot",
    )

    # the fc generator's BatchNorm1d + ReLU in training, x [N, C], settings [eps, slope]: (y, mean, var), as bn_ssr
    def bn1d_relu_bprop(x, gamma, beta, settings, out, dout):
        dx, dgamma, dbeta = k.bn1d_relu_grad(x, gamma, beta, out[1], out[2], settings, dout[0])
        return dx, dgamma, dbeta, ops.zeros_like(settings)

    k.bn1d_relu = ops.Custom(
        f"{path}:BatchNorm1dReLU",
        lambda x, gamma, beta, settings: (x, gamma, gamma),
        lambda x, gamma, beta, settings: (x, x, x),
        func_type="aot",
        bprop=bn1d_relu_bprop,
    )
    k.bn1d_relu_grad = ops.Custom(
        f"{path}:BatchNorm1dReLUGrad",
        lambda x, gamma, beta, mean, var, settings, dy: (x, gamma, beta),
        lambda x, gamma, beta, mean, var, settings, dy: (x, x, x),
        func_type="aot",
    )

    # the folded inference of a Dense stack: x [N, in], w [out, in], b [out] -> relu(x @ w^T + b), x @ w^T + b; their
    # gradients are plain products, for whoever differentiates a generator in inference mode
    def dense_bias_bprop(x, w, b, out, dout):
        return k.mm(dout, w), k.mm_tn(dout, x), ops.reduce_sum(dout, 0)

    def dense_relu_bprop(x, w, b, out, dout):
        return dense_bias_bprop(x, w, b, out, dout * ops.cast(out > 0, dout.dtype))

    dense_shape = lambda x, w, b: (x[0], w[0])  # noqa: E731
    k.dense_relu = ops.Custom(f"{path}:DenseReLU", dense_shape, same, func_type="aot", bprop=dense_relu_bprop)
    k.dense_bias = ops.Custom(f"{path}:DenseBias", dense_shape, same, func_type="aot", bprop=dense_bias_bprop)
    k.bf16 = _bf16_products(k, custom)
    return k
