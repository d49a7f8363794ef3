"""Write feature sequence folders for `train_gnn --config mot_features` and `track --features`.

  python -m pipelines.make_gnn_features simulate --out /tmp/gnnfeat \
      [--gt-dir data/mot17_gt/train] [--sequences MOT17-02-FRCNN ...] [--dim 256] [--seed 0]
  python -m pipelines.make_gnn_features exercise --db reid_gnn/preprocessed_data_train_2.pth \
      --mot16 MOT16/train --out data/reid_gnn_features [--boxes det|gt] [--sequences ...]

A feature sequence folder is `OUT/<seq>/` with gt/gt.txt, det/det.txt, features.npz
(`features [L, D]`, one row per det.txt data line) and seqinfo.ini
(jaxmot.gnn.feature_data; docs/gnn.md "Train on your own features").

`simulate` makes detections from the gt of MOTChallenge sequences (`--gt-dir`, default
data/mot17_gt/train, MOT17-02/04/05/09) with the default `DetectorModel()` and embeds
them with `LookalikeReID` (jaxmot.gnn.lookalike): a simulated ReID model unlike the one
the shipped GNN learned, with people who look alike (identities clustered around a few
appearance modes), heavy and occlusion-dependent noise, sudden appearance changes and
non-negative features. `exercise` converts the exercise's precomputed ReID data
(`reid_gnn/preprocessed_data_*.pth`; reading it needs torch) with the gt and seqinfo.ini
of its MOT16 split (`--mot16`); `--boxes gt` takes the gt boxes and their features
(the exercise's own training input) instead of the detector's.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from jaxmot.core.paths import data_path
from jaxmot.gnn.exercise_db import BOX_SOURCES, convert_exercise_db, load_exercise_db
from jaxmot.gnn.lookalike import LookalikeReID, write_lookalike_sequences

MOT17_SEQUENCES = ("MOT17-02-FRCNN", "MOT17-04-FRCNN", "MOT17-05-FRCNN", "MOT17-09-FRCNN")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    sim = kinds.add_parser("simulate", help="gt -> detections embedded by LookalikeReID")
    sim.add_argument("--out", required=True, type=pathlib.Path, help="folder to write into")
    sim.add_argument(
        "--gt-dir",
        type=pathlib.Path,
        default=pathlib.Path(data_path("mot17_gt/train")),
        help="MOTChallenge split whose <seq>/gt/gt.txt and seqinfo.ini are used",
    )
    sim.add_argument("--sequences", nargs="+", default=list(MOT17_SEQUENCES))
    defaults = LookalikeReID()
    sim.add_argument("--dim", type=int, default=defaults.dim, help="feature size D")
    sim.add_argument(
        "--clusters", type=int, default=defaults.clusters, help="appearance modes people share"
    )
    sim.add_argument("--noise", type=float, default=defaults.noise, help="per-detection noise")
    sim.add_argument("--seed", type=int, default=0, help="the ReID model's and the draws' seed")

    ex = kinds.add_parser("exercise", help="the exercise's reid_gnn .pth -> feature folders")
    ex.add_argument("--db", required=True, type=pathlib.Path, help="preprocessed_data_*.pth")
    ex.add_argument("--out", required=True, type=pathlib.Path, help="folder to write into")
    ex.add_argument(
        "--mot16", type=pathlib.Path, help="the MOT16 split with <seq>/gt/gt.txt, seqinfo.ini"
    )
    ex.add_argument(
        "--boxes", choices=BOX_SOURCES, default="det", help="det: the detector's; gt: gt boxes"
    )
    ex.add_argument("--sequences", nargs="+", help="only these sequences (default: all)")
    return parser


def run(args: argparse.Namespace) -> list[pathlib.Path]:
    if args.kind == "simulate":
        model = LookalikeReID(
            dim=args.dim, clusters=args.clusters, noise=args.noise, seed=args.seed
        )
        return write_lookalike_sequences(
            args.gt_dir, args.sequences, args.out, model=model, seed=args.seed
        )
    db = load_exercise_db(args.db)
    return convert_exercise_db(db, args.out, args.mot16, args.boxes, args.sequences)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        written = run(args)
    except (ValueError, FileNotFoundError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for folder in written:
        print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
