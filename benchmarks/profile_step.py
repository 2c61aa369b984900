"""Where one training step's time goes: MindSpore's profiler over a few compiled steps, per operator type.

    python benchmarks/profile_step.py --model dcgan            # batch 128, 5 profiled steps after 3 warm-up

Builds the model as scripts/train.py does (same process set-up, default flags, the compiled train_step), runs
it on random inputs of the right shapes, and prints three markdown tables, in ms per step: the operator types,
ms_gan's kernels by name (the profiler calls them all Custom; their names come from the compiled graph, which
MindSpore saves for this), and the largest single operators. The profiler's and the graph's files go to a
temporary folder, removed at the end.
"""

import argparse
import csv
import glob
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def random_batch_step(config):
    """CONFIG's compiled train step, as scripts/train.py builds it, on one fixed random batch: a function that
    runs one step and returns its numbers (as numpy, so the step has finished). Call setup_context first."""
    import mindspore as ms
    import numpy as np

    from ms_gan.models import build_discriminator, build_generator
    from ms_gan.train_step import make_optimizers, make_steps

    net_g, net_d = build_generator(config), build_discriminator(config)
    opt_g, opt_d = make_optimizers(net_g, net_d, config)
    train_step = make_steps(net_g, net_d, opt_g, opt_d, config)[0]
    rng = np.random.default_rng(0)
    real = ms.Tensor(rng.uniform(-1, 1, (config.batch_size, 1, 28, 28)).astype(np.float32))
    z = ms.Tensor(rng.standard_normal((config.batch_size, config.latent_dim)).astype(np.float32))
    labels = ms.Tensor((np.arange(config.batch_size) % config.num_classes).astype(np.int32))
    return lambda: train_step(real, z, labels).asnumpy()


def profile(model: str, batch_size: int, steps: int, warmup: int, folder: str, precision: str = "fp32"):
    """Run WARMUP train steps, STEPS timed ones, then STEPS profiled ones; returns (the profiler's per-operator
    CSV, the mean wall time in ms of a step unprofiled, and of a profiled one)."""
    from ms_gan.runtime import prepare_process

    prepare_process("CPU")
    import mindspore as ms

    from ms_gan.config import TrainConfig
    from ms_gan.runtime import setup_context

    config = TrainConfig(model=model, batch_size=batch_size, precision=precision).settled()
    setup_context("CPU", "graph", 0)
    ms.set_context(save_graphs=2, save_graphs_path=os.path.join(folder, "graphs"))  # for kernel_names
    step = random_batch_step(config)
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    wall = 1000 * (time.perf_counter() - start) / steps
    profiler = ms.Profiler(output_path=folder)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    profiled_wall = 1000 * (time.perf_counter() - start) / steps
    profiler.analyse()
    found = glob.glob(os.path.join(folder, "**", "cpu_op_detail_info_*.csv"), recursive=True)
    if not found:
        raise SystemExit(f"error: the profiler wrote no per-operator table under {folder}")
    return found[0], wall, profiled_wall


def kernel_names(folder: str) -> dict:
    """{operator's full name: ms_gan kernel's name} for the Custom operators of the compiled step, read from the
    graph MindSpore saved when it built the step (each Custom node's func_name, then its "Fullname with scope")."""
    built = sorted(glob.glob(os.path.join(folder, "graphs", "**", "graph_build_*.ir"), recursive=True))
    names, kernel = {}, None
    if not built:
        return names
    with open(built[0]) as graph:
        lines = graph.readlines()
    for line in lines:
        found = re.search(r'func_name: "[^"]*:(\w+)"', line)
        if found:
            kernel = found.group(1)
            continue
        scope = re.search(r"Fullname with scope: \((.*)\)", line)
        if scope and kernel is not None:
            names[scope.group(1)] = kernel
            kernel = None
    return names


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="dcgan", choices=("fc", "dcgan", "cgan"))
    p.add_argument("--batch_size", type=int, default=128)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--top", type=int, default=20, help="how many single operators to list")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16"), help="the kernels' products (train.py's)")
    args = p.parse_args()
    if args.steps < 1 or args.warmup < 1 or args.batch_size < 2:
        raise SystemExit("error: --steps and --warmup must be at least 1 and --batch_size at least 2")
    folder = tempfile.mkdtemp(prefix="ms_gan-profile-")
    try:
        table, wall, profiled_wall = profile(
            args.model, args.batch_size, args.steps, args.warmup, folder, args.precision
        )
        with open(table) as f:
            rows = list(csv.DictReader(f))
        kernels = kernel_names(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    per_type = {}
    for row in rows:
        per_type.setdefault(row["op_type"], [0.0, 0])
        per_type[row["op_type"]][0] += float(row["op_total_time(ms)"]) / args.steps
        per_type[row["op_type"]][1] += int(row["op_occurrences"]) // args.steps
    total = sum(ms for ms, _ in per_type.values())
    call_count = sum(n for _, n in per_type.values())
    print(
        f"\n{args.model}, batch {args.batch_size}, {args.precision}: {total:.1f} ms of operators per step "
        f"(the {args.steps} profiled steps' total, divided by {args.steps})\n"
    )
    print(
        f"wall time per step: {profiled_wall:.1f} ms profiled, {wall:.1f} ms in the {args.steps} steps before "
        f"(unprofiled); {call_count} operator calls per step, and {profiled_wall - total:.1f} ms of the profiled steps "
        f"outside them (MindSpore's dispatch between them, and the profiler's own work)\n"
    )
    print("| operator type | calls per step | ms per step | share |\n|---|---|---|---|")
    for op_type, (ms, calls) in sorted(per_type.items(), key=lambda item: -item[1][0]):
        if ms >= 0.05:
            print(f"| {op_type} | {calls} | {ms:.1f} | {100 * ms / total:.1f}% |")
    per_kernel = {}
    for row in rows:
        if row["op_type"] == "Custom":
            name = kernels.get(row["full_op_name"], "(unnamed)")
            per_kernel.setdefault(name, [0.0, 0])
            per_kernel[name][0] += float(row["op_total_time(ms)"]) / args.steps
            per_kernel[name][1] += int(row["op_occurrences"]) // args.steps
    if per_kernel:
        print("\nms_gan's kernels (the Custom row):\n\n| kernel | calls per step | ms per step |\n|---|---|---|")
        for name, (ms, calls) in sorted(per_kernel.items(), key=lambda item: -item[1][0]):
            print(f"| {name} | {calls} | {ms:.1f} |")
    print(f"\nthe {args.top} largest operators:\n\n| operator | ms per call |\n|---|---|")
    for row in sorted(rows, key=lambda row: -float(row["op_avg_time(ms)"]))[: args.top]:
        name = row["full_op_name"] + (f" ({kernels[row['full_op_name']]})" if row["full_op_name"] in kernels else "")
        print(f"| {name} | {float(row['op_avg_time(ms)']):.2f} |")


if __name__ == "__main__":
    main()
