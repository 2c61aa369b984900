"""What ends each epoch and the run: the sample grid and curves, the checkpoint, the evaluation (--eval_every), the
diagnosis so far, the run page; at the end summary.json and the run's diagnosis."""

import logging
import os

import numpy as np

from ms_gan.checkpoint import list_checkpoints, read_state, save_checkpoint
from ms_gan.diagnose import diagnose, prescribe, prescription, record, report
from ms_gan.distributed import parameter_checksum
from ms_gan.errors import UserError
from ms_gan.fileio import write_json
from ms_gan.log import EVERY_RANK
from ms_gan.metrics import Evaluator
from ms_gan.progress import format_seconds, plural
from ms_gan.report import write_run_page
from ms_gan.runlog import csv_writer, read_log
from ms_gan.sampling import generate, row_names
from ms_gan.visualize import plot_curves, save_grid

log = logging.getLogger(__name__)
ALARMS = ("convergence failure", "mode collapse", "D dominant")  # live verdicts that print a warning
FAILURES = ("convergence failure", "mode collapse")  # and those --stop_on_failure stops on


class TrainingDiverged(Exception):
    """A loss or parameter became NaN or infinite; earlier checkpoints are kept as they were."""


class StoppedOnFailure(Exception):
    """--stop_on_failure: the diagnosis after an epoch found a failure; the epoch's checkpoint was saved."""


def _all_finite(*cells) -> bool:
    return all(np.isfinite(p.asnumpy()).all() for cell in cells for p in cell.get_parameters())


class EpochEnd:
    """The end-of-epoch and end-of-run actions of a run (FOLDER, a RunFolder) training NETS (TrainingNets)."""

    def __init__(self, config, folder, nets, data_dir: str, record, replicas, progress, steps_per_epoch: int):
        self.config, self.folder, self.nets, self.data_dir = config, folder, nets, data_dir
        self.record, self.replicas, self.progress = record, replicas, progress
        self.steps_per_epoch = steps_per_epoch
        self.grid = folder.grid_noise(config)
        lead = replicas.lead
        self.quality = (
            _Quality(config, folder.path, data_dir, nets.cells, record) if config.eval_every and lead else None
        )

    def checkpoint(self, epoch: int, step: int, complete: bool) -> str:
        """Save every cell at STEP (rank 0 alone); refuses non-finite parameters."""
        if not _all_finite(*self.nets.cells.values()):
            raise TrainingDiverged(
                f"non-finite parameters at epoch {epoch}, step {step}; not saved; {self.folder.last_good_checkpoint()}"
            )
        state = {"epoch": epoch, "step": step, "epoch_complete": complete, "steps_per_epoch": self.steps_per_epoch}
        return self.folder.save(self.nets.cells, state, self.config.keep_last)

    def __call__(self, epoch: int, step: int) -> None:
        """The epoch's grid and curves, its checkpoint (every --save_every and the last) and evaluation."""
        config = self.config
        if self.replicas.lead:
            self._draw(epoch)
        if epoch % config.save_every == 0 or epoch == config.epochs:
            self.checkpoint(epoch, step, complete=True)
        evaluated = self.quality and (epoch % config.eval_every == 0 or epoch == config.epochs)
        if evaluated:
            self.quality.evaluate(epoch, step, self.nets.sampler)
        stop = ""
        if self.replicas.lead and epoch < config.epochs:  # the last epoch's diagnosis is the run's (finish)
            stop = self._diagnose_so_far(epoch, step, self.quality.latest() if evaluated else (None, None))
        if self.replicas.lead:
            write_run_page(self.folder.path, stopped=stop)
        # rank 0 diagnoses; every rank stops with it, or the others would wait for it in the next step
        if config.stop_on_failure and epoch < config.epochs and self.replicas.any(bool(stop)):
            raise StoppedOnFailure(stop or "rank 0's diagnosis found a failure; its log says which")

    def _diagnose_so_far(self, epoch: int, step: int, scored) -> str:
        """The diagnosis of the steps so far (and of this epoch's samples, if evaluated), into diagnosis.json
        for the run page; a failure is a warning, or with --stop_on_failure the reason to end the run."""
        config, run_dir = self.config, self.folder.path
        verdict, evidence = diagnose(
            read_log(self.folder.log_path), *scored, loss=config.loss, expected_classes=config.digit_classes
        )
        so_far = f"after epoch {epoch}, step {step}"
        write_json(os.path.join(run_dir, "diagnosis.json"), record(verdict, evidence, config, so_far=so_far))
        if verdict in ALARMS:
            self.progress.close()
            cures = prescribe(verdict, config)
            log.info(f"warning: {verdict} {so_far}: {evidence[-1]}" + (f" (cure: {cures[0].flags})" if cures else ""))
        if config.stop_on_failure and verdict in FAILURES:
            return (
                f"{verdict} {so_far} ({evidence[-1]}); checkpoints kept in {run_dir}/checkpoints; "
                f"see {os.path.join(run_dir, 'index.html')}"
            )
        return ""

    def _draw(self, epoch: int) -> None:
        """The epoch's sample grid from the fixed noise, and the curves so far."""
        config, (z, labels, cols) = self.config, self.grid
        images = generate(self.nets.sampler, z, labels)
        row_labels = row_names(config, range(config.num_classes)) if config.conditional else None
        save_grid(
            images,
            self.folder.file(os.path.join("images", f"epoch_{epoch:03d}.png")),
            ncol=cols,
            title=f"{config.model}, epoch {epoch}",
            row_labels=row_labels,
        )
        plot_curves(
            read_log(self.folder.log_path),
            self.folder.file("curves.png"),
            title=f"{config.model} training",
            steps_per_epoch=self.steps_per_epoch,
            loss=config.loss,
        )

    def finish(self, step: int, trained: int, wall: float, first_step_seconds: float) -> str:
        """summary.json (speed), and the end-of-run diagnosis from the log and the final generator's samples."""
        config, run_dir = self.config, self.folder.path
        speed = (trained - 1) * config.batch_size / max(wall - first_step_seconds, 1e-9) if trained > 1 else 0.0
        if self.replicas.size > 1:  # equal on every worker when data parallelism works; msrun keeps each worker's log
            log.info(
                f"rank {self.replicas.rank} of {self.replicas.size}: parameter checksum "
                f"{parameter_checksum(*self.nets.cells.values())}",
                extra=EVERY_RANK,
            )
        if not self.replicas.lead:
            return run_dir
        write_json(
            os.path.join(run_dir, "summary.json"),
            {
                "epochs": config.epochs,
                "steps": step,
                "steps_this_process": trained,
                "wall_seconds": round(wall, 1),
                "first_step_seconds": round(first_step_seconds, 2),
                "images_per_second": round(speed, 1),
            },
        )
        kept = list_checkpoints(run_dir)
        size = sum(os.path.getsize(os.path.join(folder, name)) for folder in kept for name in os.listdir(folder))
        log.info(
            f"done in {format_seconds(wall)} ({speed:.0f} images/s after a {first_step_seconds:.1f}s first "
            f"step); samples in {run_dir}/images, {plural(len(kept), 'checkpoint')} ({size / 1e6:.0f} MB; "
            f"--keep_last {config.keep_last}) in {run_dir}/checkpoints"
        )
        if self.quality:
            metrics, real = self.quality.latest()
        else:
            metrics, real = _final_samples(config, self.data_dir, self.nets.sampler, self.record)
        verdict, evidence = diagnose(
            read_log(self.folder.log_path), metrics, real, expected_classes=config.digit_classes, loss=config.loss
        )
        write_json(os.path.join(run_dir, "diagnosis.json"), record(verdict, evidence, config))
        log.info(report(verdict, evidence))
        cures = prescription(prescribe(verdict, config), run_dir)
        if cures:
            log.info(cures)
        log.info(f"run page: {write_run_page(run_dir)}")
        return run_dir


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

    def __init__(self, config, run_dir, data_dir, cells, run_record):
        self.config, self.run_dir, self.cells, self.shares = config, run_dir, cells, run_record.cluster_shares
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
        m = self.evaluator.score_generator(net_g, self.config, seed=self.config.seed, shares=self.shares)
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


def _final_samples(config, data_dir, net_g, run_record, num: int = 2000):
    """Score NUM samples of the final generator for the end-of-run diagnosis, so it can check for mode
    collapse: (metrics, real digits' metrics), or (None, None) with a note if the classifier is unusable."""
    try:
        evaluator = Evaluator.for_run(config, data_dir, num)
    except UserError as e:
        log.info(f"note: samples not scored for the diagnosis: {e}")
        return None, None
    return evaluator.score_generator(net_g, config, seed=config.seed, shares=run_record.cluster_shares), (
        evaluator.real_row
    )
