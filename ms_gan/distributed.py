"""Data-parallel training across processes started by MindSpore's `msrun`: the communication set-up, gradient
averaging, and keeping every replica's non-trained state (BatchNorm statistics, spectral-norm vectors) equal."""

import hashlib

import mindspore as ms
from mindspore import ParameterTuple, nn, ops
from mindspore.communication import get_group_size, get_rank, init

from ms_gan.errors import UserError, one_line


class Replicas:
    """This process's place among the workers. Replicas(False) is the single-process case: rank 0 of 1,
    whose grad_reducer and state_sync are None, which the step then leaves out."""

    def __init__(self, distribute: bool):
        self.distribute = distribute
        self.rank, self.size = 0, 1
        if not distribute:
            return

        try:
            init()
        except Exception as e:  # not started by msrun: no cluster environment to join
            raise UserError(
                f"--distribute needs the workers started by msrun, e.g. msrun --worker_num=2 "
                f"--local_worker_num=2 scripts/train.py --distribute ... ({one_line(e, 160)})"
            ) from None
        self.rank, self.size = get_rank(), get_group_size()
        ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)

    @property
    def lead(self) -> bool:
        """Rank 0 alone writes the run directory: config, log, grids, checkpoints."""
        return self.rank == 0

    def any(self, flag: bool) -> bool:
        """Whether FLAG holds on any worker: the same answer on all of them (FLAG itself on one process), so
        that a decision one rank makes (rank 0's diagnosis stopping the run) ends every rank's loop."""
        if self.size == 1:
            return flag
        votes = ops.AllReduce()(ms.Tensor([1.0 if flag else 0.0], ms.float32))
        return bool(votes.asnumpy()[0] > 0)

    def grad_reducer(self, optimizer):
        """grads -> their mean over the workers (identity on one process)."""
        if self.size == 1:
            return None
        return nn.DistributedGradReducer(optimizer.parameters, mean=True, degree=self.size)

    def state_sync(self, *cells):
        """A Cell that averages the cells' non-trainable parameters over the workers, plus a mean() for the
        step's numbers; None on one process. Gradients are averaged, so trained weights stay equal by
        construction; BatchNorm statistics are computed from each worker's own batch and need this."""
        if self.size == 1:
            return None
        return StateSync([p for cell in cells for p in cell.get_parameters() if not p.requires_grad], self.size)


class StateSync(nn.Cell):
    """sync() averages PARAMS over the workers in place; mean(x) averages a tensor (the step's numbers)."""

    def __init__(self, params, size: int):
        super().__init__(auto_prefix=False)
        self.params = ParameterTuple(params)
        self.all_reduce = ops.AllReduce()
        self.scale = 1.0 / size

    def construct(self):
        for param in self.params:
            ops.assign(param, self.all_reduce(param) * self.scale)
        return True

    def mean(self, x):
        return self.all_reduce(x) * self.scale


def parameter_checksum(*cells) -> str:
    """SHA-256 over every parameter's name and bytes: equal on all workers when they are in sync."""
    digest = hashlib.sha256()
    for cell in cells:
        for param in sorted(cell.get_parameters(), key=lambda p: p.name):
            digest.update(param.name.encode())
            digest.update(param.asnumpy().tobytes())
    return digest.hexdigest()
