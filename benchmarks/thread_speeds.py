"""Round by round, how fast a compiled graph runs and how busy each of the process's threads is (Linux).

    python benchmarks/thread_speeds.py                          # the fc floor graph (bench_train.py), 10 rounds
    python benchmarks/thread_speeds.py --graph step --model fc  # the fc train step, 8 rounds of 150 steps
    python benchmarks/thread_speeds.py --graph step --model dcgan --rounds 3 --repeats 6 --pin pool

On this 2-core machine MindSpore's CPU MatMul ran some rounds at about half speed (README, Performance: the fc
floor). Each row gives a round's median time and, from /proc, the share of a core each busy thread used in it:
the main thread (which calls the graph), MindSpore's pool threads (ActorThread_0, KernelThread_0), OpenMP's. --pin pool puts
the two pool threads on different cores first (os.sched_setaffinity), the experiment the README reports.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

POOL_THREADS = ("ActorThread_0", "KernelThread_0")  # MindSpore 2.10's CPU thread pool, by the names it gives them


def thread_cpu_seconds() -> dict:
    """{(thread id, name): CPU seconds so far} for every thread of this process."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        out[(tid, name)] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return out


def build(graph: str, model: str):
    """A function running one call of the graph to be timed, compiled and warmed up."""
    from ms_gan.runtime import prepare_process

    prepare_process("CPU")  # as scripts/train.py
    from ms_gan.config import TrainConfig
    from ms_gan.runtime import setup_context

    setup_context("CPU", "graph", 0)
    config = TrainConfig(model=model, batch_size=128).validate()
    if graph == "floor":
        from bench_train import matmul_floor_graph
        from ms_gan.models import build_discriminator, build_generator

        run = matmul_floor_graph(build_generator(config), build_discriminator(config), config.batch_size)[0]
        call = lambda: run().asnumpy()  # noqa: E731
    else:
        from profile_step import random_batch_step

        call = random_batch_step(config)
    for _ in range(3):
        call()
    return call


def pin_pool_threads() -> str:
    """Put MindSpore's two pool threads on different cores; the other threads keep every core."""
    cores = sorted(os.sched_getaffinity(0))
    found = {}
    for tid, name in thread_cpu_seconds():
        if name in POOL_THREADS:  # OpenMP's workers take the name of the thread that started them: the oldest is the pool's
            found[name] = min(found.get(name, int(tid)), int(tid))
    if len(found) != len(POOL_THREADS) or len(cores) < 2:
        raise SystemExit(f"error: --pin pool needs MindSpore's threads {', '.join(POOL_THREADS)} and 2 cores; "
                         f"found threads {sorted(found)} and cores {cores}")
    for core, name in zip(cores, POOL_THREADS):
        os.sched_setaffinity(found[name], {core})
    return ", ".join(f"{name} on core {core}" for core, name in zip(cores, POOL_THREADS))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--graph", default="floor", choices=("floor", "step"),
                   help="the fc floor's products (bench_train.matmul_floor_graph) or a whole train step")
    p.add_argument("--model", default="fc", choices=("fc", "dcgan", "cgan"))
    p.add_argument("--rounds", type=int, default=0, help="rounds (default: 10 for the floor, 8 for a step)")
    p.add_argument("--repeats", type=int, default=0, help="calls a round (default: 60 for the floor, 150 for a step)")
    p.add_argument("--pin", default="none", choices=("none", "pool"))
    args = p.parse_args()
    if args.graph == "floor" and args.model != "fc":
        raise SystemExit("error: --graph floor is the fc step's products; use --model fc")
    if args.rounds < 0 or args.repeats < 0:
        raise SystemExit("error: --rounds and --repeats must not be negative")
    if not os.path.isdir("/proc/self/task"):
        raise SystemExit("error: this reads each thread's CPU time from /proc/self/task (Linux)")
    rounds = args.rounds or (10 if args.graph == "floor" else 8)
    repeats = args.repeats or (60 if args.graph == "floor" else 150)
    call = build(args.graph, args.model)
    pinned = pin_pool_threads() if args.pin == "pool" else "nothing pinned"
    print(f"{args.model} {args.graph}, {rounds} rounds of {repeats} calls; {pinned}\n")
    print("| round | median ms | busiest threads, share of a core |\n|---|---|---|")
    medians = []
    for r in range(rounds):
        before, start, times = thread_cpu_seconds(), time.perf_counter(), []
        for _ in range(repeats):
            t = time.perf_counter()
            call()
            times.append(1000 * (time.perf_counter() - t))
        wall, after = time.perf_counter() - start, thread_cpu_seconds()
        main = str(os.getpid())
        busy = sorted((((cpu - before.get((tid, name), 0.0)) / wall, "main thread" if tid == main else name)
                       for (tid, name), cpu in after.items()), reverse=True)
        busy = [(share, name) for share, name in busy if share >= 0.05]
        medians.append(statistics.median(times))
        print(f"| {r} | {medians[-1]:.2f} | {', '.join(f'{name} {100 * share:.0f}%' for share, name in busy)} |",
              flush=True)
    print(f"\nrounds' medians: {min(medians):.2f}-{max(medians):.2f} ms, median {statistics.median(medians):.2f}")


if __name__ == "__main__":
    main()
