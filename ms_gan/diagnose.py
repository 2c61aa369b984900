"""The GAN failure-mode guide, automated: read a run's log (and sample metrics) and name what happened.

Verdicts, checked in this order:
- diverged: a loss became NaN or infinite.
- convergence failure: D wins. Over the last third of training D's loss is near 0, it tells fakes from
  reals almost perfectly, and G's loss is high (BCE); or, with samples scored, D tells them apart almost
  perfectly and the samples are unlike real digits (precision well below real digits'): then low diversity
  is the blobs' sameness, not a collapse, and the cure is D's, not G's. (Medians: one spike must not hide a
  lost run, nor fake one.) For lsgan and hinge D's accuracy and G's rising loss are used, and for wgan-gp
  this check is skipped: a critic that separates reals from fakes still gives G a useful gradient, which is
  the point of the Wasserstein loss.
- mode collapse: G draws a few near-identical images that do look like digits (precision is not poor).
  Sample diversity in the classifier's feature space is far below real digits' (and/or few digit classes
  are covered), or recall is: almost no real digit has a sample near it. Often with the loss curves swinging.
- D dominant: no failure yet, but D is right about >= 95% of reals and of fakes over the last third: it is
  winning, G's gradient is weak, and a convergence failure is the likely next stage.
- stable: none of the above, with sample metrics that show varied digits.
- no failure in the log: none of the above, but no samples were scored, so mode collapse was not checked;
  such a run is never called stable.
- too early to judge: a run of fewer than EARLY_EPOCHS epochs or EARLY_STEPS steps that would otherwise read
  mode collapse or D dominant. Every GAN's first few hundred steps draw blurry, alike images; the verdict says what
  it looks like so far and what to expect.

Each failing verdict comes with its cures (prescribe), as train.py flags, in the order they worked on the
guide's digit-8 experiments (docs/diagnosis.md); `train.py --cure RUN` starts a new run with the first.
"""

import os
from dataclasses import dataclass

import numpy as np

from ms_gan import registry
from ms_gan.runlog import LOG_COLUMNS

# Thresholds, from the signatures in the guide and checked on ms_gan's own runs (docs/diagnosis.md).
D_LOSS_WON = 0.1  # D loss (real + fake) below this: D is winning outright
D_ACC_WON = 0.95  # D accuracy on real and fake above this
G_LOSS_LOST = 3.0  # G loss above this (BCE; ln 2 ~ 0.69 is balance)
DIVERSITY_COLLAPSED = 0.6  # sample diversity below this share of real digits' diversity
RECALL_COLLAPSED = 0.25  # recall below this share of real digits' recall: few real digits have a sample near them
PRECISION_POOR = 0.5  # precision below this share of real digits' under a winning D: samples unlike digits
EARLY_STEPS = 500  # fewer steps, or fewer epochs, than these: the samples of any GAN are still blurry
EARLY_EPOCHS = 3  # and alike (the quick start's 2 fc epochs are 936 steps on the full MNIST)


def won_by_bce(stats) -> str:
    """The BCE loss's signature of a won D. It needs no comparison with G's start: G's loss often starts high (7 on
    the digit-8 runs)."""
    d_sure = min(stats["acc_real"], stats["acc_fake"]) > D_ACC_WON
    if d_sure and stats["d_loss"] < D_LOSS_WON and stats["g_loss"] > G_LOSS_LOST:
        return (
            f"D loss < {D_LOSS_WON}, D accuracy > {D_ACC_WON:.0%} on both, G loss > {G_LOSS_LOST}: "
            "the discriminator has won and G gets no useful gradient"
        )
    return ""


def won_by_accuracy(stats) -> str:
    """A won D for losses without BCE's scale: D's accuracy, and G's loss risen above its start."""
    if min(stats["acc_real"], stats["acc_fake"]) > D_ACC_WON and stats["g_loss"] > stats["g_loss_start"]:
        return (
            f"D accuracy > {D_ACC_WON:.0%} on both and G loss above its start: the discriminator "
            "has won and G gets no useful gradient"
        )
    return ""


def diagnose(log: dict, metrics: dict = None, real: dict = None, expected_classes: int = 10, loss: str = "bce"):
    """LOG: {column: array} from log.csv; METRICS/REAL: score() dicts for samples and real digits;
    LOSS: the run's --loss. Returns (verdict, [evidence lines])."""
    steps = log["step"]
    if len(steps) == 0:
        return "unknown", ["the log is empty: no step has been trained"]
    values = np.stack([log[k] for k in LOG_COLUMNS[2:7]], axis=1)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad.any(1)))
        names = [LOG_COLUMNS[2 + i] for i in np.flatnonzero(bad[row])]
        return "diverged", [f"non-finite {', '.join(names)} at step {int(steps[row])} (epoch {int(log['epoch'][row])})"]

    third = max(1, len(steps) // 3)
    start = slice(0, min(len(steps), max(5, len(steps) // 100)))
    last = slice(len(steps) - third, len(steps))
    span = lambda s: f"steps {int(steps[s][0])}-{int(steps[s][-1])}"  # noqa: E731
    d_loss = log["d_loss_real"] + log["d_loss_fake"]
    stats = {
        "d_loss": np.median(d_loss[last]),
        "acc_real": np.median(log["d_acc_real"][last]),
        "acc_fake": np.median(log["d_acc_fake"][last]),
        "g_loss": np.median(log["g_loss"][last]),
        "g_loss_start": np.median(log["g_loss"][start]),
        "g_loss_std": log["g_loss"][last].std(),
    }
    evidence = [
        f"{span(last)} (medians): D loss {stats['d_loss']:.3f}, D accuracy real {stats['acc_real']:.2f} / "
        f"fake {stats['acc_fake']:.2f}, G loss {stats['g_loss']:.2f} (std {stats['g_loss_std']:.2f}; "
        f"{stats['g_loss_start']:.2f} over {span(start)})"
    ]
    check = registry.loss(loss).d_won
    won = check(stats) if check else ""
    if won:
        return "convergence failure", evidence + [won] + _since(log)
    if check is None:
        evidence.append(f"{loss}: a critic that separates reals from fakes is expected; D winning is not checked")

    d_dominant = check is not None and min(stats["acc_real"], stats["acc_fake"]) >= D_ACC_WON
    verdict, evidence = _from_samples(stats, d_dominant, metrics, real, expected_classes, evidence, log)
    epochs = int(log["epoch"][-1])
    if verdict in ("mode collapse", "D dominant") and (steps[-1] < EARLY_STEPS or epochs < EARLY_EPOCHS):
        return "too early to judge", evidence + [
            f"only {epochs} epoch{'s' if epochs > 1 else ''} ({int(steps[-1])} steps): it reads {verdict} so far, as "
            f"almost every GAN does this early (blurry, alike samples while D is ahead); judge after "
            f"{EARLY_EPOCHS} epochs and {EARLY_STEPS} steps or more, e.g. after the default 5 epochs"
        ]
    return verdict, evidence


def _from_samples(stats, d_dominant, metrics, real, expected_classes, evidence, log):
    """The verdict once D has not won by the losses alone: from the sample metrics, if there are any."""
    if metrics is None or real is None:
        evidence.append("no samples were scored (no checkpoint or classifier): mode collapse was not checked")
        return (
            ("D dominant", evidence + [_dominance(stats)] + _since(log))
            if d_dominant
            else ("no failure in the log", evidence)
        )
    ratio = metrics["diversity"] / max(real["diversity"], 1e-12)
    covered = metrics.get("trained_classes_covered", metrics["digits_covered"])
    evidence.append(
        f"sample diversity {metrics['diversity']:.2f} vs real {real['diversity']:.2f} "
        f"(ratio {ratio:.2f}); digits covered {covered} of {expected_classes} trained; "
        f"precision {metrics['precision']:.3f} vs real {real['precision']:.3f}; "
        f"recall {metrics['recall']:.3f} vs real {real['recall']:.3f}"
    )
    if d_dominant and metrics["precision"] < PRECISION_POOR * real["precision"]:
        # before mode collapse: shapeless blobs are alike too, and their low diversity would read as a collapse
        # whose cures (minibatch discrimination, a larger latent) do nothing for a G that D has beaten. The losses
        # alone can miss this: with G averaged, its loss may fall from a high start while D still tells every
        # sample apart (the digit-8 run with D learning 100x faster: D loss 0.25, G loss 3.3)
        evidence.append(
            f"D is right about >= {D_ACC_WON:.0%} of both and precision {metrics['precision']:.3f} is "
            f"below {PRECISION_POOR:.0%} of real digits': the samples are unlike real digits, G never "
            f"learned to draw them and D has won"
        )
        return "convergence failure", evidence + _since(log)
    if ratio < DIVERSITY_COLLAPSED or covered < expected_classes - (1 if expected_classes > 2 else 0):
        evidence.append(
            f"diversity below {DIVERSITY_COLLAPSED:.0%} of real digits' or classes missing: "
            f"the generator maps most noise to a few outputs"
        )
        return "mode collapse", evidence
    if metrics["recall"] < RECALL_COLLAPSED * real["recall"]:
        # a few distinct shapes can spread in feature space (diversity near the threshold) and still leave
        # almost every real digit without a sample near it: the digit-8 run with a 1-d latent did that
        evidence.append(
            f"recall below {RECALL_COLLAPSED:.0%} of real digits': the samples cover little of the "
            f"real digits' variety, the generator draws a few shapes"
        )
        return "mode collapse", evidence
    if d_dominant:
        return "D dominant", evidence + [_dominance(stats)] + _since(log)
    evidence.append("D and G stay in balance and the samples are about as varied as real digits")
    return "stable", evidence


def _dominance(stats: dict) -> str:
    return (
        f"warning: D is right about {stats['acc_real']:.0%} of reals and {stats['acc_fake']:.0%} of fakes "
        f"(>= {D_ACC_WON:.0%} on both): it is winning and G's gradient is weak; a convergence failure may follow"
    )


def _since(log: dict) -> list:
    step = d_winning_since(log)
    return [] if step is None else [f"D has won since step {step}: G gets no useful gradient from it"]


def d_winning_since(log: dict, share: float = 0.9):
    """The first step on which D was right about >= D_ACC_WON of reals and of fakes and stayed so on at least
    SHARE of the steps from there to the end; None if D is not winning over the last tenth of the log."""
    won = np.minimum(log["d_acc_real"], log["d_acc_fake"]) >= D_ACC_WON
    if len(won) == 0 or won[-max(1, len(won) // 10) :].mean() < share:
        return None
    suffix = np.cumsum(won[::-1])[::-1] / np.arange(len(won), 0, -1)  # share of won steps from each step on
    first = int(np.argmax(won & (suffix >= share)))
    return int(log["step"][first])


def report(verdict: str, evidence: list) -> str:
    return "\n".join([f"diagnosis: {verdict}"] + [f"  - {line}" for line in evidence])


@dataclass(frozen=True)
class Cure:
    """A change of train.py flags (CHANGES: {TrainConfig field: value}) and why it helps (WHY)."""

    changes: dict
    why: str

    @property
    def flags(self) -> str:
        """The changes as train.py flags; a switch turned off (no flag does that) reads "without --name"."""
        return " ".join(
            f"--{name}"
            if value is True
            else f"without --{name}"
            if value is False
            else f"--{name} {value:g}"
            if isinstance(value, float)
            else f"--{name} {value}"
            for name, value in self.changes.items()
        )

    def to_dict(self) -> dict:
        return {"flags": self.flags, "changes": self.changes, "why": self.why}


def prescribe(verdict: str, config) -> list:
    """The cures for VERDICT that CONFIG (a TrainConfig) has not tried, best first: the order in which they
    worked on the guide's digit-8 experiments (docs/diagnosis.md), then the guide's untested advice. Each cure's
    changes keep the config valid (switching --loss drops options that loss does not take)."""
    cures, conv = [], registry.model(config.model).convolutional
    penalised = registry.loss(config.loss).gradient_penalty
    plain = {"label_smoothing": 1.0, "fake_label": 0.0} if (config.label_smoothing, config.fake_label) != (1, 0) else {}
    if verdict == "mode collapse":
        if config.latent_dim < 16:
            cures.append(
                Cure(
                    {"latent_dim": 100},
                    f"a {config.latent_dim}-d latent leaves G only a thin set of "
                    f"noise to turn into images; the DCGAN's 100-d one gives it room for every digit",
                )
            )
        if conv and not config.minibatch_disc and not penalised:
            cures.append(
                Cure(
                    {"minibatch_disc": True},
                    "D sees how alike the images of a batch are, so G is "
                    "penalised for drawing the same digit for all noise",
                )
            )
        if not penalised:
            changes = {"loss": "wgan-gp", "n_critic": 5, **plain}
            if config.minibatch_disc:  # it compares images; the penalty needs each image's gradient alone
                changes["minibatch_disc"] = False
            cures.append(
                Cure(
                    changes,
                    "a Wasserstein critic trained 5 times per G step keeps giving G a "
                    "gradient towards the modes it has dropped",
                )
            )
        elif config.n_critic < 5:
            cures.append(Cure({"n_critic": 5}, "the critic trained 5 times per G step, as WGAN-GP intends"))
        if 16 <= config.latent_dim < 100:
            cures.append(Cure({"latent_dim": 100}, "a larger latent space: more room for varied images"))
        cures.append(_halved_rates(config, "G moves less far towards the one image D accepts at the moment"))
    elif verdict in ("convergence failure", "D dominant"):
        lr_d, tested = config.lr_d or config.lr, registry.model(config.model).lr
        if lr_d > config.lr:  # one rate for both; G's own if it is not below the model's tested default
            rates = {"lr_d": 0.0} if config.lr >= tested else {"lr": tested, "lr_d": 0.0}
            cures.append(
                Cure(
                    rates,
                    f"D learns {lr_d / config.lr:g}x faster than G; at one rate (--lr_d 0: "
                    f"G's, {max(config.lr, tested):g}) it no longer outruns it",
                )
            )
        if registry.loss(config.loss).targets and (config.label_smoothing, config.fake_label) == (1, 0):
            cures.append(
                Cure(
                    {"label_smoothing": 0.9, "fake_label": 0.1},
                    "two-sided label smoothing: D aims "
                    "at 0.9 and 0.1, so it cannot become certain and G's gradient stays alive",
                )
            )
        if config.loss != "hinge":
            cures.append(
                Cure(
                    {"loss": "hinge", **plain},
                    "the hinge loss stops pushing D once a real scores "
                    "above 1 and a fake below -1, so a winning D stops growing stronger",
                )
            )
        if not config.spectral_norm:
            cures.append(
                Cure(
                    {"spectral_norm": True}, "spectral normalisation bounds how sharply D can separate reals from fakes"
                )
            )
        if not penalised and not config.minibatch_disc:
            cures.append(
                Cure(
                    {"loss": "wgan-gp", **plain},
                    "a Wasserstein critic's gradient does not vanish when it separates reals from fakes",
                )
            )
        if lr_d <= config.lr:
            cures.append(Cure({"lr_d": lr_d / 4}, "D at a quarter of its learning rate"))
    elif verdict == "diverged":
        cures.append(_halved_rates(config, "steps too large for the loss surface blew the weights up"))
        if not config.clip_grad_norm:
            cures.append(Cure({"clip_grad_norm": 1.0}, "clipping the gradients' norm bounds any one update"))
        cures.append(Cure({"batch_size": config.batch_size * 2}, "a larger batch: less noisy gradients"))
    return cures


def _halved_rates(config, why: str) -> Cure:
    return Cure(
        {"lr": config.lr / 2, **({"lr_d": config.lr_d / 2} if config.lr_d else {})}, f"half the learning rate: {why}"
    )


def newest_diagnosis(run_dir: str):
    """The path of RUN_DIR's newest verdict: training's diagnosis.json or diagnose.py's samples/diagnosis.json,
    whichever was written last; None if neither exists."""
    found = [
        p
        for p in (os.path.join(run_dir, "diagnosis.json"), os.path.join(run_dir, "samples", "diagnosis.json"))
        if os.path.isfile(p)
    ]
    return max(found, key=os.path.getmtime) if found else None


def record(verdict: str, evidence: list, config, **extra) -> dict:
    """diagnosis.json's content: the verdict, its evidence, the cures CONFIG has not tried, and EXTRA."""
    cures = [cure.to_dict() for cure in prescribe(verdict, config)]
    return {"verdict": verdict, "evidence": evidence, "cures": cures, **extra}


def prescription(cures: list, run_dir: str) -> str:
    """What diagnose.py and training print after the verdict: the cures, numbered, and how to apply one."""
    if not cures:
        return ""
    lines = [f"cures, best first (python scripts/train.py --cure {run_dir} applies the first, in a new run):"]
    lines += [
        f"  {i}. {cure.flags}: {cure.why}" + (f" (--cure_number {i})" if i > 1 else "")
        for i, cure in enumerate(cures, 1)
    ]
    return "\n".join(lines)
