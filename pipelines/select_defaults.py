"""Choose the `iou` tracker's defaults on a validation set of several simulated detectors.

  python -m pipelines.select_defaults [--mot17 data/mot17_gt/train] \
      [--real-detections data/mot17_mini/train] [--scenes 3] [--seed 0 2 3] \
      [--splits 0.6 q0.1cap0.6 q0.2] [--new-tracks any q0.3cap0.7] \
      [--min-hits 2 3] [--report-box kalman detection] [--fuse off raw q0.8] \
      [--motion xyah xywh] [--stages byte one] [--buffer 30 45] \
      [--iou-threshold 0.2 0.3] [--box-buffer 0 0.3] [--box-buffer-jitter off 3] \
      [--json OUT]

Runs `iou` with every setting of the grid (the high/low score split: a constant, `qQ`
for the running Q-quantile of the scores, `qQcapC` for it capped at C; the score a
detection needs to start a track, `any` or a split of the same form; min_hits; the
reported box; the first-stage cost plain, fused with the score, or with the score over
its running quantile; the Kalman state; ByteTrack's three stages or one; the frames a
lost track is kept; the first-stage IoU threshold; C-BIoU's box buffer, fixed or k times
the detector's measured jitter) on the validation sequences of jaxmot.mot.selection
(synthetic scenes and MOT17-02/04 at 30 and 15 fps and panned, each detected by every
simulated detector of jaxmot.mot.detector_zoo, and MOT17-02/04 with a real detector's
detections), and prints IDF1 / HOTA per detector and the selection score (mean over
detectors of (IDF1 + HOTA) / 2), best first. With several `--seed`s (draws of the
synthetic scenes and of the simulated detectors' misses, noise and false positives)
every cell and the score are means over the draws: one draw moves a setting's score by
up to about 1 point, more than most settings differ. The reporting sequences (TUD,
MOT17-05/09) are never looked at: see `pipelines.compare_trackers` for them.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import pathlib
import sys

import numpy as np
from tqdm import tqdm

from jaxmot.core.atomic import atomic_write_json
from jaxmot.core.paths import data_root
from jaxmot.core.runtime import prefer_synchronous_cpu_dispatch
from jaxmot.mot.iou_tracker import IoUTracker, IoUTrackerConfig
from jaxmot.mot.selection import score_set, selection_score, validation_sets


def split_setting(text: str) -> dict:
    """`0.7` (a constant split), `q0.2` (the running 0.2-quantile) or `q0.2cap0.5` (that
    quantile, never above 0.5) -> config fields."""
    try:
        if text.startswith("q"):
            q, _, cap = text[1:].partition("cap")
            return {"split_quantile": float(q), "high_score": None,
                    "split_cap": float(cap) if cap else None}  # fmt: skip
        return {"high_score": float(text), "split_quantile": None}
    except ValueError:
        raise argparse.ArgumentTypeError(f"a split is 0.7 or q0.2, got {text!r}") from None


def new_track_setting(text: str) -> dict:
    """`any` (every unmatched high detection starts a track) or a split as split_setting
    reads it (a constant is a quantile-free floor) -> config fields."""
    if text == "any":
        return {"new_track_quantile": None, "new_track_cap": None}
    split = split_setting(text)
    if split["high_score"] is not None:  # a constant: the 0-quantile capped there
        return {"new_track_quantile": 0.0, "new_track_cap": split["high_score"]}
    return {"new_track_quantile": split["split_quantile"], "new_track_cap": split["split_cap"]}


def fuse_setting(text: str) -> dict:
    """`off`, `raw` (1 - IoU x score) or `qQ` (the score divided by its running
    Q-quantile, at most 1) -> config fields."""
    if text == "off":
        return {"fuse_score": False}
    if text == "raw":
        return {"fuse_score": True, "fuse_quantile": None}
    try:
        if text.startswith("q"):
            return {"fuse_score": True, "fuse_quantile": float(text[1:])}
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"--fuse takes off, raw or q0.8, got {text!r}")


def jitter_setting(text: str) -> float | None:
    """`off` (a fixed buffer) or k (the buffer is k times the detector's jitter)."""
    if text == "off":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--box-buffer-jitter takes off or 3, got {text!r}"
        ) from None


@dataclasses.dataclass(frozen=True)
class Setting:
    """One point of the grid; the defaults are IoUTrackerConfig's."""

    split: str = "q0.1cap0.6"
    new_tracks: str = "any"
    min_hits: int = 3
    report_box: str = "kalman"
    fuse: str = "q0.6"
    motion: str = "xywh"
    stages: str = "byte"
    buffer: int = 30  # frames at 30 fps a lost track is kept (ByteTrack's track_buffer)
    iou_threshold: float = IoUTrackerConfig.iou_threshold  # minimum first-stage IoU
    box_buffer: float = IoUTrackerConfig.buffer_scale  # C-BIoU's fixed buffer
    box_buffer_jitter: float | None = IoUTrackerConfig.buffer_jitter  # k x detector jitter

    def label(self) -> str:
        """The setting's row name: split and min_hits, then what differs from the defaults."""
        text = f"{self.split} hits {self.min_hits}"
        for field in dataclasses.fields(self)[1:]:
            value = getattr(self, field.name)
            if field.name != "min_hits" and value != field.default:
                text += f" {field.name.replace('_', '-')} {'off' if value is None else value}"
        return text

    def config(self) -> IoUTrackerConfig:
        base = IoUTrackerConfig()
        lifecycle = dataclasses.replace(
            base.lifecycle, min_hits=self.min_hits, report_box=self.report_box,
            motion=self.motion, max_lost=self.buffer,
        )  # fmt: skip
        return dataclasses.replace(
            base, lifecycle=lifecycle, unconfirmed_stage=self.stages == "byte",
            iou_threshold=self.iou_threshold, buffer_scale=self.box_buffer,
            buffer_jitter=self.box_buffer_jitter,
            **split_setting(self.split), **new_track_setting(self.new_tracks),
            **fuse_setting(self.fuse),
        )  # fmt: skip


def mean_metrics(draws: list[dict[str, dict]]) -> dict[str, dict]:
    """[{detector: metrics}] of several draws -> {detector: every metric's mean}."""
    return {
        det: {key: float(np.mean([draw[det][key] for draw in draws])) for key in draws[0][det]}
        for det in draws[0]
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mot17", type=pathlib.Path, default=data_root() / "mot17_gt/train",
                        help="folder with MOT17-02/04-FRCNN gt (skipped when missing)")  # fmt: skip
    parser.add_argument("--real-detections", type=pathlib.Path,
                        default=data_root() / "mot17_mini/train",
                        help="folder of <sequence>/det/det.txt: a real detector's "
                        "MOT17-02/04 detections, scored against --mot17's gt")  # fmt: skip
    parser.add_argument("--scenes", type=int, default=3, help="synthetic scenes per detector")
    parser.add_argument("--seed", nargs="+", type=int, default=[0],
                        help="draws of the synthetic scenes and simulated detectors; with "
                        "several, every figure is the mean over them")  # fmt: skip
    parser.add_argument("--report-box", nargs="+", default=["kalman"],
                        choices=["kalman", "detection"])  # fmt: skip
    parser.add_argument("--splits", nargs="+", default=["0.6", "q0.1cap0.6", "q0.2cap0.6"])
    parser.add_argument("--new-tracks", nargs="+", default=["any"],
                        help="score a detection needs to start a track: any, or a split "
                        "as --splits reads it")  # fmt: skip
    parser.add_argument("--min-hits", nargs="+", type=int, default=[2, 3])
    parser.add_argument("--fuse", nargs="+", default=["q0.6"],
                        help="first-stage cost: off (1 - IoU), raw (1 - IoU x score) or qQ "
                        "(the score over its running Q-quantile)")  # fmt: skip
    parser.add_argument("--motion", nargs="+", default=["xywh"], choices=["xyah", "xywh"])
    parser.add_argument("--stages", nargs="+", default=["byte"], choices=["byte", "one"],
                        help="byte: ByteTrack's three stages; one: every track in one "
                        "Hungarian, then the low detections")  # fmt: skip
    parser.add_argument("--buffer", nargs="+", type=int, default=[30],
                        help="frames at 30 fps a lost track is kept")  # fmt: skip
    parser.add_argument("--iou-threshold", nargs="+", type=float,
                        default=[IoUTrackerConfig.iou_threshold],
                        help="minimum IoU (times the fused score) of a first-stage "
                        "match")  # fmt: skip
    parser.add_argument("--box-buffer", nargs="+", type=float,
                        default=[IoUTrackerConfig.buffer_scale],
                        help="C-BIoU's buffer of the first stage: a fixed share of the box "
                        "size added on each side")  # fmt: skip
    parser.add_argument("--box-buffer-jitter", nargs="+", type=jitter_setting,
                        default=[IoUTrackerConfig.buffer_jitter],
                        help="off, or k: the buffer is k times the detector's running "
                        "jitter (replaces --box-buffer)")  # fmt: skip
    parser.add_argument("--json", type=pathlib.Path, help="write every setting's metrics")
    args = parser.parse_args(argv)
    prefer_synchronous_cpu_dispatch()
    try:
        for split in args.splits:
            split_setting(split)
        for new in args.new_tracks:
            new_track_setting(new)
        for fuse in args.fuse:
            fuse_setting(fuse)
        mot17 = args.mot17 if (args.mot17 / "MOT17-02-FRCNN").is_dir() else None
        if mot17 is None:
            print(f"note: {args.mot17} has no MOT17-02-FRCNN: synthetic scenes only")
        real = args.real_detections if args.real_detections.is_dir() else None
        draws = {
            seed: validation_sets(mot17, args.scenes, seed, real_detections_dir=real)
            for seed in dict.fromkeys(args.seed)
        }
        settings = [
            Setting(*values)
            for values in itertools.product(
                args.splits, args.new_tracks, args.min_hits, args.report_box, args.fuse,
                args.motion, args.stages, args.buffer, args.iou_threshold,
                args.box_buffer, args.box_buffer_jitter,
            )
        ]  # fmt: skip
        configs = {setting.label(): setting.config() for setting in settings}
    except (argparse.ArgumentTypeError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    runs = list(itertools.product(configs, draws))
    per_draw = {}
    for label, seed in tqdm(runs, desc="settings x draws"):
        config = configs[label]
        per_draw[label, seed] = {
            det: score_set(lambda fps, c=config: IoUTracker(c, fps), seqs)
            for det, seqs in draws[seed].items()
        }
    rows = {label: mean_metrics([per_draw[label, seed] for seed in draws]) for label in configs}
    ranked = sorted(rows, key=lambda k: -selection_score(rows[k]))
    detectors = list(next(iter(draws.values())))
    width = max(25, *(len(key) + 1 for key in ranked))
    print(f"{'setting':{width}s}" + "".join(f"{d[:10]:>13s}" for d in detectors) + "   score")
    print(" " * width + "   IDF1  HOTA" * len(detectors))
    for key in ranked:
        cells = "".join(
            f"  {100 * m['IDF1']:5.1f} {100 * m['HOTA']:5.1f}" for m in rows[key].values()
        )
        print(f"{key:{width}s}{cells}   {100 * selection_score(rows[key]):6.2f}")
    print(f"best: {ranked[0]}")
    if args.json:
        atomic_write_json(args.json, {"ranked": ranked, "metrics": rows, "seeds": list(draws)},
                          sort_keys=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
