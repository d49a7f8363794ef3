"""Convert an official checkpoint file into a jaxmot export (the format train_* writes).

  python -m pipelines.convert jde jde.1088x608.uncertainty.pt checkpoints/jde_1088 \
      [--resolution 1088x608] [--keep-classifier]
  python -m pipelines.convert ettrack checkpoint_e35.pth checkpoints/ettrack_official
  python -m pipelines.convert dino dino_deitsmall16_pretrain.pth checkpoints/dino_s16 [--patch 16]
  python -m pipelines.convert resnet resnet50-11ad3fa6.pth checkpoints/reid_imagenet_r50
  python -m pipelines.convert reid market_resnet50_model_120.pth checkpoints/reid_bot_r50

Kinds: `jde` (Zhongdao/Towards-Realtime-MOT; official releases 1088x608, 864x480 and
576x320, the resolution read from the file name unless `--resolution` is given; the
identity classifier is dropped, as the official tracker does, unless
`--keep-classifier`), `ettrack` (pblatter/ettrack), `dino` (facebookresearch/dino ViT-S/16
or S/8, the patch size read from the file), `resnet` (a torchvision ImageNet
ResNet-18/34/50 as a ReID model: an ImageNet appearance baseline, not a trained ReID
model) and `reid` (a "Bag of tricks" michuanhaohao/reid-strong-baseline model). The
export's model.json records the source file, its sha256 and this command. Use it where
a project checkpoint goes: `track --jde-checkpoint`, `track_sot --checkpoint`,
`segment --vit-checkpoint`, `track --reid-checkpoint`. A file that does not fit prints
one line naming its missing and unexpected keys and exits with status 2.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from jaxmot.core.converted import source_record
from jaxmot.train.export import MANIFEST, command_line

KINDS = {
    "jde": "official JDE (Towards-Realtime-MOT) -> --jde-checkpoint",
    "ettrack": "official E.T.Track -> track_sot --checkpoint",
    "dino": "official DINO ViT-S/16 or S/8 -> segment --vit-checkpoint",
    "resnet": "torchvision ImageNet ResNet-18/34/50 -> --reid-checkpoint (ImageNet baseline)",
    "reid": "'Bag of tricks' reid-strong-baseline model -> --reid-checkpoint",
}
USE = {
    "jde": "python -m pipelines.track --source VIDEO --tracker jde --jde-checkpoint {out}",
    "ettrack": "python -m pipelines.track_sot --checkpoint {out} ...",
    "dino": "python -m pipelines.segment --vit-checkpoint {out} ...",
    "resnet": "python -m pipelines.track --tracker longterm --reid-checkpoint {out} ...",
    "reid": "python -m pipelines.track --tracker longterm --reid-checkpoint {out} ...",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    sub = {
        name: kinds.add_parser(name, help=text, description=text) for name, text in KINDS.items()
    }
    for p in sub.values():
        p.add_argument("src", type=pathlib.Path, help="the official checkpoint file")
        p.add_argument("out", type=pathlib.Path, help="the export folder to write")
    sub["jde"].add_argument(
        "--resolution", help="input size WxH (default: from the file name, else 1088x608)"
    )
    sub["jde"].add_argument(
        "--keep-classifier",
        action="store_true",
        help="keep the identity classifier (for fine-tuning; tracking drops it)",
    )
    sub["jde"].add_argument(
        "--preset", choices=("auto", "full", "small"), default="auto",
        help="architecture: the released model (full), JDEConfig.small, or auto from shapes",
    )  # fmt: skip
    sub["ettrack"].add_argument(
        "--preset", choices=("auto", "full", "narrow"), default="auto",
        help="architecture: the released tracker (full), ETTrackConfig.narrow, or auto",
    )  # fmt: skip
    sub["dino"].add_argument(
        "--patch", type=int, choices=(16, 8), help="ViT-S/16 or S/8 (default: from the file)"
    )
    sub["dino"].add_argument(
        "--heads", type=int, help="attention heads (default: width / 64, as every DINO ViT)"
    )
    for name in ("resnet", "reid"):
        sub[name].add_argument(
            "--depth", type=int, choices=(18, 34, 50), help="ResNet depth (default: from keys)"
        )
        sub[name].add_argument(
            "--last-stride", type=int, choices=(1, 2), default=1,
            help="stride of layer4 (1: re-ID practice and the strong baseline's default)",
        )  # fmt: skip
        sub[name].add_argument(
            "--input-size", type=int, nargs=2, default=(256, 128), metavar=("H", "W"),
            help="crop size the extractor resizes detections to (default 256 128)",
        )  # fmt: skip
    return parser


def convert(args: argparse.Namespace, source: dict) -> str:
    """Write the export of `args.src` to `args.out`; returns a one-line description."""
    if args.kind == "jde":
        from jaxmot.jde.checkpoint import convert_official_jde

        model = convert_official_jde(
            args.src,
            args.out,
            resolution=args.resolution,
            preset=args.preset,
            keep_classifier=args.keep_classifier,
            source=source,
        )
        c = model.config
        return f"JDE {c.width}x{c.height}, width x{c.width_multiplier}, {c.num_ids} ids"
    if args.kind == "ettrack":
        from jaxmot.sot.checkpoint import convert_official_ettrack

        model = convert_official_ettrack(args.src, args.out, preset=args.preset, source=source)
        return f"E.T.Track, backbone width {model.config.backbone_width}"
    if args.kind == "dino":
        from jaxmot.seg.vit_checkpoint import convert_official_dino

        _, c = convert_official_dino(
            args.src, args.out, patch_size=args.patch, num_heads=args.heads, source=source
        )
        return f"ViT/{c.patch_size}, dim {c.embed_dim}, depth {c.depth}, {c.num_heads} heads"
    from jaxmot.reid.checkpoint import convert_official_reid

    _, c, notes = convert_official_reid(
        args.kind,
        args.src,
        args.out,
        depth=args.depth,
        last_stride=args.last_stride,
        input_size=tuple(args.input_size),
        source=source,
    )
    return f"ReID ResNet-{c.depth} (width {c.width}), {c.num_classes} ids" + "".join(
        f"; {note}" for note in notes
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = args.out
    try:
        if out.exists() and not (out / MANIFEST).is_file():
            if not out.is_dir() or any(out.iterdir()):
                raise ValueError(f"{out} exists and is not an export: refusing to replace it")
        if not args.src.is_file():
            what = "is a folder, not a checkpoint file" if args.src.is_dir() else "not found"
            raise FileNotFoundError(f"checkpoint {what}: {args.src}")
        command = command_line("pipelines.convert", argv)
        source = source_record(args.kind, args.src, command)
        summary = convert(args, source)
    except ImportError as err:
        print(f"error: {err} (the `torch` extra: pip install 'jaxmot[torch]')", file=sys.stderr)
        return 2
    except (ValueError, OSError) as err:  # StateDictMismatchError is a ValueError
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{summary}: {args.src} -> {out} (sha256 {source['sha256'][:16]}...)")
    print("use it: " + USE[args.kind].format(out=out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
