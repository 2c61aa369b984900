"""What a run trains: G and D, their optimizers, the moving average of G, and the compiled steps that update them."""

import logging
import os

from ms_gan.checkpoint import list_checkpoints, load_into, read_state
from ms_gan.config import TrainConfig
from ms_gan.ema import GeneratorEMA
from ms_gan.errors import UserError
from ms_gan.models import build_discriminator, build_generator, to_mixed_precision
from ms_gan.train_step import make_optimizers, make_steps

log = logging.getLogger(__name__)


class TrainingNets:
    """CELLS {name: cell}: everything a checkpoint holds (generator, discriminator, optim_g, optim_d and, when G is
    averaged, generator_ema); EMA: the average (or None); SAMPLER: what grids and evaluations draw from;
    TRAIN_STEP and CRITIC_STEP (D alone, for --n_critic > 1, else None): the compiled updates."""

    def __init__(self, config: TrainConfig, total_steps: int, replicas):
        net_g, net_d = build_generator(config), build_discriminator(config)
        if config.mixed_precision:  # casts the ops, keeps float32 parameters (and so checkpoints)
            net_g, net_d = to_mixed_precision(net_g, config.amp_level), to_mixed_precision(net_d, config.amp_level)
        elif config.amp_level != "O0":
            log.info(f"note: --amp_level {config.amp_level} is for GPU/Ascend; on CPU ms_gan trains in float32")
        opt_g, opt_d = make_optimizers(net_g, net_d, config, total_steps)
        self.cells = {"generator": net_g, "discriminator": net_d, "optim_g": opt_g, "optim_d": opt_d}
        self.ema = None
        if config.ema_decay:
            self.ema = self.cells["generator_ema"] = GeneratorEMA(net_g, build_generator(config), config.ema_decay)
        self.generator = net_g
        self.sampler = self.ema.net if self.ema else net_g
        self.train_step, self.critic_step = make_steps(
            net_g,
            net_d,
            opt_g,
            opt_d,
            config,
            self.ema,
            jit=config.mode == "graph",
            replicas=replicas,
            total_steps=total_steps,
        )

    def resume(self, run_dir: str, model: str, steps_per_epoch: int, total_steps: int, epochs: int) -> int:
        """Load every cell from RUN_DIR's newest checkpoint; returns its step (0 without one)."""
        start_step = 0
        checkpoints = list_checkpoints(run_dir)
        if checkpoints:
            state = read_state(checkpoints[-1])
            if state.get("steps_per_epoch") != steps_per_epoch:
                raise UserError(
                    f"{checkpoints[-1]} was saved with {state.get('steps_per_epoch')} steps per epoch, "
                    f"the data now gives {steps_per_epoch}: resume with the same data and batch size"
                )
            for name, cell in self.cells.items():  # the learning rates stay as built: --lr and --epochs on resume win
                load_into(
                    cell,
                    os.path.join(checkpoints[-1], f"{name}.ckpt"),
                    what=f"{model} {name}",
                    keep=(f"{name}.learning_rate",),
                )
            start_step = state["step"]
        if start_step >= total_steps:
            raise UserError(
                f"{run_dir} is already at step {start_step} (epoch {start_step // steps_per_epoch}), "
                f"the end of --epochs {epochs}; pass a larger --epochs to train on"
            )
        log.info(
            f"resuming {run_dir} at step {start_step} of {total_steps}"
            + (f" from {checkpoints[-1]}" if checkpoints else " (no complete checkpoint yet: from the start)")
        )
        return start_step
