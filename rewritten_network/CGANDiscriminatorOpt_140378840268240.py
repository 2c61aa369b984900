import sys
import mindspore
from mindspore import nn
from mindspore.nn import Cell
from mindspore.ops import functional as F
#
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/ops/function')
from mindspore.ops.auto_generate import sum_ext_op
from math_func import sum_ext_op as sum_ext_op_1

def sum_opt(input, dim=None, keepdim=False, *, dtype=None):
    sum_ext_op_var = sum_ext_op_1(input, dim, keepdim, dtype)
    return sum_ext_op_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/ops/auto_generate')
from mindspore.ops.auto_generate.gen_ops_prim import *
from mindspore.ops.auto_generate.pyboost_inner_prim import *
from mindspore.ops.operations.manually_defined.ops_def import *

def cat_1(tensors, axis=0):
    concat_impl_var = concat_impl(tensors, axis)
    return concat_impl_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/ops/function')

def concat_opt_1(tensors, axis=0):
    cat_var = cat_1(tensors, axis)
    return cat_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/ops/auto_generate')
from mindspore.ops.auto_generate.gen_ops_def import reshape_op

def reshape_opt_1(input, shape):
    reshape_op_var = reshape_op(input, shape)
    return reshape_op_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from mindspore.nn.cell import Cell
from conv import _Conv

class _ConvOpt(_Conv, Cell):

    def __init__(self):
        Cell.__init__(self)
        for key, value in _Conv.__dict__.items():
            if not key.startswith('__'):
                setattr(_ConvOpt, key, value)
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/ops/function')
import mindspore.common.dtype as mstype
from array_func import scalar_to_tensor_

def scalar_to_tensor_opt(input_x, dtype=mstype.float32):
    scalar_to_tensor__var = scalar_to_tensor_(input_x, dtype)
    return scalar_to_tensor__var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/ops/function')
from nn_func import _check_is_tensor
from nn_func import _check_value_type
from nn_func import cast_

def leaky_relu_opt(input, alpha=0.2):
    _check_is_tensor('input', input, 'leaky_relu')
    list_var = [float, int]
    _check_value_type('alpha', alpha, list_var, 'leaky_relu')
    select_op = maximum_
    compare_var = alpha > 1
    if compare_var:
        select_op = minimum_
    scalar_to_tensor_var = scalar_to_tensor_opt(alpha)
    alpha = cast_(scalar_to_tensor_var, input.dtype)
    mult_var = alpha * input
    select_op_var = select_op(mult_var, input)
    return select_op_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from normalization import _BatchNorm

class _BatchNormOpt(_BatchNorm, Cell):

    def __init__(self):
        Cell.__init__(self)
        for key, value in _BatchNorm.__dict__.items():
            if not key.startswith('__'):
                setattr(_BatchNormOpt, key, value)
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from mindspore.ops.primitive import _primexpr
from normalization import BatchNorm2d

class BatchNorm2dOpt_2(BatchNorm2d, _BatchNormOpt):

    def __init__(self, obj):
        _BatchNormOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self._check_input_dim = obj.__class__._check_input_dim

    @staticmethod
    @_primexpr
    def _check_input_dim(shape, cls_name):
        dim = len(shape)
        _check_dim(dim, 4, cls_name)
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from conv import Conv2d
from mindspore.train.amp import amp_cast

class Conv2dOpt_1(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from activation import LeakyReLU

class LeakyReLUOpt(LeakyReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        out = leaky_relu_opt(x, self.alpha)
        return out
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from embedding import Embedding

class EmbeddingOpt_2(Embedding, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, ids):
        tuple_var = (self.embedding_size,)
        get_shp_var = self.get_shp(ids)
        out_shape = get_shp_var + tuple_var
        flat_ids = self.reshape_flat(ids, self.shp_flat)
        if self.use_one_hot:
            one_hot_ids = self.one_hot(flat_ids, self.vocab_size, self.on_value, self.off_value)
            one_hot_ids = amp_cast(one_hot_ids, mindspore.float16)
            embedding_table_var = amp_cast(self.embedding_table, mindspore.float16)
            output_for_reshape = self.array_mul(one_hot_ids, embedding_table_var)
            output_for_reshape = amp_cast(output_for_reshape, mindspore.float32)
        else:
            output_for_reshape = self.gather(self.embedding_table, flat_ids, 0)
        output = self.reshape(output_for_reshape, out_shape)
        return output

    def extend_repr(self):
        return f'vocab_size={self.vocab_size}, embedding_size={self.embedding_size}, use_one_hot={self.use_one_hot}, embedding_table={self.embedding_table}, dtype={self.dtype}, padding_idx={self.padding_idx}'
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_2(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class EmbeddingOpt_1(Embedding, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, ids):
        tuple_var = (self.embedding_size,)
        get_shp_var = self.get_shp(ids)
        out_shape = get_shp_var + tuple_var
        flat_ids = self.reshape_flat(ids, self.shp_flat)
        if self.use_one_hot:
            one_hot_ids = self.one_hot(flat_ids, self.vocab_size, self.on_value, self.off_value)
            one_hot_ids = amp_cast(one_hot_ids, mindspore.float16)
            embedding_table_var = amp_cast(self.embedding_table, mindspore.float16)
            output_for_reshape = self.array_mul(one_hot_ids, embedding_table_var)
            output_for_reshape = amp_cast(output_for_reshape, mindspore.float32)
        else:
            output_for_reshape = self.gather(self.embedding_table, flat_ids, 0)
        output = self.reshape(output_for_reshape, out_shape)
        return output

    def extend_repr(self):
        return f'vocab_size={self.vocab_size}, embedding_size={self.embedding_size}, use_one_hot={self.use_one_hot}, embedding_table={self.embedding_table}, dtype={self.dtype}, padding_idx={self.padding_idx}'
#
sys.path.insert(0, '/work/main/ms_gan/models')
from cgan import CGANDiscriminator

class CGANDiscriminatorOpt(CGANDiscriminator, nn.Cell):

    def __init__(self, obj):
        nn.Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.embed = EmbeddingOpt_1(self.embed)
        self.features[0] = Conv2dOpt(self.features[0])
        self.features[1] = LeakyReLUOpt(self.features[1])
        self.features[2] = Conv2dOpt_1(self.features[2])
        self.features[3] = BatchNorm2dOpt_2(self.features[3])
        self.features[4] = LeakyReLUOpt(self.features[4])
        self.head = Conv2dOpt_2(self.head)
        self.project = EmbeddingOpt_2(self.project)

    def construct(self, images, labels):
        usub_var_2 = -1
        tuple_var_3 = (usub_var_2, 1, 28, 28)
        embed_var = self.embed(labels)
        label_map = reshape_opt_1(embed_var, tuple_var_3)
        tuple_var_2 = (images, label_map)
        concat_var = concat_opt_1(tuple_var_2, axis=1)
        features = self.features(concat_var)
        usub_var_1 = -1
        tuple_var_1 = (usub_var_1,)
        head_var = self.head(features)
        unconditional = reshape_opt_1(head_var, tuple_var_1)
        project_var = self.project(labels)
        mult_var_2 = self.ndf * 2
        mult_var_1 = mult_var_2 * 49
        usub_var = -1
        tuple_var = (usub_var, mult_var_1)
        reshape_var = reshape_opt_1(features, tuple_var)
        mult_var = reshape_var * project_var
        conditional = sum_opt(mult_var, dim=1)
        add_var = unconditional + conditional
        return add_var
#