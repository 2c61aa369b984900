"""The training loop around the compiled step: data, logging, grids, curves, the run page, checkpoints, resume,
signals."""

import logging
import os
import signal
import time

import mindspore as ms
import numpy as np

from ms_gan import clusters, stops
from ms_gan.checkpoint import CONFIG_NAME, list_checkpoints, load_into, read_state, save_checkpoint
from ms_gan.classifier import load_classifier
from ms_gan.config import TrainConfig, save_config
from ms_gan.data import check_same_data, create_dataset, read_split, resolve_data_dir
from ms_gan.diagnose import diagnose, prescribe, prescription, record, report
from ms_gan.distributed import Replicas, parameter_checksum
from ms_gan.ema import GeneratorEMA
from ms_gan.errors import UserError
from ms_gan.fileio import remove_quietly, save_npz, write_json
from ms_gan.log import EVERY_RANK, only_rank_0
from ms_gan.metrics import Evaluator
from ms_gan.models import build_discriminator, build_generator, to_mixed_precision
from ms_gan.progress import Progress, format_seconds
from ms_gan.report import write_run_page
from ms_gan.runlock import LOCK_NAME, RunLock
from ms_gan.runlog import LOG_NAME, STEP_METRICS, csv_writer, log_row, read_log, rewrite_log
from ms_gan.runtime import setup_context
from ms_gan.sampling import generate, grid_inputs, row_names
from ms_gan.train_step import make_optimizers, make_steps
from ms_gan.visualize import plot_curves, save_grid

log = logging.getLogger(__name__)
_SHORT = dict(zip(STEP_METRICS, ("d_real", "d_fake", "g", "acc_r", "acc_f")))
ALARMS = ("convergence failure", "mode collapse", "D dominant")  # live verdicts that print a warning
FAILURES = ("convergence failure", "mode collapse")  # and those --stop_on_failure stops on


class TrainingDiverged(Exception):
    """A loss or parameter became NaN or infinite; earlier checkpoints are kept as they were."""


class StoppedOnFailure(Exception):
    """--stop_on_failure: the diagnosis after an epoch found a failure; the epoch's checkpoint was saved."""


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived; a checkpoint of the current step was saved. .signum says which."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


def make_run_dir(config: TrainConfig) -> tuple:
    """(the new run's folder, its RunLock): the folder is created and locked before it is checked for being
    empty, so two processes starting the same --run_name at once cannot both pass."""
    name = config.run_name or f"{config.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = os.path.join(config.output_dir, name)
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise UserError(f"--run_name {name}: {run_dir} exists and is a file; pick another --run_name")
    try:
        os.makedirs(run_dir, exist_ok=True)
    except OSError as e:
        raise UserError(
            f"cannot create run directory {run_dir}: {e.strerror or e}; pick a writable --output_dir"
        ) from None
    lock = RunLock(run_dir, hint="pick a writable --output_dir")
    if set(os.listdir(run_dir)) - {LOCK_NAME}:
        lock.release()
        raise UserError(
            f"run directory {run_dir} already exists and is not empty; pick another --run_name "
            f"or continue it with --resume {run_dir}"
        )
    try:
        os.makedirs(os.path.join(run_dir, "images"), exist_ok=True)
    except OSError as e:
        lock.release()
        raise UserError(f"cannot write run directory {run_dir}: {e.strerror or e}") from None
    return run_dir, lock


def _remove_unstarted(run_dir: str) -> None:
    """Remove a new run's folder that set-up failed in before anything of the run was written into it."""
    if set(os.listdir(run_dir)) <= {LOCK_NAME, "images"} and not os.listdir(os.path.join(run_dir, "images")):
        remove_quietly(run_dir)


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


def _all_finite(*cells) -> bool:
    return all(np.isfinite(p.asnumpy()).all() for cell in cells for p in cell.get_parameters())


def train(config: TrainConfig, resume_dir: str = "", after_step=None) -> str:
    """Train per CONFIG (continuing RESUME_DIR when given); returns the run directory. AFTER_STEP(step, generator),
    if given, is called with the step training starts from and then after every step (benchmarks/ema_sweep.py
    keeps its own averages of G with it).
    Raises UserError for bad input, TrainingDiverged on NaN/inf, Interrupted on SIGINT/SIGTERM."""
    run = _Run(config, resume_dir)
    try:
        return _train_loop(run, config, after_step)
    finally:
        run.release()


def _train_loop(run, config: TrainConfig, after_step) -> str:
    step, t_start = run.start_step, time.perf_counter()
    iterator = run.dataset.create_dict_iterator(num_epochs=config.epochs)
    if after_step:
        after_step(step, run.cells["generator"])
    with open(run.log_path, "a", newline="") as log_file, _SignalCatcher() as signals:
        writer = csv_writer(log_file)
        for epoch in range(1, config.epochs + 1):
            for index, batch in enumerate(iterator):
                if (epoch - 1) * run.steps_per_epoch + index < run.start_step:
                    continue  # replaying data already trained on, so shuffles and noise line up exactly
                labels = batch["label"] if config.conditional else run.no_labels
                # n_critic > 1: D alone for n_critic - 1 steps, then D and G
                step_fn = run.critic_step if run.critic_step and (step + 1) % config.n_critic else run.train_step
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
                        + run.last_good_checkpoint()
                    )
                run.progress.update(step, epoch, config.epochs, {_SHORT[k]: v for k, v in zip(STEP_METRICS, values)})
                if after_step:
                    after_step(step, run.cells["generator"])
                if signals.signum:
                    log_file.flush()
                    run.progress.close()
                    saved = run.checkpoint(epoch, step, complete=index + 1 == run.steps_per_epoch)
                    if run.replicas.lead:
                        write_run_page(
                            run.run_dir,
                            stopped=f"by {_signal_name(signals.signum)} at step {step}; "
                            f"continue with --resume {run.run_dir}",
                        )
                    raise Interrupted(
                        f"stopped by {_signal_name(signals.signum)} at epoch {epoch}, step {step}; "
                        f"saved {saved}; continue with --resume {run.run_dir}",
                        signals.signum,
                    )
            if epoch * run.steps_per_epoch <= run.start_step:
                continue  # this epoch was finished before the resume
            log_file.flush()
            run.end_epoch(epoch, step)
            signals.install()  # drawing the grid compiled the generator's inference graph
    run.progress.close()
    return run.finish(step, time.perf_counter() - t_start)


CLUSTERS_NAME = "clusters.npz"  # a --clusters run's centroids and their space, beside its config


class _Run:
    """Everything around the loop: set-up (data, nets, optimizers, the compiled steps, a resume, the run
    directory, the fixed grid noise), what each epoch ends with, and the end of the run."""

    def __init__(self, config: TrainConfig, resume_dir: str):
        self.config = config.validate()
        # the device first: a user without the GPU they named hears that, not what the data download said
        setup_context(config.device_target, config.mode, config.seed)
        self.replicas = Replicas(config.distribute)  # one process unless started by msrun with --distribute
        only_rank_0(self.replicas.lead)
        if config.batch_size % self.replicas.size or config.batch_size < 2 * self.replicas.size:
            raise UserError(
                f"--batch_size {config.batch_size} is the global batch; it must divide evenly among the "
                f"{self.replicas.size} workers, at least 2 images each (BatchNorm)"
            )
        self.lock, self.new_run = None, not resume_dir
        if not self.replicas.lead:  # the other data-parallel workers write nothing
            self.run_dir = resume_dir
        elif resume_dir:
            self.run_dir = resume_dir
            self.lock = RunLock(resume_dir, hint="copy the run somewhere writable and --resume the copy")
        else:
            self.run_dir, self.lock = make_run_dir(config)
        try:
            self._set_up(config, resume_dir)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Let go of the run: its lock, and a new run's folder if set-up failed before writing anything."""
        if self.lock:
            self.lock.release()
            self.lock = None
            if self.new_run and not os.path.isfile(os.path.join(self.run_dir, CONFIG_NAME)):
                _remove_unstarted(self.run_dir)

    def _set_up(self, config: TrainConfig, resume_dir: str) -> None:
        if config.classifier:  # a file that is no classifier would only be found out at the end of the run
            load_classifier(config.classifier)
        if resume_dir and config.data_dir and not os.path.isdir(config.data_dir):
            raise UserError(
                f"the run's data folder {config.data_dir} is gone; pass --data_dir with a copy of the same data"
            )
        self.data_dir = resolve_data_dir(config.data_dir, config.data_url, config.dataset)
        # a resumed run may read its data from another folder, but only the same data
        config.data_fingerprint = check_same_data(self.data_dir, config.data_fingerprint, f"run {resume_dir}")
        batch_size = config.batch_size // self.replicas.size  # this worker's share
        self.clusters = self._clusters(resume_dir) if config.clusters else None
        self.dataset = create_dataset(
            self.data_dir,
            batch_size,
            config.latent_dim,
            config.conditional,
            seed=config.seed,
            num_workers=config.num_workers,
            classes=config.classes,
            mix=config.loss == "wgan-gp",
            num_shards=self.replicas.size,
            shard_id=self.replicas.rank,
            clusters=self.clusters,
        )
        self.steps_per_epoch = self.dataset.get_dataset_size()
        self.total = self.steps_per_epoch * config.epochs
        self.cells, self.ema = self._build_cells()
        self.sampler = self.ema.net if self.ema else self.cells["generator"]  # what grids and evaluations draw from
        self.start_step = self._resume(resume_dir) if resume_dir else 0
        # the data's folder as the user named it: a default location (the cache, $MS_GAN_MNIST_DIR) stays "", so
        # config.json names no path of this machine and the run resumes wherever its data is found the same way
        config.data_dir = os.path.abspath(config.data_dir) if config.data_dir else ""
        self.log_path = os.path.join(self.run_dir, LOG_NAME) if self.run_dir else os.devnull
        if self.replicas.lead:
            save_config(config, os.path.join(self.run_dir, CONFIG_NAME))
            if self.clusters is not None:
                self.clusters.save(os.path.join(self.run_dir, CLUSTERS_NAME))
            rewrite_log(self.log_path, read_log(self.log_path, up_to_step=self.start_step))  # drop steps past it
        self.seconds_before = float(read_log(self.log_path)["seconds"][-1]) if self.start_step else 0.0
        self.first_step_seconds = 0.0

        c = self.cells
        self.train_step, self.critic_step = make_steps(
            c["generator"],
            c["discriminator"],
            c["optim_g"],
            c["optim_d"],
            config,
            self.ema,
            jit=config.mode == "graph",
            replicas=self.replicas,
            total_steps=self.total,
        )
        self.grid = self._grid_noise()
        self.no_labels = ms.Tensor(np.zeros(batch_size, dtype=np.int32))
        log.info(
            f"run {self.run_dir}: {config.model} on {self.data_dir} ({self.steps_per_epoch * config.batch_size} "
            f"images/epoch"
            + (f", digits {config.classes}" if config.classes else "")
            + f"), {plural(config.epochs, 'epoch')} x {self.steps_per_epoch} steps, {config.device_target} "
            f"{config.mode} mode"
            + (f", {self.replicas.size} data-parallel workers x batch {batch_size}" if self.replicas.size > 1 else "")
        )
        lead = self.replicas.lead
        self.quality = _Quality(config, self.run_dir, self.data_dir, self.cells) if config.eval_every and lead else None
        self.progress = Progress(self.total, self.steps_per_epoch, stream=None if lead else open(os.devnull, "w"))
        if lead:
            log.info(f"run page (reloads itself while training): {write_run_page(self.run_dir)}")

    def _build_cells(self):
        """{name: cell} of everything a checkpoint holds, and the EMA of G (or None)."""

        config = self.config
        net_g, net_d = build_generator(config), build_discriminator(config)
        if config.mixed_precision:  # casts the ops, keeps float32 parameters (and so checkpoints)
            net_g, net_d = to_mixed_precision(net_g, config.amp_level), to_mixed_precision(net_d, config.amp_level)
        elif config.amp_level != "O0":
            log.info(f"note: --amp_level {config.amp_level} is for GPU/Ascend; on CPU ms_gan trains in float32")
        opt_g, opt_d = make_optimizers(net_g, net_d, config, self.total)
        cells = {"generator": net_g, "discriminator": net_d, "optim_g": opt_g, "optim_d": opt_d}
        ema = None
        if config.ema_decay:
            ema = cells["generator_ema"] = GeneratorEMA(net_g, build_generator(config), config.ema_decay)
        return cells, ema

    def _clusters(self, resume_dir: str) -> clusters.Clusters:
        """--clusters: the clusters the run's labels come from: a resumed run's own (clusters.npz), else k-means
        on the training images, whose shares go into the config."""
        config = self.config
        if resume_dir:
            path = os.path.join(resume_dir, CLUSTERS_NAME)
            if not os.path.isfile(path):
                raise UserError(f"{path} is missing: the run's clusters are gone, so it cannot be resumed")
            found = clusters.Clusters.load(path)
            config.cluster_space = found.space  # a run from before --cluster_space clustered pixels
            return found
        started = time.perf_counter()
        found, config.cluster_shares = clusters.fit(
            read_split(self.data_dir, "train")[0], config.clusters, config.seed, config.cluster_space
        )
        log.info(
            f"{config.clusters} k-means clusters of the training images ({config.cluster_space}) in "
            f"{time.perf_counter() - started:.1f}s; shares "
            + " ".join(f"{share:.3f}" for share in config.cluster_shares)
        )
        return found

    def _resume(self, run_dir: str) -> int:
        """RUN_DIR's newest checkpoint's step, with every cell loaded from that checkpoint."""
        start_step = 0
        checkpoints = list_checkpoints(run_dir)
        if checkpoints:
            state = read_state(checkpoints[-1])
            if state.get("steps_per_epoch") != self.steps_per_epoch:
                raise UserError(
                    f"{checkpoints[-1]} was saved with {state.get('steps_per_epoch')} steps per epoch, "
                    f"the data now gives {self.steps_per_epoch}: resume with the same data and batch size"
                )
            for name, cell in self.cells.items():  # the learning rates stay as built: --lr and --epochs on resume win
                load_into(
                    cell,
                    os.path.join(checkpoints[-1], f"{name}.ckpt"),
                    what=f"{self.config.model} {name}",
                    keep=(f"{name}.learning_rate",),
                )
            start_step = state["step"]
        if start_step >= self.total:
            raise UserError(
                f"{run_dir} is already at step {start_step} (epoch {start_step // self.steps_per_epoch}), "
                f"the end of --epochs {self.config.epochs}; pass a larger --epochs to train on"
            )
        log.info(
            f"resuming {run_dir} at step {start_step} of {self.total}"
            + (f" from {checkpoints[-1]}" if checkpoints else " (no complete checkpoint yet: from the start)")
        )
        return start_step

    def _grid_noise(self):
        """(z, labels, columns) of the per-epoch grid: fixed_noise.npz of the run, written when it starts, so a
        resumed run keeps drawing from the very same noise."""
        z, labels, cols = grid_inputs(self.config, seed=self.config.seed + 1)
        path = os.path.join(self.run_dir, "fixed_noise.npz")
        if os.path.isfile(path):
            with np.load(path) as saved:
                z, labels = saved["z"], saved["labels"]
        elif self.replicas.lead:
            save_npz(path, z=z, labels=labels)
        return z, labels, cols

    def checkpoint(self, epoch: int, step: int, complete: bool) -> str:
        """Save every cell at STEP (rank 0 alone); refuses non-finite parameters."""
        if not _all_finite(*self.cells.values()):
            raise TrainingDiverged(
                f"non-finite parameters at epoch {epoch}, step {step}; not saved; {self.last_good_checkpoint()}"
            )
        state = {"epoch": epoch, "step": step, "epoch_complete": complete, "steps_per_epoch": self.steps_per_epoch}
        if not self.replicas.lead:
            return "(by rank 0)"
        try:
            return save_checkpoint(self.run_dir, state, self.cells, keep_last=self.config.keep_last)
        except OSError as e:  # a full disk, a folder made read-only under the run: nothing half-written is left
            raise UserError(
                f"cannot save the checkpoint of step {step} in {self.run_dir}/checkpoints "
                f"({e.strerror or e}); the checkpoints before it are intact: make room, then --resume "
                f"{self.run_dir}"
            ) from None

    def last_good_checkpoint(self) -> str:
        last = list_checkpoints(self.run_dir) if self.run_dir else []
        return (
            f"last good checkpoint {last[-1]} is intact: resume it with a lower --lr"
            if last
            else "no checkpoint had been saved yet"
        )

    def end_epoch(self, epoch: int, step: int) -> None:
        """The epoch's grid and curves, its checkpoint (every --save_every and the last) and evaluation."""
        config = self.config
        if self.replicas.lead:
            self._draw(epoch)
        if epoch % config.save_every == 0 or epoch == config.epochs:
            self.checkpoint(epoch, step, complete=True)
        evaluated = self.quality and (epoch % config.eval_every == 0 or epoch == config.epochs)
        if evaluated:
            self.quality.evaluate(epoch, step, self.sampler)
        stop = ""
        if self.replicas.lead and epoch < config.epochs:  # the last epoch's diagnosis is the run's (finish)
            stop = self._diagnose_so_far(epoch, step, self.quality.latest() if evaluated else (None, None))
        if self.replicas.lead:
            write_run_page(self.run_dir, stopped=stop)
        # rank 0 diagnoses; every rank stops with it, or the others would wait for it in the next step
        if config.stop_on_failure and epoch < config.epochs and self.replicas.any(bool(stop)):
            raise StoppedOnFailure(stop or "rank 0's diagnosis found a failure; its log says which")

    def _diagnose_so_far(self, epoch: int, step: int, scored) -> str:
        """The diagnosis of the steps so far (and of this epoch's samples, if evaluated), into diagnosis.json
        for the run page; a failure is a warning, or with --stop_on_failure the reason to end the run."""
        config = self.config
        verdict, evidence = diagnose(
            read_log(self.log_path), *scored, loss=config.loss, expected_classes=config.digit_classes
        )
        so_far = f"after epoch {epoch}, step {step}"
        write_json(os.path.join(self.run_dir, "diagnosis.json"), record(verdict, evidence, config, so_far=so_far))
        if verdict in ALARMS:
            self.progress.close()
            cures = prescribe(verdict, config)
            log.info(f"warning: {verdict} {so_far}: {evidence[-1]}" + (f" (cure: {cures[0].flags})" if cures else ""))
        if config.stop_on_failure and verdict in FAILURES:
            return (
                f"{verdict} {so_far} ({evidence[-1]}); checkpoints kept in {self.run_dir}/checkpoints; "
                f"see {os.path.join(self.run_dir, 'index.html')}"
            )
        return ""

    def _draw(self, epoch: int) -> None:
        """The epoch's sample grid from the fixed noise, and the curves so far."""
        config, (z, labels, cols) = self.config, self.grid
        images = generate(self.sampler, z, labels)
        row_labels = row_names(config, range(config.num_classes)) if config.conditional else None
        save_grid(
            images,
            os.path.join(self.run_dir, "images", f"epoch_{epoch:03d}.png"),
            ncol=cols,
            title=f"{config.model}, epoch {epoch}",
            row_labels=row_labels,
        )
        plot_curves(
            read_log(self.log_path),
            os.path.join(self.run_dir, "curves.png"),
            title=f"{config.model} training",
            steps_per_epoch=self.steps_per_epoch,
            loss=config.loss,
        )

    def finish(self, step: int, wall: float) -> str:
        """summary.json (speed), and the end-of-run diagnosis from the log and the final generator's samples."""

        config, trained = self.config, step - self.start_step
        speed = (trained - 1) * config.batch_size / max(wall - self.first_step_seconds, 1e-9) if trained > 1 else 0.0
        if self.replicas.size > 1:  # equal on every worker when data parallelism works; msrun keeps each worker's log
            log.info(
                f"rank {self.replicas.rank} of {self.replicas.size}: parameter checksum "
                f"{parameter_checksum(*self.cells.values())}",
                extra=EVERY_RANK,
            )
        if not self.replicas.lead:
            return self.run_dir
        write_json(
            os.path.join(self.run_dir, "summary.json"),
            {
                "epochs": config.epochs,
                "steps": step,
                "steps_this_process": trained,
                "wall_seconds": round(wall, 1),
                "first_step_seconds": round(self.first_step_seconds, 2),
                "images_per_second": round(speed, 1),
            },
        )
        kept = list_checkpoints(self.run_dir)
        size = sum(os.path.getsize(os.path.join(folder, name)) for folder in kept for name in os.listdir(folder))
        log.info(
            f"done in {format_seconds(wall)} ({speed:.0f} images/s after a {self.first_step_seconds:.1f}s first "
            f"step); samples in {self.run_dir}/images, {plural(len(kept), 'checkpoint')} ({size / 1e6:.0f} MB; "
            f"--keep_last {config.keep_last}) in {self.run_dir}/checkpoints"
        )
        metrics, real = self.quality.latest() if self.quality else _final_samples(config, self.data_dir, self.sampler)
        verdict, evidence = diagnose(
            read_log(self.log_path), metrics, real, expected_classes=config.digit_classes, loss=config.loss
        )
        write_json(os.path.join(self.run_dir, "diagnosis.json"), record(verdict, evidence, config))
        log.info(report(verdict, evidence))
        cures = prescription(prescribe(verdict, config), self.run_dir)
        if cures:
            log.info(cures)
        log.info(f"run page: {write_run_page(self.run_dir)}")
        return self.run_dir


class _Quality:
    """--eval_every: sample metrics during training, logged to metrics.csv, best generator kept by FD."""

    COLUMNS = (
        "epoch",
        "step",
        "fd",
        "inception_score",
        "precision",
        "recall",
        "digits_covered",
        "diversity",
        "label_accuracy",
    )

    def __init__(self, config, run_dir, data_dir, cells):

        self.config, self.run_dir, self.cells = config, run_dir, cells
        self.evaluator = Evaluator.for_run(config, data_dir, config.eval_samples)
        self.path = os.path.join(run_dir, "metrics.csv")
        self.best_path = os.path.join(run_dir, "checkpoints", "best", "state.json")
        self.best_fd = read_state(os.path.dirname(self.best_path))["fd"] if os.path.isfile(self.best_path) else np.inf
        self.last = None
        real = self.evaluator.real_row
        log.info(
            f"evaluating every {config.eval_every} epochs on {config.eval_samples} samples with "
            f"{self.evaluator.classifier_id}; real digits score "
            f"FD {real['fd']:.2f}, IS {real['inception_score']:.2f}, precision {real['precision']:.3f}, "
            f"recall {real['recall']:.3f}"
        )

    def evaluate(self, epoch, step, net_g):
        m = self.evaluator.score_generator(net_g, self.config, seed=self.config.seed)
        self.last = m
        new = not os.path.isfile(self.path)
        with open(self.path, "a", newline="") as f:
            writer = csv_writer(f)
            if new:
                writer.writerow(self.COLUMNS)
            row = {"epoch": epoch, "step": step, **m}
            writer.writerow(f"{row[k]:.6g}" if k in row else "" for k in self.COLUMNS)
        improved = m["fd"] < self.best_fd
        if improved:
            self.best_fd = m["fd"]
            generators = {k: v for k, v in self.cells.items() if k in ("generator", "generator_ema")}
            save_checkpoint(self.run_dir, {"epoch": epoch, "step": step, "fd": m["fd"]}, generators, name="best")
        log.info(
            f"epoch {epoch}: FD {m['fd']:.2f}, IS {m['inception_score']:.2f}, precision {m['precision']:.3f}, "
            f"recall {m['recall']:.3f}, digits covered {m['digits_covered']}"
            + (f", label accuracy {m['label_accuracy']:.3f}" if "label_accuracy" in m else "")
            + (" (best so far: saved checkpoints/best)" if improved else "")
        )

    def latest(self):
        return self.last, self.evaluator.real_row


def _final_samples(config, data_dir, net_g, num: int = 2000):
    """Score NUM samples of the final generator for the end-of-run diagnosis, so it can check for mode
    collapse: (metrics, real digits' metrics), or (None, None) with a note if the classifier is unusable."""

    try:
        evaluator = Evaluator.for_run(config, data_dir, num)
    except UserError as e:
        log.info(f"note: samples not scored for the diagnosis: {e}")
        return None, None
    return evaluator.score_generator(net_g, config, seed=config.seed), evaluator.real_row


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
