"""ms_gan: GANs that learn to write handwritten digits, in MindSpore 2.x.

Importing the package does not import MindSpore or touch its context, so scripts can set
process-level switches (see `ms_gan.runtime`) before MindSpore loads.
"""

__version__ = "0.1.0"
