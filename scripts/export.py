"""Export a trained generator for deployment: python scripts/export.py --ckpt RUN_DIR [--file_format MINDIR]

Writes the generator (its EMA when the run kept one) as a MindIR (or ONNX) graph with a fixed batch size:
inputs z float32 [N, latent_dim] and labels int32 [N] (ignored by unconditional models), output images float32
[N, 1, 28, 28] in [-1, 1]. Load it back with ms.load(path) and nn.GraphCell, or with MindSpore Lite.
"""

import os

import _cli
from ms_gan.ranges import count
from ms_gan.errors import UserError, one_line

SUFFIX = {"MINDIR": ".mindir", "ONNX": ".onnx"}


def parse_args(argv=None):
    p = _cli.Parser(description=__doc__)
    p.add_argument("--ckpt", required=True, help="a run directory, checkpoint folder or generator .ckpt")
    p.add_argument("--file_format", default="MINDIR", type=str.upper, choices=sorted(SUFFIX),
                   help="MINDIR (default) or ONNX, in any case")
    p.add_argument("--batch_size", type=count(1, 65_536).parse, default=64, help="the exported graph's fixed batch size")
    p.add_argument("--output", default="", help="file to write (default: RUN_DIR/export/generator.mindir|.onnx)")
    p.add_argument("--no_ema", action="store_true", help="export the raw generator even if the run kept an EMA")
    return p.parse_args(argv)


def main(args):
    from ms_gan.runtime import prepare_process

    prepare_process("CPU")
    import mindspore as ms
    import numpy as np

    from ms_gan.checkpoint import find_run_dir, load_generator, resolve_generator
    from ms_gan.fileio import remove_quietly, temp_path
    from ms_gan.runtime import setup_context

    ckpt_path, config = resolve_generator(args.ckpt, ema=not args.no_ema)
    output = args.output or os.path.join(find_run_dir(ckpt_path), "export", "generator" + SUFFIX[args.file_format])
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
    z = ms.Tensor(np.zeros((args.batch_size, config.latent_dim), np.float32))
    labels = ms.Tensor(np.zeros(args.batch_size, np.int32))
    stem = temp_path(output[:-len(SUFFIX[args.file_format])])
    try:
        ms.export(net_g, z, labels, file_name=stem, file_format=args.file_format)
        # MindSpore exports under a private umask (file 0400, folder 0700); a deployment file is for others too
        os.chmod(stem + SUFFIX[args.file_format], 0o644)
        if new_folder:
            os.chmod(folder, 0o755)
        os.replace(stem + SUFFIX[args.file_format], output)  # whole or not at all
    except Exception as e:  # MindSpore reports unsupported operators with a multi-line RuntimeError
        remove_quietly(stem + SUFFIX[args.file_format])
        if isinstance(e, OSError):
            raise UserError(f"cannot write --output {output}: {e.strerror or e}") from None
        raise UserError(f"MindSpore could not export this {config.model} generator as {args.file_format}: "
                        f"{one_line(e, 300)}") from None
    print(f"wrote {output} ({args.file_format}; z [{args.batch_size}, {config.latent_dim}] float32, "
          f"labels [{args.batch_size}] int32 -> images [{args.batch_size}, 1, 28, 28]) from {ckpt_path}")


if __name__ == "__main__":
    _cli.run(main, parse_args())
