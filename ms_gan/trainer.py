"""Training: set a run up (data, nets and steps, its folder), then the loop around the compiled step, which logs each
step, stops cleanly on a signal and leaves the end of each epoch and of the run to EpochEnd.

The units, each in its own module: RunFolder (run_folder.py: the folder, its lock, files and checkpoints),
TrainingNets (training_nets.py: G, D, optimizers, EMA, the compiled steps, resume), EpochEnd (epoch_end.py:
grids, checkpoints, evaluation, diagnosis, the page, the run's summary).
"""

import logging
import os
import signal
import time

import mindspore as ms
import numpy as np

from ms_gan import clusters, registry, stops
from ms_gan.classifier import load_classifier
from ms_gan.config import RunRecord, TrainConfig, load_record
from ms_gan.data import check_same_data, create_dataset, read_split, resolve_data_dir
from ms_gan.distributed import Replicas
from ms_gan.epoch_end import EpochEnd, StoppedOnFailure, TrainingDiverged
from ms_gan.errors import UserError
from ms_gan.log import only_rank_0
from ms_gan.models import precision
from ms_gan.progress import Progress, plural
from ms_gan.report import write_run_page
from ms_gan.run_folder import CLUSTERS_NAME, RunFolder
from ms_gan.runlog import STEP_METRICS, csv_writer, log_row
from ms_gan.runtime import setup_context
from ms_gan.training_nets import TrainingNets

log = logging.getLogger(__name__)
_SHORT = dict(zip(STEP_METRICS, ("d_real", "d_fake", "g", "acc_r", "acc_f")))
__all__ = ["train", "Interrupted", "StoppedOnFailure", "TrainingDiverged"]


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived; a checkpoint of the current step was saved. .signum says which."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


def train(config: TrainConfig, resume_dir: str = "", after_step=None, cured_from: str = "") -> str:
    """Train per CONFIG (continuing RESUME_DIR when given); returns the run directory. AFTER_STEP(step, generator),
    if given, is called with the step training starts from and then after every step (benchmarks/ema_sweep.py
    keeps its own averages of G with it). CURED_FROM: what train.py --cure records of the run this one cures.
    Raises UserError for bad input, TrainingDiverged on NaN/inf, Interrupted on SIGINT/SIGTERM."""
    config = config.settled()
    # the device first: a user without the GPU they named hears that, not what the data download said
    setup_context(config.device_target, config.mode, config.seed)
    precision(config)  # a --precision this machine cannot run is said now, not after the data is read
    replicas = Replicas(config.distribute)  # one process unless started by msrun with --distribute
    only_rank_0(replicas.lead)
    if config.batch_size % replicas.size or config.batch_size < 2 * replicas.size:
        raise UserError(
            f"--batch_size {config.batch_size} is the global batch; it must divide evenly among the "
            f"{replicas.size} workers, at least 2 images each (BatchNorm)"
        )
    folder = RunFolder(config, resume_dir, writes=replicas.lead)
    try:
        run = _Run(config, folder, resume_dir, replicas, cured_from)
        return _train_loop(run, config, after_step)
    finally:
        folder.release()


class _Run:
    """A run set up: its data, nets and steps (TrainingNets), folder (RunFolder), the step it starts from and its
    end-of-epoch actions (EpochEnd)."""

    def __init__(self, config: TrainConfig, folder: RunFolder, resume_dir: str, replicas, cured_from: str):
        self.config, self.folder, self.replicas = config, folder, replicas
        record = load_record(folder.file("config.json")) if resume_dir else RunRecord(cured_from=cured_from)
        if config.classifier:  # a file that is no classifier would only be found out at the end of the run
            load_classifier(config.classifier)
        if resume_dir and config.data_dir and not os.path.isdir(config.data_dir):
            raise UserError(
                f"the run's data folder {config.data_dir} is gone; pass --data_dir with a copy of the same data"
            )
        self.data_dir = resolve_data_dir(config.data_dir, config.data_url, config.dataset)
        # a resumed run may read its data from another folder, but only the same data
        record.data_fingerprint = check_same_data(self.data_dir, record.data_fingerprint, f"run {resume_dir}")
        batch_size = config.batch_size // replicas.size  # this worker's share
        found = self._clusters(resume_dir, record) if config.clusters else None
        self.dataset = create_dataset(
            self.data_dir,
            batch_size,
            config.latent_dim,
            config.conditional,
            seed=config.seed,
            num_workers=config.num_workers,
            classes=config.classes,
            mix=registry.loss(config.loss).gradient_penalty,
            num_shards=replicas.size,
            shard_id=replicas.rank,
            clusters=found,
        )
        self.steps_per_epoch = self.dataset.get_dataset_size()
        self.total = self.steps_per_epoch * config.epochs
        self.nets = TrainingNets(config, self.total, replicas)
        self.start_step = (
            self.nets.resume(resume_dir, config.model, self.steps_per_epoch, self.total, config.epochs)
            if resume_dir
            else 0
        )
        # the data's folder as the user named it: a default location (the cache, $MS_GAN_MNIST_DIR) stays "", so
        # config.json names no path of this machine and the run resumes wherever its data is found the same way
        config.data_dir = os.path.abspath(config.data_dir) if config.data_dir else ""
        self.seconds_before = folder.start(config, record, found, self.start_step)
        self.first_step_seconds = 0.0
        self.no_labels = ms.Tensor(np.zeros(batch_size, dtype=np.int32))
        log.info(
            f"run {folder.path}: {config.model} on {self.data_dir} ({self.steps_per_epoch * config.batch_size} "
            f"images/epoch"
            + (f", digits {config.classes}" if config.classes else "")
            + f"), {plural(config.epochs, 'epoch')} x {self.steps_per_epoch} steps, {config.device_target} "
            f"{config.mode} mode"
            + (", bfloat16 products" if precision(config) == "bf16" else "")
            + (f", {replicas.size} data-parallel workers x batch {batch_size}" if replicas.size > 1 else "")
        )
        lead = replicas.lead
        self.progress = Progress(self.total, self.steps_per_epoch, stream=None if lead else open(os.devnull, "w"))
        self.end_epoch = EpochEnd(
            config, folder, self.nets, self.data_dir, record, replicas, self.progress, self.steps_per_epoch
        )
        if lead:
            log.info(f"run page (reloads itself while training): {write_run_page(folder.path)}")

    def _clusters(self, resume_dir: str, record: RunRecord) -> clusters.Clusters:
        """--clusters: the clusters the run's labels come from: a resumed run's own (clusters.npz), else k-means
        on the training images, whose shares go into the RECORD."""
        config = self.config
        if resume_dir:
            path = os.path.join(resume_dir, CLUSTERS_NAME)
            if not os.path.isfile(path):
                raise UserError(f"{path} is missing: the run's clusters are gone, so it cannot be resumed")
            found = clusters.Clusters.load(path)
            config.cluster_space = found.space  # a run from before --cluster_space clustered pixels
            return found
        started = time.perf_counter()
        found, record.cluster_shares = clusters.fit(
            read_split(self.data_dir, "train")[0], config.clusters, config.seed, config.cluster_space
        )
        log.info(
            f"{config.clusters} k-means clusters of the training images ({config.cluster_space}) in "
            f"{time.perf_counter() - started:.1f}s; shares "
            + " ".join(f"{share:.3f}" for share in record.cluster_shares)
        )
        return found


class _SignalCatcher:
    """Turns SIGINT/SIGTERM into a flag the loop checks after each step, so the step finishes and is saved."""

    def __init__(self):
        self.signum = 0
        self.previous = {}

    def __enter__(self):
        self.install()
        stops.listen(self._handle_signum)
        return self

    def install(self):
        """(Re)install the handlers: MindSpore's runtime puts its own SIGINT handler (which re-raises SIGTERM)
        in place whenever it compiles a graph, so this runs after each compile-prone phase."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.signal(sig, self._handle)
            self.previous.setdefault(sig, previous)

    def _handle(self, signum, frame):
        self._handle_signum(signum)

    def _handle_signum(self, signum):
        self.signum = self.signum or signum  # the first one counts

    def __exit__(self, *exc):
        stops.listen(None)
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _signal_name(signum: int) -> str:
    return "Ctrl-C (SIGINT)" if signum == signal.SIGINT else f"signal {signum} ({signal.Signals(signum).name})"


def _signal_name(signum: int) -> str:
    return "Ctrl-C (SIGINT)" if signum == signal.SIGINT else f"signal {signum} ({signal.Signals(signum).name})"


def _train_loop(run, config: TrainConfig, after_step) -> str:
    step, t_start = run.start_step, time.perf_counter()
    iterator = run.dataset.create_dict_iterator(num_epochs=config.epochs)
    if after_step:
        after_step(step, run.nets.generator)
    with open(run.folder.log_path, "a", newline="") as log_file, _SignalCatcher() as signals:
        writer = csv_writer(log_file)
        for epoch in range(1, config.epochs + 1):
            for index, batch in enumerate(iterator):
                if (epoch - 1) * run.steps_per_epoch + index < run.start_step:
                    continue  # replaying data already trained on, so shuffles and noise line up exactly
                labels = batch["label"] if config.conditional else run.no_labels
                # n_critic > 1: D alone for n_critic - 1 steps, then D and G
                step_fn = (
                    run.nets.critic_step
                    if run.nets.critic_step and (step + 1) % config.n_critic
                    else run.nets.train_step
                )
                values = step_fn(batch["image"], batch["latent_code"], labels, batch.get("mix")).asnumpy()
                step += 1
                now = time.perf_counter() - t_start
                if step == run.start_step + 1:
                    run.first_step_seconds = now
                    run.progress.start_at(step)
                writer.writerow(log_row(epoch, step, values, run.seconds_before + now))
                if not np.all(np.isfinite(values)):
                    log_file.flush()
                    raise TrainingDiverged(
                        f"non-finite loss at epoch {epoch}, step {step} "
                        f"({', '.join(f'{k}={v:.4g}' for k, v in zip(STEP_METRICS, values))}); "
                        + run.folder.last_good_checkpoint()
                    )
                run.progress.update(step, epoch, config.epochs, {_SHORT[k]: v for k, v in zip(STEP_METRICS, values)})
                if after_step:
                    after_step(step, run.nets.generator)
                if signals.signum:
                    log_file.flush()
                    run.progress.close()
                    saved = run.end_epoch.checkpoint(epoch, step, complete=index + 1 == run.steps_per_epoch)
                    if run.replicas.lead:
                        write_run_page(
                            run.folder.path,
                            stopped=f"by {_signal_name(signals.signum)} at step {step}; "
                            f"continue with --resume {run.folder.path}",
                        )
                    raise Interrupted(
                        f"stopped by {_signal_name(signals.signum)} at epoch {epoch}, step {step}; "
                        f"saved {saved}; continue with --resume {run.folder.path}",
                        signals.signum,
                    )
            if epoch * run.steps_per_epoch <= run.start_step:
                continue  # this epoch was finished before the resume
            log_file.flush()
            run.end_epoch(epoch, step)
            signals.install()  # drawing the grid compiled the generator's inference graph
    run.progress.close()
    return run.end_epoch.finish(step, step - run.start_step, time.perf_counter() - t_start, run.first_step_seconds)
