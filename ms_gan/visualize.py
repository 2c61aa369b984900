"""Pictures people look at: sample grids and training curves (PNG, via matplotlib's Agg backend)."""

import textwrap

import numpy as np

from ms_gan.fileio import atomic


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def to_uint8(images) -> np.ndarray:
    """[N, 1, 28, 28] or [N, 28, 28] float in [-1, 1] -> [N, 28, 28] uint8 in [0, 255]."""
    images = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28)
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def mosaic(images_u8: np.ndarray, ncol: int, pad: int = 2) -> np.ndarray:
    """[N, 28, 28] uint8 -> one [rows*(28+pad)+pad, ncol*(28+pad)+pad] image, filled row by row."""
    n, h, w = images_u8.shape
    nrow = -(-n // ncol)
    canvas = np.zeros((nrow * (h + pad) + pad, ncol * (w + pad) + pad), dtype=np.uint8)
    for i, img in enumerate(images_u8):
        r, c = divmod(i, ncol)
        canvas[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = img
    return canvas


def save_grid(images, path: str, ncol: int = 8, title: str = "", row_labels=None) -> None:
    """Save images as a grid PNG; ROW_LABELS (e.g. the digits a conditional model was asked for) go left."""
    plt = _pyplot()
    images_u8 = images if images.dtype == np.uint8 else to_uint8(images)
    canvas = mosaic(images_u8.reshape(-1, 28, 28), ncol)
    scale = 0.5  # inches per 28 px cell
    nrow = -(-len(images_u8) // ncol)
    lines = textwrap.wrap(title, max(14, ncol * 5)) if title else []  # a narrow grid gets a wrapped title
    title = "\n".join(lines)
    label_width = 0.08 * max((len(str(x)) for x in row_labels), default=0) if row_labels is not None else 0
    fig, ax = plt.subplots(figsize=(ncol * scale + 0.6 + label_width, nrow * scale + 0.1 + 0.2 * len(lines)), dpi=100)
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    if row_labels is not None:
        ax.set_yticks([2 + r * 30 + 14 for r in range(len(row_labels))], [str(x) for x in row_labels])
        ax.tick_params(length=0)
    else:
        ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout(pad=0.2)
    _atomic_savefig(fig, path)
    plt.close(fig)


def _atomic_savefig(fig, path: str) -> None:
    with atomic(path, ".png") as tmp:  # the suffix tells matplotlib the format
        fig.savefig(tmp)


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (same length), so curves stay readable over thousands of noisy steps."""
    if window <= 1 or len(values) == 0:
        return values
    sums = np.concatenate(([0.0], np.cumsum(np.asarray(values, dtype=np.float64))))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def loss_label(loss: str) -> str:
    """The y axis of LOSS's curves, as its declaration (registry.Loss) names it."""
    from ms_gan import registry

    declared = registry.losses().get(loss)
    return declared.curve_label if declared else "loss"


def plot_curves(log: dict, path: str, title: str = "", steps_per_epoch: int = 0, loss: str = "bce") -> None:
    """Loss and D-accuracy curves from the per-step log (column name -> array), the losses named after LOSS."""
    plt = _pyplot()
    steps = log["step"]
    window = max(1, len(steps) // 100)
    fig, (ax_loss, ax_acc) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, dpi=100)
    for key, label in (("d_loss_real", "D loss on real"), ("d_loss_fake", "D loss on fake"), ("g_loss", "G loss")):
        ax_loss.plot(steps, smooth(log[key], window), label=label, linewidth=1.2)
    ax_loss.set_ylabel(loss_label(loss))
    ax_loss.legend(loc="upper right", fontsize=8)
    ax_loss.grid(alpha=0.3)
    for key, label in (("d_acc_real", "D accuracy on real"), ("d_acc_fake", "D accuracy on fake")):
        ax_acc.plot(steps, smooth(log[key], window), label=label, linewidth=1.2)
    ax_acc.set_ylim(-0.02, 1.02)
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_xlabel("step" + (f" ({steps_per_epoch} per epoch)" if steps_per_epoch else ""))
    ax_acc.legend(loc="lower right", fontsize=8)
    ax_acc.grid(alpha=0.3)
    if window > 1:
        ax_loss.set_title(f"{title}  (moving average over {window} steps)" if title else "", fontsize=10)
    elif title:
        ax_loss.set_title(title, fontsize=10)
    fig.tight_layout()
    _atomic_savefig(fig, path)
    plt.close(fig)
