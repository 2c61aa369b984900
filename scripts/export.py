"""Export a trained generator for deployment: python scripts/export.py --ckpt RUN_DIR [--file_format MINDIR]

Writes the generator (its EMA when the run kept one) as a MindIR (or ONNX) graph that takes any batch size:
inputs z float32 [N, latent_dim] and labels int32 [N] (ignored by unconditional models), output images float32
[N, 1, 28, 28] in [-1, 1]. Load a MindIR with ms.load(path) and nn.GraphCell, or MindSpore Lite; an ONNX file
with onnxruntime (ONNX export needs the onnx package: pip install onnx).
"""

import os

import _cli

from ms_gan.errors import UserError, one_line

SUFFIX = {"MINDIR": ".mindir", "ONNX": ".onnx"}
# MindSpore exports ONNX only at a fixed batch: this one, made any batch after (a prime, so that no other size in
# a generator's graph is mistaken for a multiple of the batch)
ONNX_EXPORT_BATCH = 11


def parse_args(argv=None):
    p = _cli.Parser(description=__doc__)
    p.add_argument("--ckpt", required=True, help="a run directory, checkpoint folder or generator .ckpt")
    p.add_argument(
        "--file_format",
        default="MINDIR",
        type=str.upper,
        choices=sorted(SUFFIX),
        help="MINDIR (default) or ONNX, in any case",
    )
    p.add_argument("--output", default="", help="file to write (default: RUN_DIR/export/generator.mindir|.onnx)")
    p.add_argument("--no_ema", action="store_true", help="export the raw generator even if the run kept an EMA")
    return p.parse_args(argv)


def main(args):
    from ms_gan.runtime import prepare_process

    prepare_process("CPU")
    import mindspore as ms
    import numpy as np

    from ms_gan.checkpoint import find_run_dir, resolve_generator
    from ms_gan.fileio import remove_quietly, temp_path
    from ms_gan.models import load_generator
    from ms_gan.runtime import setup_context

    ckpt_path, config = resolve_generator(args.ckpt, ema=not args.no_ema)
    output = args.output or os.path.join(find_run_dir(ckpt_path), "export", "generator" + SUFFIX[args.file_format])
    if args.output and os.path.lexists(args.output):  # the default path is export.py's own, and is refreshed
        raise UserError(
            f"--output {args.output} already exists; export.py replaces only its default file (name another)"
        )
    if not output.endswith(SUFFIX[args.file_format]):
        raise UserError(f"--output for {args.file_format} must end in {SUFFIX[args.file_format]}, got {output}")
    folder = os.path.dirname(os.path.abspath(output))
    new_folder = not os.path.isdir(folder)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create the folder for --output {output}: {e.strerror}") from None

    setup_context("CPU", "graph", 0)
    # MindSpore's own convolutions: the exported graph must not depend on ms_gan's compiled CPU kernels
    config.conv_impl = "native"
    net_g = load_generator(config, ckpt_path)
    net_g.set_train(False)  # BatchNorm with its running statistics, as in inference
    if args.file_format == "ONNX":
        onnx = _onnx()
        batch = ONNX_EXPORT_BATCH
        z = ms.Tensor(np.zeros((batch, config.latent_dim), np.float32))
        labels = ms.Tensor(np.zeros(batch, np.int32))
    else:  # MindIR keeps the batch dimension open
        z = ms.Tensor(shape=[None, config.latent_dim], dtype=ms.float32)
        labels = ms.Tensor(shape=[None], dtype=ms.int32)
    stem = temp_path(output[: -len(SUFFIX[args.file_format])])
    written = stem + SUFFIX[args.file_format]
    try:
        ms.export(net_g, z, labels, file_name=stem, file_format=args.file_format)
        if args.file_format == "ONNX":
            onnx.save(any_batch(onnx.load(written), ONNX_EXPORT_BATCH), written)
        # MindSpore exports under a private umask (file 0400, folder 0700); a deployment file is for others too
        os.chmod(written, 0o644)
        if new_folder:
            os.chmod(folder, 0o755)
        os.replace(written, output)  # whole or not at all
    except Exception as e:  # MindSpore reports unsupported operators with a multi-line RuntimeError
        remove_quietly(written)
        if isinstance(e, OSError):
            raise UserError(f"cannot write --output {output}: {e.strerror or e}") from None
        raise UserError(
            f"MindSpore could not export this {config.model} generator as {args.file_format}: {one_line(e, 300)}"
        ) from None
    print(
        f"wrote {output} ({args.file_format}; z [N, {config.latent_dim}] float32, labels [N] int32 -> images "
        f"[N, 1, 28, 28], any N) from {ckpt_path}"
    )


def _onnx():
    try:
        import onnx
    except ImportError:
        raise UserError("--file_format ONNX needs the onnx package: pip install onnx") from None
    return onnx


def any_batch(model, batch: int):
    """MindSpore's ONNX graph, exported at BATCH, made to take any batch: the batch dimension of the inputs and
    output becomes symbolic, each Reshape's leading size (BATCH or a multiple of it, e.g. N * C) becomes -1, and
    each ConvTranspose drops the fixed output_shape MindSpore writes (4-d, where ONNX wants the spatial sizes; its
    pads give the same output)."""
    from onnx import numpy_helper

    graph = model.graph
    constants = {node.output[0]: node.attribute[0].t for node in graph.node if node.op_type == "Constant"}
    constants.update({tensor.name: tensor for tensor in graph.initializer})
    for node in graph.node:
        if node.op_type == "ConvTranspose":
            kept = [a for a in node.attribute if a.name != "output_shape"]
            del node.attribute[:]
            node.attribute.extend(kept)
        elif node.op_type == "Reshape" and node.input[1] in constants:
            tensor = constants[node.input[1]]
            shape = numpy_helper.to_array(tensor).copy()
            if shape.size and shape[0] > 0 and shape[0] % batch == 0:
                shape[0] = -1
                tensor.CopyFrom(numpy_helper.from_array(shape, tensor.name))
    for value in list(graph.input) + list(graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and dims[0].dim_value == batch:
            dims[0].dim_param = "N"
    del graph.value_info[:]  # shapes inferred at the export's batch
    onnx = _onnx()
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    _cli.run(main, parse_args())
