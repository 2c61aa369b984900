"""Sample quality in an MNIST classifier's feature space: Frechet distance, Inception Score, precision and
recall, class coverage, conditional accuracy and diversity, always beside the same numbers for real data."""

import hashlib
import json
import logging
import os

import numpy as np

from ms_gan import clusters
from ms_gan.classifier import classifier_id, features_and_probs, load_classifier
from ms_gan.data import read_split
from ms_gan.fileio import save_npz, sha256, user_cache_dir, write_json
from ms_gan.sampling import candidate_labels, draw_discriminator_picked, generate, latent_codes
from ms_gan.visualize import to_uint8

log = logging.getLogger(__name__)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to feature sets A and B (FID's formula, classifier features)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr(sqrt(Ca Cb)) = sum of sqrt(eigenvalues of Ca^1/2 Cb Ca^1/2), a symmetric PSD matrix: no scipy needed
    vals, vecs = np.linalg.eigh(cov_a)
    root_a = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    middle = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_sqrt = np.sqrt(np.clip(middle, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)


def inception_score(probs: np.ndarray, splits: int = 10):
    """exp(E KL(p(y|x) || p(y))) with the MNIST classifier's p(y|x): (score, std over SPLITS chunks). Max 10.

    The score is taken over the whole set, with p(y) its marginal, so it depends on which samples there
    are and never on their order. (The usual mean over 10 consecutive chunks does: a file sorted by label,
    as infer.py writes for cgan, puts one digit in each chunk and scores near 1.) The spread comes from
    SPLITS chunks of a fixed shuffle of the rows in a canonical order (sorted by their own values)."""

    def score(p):
        marginal = p.mean(0, keepdims=True)
        return np.exp((p * (np.log(p + 1e-12) - np.log(marginal + 1e-12))).sum(1).mean())

    canonical = probs[np.lexsort(probs.T[::-1])]
    shuffled = canonical[np.random.default_rng(0).permutation(len(probs))]
    return float(score(probs)), float(np.std([score(chunk) for chunk in np.array_split(shuffled, splits)]))


K_NEIGHBOURS = 3  # precision and recall's manifolds: each point's ball reaches its 3rd-nearest neighbour


def _kth_neighbour_radius(x: np.ndarray, k: int, chunk: int = 2000) -> np.ndarray:
    sq = (x**2).sum(1)
    radii = np.empty(len(x))
    for i in range(0, len(x), chunk):
        d = sq[i : i + chunk, None] + sq[None, :] - 2 * x[i : i + chunk] @ x.T
        radii[i : i + chunk] = np.sqrt(np.clip(np.partition(d, k, axis=1)[:, k], 0, None))  # index 0 is itself
    return radii


def _inside_manifold(points: np.ndarray, support: np.ndarray, radii: np.ndarray, chunk: int = 2000) -> np.ndarray:
    sq_s = (support**2).sum(1)
    inside = np.empty(len(points), dtype=bool)
    for i in range(0, len(points), chunk):
        p = points[i : i + chunk]
        d = np.sqrt(np.clip((p**2).sum(1)[:, None] + sq_s[None, :] - 2 * p @ support.T, 0, None))
        inside[i : i + chunk] = (d <= radii[None, :]).any(1)
    return inside


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = K_NEIGHBOURS, real_radii=None):
    """Kynkaanniemi et al. 2019: precision = share of fakes inside the real k-NN manifold, recall = share of
    reals inside the fake one. REAL_RADII: the real points' k-th neighbour distances, if already known."""
    real_radii = _kth_neighbour_radius(real, k) if real_radii is None else real_radii
    precision = _inside_manifold(fake, real, real_radii).mean()
    recall = _inside_manifold(real, fake, _kth_neighbour_radius(fake, k)).mean()
    return float(precision), float(recall)


def diversity(features: np.ndarray, n: int = 1000, seed: int = 0) -> float:
    """Mean pairwise distance between (up to N) samples' features: near 0 when every sample looks the same."""
    rng = np.random.default_rng(seed)
    x = features[rng.permutation(len(features))[:n]]
    sq = (x**2).sum(1)
    d = np.sqrt(np.clip(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0, None))
    return float(d.sum() / (len(x) * (len(x) - 1)))


def score(
    features: np.ndarray, probs: np.ndarray, reference: np.ndarray, requested=None, classes=None, reference_radii=None
) -> dict:
    """Every metric for one sample set against REFERENCE features (the real test split; REFERENCE_RADII, its
    k-th neighbour distances, when the caller keeps them)."""
    predicted = probs.argmax(1)
    histogram = np.bincount(predicted, minlength=10)
    precision, recall = precision_recall(reference, features, real_radii=reference_radii)
    is_mean, is_std = inception_score(probs)
    out = {
        "num_samples": int(len(features)),
        "fd": frechet_distance(features, reference),
        "inception_score": is_mean,
        "inception_score_std": is_std,
        "precision": precision,
        "recall": recall,
        "class_histogram": histogram.tolist(),
        "digits_covered": int((histogram >= 0.01 * len(predicted)).sum()),
        "diversity": diversity(features),
    }
    if classes is not None:  # trained on a subset: coverage is judged over those digits only
        out["in_trained_classes"] = float(np.isin(predicted, classes).mean())
        out["trained_classes_covered"] = int((histogram[list(classes)] >= 0.01 * len(predicted)).sum())
    if requested is not None:
        hit = predicted == requested
        out["label_accuracy"] = float(hit.mean())
        out["label_accuracy_per_digit"] = [float(hit[requested == d].mean()) for d in np.unique(requested)]
    return out


# the code the real reference comes from: the metrics, the classifier and the convolutions it runs on CPU
_REFERENCE_SOURCES = ("metrics.py", "classifier.py", "models/layers.py", "kernels/__init__.py", "kernels/gemm_conv.cc")


def _cache_key(*parts) -> str:
    """A short SHA-256 of PARTS: strings, and numpy arrays by dtype, shape and bytes."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(f"{part.dtype}{part.shape}".encode())
            part = np.ascontiguousarray(part).tobytes()
        digest.update(part if isinstance(part, bytes) else str(part).encode())
    return digest.hexdigest()[:32]


def _reference_key(classifier_path: str, test_x, test_y, classes) -> str:
    """The key of the real reference: the classifier file, the code it comes from, the versions and device that
    compute it, --classes and the test digits."""
    import mindspore as ms

    sources = [os.path.join(os.path.dirname(__file__), name) for name in _REFERENCE_SOURCES]
    return _cache_key(
        sha256(classifier_path),
        *map(sha256, sources),
        np.__version__,
        ms.__version__,
        ms.get_context("device_target"),
        repr(classes),
        test_x,
        test_y,
    )


def _cache_path(name: str) -> str:
    return user_cache_dir("metrics", name)


def _load_cached(name: str, read):
    """READ(the cache file NAME), or None when it is not there yet or unreadable (then it is computed again)."""
    try:
        return read(_cache_path(name))
    except (OSError, ValueError, KeyError, EOFError):
        return None


def _read_reference(path: str):
    with np.load(path) as saved:
        return saved["reference"], saved["radii"], float(saved["accuracy"])


def _read_row(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def _save_cached(name: str, write) -> None:
    try:
        os.makedirs(os.path.dirname(_cache_path(name)), exist_ok=True)
        write(_cache_path(name))
    except OSError:  # a read-only cache only costs the next evaluation the same few seconds
        pass


class Evaluator:
    """Holds the classifier and the real reference (test split features) so repeated evaluations are cheap."""

    def __init__(self, classifier_path: str, data_dir: str, classes=None, num_samples: int = 10000):
        self.classifier = load_classifier(classifier_path)
        self.classifier_id = classifier_id(classifier_path)
        self.classes, self.num_samples = classes, num_samples
        test_x, test_y = read_split(data_dir, "test")
        train_x, train_y = read_split(data_dir, "train")
        if classes is not None:
            test_x, train_x = test_x[np.isin(test_y, classes)], train_x[np.isin(train_y, classes)]
            test_y, train_y = test_y[np.isin(test_y, classes)], train_y[np.isin(train_y, classes)]
        count = min(num_samples, len(train_x))
        held_out = train_x[-count:], train_y[-count:]
        # what real digits score is the same for every run on the same digits and classifier: kept in the user's
        # cache under keys made of everything it depends on, this code included. The reference (the test
        # digits' features and k-NN radii, 10 MB) once; the real row once per held-out set (sample count)
        key = _reference_key(classifier_path, test_x, test_y, classes)
        cached = _load_cached(f"reference-{key}.npz", _read_reference)
        if cached:
            self.reference, self.reference_radii, self.classifier_test_accuracy = cached
        else:
            log.info(
                f"computing what real digits score ({len(test_x)} test digits through the classifier): once for "
                f"this data and classifier, then cached in {user_cache_dir('metrics')}"
            )
            self.reference, test_probs = features_and_probs(self.classifier, test_x)
            self.reference_radii = _kth_neighbour_radius(self.reference, K_NEIGHBOURS)  # kept for every precision
            self.classifier_test_accuracy = float((test_probs.argmax(1) == test_y).mean())
            _save_cached(
                f"reference-{key}.npz",
                lambda path: save_npz(
                    path,
                    reference=self.reference,
                    radii=self.reference_radii,
                    accuracy=np.float64(self.classifier_test_accuracy),
                ),
            )
        row_name = f"real-row-{_cache_key(key, *held_out)}.json"
        self.real_row = _load_cached(row_name, _read_row)
        if self.real_row is None:
            self.real_row = self.score_images(*held_out)  # real digits the reference has never seen
            _save_cached(row_name, lambda path: write_json(path, self.real_row))

    @classmethod
    def for_run(cls, config, data_dir: str, num_samples: int, classifier: str = ""):
        """The evaluator for a run: its digits (--classes), and CLASSIFIER or the run's own."""
        return cls(classifier or config.classifier_path, data_dir, config.classes or None, num_samples)

    def score_images(self, images_u8: np.ndarray, requested=None) -> dict:
        features, probs = features_and_probs(self.classifier, images_u8)
        return score(features, probs, self.reference, requested, self.classes, self.reference_radii)

    def score_generator(
        self, net_g, config, seed: int = 0, truncation: float = 0.0, net_d=None, keep: float = 1.0, shares=()
    ) -> dict:
        """Scores of NUM_SAMPLES images drawn from NET_G, labels cycling through the classes for a conditional
        model (with --clusters: each cluster as often as its share of the training images); TRUNCATION as in
        sampling.latent_codes (0: off, the plain N(0, I) of training). With NET_D and KEEP < 1, NUM_SAMPLES / KEEP
        are drawn and NUM_SAMPLES of them picked by NET_D's odds (sampling.draw_discriminator_picked). SHARES: a
        --clusters run's cluster shares (its RunRecord)."""
        pool = np.array(self.classes if self.classes is not None else range(config.num_classes), dtype=np.int32)
        wanted = pool[np.arange(self.num_samples) % len(pool)]
        if config.clusters:
            wanted = clusters.draw_counts(shares, self.num_samples)
        elif not config.conditional:
            wanted = np.zeros_like(wanted)
        if net_d is None or keep >= 1:
            z = latent_codes(np.random.default_rng(seed), self.num_samples, config.latent_dim, truncation)
            images, labels = generate(net_g, z, wanted), wanted
        else:
            rng = np.random.default_rng(seed)
            candidates = candidate_labels(wanted, keep)
            z = latent_codes(rng, len(candidates), config.latent_dim, truncation)
            images, labels = draw_discriminator_picked(net_g, net_d, z, candidates, wanted, rng)
        return self.score_images(to_uint8(images), requested=labels if config.labelled else None)


def format_table(rows: dict) -> str:
    """{row name: metrics} -> a markdown table."""
    cols = [
        ("FD", "fd", "{:.2f}"),
        ("IS", "inception_score", "{:.2f}"),
        ("precision", "precision", "{:.3f}"),
        ("recall", "recall", "{:.3f}"),
        ("digits covered", "digits_covered", "{}"),
        ("diversity", "diversity", "{:.2f}"),
        ("label acc.", "label_accuracy", "{:.3f}"),
    ]
    lines = ["| samples | n | " + " | ".join(c[0] for c in cols) + " |", "|---|---|" + "---|" * len(cols)]
    for name, m in rows.items():
        cells = [fmt.format(m[key]) if key in m else "" for _, key, fmt in cols]
        lines.append(f"| {name} | {m['num_samples']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
