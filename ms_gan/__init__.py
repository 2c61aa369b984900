"""ms_gan: GANs that learn to write handwritten digits, in MindSpore 2.x.

    from ms_gan import load_generator, train
    run = train(model="fc", epochs=2)              # a run folder, as scripts/train.py writes it
    images = load_generator(run).sample(16)        # uint8 [16, 28, 28]

Importing the package does not import MindSpore or touch its context (the API does that on first use), so
scripts can set process-level switches (see `ms_gan.runtime`) before MindSpore loads.
"""

__version__ = "0.6.0"
__all__ = ["Generator", "load_generator", "train", "__version__"]


def __getattr__(name):
    if name in ("Generator", "load_generator", "train"):
        from ms_gan import api

        return getattr(api, name)
    raise AttributeError(f"module 'ms_gan' has no attribute {name!r}")
