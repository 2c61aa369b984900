"""Training and inference speed of ms_gan against an identical PyTorch loop, side by side.

    python benchmarks/bench_train.py                       # all models, batch 128, 3 alternating repeats
    python benchmarks/bench_train.py --models fc --repeats 5 --scaling

Each measurement runs in a fresh subprocess, alternating ms_gan and PyTorch so both see the same machine
state. ms_gan goes through its default path (the same data pipeline, step and environment as
scripts/train.py, no extra flags). Prints one JSON line per measurement, then a markdown table of medians.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.join(ROOT, "..", "shared", "data", "mnist")
STEPS = {"fc": 60, "dcgan": 8, "cgan": 8}  # timed steps after warm-up, per model at batch 128


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_loop(batches, step, steps: int, warmup: int):
    """Run warm-up + timed steps; returns (first step s, steady images/s, data wait ms/step, compute ms/step)."""
    it = iter(batches)
    t = time.perf_counter()
    step(*next(it))
    first = time.perf_counter() - t
    for _ in range(warmup):
        step(*next(it))
    wait = compute = 0.0
    n_images = 0
    for _ in range(steps):
        t0 = time.perf_counter()
        batch = next(it)
        t1 = time.perf_counter()
        step(*batch)  # each step returns numpy, so the work is done when it returns
        t2 = time.perf_counter()
        wait, compute = wait + t1 - t0, compute + t2 - t1
        n_images += len(batch[0])
    return first, n_images / (wait + compute), 1000 * wait / steps, 1000 * compute / steps


def worker_ms(args) -> dict:
    from ms_gan.runtime import prepare_process

    prepare_process("CPU")  # exactly what scripts/train.py does before importing MindSpore
    import mindspore as ms
    import numpy as np

    from ms_gan.config import TrainConfig
    from ms_gan.data import create_dataset
    from ms_gan.models import build_discriminator, build_generator, conv_implementation
    from ms_gan.runtime import setup_context
    from ms_gan.sampling import generate
    from ms_gan.train_step import make_optimizers, make_steps

    config = TrainConfig(
        model=args.model,
        batch_size=args.batch_size,
        data_dir=args.data_dir,
        conv_impl=args.conv_impl,
        precision=args.precision,
    ).settled()
    setup_context("CPU", "graph", 0)
    dataset = create_dataset(
        args.data_dir,
        config.batch_size,
        config.latent_dim,
        config.conditional,
        num_workers=config.num_workers,
        num_samples=args.num_images or None,
    )
    net_g, net_d = build_generator(config), build_discriminator(config)
    opt_g, opt_d = make_optimizers(net_g, net_d, config)
    train_step = make_steps(net_g, net_d, opt_g, opt_d)[0]
    no_labels = ms.Tensor(np.zeros(config.batch_size, np.int32))

    def batches():
        for _ in range(1000):
            for batch in dataset.create_tuple_iterator(num_epochs=1):
                yield batch if config.conditional else (batch[0], batch[1], no_labels)

    def step(real, z, labels):
        return train_step(real, z, labels).asnumpy()

    if args.epoch_time:
        return {"epoch_seconds": _epoch_time(batches(), step, dataset.get_dataset_size())}
    first, ips, wait, compute = timed_loop(batches(), step, args.steps, args.warmup)
    result = {
        "first_step_s": first,
        "train_images_per_s": ips,
        "data_wait_ms": wait,
        "compute_ms": compute,
        "conv_impl": conv_implementation(config),
    }
    if args.model == "fc" and args.precision == "fp32":  # the floor of MindSpore's float32 MatMul
        result.update(matmul_floor(net_g, net_d, config.batch_size))
    if args.inference:
        z = np.random.default_rng(0).standard_normal((10000, config.latent_dim), dtype=np.float32)
        labels = (np.arange(10000) % 10).astype(np.int32)
        generate(net_g, z, labels)  # compile every batch shape it draws with
        t = time.perf_counter()
        generate(net_g, z, labels)
        result["infer_images_per_s"] = 10000 / (time.perf_counter() - t)
    return result


def step_products(g_layers, d_layers, batch_size: int, d_in_one_call: bool = False):
    """The matrix products [(M, K, N), ...] one fc train_step must compute, from the (fan_out, fan_in) of each
    dense layer of G and D in forward order: G forward, its weight gradients and its input gradients (not
    z's); D on the reals and on the fakes for its own update, each forward, weight gradients and input
    gradients below its first layer (D_IN_ONE_CALL: both as one batch of twice the size, as ms_gan's step
    does where D scores each image alone, models.layers.is_per_sample: the same arithmetic in half the
    products); D on the fakes again for G's update, forward and input gradients down to the image (no weight
    gradients)."""
    products = []

    def add(layers, weight_grads: bool, input_grads_from: int, n: int = batch_size):
        for i, (fan_out, fan_in) in enumerate(layers):
            products.append((n, fan_in, fan_out))  # y = x W^T
            if weight_grads:
                products.append((fan_out, n, fan_in))  # dW = dy^T x
            if i >= input_grads_from:
                products.append((n, fan_out, fan_in))  # dx = dy W

    add(g_layers, True, 1)
    if d_in_one_call:
        add(d_layers, True, 1, 2 * batch_size)  # on the reals and the fakes
    else:
        add(d_layers, True, 1)  # on the reals
        add(d_layers, True, 1)  # on the fakes
    add(d_layers, False, 0)  # G's update
    return products


def step_dataflow(mm, g_weights, d_weights, z, d_input, d_grad, g_grad, d_in_one_call: bool):
    """step_products in the order one fc step runs them and on the operands it reuses, with MM(a, b, transpose_a,
    transpose_b) the framework's product and no other operation: G forward from Z; D's update, forward on D_INPUT
    (the reals; D_IN_ONE_CALL: reals and fakes as one batch, held as one operand), then its gradients from D_GRAD
    at the logits; D forward on G's fakes and the gradient from G_GRAD back to them; G's gradients from there.
    Weights are [fan_out, fan_in] as a Dense layer holds them. Each activation and gradient is the input of the
    next product, as in the step, so the products meet their operands in cache where the step does. Returns one
    element of each result nothing else reads, so a compiler can drop none."""

    def forward(x, weights):
        acts = [x]
        for w in weights:
            acts.append(mm(acts[-1], w, False, True))  # y = x W^T
        return acts

    def backward(acts, weights, grad, weight_grads: bool, down_to: int):
        kept = []
        for i in range(len(weights) - 1, -1, -1):
            if weight_grads:
                kept.append(mm(grad, acts[i], True, False)[0, 0])  # dW = dy^T x
            if i >= down_to:
                grad = mm(grad, weights[i], False, False)  # dx = dy W
        return grad, kept

    g_acts = forward(z, g_weights)
    fake = g_acts[-1]
    kept = []
    for x in (d_input,) if d_in_one_call else (d_input, fake):  # D's update
        d_acts = forward(x, d_weights)
        kept += [d_acts[-1][0, 0]] + backward(d_acts, d_weights, d_grad, True, 1)[1]
    f_acts = forward(fake, d_weights)  # D on the fakes again, for G's update
    d_fake = backward(f_acts, d_weights, g_grad, False, 0)[0]
    return kept + [f_acts[-1][0, 0]] + backward(g_acts, g_weights, d_fake, True, 1)[1]


def floor_operands(g_layers, d_layers, batch_size: int, d_in_one_call: bool, tensor):
    """step_dataflow's operands after the weights, as TENSOR(numpy array): z, D's input, the gradients at D's
    logits for its update and for G's, drawn at the scale of a trained step's (unit-variance activations)."""
    import numpy as np

    rng = np.random.default_rng(0)
    n_d = 2 * batch_size if d_in_one_call else batch_size

    def draw(*shape, scale=1.0):
        return tensor((rng.standard_normal(shape) * scale).astype(np.float32))

    weights = [[draw(out, fan_in, scale=fan_in**-0.5) for out, fan_in in layers] for layers in (g_layers, d_layers)]
    return (
        *weights,
        draw(batch_size, g_layers[0][1]),
        draw(n_d, d_layers[0][1]),
        draw(n_d, d_layers[-1][0]),
        draw(batch_size, d_layers[-1][0]),
    )


FLOOR_ROUNDS, FLOOR_REPEATS = 10, 10


def _floor_record(products, rounds) -> dict:
    """ROUNDS: seconds of each run, per round. The floor is the quickest round's median: from one round to the next
    the same graph moves a lot, with MindSpore's kernel threads placed well or badly (docs/performance.md)."""
    gflop = sum(2 * m * k * n for m, k, n in products) / 1e9
    medians = [1000 * statistics.median(times) for times in rounds]
    return {"floor_ms": min(medians), "floor_rounds_ms": medians, "floor_gflop": gflop, "floor_products": len(products)}


def _dense_layers(modules, dense_type):
    return [tuple(m.weight.shape) for m in modules if isinstance(m, dense_type)]


def matmul_floor_graph(net_g, net_d, batch_size: int):
    """(run, products): the fc step's products (step_dataflow) with MindSpore's MatMul as one compiled graph, its
    operands (floor_operands) held as the graph's parameters as a step's weights are; run() -> what it keeps."""
    import mindspore as ms
    from mindspore import nn, ops

    g_layers = _dense_layers((c for _, c in net_g.cells_and_names()), nn.Dense)
    d_layers = _dense_layers((c for _, c in net_d.cells_and_names()), nn.Dense)
    one_call = getattr(net_d, "per_sample", False)
    count = iter(range(1000))
    g_w, d_w, *inputs = floor_operands(
        g_layers,
        d_layers,
        batch_size,
        one_call,
        lambda a: ms.Parameter(ms.Tensor(a), name=f"floor_operand_{next(count)}"),
    )
    g_w, d_w = ms.ParameterTuple(g_w), ms.ParameterTuple(d_w)
    matmul, matmul_tn, matmul_nt = ops.MatMul(), ops.MatMul(transpose_a=True), ops.MatMul(transpose_b=True)

    def mm(a, b, ta, tb):  # step_dataflow never transposes both
        if ta:
            return matmul_tn(a, b)
        return matmul_nt(a, b) if tb else matmul(a, b)

    @ms.jit
    def run():
        return ops.stack(step_dataflow(mm, g_w, d_w, *inputs, one_call))

    return run, step_products(g_layers, d_layers, batch_size, one_call)


def matmul_floor(net_g, net_d, batch_size: int) -> dict:
    """The floor of an fc step: matmul_floor_graph timed in FLOOR_ROUNDS rounds of FLOOR_REPEATS runs."""
    run, products = matmul_floor_graph(net_g, net_d, batch_size)
    for _ in range(3):
        run().asnumpy()
    rounds = []
    for _ in range(FLOOR_ROUNDS):
        times = []
        for _ in range(FLOOR_REPEATS):
            t = time.perf_counter()
            run().asnumpy()
            times.append(time.perf_counter() - t)
        rounds.append(times)
    return _floor_record(products, rounds)


def torch_matmul_floor(net_g, net_d, batch_size: int) -> dict:
    """matmul_floor with torch.mm: the products of the PyTorch step (D on the reals and on the fakes in two
    calls), timed alone in PyTorch."""
    import torch

    g_layers = _dense_layers(net_g.modules(), torch.nn.Linear)
    d_layers = _dense_layers(net_d.modules(), torch.nn.Linear)
    g_w, d_w, *inputs = floor_operands(g_layers, d_layers, batch_size, False, torch.from_numpy)

    def mm(a, b, ta, tb):
        return torch.mm(a.t() if ta else a, b.t() if tb else b)

    rounds = []
    with torch.no_grad():
        for r in range(FLOOR_ROUNDS):
            times = []
            for i in range(FLOOR_REPEATS + (3 if r == 0 else 0)):
                t = time.perf_counter()
                step_dataflow(mm, g_w, d_w, *inputs, False)
                if r > 0 or i >= 3:
                    times.append(time.perf_counter() - t)
            rounds.append(times)
    return _floor_record(step_products(g_layers, d_layers, batch_size), rounds)


def worker_torch(args) -> dict:
    import torch
    from torch_reference import Batches, build, make_train_step

    from ms_gan.data import read_split

    torch.manual_seed(0)
    images, labels = read_split(args.data_dir, "train", args.num_images or None)
    data = Batches(images, labels, args.batch_size, 100)
    net_g, net_d = build(args.model)
    update = make_train_step(net_g, net_d)
    # --precision bf16: what a PyTorch user adds for bfloat16 on CPU, torch.autocast around the step and the drawing
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")

    def step(*batch):
        with autocast:
            return update(*batch)

    def batches():
        for _ in range(1000):
            yield from data

    if args.epoch_time:
        return {"epoch_seconds": _epoch_time(batches(), step, len(data))}
    first, ips, wait, compute = timed_loop(batches(), step, args.steps, args.warmup)
    result = {"first_step_s": first, "train_images_per_s": ips, "data_wait_ms": wait, "compute_ms": compute}
    if args.model == "fc" and args.precision == "fp32":
        result.update(torch_matmul_floor(net_g, net_d, args.batch_size))
    if args.inference:
        net_g.eval()
        z = torch.randn(10000, 100)
        lab = torch.arange(10000) % 10
        with torch.no_grad(), autocast:
            net_g(z[:500], lab[:500])
            t = time.perf_counter()
            for i in range(0, 10000, 500):
                net_g(z[i : i + 500], lab[i : i + 500]).float().numpy()
        result["infer_images_per_s"] = 10000 / (time.perf_counter() - t)
    return result


def _epoch_time(batches, step, steps_per_epoch: int) -> float:
    it = iter(batches)
    step(*next(it))  # compile / warm up outside the timed epoch
    t = time.perf_counter()
    for _ in range(steps_per_epoch):
        step(*next(it))
    return time.perf_counter() - t


def run_worker(framework, model, batch_size, args, **extra) -> dict:
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        framework,
        "--models",
        model,
        "--batch_sizes",
        str(batch_size),
        "--data_dir",
        args.data_dir,
        "--steps",
        str(extra.get("steps", max(3, STEPS[model] * 128 // batch_size))),
        "--warmup",
        str(args.warmup),
        "--num_images",
        str(extra.get("num_images", 0)),
        "--conv_impl",
        args.conv_impl,
        "--precision",
        extra.get("precision", "fp32"),
    ]
    if extra.get("inference"):
        cmd.append("--inference")
    if extra.get("epoch_time"):
        cmd.append("--epoch_time")
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"error: {framework} worker for {model} failed: {out.stderr.strip().splitlines()[-1:]}")
    record = {
        "framework": framework,
        "model": model,
        "batch_size": batch_size,
        "precision": extra.get("precision", "fp32"),
        **json.loads(lines[-1]),
    }
    print(json.dumps(record), flush=True)
    return record


def process_seconds(framework, model, epochs: int, args, precision: str = "fp32") -> dict:
    """Wall time of a whole training process, from launch to exit (import, compile, data, every epoch): ms_gan's
    scripts/train.py with its defaults (checkpoint, grid and curves each epoch, a run page), or the plain
    PyTorch script of the same training (parity.py's twin worker: the same nets, data and steps, 64 samples
    drawn at the end, nothing saved per epoch). PRECISION bf16: --precision bf16, or the twin under autocast."""
    with tempfile.TemporaryDirectory(prefix="ms_gan-bench-") as tmp:
        if framework == "ms":
            cmd = [
                sys.executable,
                os.path.join(ROOT, "scripts", "train.py"),
                "--model",
                model,
                "--epochs",
                str(epochs),
                "--data_dir",
                args.data_dir,
                "--output_dir",
                tmp,
                "--run_name",
                "run",
                "--precision",
                precision,
            ]
        else:
            cmd = [
                sys.executable,
                os.path.join(ROOT, "benchmarks", "parity.py"),
                "--torch_worker",
                tmp,
                "--models",
                model,
                "--seeds",
                "0",
                "--epochs",
                str(epochs),
                "--data_dir",
                args.data_dir,
                "--num",
                "64",
                "--precision",
                precision,
            ]
        start = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - start
        if out.returncode != 0:
            last = out.stderr.strip().splitlines()[-1:]
            raise SystemExit(f"error: {framework} process run of {model} failed: {last}")
        # the training loop alone, as each records it (train.py's includes its per-epoch checkpoint and grids)
        path = os.path.join(tmp, "run", "summary.json") if framework == "ms" else os.path.join(tmp, "timing.json")
        with open(path) as f:
            own = json.load(f)
    record = {
        "framework": framework,
        "model": model,
        "precision": precision,
        "epochs": epochs,
        "process_seconds": wall,
        "train_seconds": own["wall_seconds"],
        "steps": own["steps"],
    }
    print(json.dumps(record), flush=True)
    return record


def _torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]


def median_of(records, key):
    values = [r[key] for r in records if key in r]
    return statistics.median(values) if values else float("nan")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="fc,dcgan,cgan", help='step benchmarks of these models ("" for none)')
    p.add_argument("--batch_sizes", default="128")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--data_dir", default=DEFAULT_DATA)
    p.add_argument(
        "--scaling",
        action="store_true",
        help="also images/s at batch 64-512, and (fc) one epoch's time on 10k vs 24k images",
    )
    p.add_argument(
        "--conv_impl",
        default="auto",
        help="ms_gan's convolutions (see scripts/train.py --conv_impl); native measures MindSpore's own",
    )
    p.add_argument(
        "--process",
        default="",
        help="also time whole training processes of these models (e.g. fc): "
        "scripts/train.py against a plain PyTorch script, launch to exit, --process_epochs epochs",
    )
    p.add_argument("--process_epochs", type=int, default=5)
    p.add_argument("--output", default="", help="also write every record and the table to this JSON file")
    p.add_argument(
        "--precisions",
        default="fp32",
        help="fp32, bf16 or both (fp32,bf16): ms_gan's --precision, PyTorch's torch.autocast(cpu, bfloat16)",
    )
    p.add_argument("--frameworks", default="ms,torch", help="ms, torch or both (ms,torch)")
    p.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    p.add_argument("--worker", choices=("ms", "torch"), help=argparse.SUPPRESS)
    p.add_argument("--num_images", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--inference", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--epoch_time", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.worker:
        args.model, args.batch_size = args.models, int(args.batch_sizes)
        result = (worker_ms if args.worker == "ms" else worker_torch)(args)
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return

    frameworks = tuple(f for f in ("ms", "torch") if f in args.frameworks.split(","))
    try:
        import torch  # noqa: F401
    except ImportError:
        print(
            "notice: torch is not installed (pip install -r benchmarks/requirements.txt); measuring ms_gan alone",
            file=sys.stderr,
        )
        frameworks = tuple(f for f in frameworks if f != "torch")
    models = [m for m in args.models.split(",") if m]  # --models "" with --process: whole processes only
    records = []
    precisions = [p for p in args.precisions.split(",") if p]
    for repeat in range(args.repeats):
        for model in models:
            for precision in precisions if repeat % 2 == 0 else precisions[::-1]:
                for framework in frameworks if repeat % 2 == 0 else frameworks[::-1]:
                    extra = {"inference": True, "precision": precision}
                    if args.steps:
                        extra["steps"] = args.steps
                    records.append(run_worker(framework, model, 128, args, **extra))

    rows = [
        "| model | framework | precision | train images/s | ms/step (data wait + compute) | data wait | "
        "first step s | peak RSS MB | generate images/s | vs PyTorch |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    torch_version = _torch_version() if "torch" in frameworks else ""
    for model in models:
        for precision, framework in ((p, f) for p in precisions for f in frameworks):
            torch_ips = median_of(
                [r for r in records if (r["model"], r["framework"], r["precision"]) == (model, "torch", precision)],
                "train_images_per_s",
            )
            rs = [r for r in records if (r["model"], r["framework"], r["precision"]) == (model, framework, precision)]
            ips, wait, compute = (median_of(rs, k) for k in ("train_images_per_s", "data_wait_ms", "compute_ms"))
            ratio = f"{ips / torch_ips:.2f}x" if framework == "ms" and "torch" in frameworks else ""
            name = "ms_gan" if framework == "ms" else "PyTorch " + torch_version
            rows.append(
                f"| {model} | {name} | {precision} | {ips:.0f} | "
                f"{wait + compute:.1f} ({wait:.1f} + {compute:.1f}) | {100 * wait / (wait + compute):.1f}% | "
                f"{median_of(rs, 'first_step_s'):.2f} | {median_of(rs, 'peak_rss_mb'):.0f} | "
                f"{median_of(rs, 'infer_images_per_s'):.0f} | {ratio} |"
            )
    table = "\n".join(rows) if models else ""
    for floor in [r for r in records if "floor_ms" in r][:1]:
        lines = [
            f"\n\nfc floor: each step's matrix products ({floor['floor_gflop']:.2f} GFLOP) in its order and on its "
            f"operands, timed alone ({FLOOR_ROUNDS} rounds of {FLOOR_REPEATS}; the floor is the quickest round's "
            "median), against the step's compute time:\n",
            "| framework | products | floor ms | rounds' medians ms | GFLOP/s | step ms | step / floor |",
            "|---|---|---|---|---|---|---|",
        ]
        for framework in frameworks:
            fc = [
                r
                for r in records
                if (r["model"], r["framework"], r.get("precision", "fp32")) == ("fc", framework, "fp32")
                and "floor_ms" in r
            ]
            step, floor_ms = median_of(fc, "compute_ms"), min(r["floor_ms"] for r in fc)
            spread = [ms for r in fc for ms in r["floor_rounds_ms"]]
            lines.append(
                f"| {'ms_gan (MatMul)' if framework == 'ms' else 'PyTorch (torch.mm)'} | "
                f"{fc[0]['floor_products']} | {floor_ms:.1f} | {min(spread):.1f}-{max(spread):.1f} | "
                f"{fc[0]['floor_gflop'] / floor_ms * 1000:.0f} | {step:.1f} | {step / floor_ms:.2f}x |"
            )
        table += "\n".join(lines)
    processes = []
    for repeat in range(args.repeats if args.process else 0):
        for model in args.process.split(","):
            for precision in precisions if repeat % 2 == 0 else precisions[::-1]:
                for framework in frameworks if repeat % 2 == 0 else frameworks[::-1]:
                    processes.append(process_seconds(framework, model, args.process_epochs, args, precision))
    if processes:
        prow = [
            f"\n\nwhole process, {args.process_epochs} epochs, launch to exit (its training loop alone), median of "
            f"{args.repeats}:\n",
            "| model | precision | ms_gan s | PyTorch s |",
            "|---|---|---|---|",
        ]
        for model in args.process.split(","):
            for precision in precisions:
                cells = []
                for f in ("ms", "torch"):
                    rs = [
                        r
                        for r in processes
                        if (r["model"], r["framework"], r.get("precision", "fp32")) == (model, f, precision)
                    ]
                    cells.append(
                        f"{median_of(rs, 'process_seconds'):.1f} ({median_of(rs, 'train_seconds'):.1f})" if rs else ""
                    )
                prow.append(f"| {model} | {precision} | {cells[0]} | {cells[1]} |")
        table += "\n".join(prow)
    scaling = []
    if args.scaling:
        for model in models:
            for batch_size in (64, 128, 256, 512):
                for framework in frameworks:
                    scaling.append(run_worker(framework, model, batch_size, args))
            if model == "fc":  # a whole epoch of the conv models takes minutes on CPU; fc shows the trend
                for n in (10000, 24345):
                    for framework in frameworks:
                        scaling.append(run_worker(framework, model, 128, args, num_images=n, epoch_time=True))
        srows = [
            "| model | framework | b=64 | b=128 | b=256 | b=512 | epoch 10k s | epoch 24k s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for model in models:
            for framework in frameworks:
                rs = [r for r in scaling if r["model"] == model and r["framework"] == framework]
                speeds = {r["batch_size"]: r["train_images_per_s"] for r in reversed(rs) if "train_images_per_s" in r}
                ips = [f"{speeds[b]:.0f}" for b in (64, 128, 256, 512)]
                epochs = [f"{r['epoch_seconds']:.1f}" for r in rs if "epoch_seconds" in r] or ["", ""]
                srows.append(
                    f"| {model} | {'ms_gan' if framework == 'ms' else 'PyTorch'} | {' | '.join(ips)} | "
                    f"{' | '.join(epochs)} |"
                )
        table += "\n\nimages/s by batch size, and one epoch's seconds (batch 128):\n\n" + "\n".join(srows)
    print()
    print(table)
    if args.output:
        with open(args.output, "w") as f:
            json.dump({"records": records, "scaling": scaling, "processes": processes, "table": table}, f, indent=2)


if __name__ == "__main__":
    main()
