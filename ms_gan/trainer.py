"""The training loop around the compiled step: data, logging, grids, curves, checkpoints, resume, signals."""

import csv
import os
import signal
import time

import numpy as np

from ms_gan.checkpoint import (CONFIG_NAME, list_checkpoints, load_into, read_state, save_checkpoint)
from ms_gan.config import TrainConfig, save_config
from ms_gan.data import check_same_data, class_names, create_dataset, resolve_data_dir
from ms_gan.diagnose import diagnose, report
from ms_gan.errors import UserError
from ms_gan.fileio import save_npz, write_json
from ms_gan.progress import Progress, format_seconds
from ms_gan.runtime import setup_context
from ms_gan.sampling import generate, grid_inputs
from ms_gan.runlog import LOG_NAME, STEP_METRICS, read_log, rewrite_log
from ms_gan.visualize import plot_curves, save_grid

_SHORT = dict(zip(STEP_METRICS, ("d_real", "d_fake", "g", "acc_r", "acc_f")))


class TrainingDiverged(Exception):
    """A loss or parameter became NaN or infinite; earlier checkpoints are kept as they were."""


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived; a checkpoint of the current step was saved. .signum says which."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


def make_run_dir(config: TrainConfig) -> str:
    name = config.run_name or f"{config.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = os.path.join(config.output_dir, name)
    if os.path.exists(run_dir) and (not os.path.isdir(run_dir) or os.listdir(run_dir)):
        raise UserError(f"run directory {run_dir} already exists and is not empty; pick another --run_name "
                        f"or continue it with --resume {run_dir}")
    try:
        os.makedirs(os.path.join(run_dir, "images"), exist_ok=True)
        probe = os.path.join(run_dir, ".write-test")
        open(probe, "w").close()
        os.remove(probe)
    except OSError as e:
        raise UserError(f"cannot write run directory {run_dir}: {e.strerror or e}") from None
    return run_dir


class _SignalCatcher:
    """Turns SIGINT/SIGTERM into a flag the loop checks after each step, so the step finishes and is saved."""

    def __init__(self):
        self.signum = 0
        self.previous = {}

    def __enter__(self):
        self.install()
        return self

    def install(self):
        """(Re)install the handlers: MindSpore's runtime puts its own SIGINT handler (which re-raises SIGTERM)
        in place whenever it compiles a graph, so this runs after each compile-prone phase."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.signal(sig, self._handle)
            self.previous.setdefault(sig, previous)

    def _handle(self, signum, frame):
        self.signum = self.signum or signum  # the first one: MindSpore answers a SIGINT with a SIGTERM of its own

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _all_finite(*cells) -> bool:
    return all(np.isfinite(p.asnumpy()).all() for cell in cells for p in cell.get_parameters())


def train(config: TrainConfig, resume_dir: str = "") -> str:
    """Train per CONFIG (continuing RESUME_DIR when given); returns the run directory.
    Raises UserError for bad input, TrainingDiverged on NaN/inf, Interrupted on SIGINT/SIGTERM."""
    import mindspore as ms

    from ms_gan.distributed import Replicas, parameter_checksum
    from ms_gan.models import build_discriminator, build_generator, to_mixed_precision
    from ms_gan.train_step import make_optimizers, make_steps

    config.validate()
    if resume_dir and config.data_dir and not os.path.isdir(config.data_dir):
        raise UserError(f"the run's data folder {config.data_dir} is gone; pass --data_dir with a copy of the same data")
    data_dir = resolve_data_dir(config.data_dir, config.data_url, config.dataset)
    # a resumed run may read its data from another folder, but only the same data
    config.data_fingerprint = check_same_data(data_dir, config.data_fingerprint, f"run {resume_dir}")
    setup_context(config.device_target, config.mode, config.seed)
    replicas = Replicas(config.distribute)  # one process unless started by msrun with --distribute
    if config.batch_size % replicas.size:
        raise UserError(f"--batch_size {config.batch_size} is the global batch; it must divide evenly among the "
                        f"{replicas.size} workers")
    batch_size = config.batch_size // replicas.size  # this worker's share

    def lead_print(text):
        if replicas.lead:
            print(text, flush=True)

    dataset = create_dataset(data_dir, batch_size, config.latent_dim, config.conditional,
                             seed=config.seed, num_workers=config.num_workers, classes=config.classes,
                             mix=config.loss == "wgan-gp", num_shards=replicas.size, shard_id=replicas.rank)
    steps_per_epoch = dataset.get_dataset_size()
    total = steps_per_epoch * config.epochs

    net_g, net_d = build_generator(config), build_discriminator(config)
    if config.mixed_precision:  # casts the ops, keeps float32 parameters (and so checkpoints)
        net_g, net_d = to_mixed_precision(net_g, config.amp_level), to_mixed_precision(net_d, config.amp_level)
    elif config.amp_level != "O0":
        lead_print(f"note: --amp_level {config.amp_level} is for GPU/Ascend; on CPU ms_gan trains in float32")
    opt_g, opt_d = make_optimizers(net_g, net_d, config, total)
    cells = {"generator": net_g, "discriminator": net_d, "optim_g": opt_g, "optim_d": opt_d}
    ema = None
    if config.ema_decay:
        from ms_gan.ema import GeneratorEMA

        ema = cells["generator_ema"] = GeneratorEMA(net_g, build_generator(config), config.ema_decay)
    sampler = ema.net if ema else net_g  # what grids, evaluations and 'best' draw from
    start_step = 0
    if resume_dir:
        run_dir = resume_dir
        checkpoints = list_checkpoints(run_dir)
        if checkpoints:
            state = read_state(checkpoints[-1])
            if state.get("steps_per_epoch") != steps_per_epoch:
                raise UserError(f"{checkpoints[-1]} was saved with {state.get('steps_per_epoch')} steps per epoch, "
                                f"the data now gives {steps_per_epoch}: resume with the same data and batch size")
            for name, cell in cells.items():  # the learning rates stay as built: --lr and --epochs on resume win
                load_into(cell, os.path.join(checkpoints[-1], f"{name}.ckpt"), what=f"{config.model} {name}",
                          keep=(f"{name}.learning_rate",))
            start_step = state["step"]
        if start_step >= total:
            raise UserError(f"{run_dir} is already at step {start_step} (epoch {start_step // steps_per_epoch}), "
                            f"the end of --epochs {config.epochs}; pass a larger --epochs to train on")
        lead_print(f"resuming {run_dir} at step {start_step} of {total}"
                   + (f" from {checkpoints[-1]}" if checkpoints else " (no complete checkpoint yet: from the start)"))
    else:
        run_dir = make_run_dir(config) if replicas.lead else ""  # the other workers write nothing
    config.data_dir = data_dir
    log_path = os.path.join(run_dir, LOG_NAME) if run_dir else os.devnull
    if replicas.lead:
        save_config(config, os.path.join(run_dir, CONFIG_NAME))
        rewrite_log(log_path, read_log(log_path, up_to_step=start_step))  # drop steps past the checkpoint

    jit = config.mode == "graph"
    train_step, critic_step = make_steps(net_g, net_d, opt_g, opt_d, config, ema, jit=jit, replicas=replicas)
    net_g.set_train(True)
    net_d.set_train(True)
    grid_z, grid_labels, grid_cols = grid_inputs(config, seed=config.seed + 1)
    noise_path = os.path.join(run_dir, "fixed_noise.npz")
    if os.path.isfile(noise_path):  # a resumed run keeps drawing its grids from the very same noise
        with np.load(noise_path) as saved:
            grid_z, grid_labels = saved["z"], saved["labels"]
    elif replicas.lead:
        save_npz(noise_path, z=grid_z, labels=grid_labels)
    no_labels = ms.Tensor(np.zeros(batch_size, dtype=np.int32))

    lead_print(f"run {run_dir}: {config.model} on {data_dir} ({steps_per_epoch * config.batch_size} images/epoch"
               + (f", digits {config.classes}" if config.classes else "") + f"), {plural(config.epochs, 'epoch')} x "
               f"{steps_per_epoch} steps, {config.device_target} {config.mode} mode"
               + (f", {replicas.size} data-parallel workers x batch {batch_size}" if replicas.size > 1 else ""))
    quality = _Quality(config, run_dir, data_dir, cells) if config.eval_every and replicas.lead else None
    progress = Progress(total, steps_per_epoch, stream=None if replicas.lead else open(os.devnull, "w"))
    step, first_step_seconds, t_start = start_step, 0.0, time.perf_counter()
    seconds_before = float(read_log(log_path)["seconds"][-1]) if start_step else 0.0

    def checkpoint(epoch, complete):
        if not _all_finite(net_g, net_d, *([ema.net] if ema else [])):
            raise TrainingDiverged(f"non-finite parameters at epoch {epoch}, step {step}; not saved")
        state = {"epoch": epoch, "step": step, "epoch_complete": complete, "steps_per_epoch": steps_per_epoch}
        if not replicas.lead:
            return "(by rank 0)"
        return save_checkpoint(run_dir, state, cells, keep_last=config.keep_last)

    iterator = dataset.create_dict_iterator(num_epochs=config.epochs)
    with open(log_path, "a", newline="") as log_file, _SignalCatcher() as signals:
        writer = csv.writer(log_file)
        for epoch in range(1, config.epochs + 1):
            for index, batch in enumerate(iterator):
                if (epoch - 1) * steps_per_epoch + index < start_step:
                    continue  # replaying data already trained on, so shuffles and noise line up exactly
                labels = batch["label"] if config.conditional else no_labels
                # n_critic > 1: D alone for n_critic - 1 steps, then D and G
                step_fn = critic_step if critic_step and (step + 1) % config.n_critic else train_step
                values = step_fn(batch["image"], batch["latent_code"], labels, batch.get("mix")).asnumpy()
                step += 1
                now = time.perf_counter() - t_start
                if step == start_step + 1:
                    first_step_seconds = now
                    progress.start_at(step)
                    signals.install()
                writer.writerow([epoch, step] + [f"{v:.6g}" for v in values] + [f"{seconds_before + now:.3f}"])
                if not np.all(np.isfinite(values)):
                    log_file.flush()
                    last = list_checkpoints(run_dir) if run_dir else []
                    raise TrainingDiverged(
                        f"non-finite loss at epoch {epoch}, step {step} "
                        f"({', '.join(f'{k}={v:.4g}' for k, v in zip(STEP_METRICS, values))}); "
                        + (f"last good checkpoint {last[-1]} is intact: resume it with a lower --lr"
                           if last else "no checkpoint had been saved yet"))
                progress.update(step, epoch, config.epochs, {_SHORT[k]: v for k, v in zip(STEP_METRICS, values)})
                if signals.signum:
                    log_file.flush()
                    progress.close()
                    saved = checkpoint(epoch, complete=index + 1 == steps_per_epoch)
                    raise Interrupted(f"stopped by signal {signals.signum} ({signal.Signals(signals.signum).name}) at epoch {epoch}, step {step}; "
                                      f"saved {saved}; continue with --resume {run_dir}", signals.signum)
            if epoch * steps_per_epoch <= start_step:
                continue  # this epoch was finished before the resume
            log_file.flush()
            if replicas.lead:
                _draw(config, run_dir, epoch, sampler, grid_z, grid_labels, grid_cols, log_path, steps_per_epoch)
            if epoch % config.save_every == 0 or epoch == config.epochs:
                checkpoint(epoch, complete=True)
            if quality and (epoch % config.eval_every == 0 or epoch == config.epochs):
                quality.evaluate(epoch, step, sampler)
            signals.install()  # drawing the grid compiled the generator's inference graph
    progress.close()
    wall = time.perf_counter() - t_start
    trained = step - start_step
    speed = (trained - 1) * config.batch_size / max(wall - first_step_seconds, 1e-9) if trained > 1 else 0.0
    if replicas.size > 1:  # equal on every worker when data parallelism works; msrun keeps each worker's log
        print(f"rank {replicas.rank} of {replicas.size}: parameter checksum "
              f"{parameter_checksum(*cells.values())}", flush=True)
    if not replicas.lead:
        return run_dir
    write_json(os.path.join(run_dir, "summary.json"), {
        "epochs": config.epochs, "steps": step, "steps_this_process": trained, "wall_seconds": round(wall, 1),
        "first_step_seconds": round(first_step_seconds, 2), "images_per_second": round(speed, 1)})
    print(f"done in {format_seconds(wall)} ({speed:.0f} images/s after a {first_step_seconds:.1f}s first step); "
          f"samples in {run_dir}/images, checkpoints in {run_dir}/checkpoints", flush=True)
    metrics, real = quality.latest() if quality else _final_samples(config, data_dir, sampler)
    verdict, evidence = diagnose(read_log(log_path), metrics, real,
                                 expected_classes=len(config.classes) or config.num_classes, loss=config.loss)
    write_json(os.path.join(run_dir, "diagnosis.json"), {"verdict": verdict, "evidence": evidence})
    print(report(verdict, evidence), flush=True)
    return run_dir


class _Quality:
    """--eval_every: sample metrics during training, logged to metrics.csv, best generator kept by FD."""

    COLUMNS = ("epoch", "step", "fd", "inception_score", "precision", "recall", "digits_covered", "diversity",
               "label_accuracy")

    def __init__(self, config, run_dir, data_dir, cells):
        from ms_gan.metrics import Evaluator

        self.config, self.run_dir, self.cells = config, run_dir, cells
        self.evaluator = Evaluator(config.classifier_path, data_dir, config.classes or None, config.eval_samples)
        self.path = os.path.join(run_dir, "metrics.csv")
        self.best_path = os.path.join(run_dir, "checkpoints", "best", "state.json")
        self.best_fd = read_state(os.path.dirname(self.best_path))["fd"] if os.path.isfile(self.best_path) else np.inf
        self.last = None
        real = self.evaluator.real_row
        print(f"evaluating every {config.eval_every} epochs on {config.eval_samples} samples with "
              f"{self.evaluator.classifier_id}; real digits score "
              f"FD {real['fd']:.2f}, IS {real['inception_score']:.2f}, precision {real['precision']:.3f}, "
              f"recall {real['recall']:.3f}", flush=True)

    def evaluate(self, epoch, step, net_g):
        m = self.evaluator.score_generator(net_g, self.config, seed=self.config.seed)
        self.last = m
        new = not os.path.isfile(self.path)
        with open(self.path, "a") as f:
            if new:
                f.write(",".join(self.COLUMNS) + "\n")
            row = {"epoch": epoch, "step": step, **m}
            f.write(",".join(f"{row[k]:.6g}" if k in row else "" for k in self.COLUMNS) + "\n")
        improved = m["fd"] < self.best_fd
        if improved:
            self.best_fd = m["fd"]
            generators = {k: v for k, v in self.cells.items() if k in ("generator", "generator_ema")}
            save_checkpoint(self.run_dir, {"epoch": epoch, "step": step, "fd": m["fd"]}, generators, name="best")
        print(f"epoch {epoch}: FD {m['fd']:.2f}, IS {m['inception_score']:.2f}, precision {m['precision']:.3f}, "
              f"recall {m['recall']:.3f}, digits covered {m['digits_covered']}"
              + (f", label accuracy {m['label_accuracy']:.3f}" if "label_accuracy" in m else "")
              + (" (best so far: saved checkpoints/best)" if improved else ""), flush=True)

    def latest(self):
        return self.last, self.evaluator.real_row


def _final_samples(config, data_dir, net_g, num: int = 2000):
    """Score NUM samples of the final generator for the end-of-run diagnosis, so it can check for mode
    collapse: (metrics, real digits' metrics), or (None, None) with a note if the classifier is unusable."""
    from ms_gan.metrics import Evaluator

    try:
        evaluator = Evaluator(config.classifier_path, data_dir, config.classes or None, num)
    except UserError as e:
        print(f"note: samples not scored for the diagnosis: {e}", flush=True)
        return None, None
    return evaluator.score_generator(net_g, config, seed=config.seed), evaluator.real_row


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _draw(config, run_dir, epoch, net_g, grid_z, grid_labels, grid_cols, log_path, steps_per_epoch):
    """The epoch's sample grid from the fixed noise, and the curves so far."""
    images = generate(net_g, grid_z, grid_labels)
    row_labels = class_names(config.dataset, range(config.num_classes)) if config.conditional else None
    save_grid(images, os.path.join(run_dir, "images", f"epoch_{epoch:03d}.png"), ncol=grid_cols,
              title=f"{config.model}, epoch {epoch}", row_labels=row_labels)
    plot_curves(read_log(log_path), os.path.join(run_dir, "curves.png"), title=f"{config.model} training",
                steps_per_epoch=steps_per_epoch, loss=config.loss)
