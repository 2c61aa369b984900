"""An exponential moving average of the generator's weights: what samples and checkpoints draw from when
--ema_decay is set, since an average over the last few hundred steps is smoother than the raw weights."""

import mindspore as ms
from mindspore import Parameter, ParameterTuple, nn, ops

PREFIX = "ema."  # the shadow's parameter names inside the training graph; dropped in its checkpoint


class GeneratorEMA(nn.Cell):
    """shadow <- d * shadow + (1 - d) * weights after each G update, for every generator parameter
    (BatchNorm statistics included). d = min(decay, (1 + n) / (10 + n)) after n updates, so the shadow
    forgets its random start quickly instead of carrying decay**n of it. The warm-up reaches 0.999 only after
    8,990 updates: until then it sets d, and the shadow weighs step k of n about as (k / n)**8, an average
    centred a tenth of the run back (longer averages scored worse: docs/losses.md)."""

    def __init__(self, net_g, shadow, decay: float):
        super().__init__(auto_prefix=False)  # keep the shadow's names as given
        for param in shadow.get_parameters():  # generator.x -> ema.generator.x (update_parameters_name
            param.name = PREFIX + param.name  # would replace 'generator.', not prepend to it)
        self.net = shadow  # a generator of the same architecture, for sampling
        self.ckpt_prefix = PREFIX  # checkpoint.save_cell drops it: the file loads into a plain generator
        self.weights = ParameterTuple(net_g.get_parameters())
        self.averages = ParameterTuple(shadow.get_parameters())
        self.num_updates = Parameter(ms.Tensor(0.0, ms.float32), name=PREFIX + "num_updates", requires_grad=False)
        self.decay = decay
        for average, weight in zip(self.averages, self.weights):
            average.set_data(weight.value().copy())

    def construct(self):
        n = self.num_updates
        decay = ops.minimum((1.0 + n) / (10.0 + n), self.decay)
        for average, weight in zip(self.averages, self.weights):
            ops.assign(average, average * decay + weight * (1.0 - decay))
        ops.assign(self.num_updates, n + 1.0)
        return decay
