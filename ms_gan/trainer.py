"""The training loop around the compiled step: data, logging, grids, curves, checkpoints."""

import csv
import json
import os
import time

import numpy as np

from ms_gan.checkpoint import CONFIG_NAME, save_epoch
from ms_gan.config import TrainConfig, save_config
from ms_gan.data import create_dataset, resolve_data_dir
from ms_gan.errors import UserError
from ms_gan.progress import Progress, format_seconds
from ms_gan.runtime import setup_context
from ms_gan.sampling import generate, grid_inputs
from ms_gan.train_step import STEP_METRICS
from ms_gan.visualize import plot_curves, save_grid

LOG_NAME = "log.csv"
LOG_COLUMNS = ("epoch", "step") + STEP_METRICS + ("seconds",)


class TrainingDiverged(Exception):
    """A loss became NaN or infinite; earlier checkpoints are kept as they were."""


def make_run_dir(config: TrainConfig) -> str:
    name = config.run_name or f"{config.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = os.path.join(config.output_dir, name)
    if os.path.exists(run_dir) and os.listdir(run_dir):
        raise UserError(f"run directory {run_dir} already exists and is not empty; pick another --run_name")
    try:
        os.makedirs(os.path.join(run_dir, "images"), exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create run directory {run_dir}: {e.strerror}") from None
    if not os.access(run_dir, os.W_OK):
        raise UserError(f"run directory {run_dir} is not writable")
    return run_dir


def read_log(path: str) -> dict:
    """log.csv -> {column: np.ndarray}."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in LOG_COLUMNS} if rows else {k: np.array([]) for k in LOG_COLUMNS}


def train(config: TrainConfig) -> str:
    """Train per CONFIG; returns the run directory. Raises UserError for bad input, TrainingDiverged on NaN."""
    import mindspore as ms

    from ms_gan.models import build_discriminator, build_generator
    from ms_gan.train_step import make_optimizers, make_train_step

    config.validate()
    data_dir = resolve_data_dir(config.data_dir, config.data_url)
    setup_context(config.device_target, config.mode, config.seed)
    dataset = create_dataset(data_dir, config.batch_size, config.latent_dim, config.conditional,
                             seed=config.seed, num_workers=config.num_workers)
    steps_per_epoch = dataset.get_dataset_size()
    run_dir = make_run_dir(config)
    config.data_dir = data_dir
    save_config(config, os.path.join(run_dir, CONFIG_NAME))

    net_g, net_d = build_generator(config), build_discriminator(config)
    opt_g, opt_d = make_optimizers(net_g, net_d, config)
    train_step = make_train_step(net_g, net_d, opt_g, opt_d, jit=config.mode == "graph")
    net_g.set_train(True)
    net_d.set_train(True)

    grid_z, grid_labels, grid_cols = grid_inputs(config, seed=config.seed + 1)
    np.savez(os.path.join(run_dir, "fixed_noise.npz"), z=grid_z, labels=grid_labels)
    no_labels = ms.Tensor(np.zeros(config.batch_size, dtype=np.int32))

    total = steps_per_epoch * config.epochs
    print(f"run {run_dir}: {config.model} on {data_dir} ({steps_per_epoch * config.batch_size} images/epoch), "
          f"{config.epochs} epochs x {steps_per_epoch} steps, {config.device_target} {config.mode} mode", flush=True)
    progress = Progress(total, steps_per_epoch)
    log_path = os.path.join(run_dir, LOG_NAME)
    step, first_step_seconds, t_start = 0, 0.0, time.perf_counter()
    with open(log_path, "w", newline="") as log_file:
        writer = csv.writer(log_file)
        writer.writerow(LOG_COLUMNS)
        iterator = dataset.create_dict_iterator(num_epochs=config.epochs)
        for epoch in range(1, config.epochs + 1):
            for batch in iterator:
                labels = batch["label"] if config.conditional else no_labels
                values = train_step(batch["image"], batch["latent_code"], labels).asnumpy()
                step += 1
                now = time.perf_counter() - t_start
                if step == 1:
                    first_step_seconds = now
                    progress.start_at(1)
                writer.writerow([epoch, step] + [f"{v:.6g}" for v in values] + [f"{now:.3f}"])
                if not np.all(np.isfinite(values)):
                    log_file.flush()
                    raise TrainingDiverged(f"non-finite loss at epoch {epoch}, step {step} "
                                           f"({', '.join(f'{k}={v}' for k, v in zip(STEP_METRICS, values))}); "
                                           f"checkpoints up to the previous save are intact")
                progress.update(step, epoch, config.epochs, dict(zip(("d_real", "d_fake", "g", "acc_r", "acc_f"), values)))
            log_file.flush()
            _end_of_epoch(config, run_dir, epoch, net_g, net_d, opt_g, opt_d, grid_z, grid_labels, grid_cols,
                          log_path, steps_per_epoch)
    progress.close()
    wall = time.perf_counter() - t_start
    steady = (step - 1) * config.batch_size / max(wall - first_step_seconds, 1e-9)
    summary = {"epochs": config.epochs, "steps": step, "wall_seconds": round(wall, 1),
               "first_step_seconds": round(first_step_seconds, 2), "images_per_second": round(steady, 1)}
    with open(os.path.join(run_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"done in {format_seconds(wall)} ({steady:.0f} images/s after a {first_step_seconds:.1f}s first step); "
          f"samples in {run_dir}/images, checkpoints in {run_dir}/checkpoints", flush=True)
    return run_dir


def _end_of_epoch(config, run_dir, epoch, net_g, net_d, opt_g, opt_d, grid_z, grid_labels, grid_cols,
                  log_path, steps_per_epoch):
    images = generate(net_g, grid_z, grid_labels)
    row_labels = list(range(config.num_classes)) if config.conditional else None
    save_grid(images, os.path.join(run_dir, "images", f"epoch_{epoch:03d}.png"), ncol=grid_cols,
              title=f"{config.model}, epoch {epoch}", row_labels=row_labels)
    plot_curves(read_log(log_path), os.path.join(run_dir, "curves.png"), title=f"{config.model} training",
                steps_per_epoch=steps_per_epoch)
    if epoch % config.save_every == 0 or epoch == config.epochs:
        save_epoch(run_dir, epoch, net_g, net_d, opt_g, opt_d)


