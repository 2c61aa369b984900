"""A run's page: RUN/index.html, one self-contained file that opens from disk in any browser.

It shows the config, the progress (epoch k of N and an ETA while training, "finished" after), the step
curves as inline SVG, every epoch's fixed-noise grid on a slider and as an animated GIF (images/progress.gif),
the evaluation metrics over epochs (--eval_every) and the diagnosis with its evidence. Nothing is fetched:
the images are the run's own files, referenced relatively, and the script is inline. While a run trains, the
page reloads itself every REFRESH_SECONDS. The trainer rewrites it after every epoch and at the end;
scripts/report.py rebuilds it, or writes one page comparing several runs.
"""

import csv
import glob
import html
import json
import os

import numpy as np

from ms_gan.config import load_config
from ms_gan.diagnose import newest_diagnosis
from ms_gan.errors import UserError
from ms_gan.fileio import atomic, write_text
from ms_gan.progress import format_seconds
from ms_gan.runlog import LOG_NAME, read_log
from ms_gan.visualize import loss_label, smooth

PAGE_NAME = "index.html"
# in the head of every page ms_gan writes: a page without it was written by someone else, and is never replaced
GENERATOR_MARK = '<meta name="generator" content="ms_gan report">'
# what makes a folder a run: config.json and at least one other file train.py writes into every run
RUN_MARKS = ("log.csv", "fixed_noise.npz", "checkpoints", "summary.json")
GIF_NAME = os.path.join("images", "progress.gif")
REFRESH_SECONDS = 20
SERIES = {  # log column -> (label, colour); the loss panel, then the accuracy panel
    "d_loss_real": ("D loss on real", "#1f77b4"),
    "d_loss_fake": ("D loss on fake", "#ff7f0e"),
    "g_loss": ("G loss", "#2ca02c"),
    "d_acc_real": ("D accuracy on real", "#1f77b4"),
    "d_acc_fake": ("D accuracy on fake", "#ff7f0e"),
}
SUMMARY_KEYS = (
    "model",
    "dataset",
    "epochs",
    "batch_size",
    "lr",
    "lr_d",
    "lr_schedule",
    "loss",
    "ema_decay",
    "ngf",
    "ndf",
    "latent_dim",
    "classes",
    "seed",
    "device_target",
)
# shown only when set: the stabilisers, --clusters and where a cured run came from (key: its "off" value)
SET_KEYS = {
    "n_critic": 1,
    "label_smoothing": 1.0,
    "fake_label": 0.0,
    "minibatch_disc": False,
    "spectral_norm": False,
    "clip_grad_norm": 0.0,
    "top_k": 1.0,
    "clusters": 0,
    "cured_from": "",
}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { border: 1px solid #ccc; padding: 2px 8px; }
.verdict { font-weight: bold; font-size: 1.1em; } .warn { color: #b35900; } .bad { color: #b00; }
.ok { color: #080; } .grids { display: flex; gap: 2em; align-items: flex-start; flex-wrap: wrap; }
.runs { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); gap: 1.5em; }
img { max-width: 100%; } svg text { font-size: 11px; fill: #333; }
"""
VERDICT_CLASS = {"stable": "ok", "D dominant": "warn", "no failure in the log": "warn", "too early to judge": "warn"}


def write_run_page(run_dir: str, stopped: str = "") -> str:
    """(Re)write RUN_DIR/index.html and images/progress.gif from what the run folder holds now. STOPPED: why
    a run ended early (the page then says so and stops reloading)."""
    run = _read_run(run_dir)
    if stopped:
        run["progress"] = f"stopped: {stopped}"
    _write_gif(run_dir, run["grids"])
    refresh = "" if run["finished"] or stopped else f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
    body = f"""<h1>{html.escape(run["name"])}: {html.escape(str(run["config"].get("model", "?")))}</h1>
<p id="progress">{html.escape(run["progress"])}</p>
{_summary_table(run["config"])}
<h2>Diagnosis</h2>
{_diagnosis(run["diagnosis"], run["finished"])}
<h2>Curves</h2>
{_curves_svg(run["log"], run["config"].get("loss", "bce"))}
<h2>Samples from the fixed noise</h2>
{_grid_viewer(run["grids"], run_dir)}
<h2>Evaluation</h2>
{_metrics_table(run["metrics"])}
<details><summary>config.json</summary><pre>{html.escape(json.dumps(run["config"], indent=1))}</pre></details>"""
    path = os.path.join(run_dir, PAGE_NAME)
    _check_ours(path)
    write_text(path, _page(f"{run['name']} - ms_gan", body, refresh))
    return path


def is_run_dir(path: str) -> bool:
    """Whether PATH is a folder train.py made: config.json beside another of a run's own files (a config.json
    alone is any project's)."""
    return os.path.isfile(os.path.join(path, "config.json")) and any(
        os.path.exists(os.path.join(path, name)) for name in RUN_MARKS
    )


def written_by_us(path: str) -> bool:
    """Whether PATH is absent or a page ms_gan wrote (its head holds GENERATOR_MARK)."""
    if not os.path.lexists(path):
        return True
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return False
    # pages from before the mark carry the loading probe their tests read
    return GENERATOR_MARK in text[:4096] or "checked by tests/test_report.py in Chromium" in text[-2048:]


def _check_ours(path: str) -> None:
    if os.path.isdir(path):
        raise UserError(f"{path} is a folder; name the page's file, e.g. {os.path.join(path, 'compare.html')}")
    if not written_by_us(path):
        raise UserError(f"{path} exists and was not written by ms_gan; it is left as it is (name another file)")


def write_comparison_page(run_dirs, path: str) -> str:
    """One page with the runs side by side: verdict, last grid, curves, final metrics."""
    base = os.path.dirname(os.path.abspath(path))
    cards = []
    for run_dir in run_dirs:
        run = _read_run(run_dir)
        last = run["grids"][-1] if run["grids"] else ""
        image = (
            f'<img class="grid" src="{html.escape(os.path.relpath(last, base))}" alt="last grid">'
            if last
            else "<p>no grid yet</p>"
        )
        page = html.escape(os.path.relpath(os.path.join(run_dir, PAGE_NAME), base))
        cards.append(f"""<div class="run"><h2><a href="{page}">
{html.escape(run["name"])}</a></h2><p>{html.escape(run["progress"])}</p>
{_diagnosis(run["diagnosis"], run["finished"])}{image}{_curves_svg(run["log"], run["config"].get("loss", "bce"), 330)}
{_last_metrics(run["metrics"])}{_summary_table(run["config"])}</div>""")
    body = f'<h1>{len(cards)} runs compared</h1>\n<div class="runs">{"".join(cards)}</div>'
    # every run in one row: the page widens past the usual 1100 px for more than three
    wide = f"<style>body {{ max-width: {370 * len(cards)}px; }}</style>" if len(cards) > 3 else ""
    _check_ours(path)
    write_text(path, _page("ms_gan: runs compared", wide + body, ""))
    return path


def _read_run(run_dir: str) -> dict:
    def load_json(name):
        file = os.path.join(run_dir, name)
        if not os.path.isfile(file):
            return None
        try:
            with open(file) as f:
                return json.load(f)
        except ValueError:
            raise UserError(f"{file} is damaged (empty, truncated or not JSON); the page is left as it was") from None

    config = load_json("config.json") or {}
    if config:
        load_config(os.path.join(run_dir, "config.json"))  # checked as train.py checks it: a damaged one is one line
    log = read_log(os.path.join(run_dir, LOG_NAME))
    summary = load_json("summary.json")
    grids = sorted(glob.glob(os.path.join(run_dir, "images", "epoch_*.png")))
    metrics = []
    if os.path.isfile(os.path.join(run_dir, "metrics.csv")):
        with open(os.path.join(run_dir, "metrics.csv"), newline="") as f:
            metrics = list(csv.DictReader(f))
    run = {
        "name": os.path.basename(os.path.abspath(run_dir)),
        "config": config,
        "log": log,
        "grids": grids,
        "metrics": metrics,
        "finished": summary is not None,
    }
    newest = newest_diagnosis(run_dir)
    run["diagnosis"] = load_json(os.path.relpath(newest, run_dir)) if newest else None
    run["progress"] = _progress(run, summary, _steps_per_epoch(run_dir, log))
    return run


def _steps_per_epoch(run_dir: str, log: dict) -> int:
    """From the newest checkpoint's state.json (read here, so that a page needs no MindSpore), else the log."""
    for state in sorted(glob.glob(os.path.join(run_dir, "checkpoints", "epoch*", "state.json")), reverse=True):
        try:
            with open(state) as f:
                return int(json.load(f).get("steps_per_epoch", 0))
        except (ValueError, TypeError, AttributeError):
            continue  # a damaged one: an older checkpoint, or the log, says as much
    epochs = log["epoch"]
    return int((epochs == 1).sum()) if len(epochs) and epochs.max() > 1 else 0


def _progress(run: dict, summary, per_epoch: int) -> str:
    epochs, log = int(run["config"].get("epochs", 0)), run["log"]
    if summary is not None:
        return (
            f"finished: {epochs} epochs, {summary['steps']} steps in {format_seconds(summary['wall_seconds'])} "
            f"({summary['images_per_second']:.0f} images/s)"
        )
    if not len(log["step"]):
        return "starting: no step trained yet"
    step, epoch = int(log["step"][-1]), int(log["epoch"][-1])
    text = f"training: epoch {epoch} of {epochs}, step {step}"
    if per_epoch and len(log["step"]) > 2:
        recent = log["seconds"][-min(50, len(log["step"])) :]
        per_step = (recent[-1] - recent[0]) / max(len(recent) - 1, 1)
        text += f" of {per_epoch * epochs}, ETA {format_seconds(per_step * (per_epoch * epochs - step))}"
    return text + f" (this page reloads every {REFRESH_SECONDS} s)"


def _summary_table(config: dict) -> str:
    shown = [k for k in SUMMARY_KEYS if k in config] + [k for k, off in SET_KEYS.items() if config.get(k, off) != off]
    if config.get("clusters") and "cluster_space" in config:
        shown.append("cluster_space")
    cells = "".join(f"<tr><th>{k}</th><td>{html.escape(str(config[k]))}</td></tr>" for k in shown)
    return f'<table class="config">{cells}</table>'


def _diagnosis(diagnosis, finished: bool) -> str:
    if not diagnosis:
        if finished:  # a run from before runs were diagnosed
            return '<p class="diagnosis">no diagnosis: python scripts/diagnose.py RUN makes one</p>'
        return '<p class="diagnosis">no diagnosis yet: it is made after the first epoch</p>'
    verdict = diagnosis["verdict"]
    evidence = "".join(f"<li>{html.escape(line)}</li>" for line in diagnosis.get("evidence", []))
    css = VERDICT_CLASS.get(verdict, "bad")
    so_far = (
        f'<p class="so_far">so far, {html.escape(diagnosis["so_far"])} (the run\'s own diagnosis comes at its end):</p>'
        if "so_far" in diagnosis
        else ""
    )
    cures = "".join(
        f"<li><code>{html.escape(cure['flags'])}</code>: {html.escape(cure['why'])}</li>"
        for cure in diagnosis.get("cures", [])
    )
    if cures:
        cures = (
            f'<p class="cures">cures, best first (<code>python scripts/train.py --cure RUN</code> applies the '
            f'first in a new run):</p><ol class="cures">{cures}</ol>'
        )
    return (
        f'<div class="diagnosis">{so_far}<p class="verdict {css}">{html.escape(verdict)}</p><ul>{evidence}</ul>'
        f"{cures}</div>"
    )


def _curves_svg(log: dict, loss: str, width: int = 720) -> str:
    """Two panels of smoothed step curves, losses over accuracies, as inline SVG."""
    steps = log["step"]
    if len(steps) < 2:
        return '<p class="curves">no curves yet</p>'
    window = max(1, len(steps) // 100)
    panels = [
        (loss_label(loss), ("d_loss_real", "d_loss_fake", "g_loss"), None),
        ("accuracy", ("d_acc_real", "d_acc_fake"), (0.0, 1.0)),
    ]
    height, left, pad = 170, 48, 14
    parts = []
    for index, (title, keys, fixed) in enumerate(panels):
        top = index * (height + 24)
        series = {k: smooth(np.nan_to_num(log[k], nan=0.0, posinf=0.0, neginf=0.0), window) for k in keys}
        # the first 5% of steps (G's loss starts far off) would squash the rest: the range skips them, and clips
        settled = np.concatenate([v[len(v) // 20 :] for v in series.values()])
        low, high = fixed or (float(settled.min()), float(settled.max()))
        high = high if high > low else low + 1.0
        series = {k: np.clip(v, low, high) for k, v in series.items()}
        x = lambda s: left + (s - steps[0]) / max(steps[-1] - steps[0], 1) * (width - left - pad)  # noqa: E731
        y = lambda v: top + pad + (high - v) / (high - low) * (height - 2 * pad)  # noqa: E731
        parts.append(
            f'<text x="{left}" y="{top + 10}">{html.escape(title)}'
            + (f" (moving average over {window} steps)" if window > 1 else "")
            + "</text>"
        )
        for value in np.linspace(low, high, 3):
            parts.append(
                f'<line x1="{left}" x2="{width - pad}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                f'stroke="#ddd"/><text x="2" y="{y(value) + 4:.1f}">{value:.2f}</text>'
            )
        for n, (key, values) in enumerate(series.items()):
            label, colour = SERIES[key]
            every = max(1, len(steps) // 400)  # at most ~400 points a line
            points = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in zip(steps[::every], values[::every]))
            parts.append(
                f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="1.3" points="{points}"/>'
                f'<text class="label" x="{width - pad - 150}" y="{top + pad + 12 * n + 4}" style="fill: {colour}">'
                f"{html.escape(label)}</text>"
            )
    parts.append(f'<text x="{left}" y="{2 * height + 40}">step {int(steps[0])}-{int(steps[-1])}</text>')
    return (
        f'<svg class="curves" width="{width}" height="{2 * height + 48}" viewBox="0 0 {width} {2 * height + 48}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def _grid_viewer(grids, run_dir: str) -> str:
    if not grids:
        return "<p>no grid yet: the first is drawn after epoch 1</p>"
    sources = [os.path.relpath(g, run_dir) for g in grids]
    gif = os.path.join(run_dir, GIF_NAME)
    animated = (
        f'<figure><img src="{html.escape(GIF_NAME)}" alt="all epochs, animated" width="420">'
        f"<figcaption>every epoch, animated</figcaption></figure>"
        if os.path.isfile(gif)
        else ""
    )
    newest = html.escape(sources[-1])
    return f"""<div class="grids"><figure><img id="grid" class="grid" src="{newest}" alt="epoch grid" width="420">
<figcaption><input id="epoch" type="range" min="0" max="{len(sources) - 1}" value="{len(sources) - 1}">
<span id="epoch_label"></span></figcaption></figure>{animated}</div>
<script>
const grids = {json.dumps(sources)};
const slider = document.getElementById("epoch"), label = document.getElementById("epoch_label");
function show() {{
  document.getElementById("grid").src = grids[slider.value];
  label.textContent = grids[slider.value].replace(/^.*epoch_0*/, "epoch ").replace(".png", "");
}}
slider.addEventListener("input", show);
show();
</script>"""


def _metrics_table(rows) -> str:
    if not rows:
        return (
            "<p>no evaluation during training (train with --eval_every K; scripts/evaluate.py scores a run after)</p>"
        )
    keys = [k for k in rows[0] if any(r.get(k) for r in rows)]
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(r.get(k, ''))}</td>" for k in keys) + "</tr>" for r in rows)
    return f'<table class="metrics"><tr>{head}</tr>{body}</table>'


def _last_metrics(rows) -> str:
    """The last evaluation as a two-column table (the comparison page's columns are narrow)."""
    if not rows:
        return "<p>not evaluated during training</p>"
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows[-1].items() if v)
    return f'<table class="metrics">{cells}</table>'


def _write_gif(run_dir: str, grids) -> None:
    """images/progress.gif: the epoch grids in order, 0.6 s each, the last held for 2 s (written atomically)."""
    if len(grids) < 2:
        return
    from PIL import Image  # matplotlib's own dependency

    frames = [Image.open(g).convert("P", palette=Image.ADAPTIVE) for g in grids]
    path = os.path.join(run_dir, GIF_NAME)
    with atomic(path, ".gif") as tmp:
        frames[0].save(
            tmp, save_all=True, append_images=frames[1:], duration=[600] * (len(frames) - 1) + [2000], loop=0
        )


def _page(title: str, body: str, head_extra: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{GENERATOR_MARK}<title>{html.escape(title)}</title>{head_extra}
<style>{STYLE}</style></head>
<body>
{body}
<script>
// what a reader of the page sees: every image decoded (checked by tests/test_report.py in Chromium)
window.addEventListener("load", () => {{
  const images = [...document.images];
  const decoded = images.filter(i => i.complete && i.naturalWidth > 0);
  document.body.dataset.imagesLoaded = decoded.length + "/" + images.length;
}});
</script>
</body></html>
"""
