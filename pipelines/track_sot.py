"""Track one or more targets through a video or a folder of frames.

  python -m pipelines.track_sot (--frames DIR | --video FILE) --init x,y,w,h \
      --output FILE [--video-out FILE.mp4] [--tracker ettrack|mil] [--checkpoint DIR]

`--init` may be given several times (or `--init-file` with one x,y,w,h line per
target): all targets are tracked together, batched in one jitted call per frame, and
`--output` is then a folder receiving `target<i>.txt`. Each output file has one
`x,y,w,h` line per frame; the first is the init box. The default tracker is E.T.Track
with the shipped checkpoint (`checkpoints/sot_ettrack_narrow`); `mil` is OpenCV's MIL
tracker, the baseline. Results are written atomically when tracking ends.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
import time

import numpy as np

from jaxmot.core.runtime import prefer_synchronous_cpu_dispatch, use_cpu_devices
from jaxmot.sot.run import TRACKERS, make_sot_tracker, track_video, write_boxes
from jaxmot.sot.sequences import count_frames, iter_frames


def parse_box(text: str) -> np.ndarray:
    try:
        box = np.array([float(v) for v in re.split(r"[,\s]+", text.strip())])
    except ValueError:
        raise argparse.ArgumentTypeError(f"--init wants x,y,w,h numbers, got {text!r}") from None
    if box.shape != (4,) or not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        raise argparse.ArgumentTypeError(f"--init wants x,y,w,h with w, h > 0, got {text!r}")
    return box


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--frames", type=pathlib.Path, help="folder of jpg/png frames")
    source.add_argument("--video", type=pathlib.Path, help="video file")
    parser.add_argument(
        "--init",
        type=parse_box,
        action="append",
        default=[],
        help="first-frame box x,y,w,h (repeat for several targets)",
    )
    parser.add_argument(
        "--init-file", type=pathlib.Path, help="file with one x,y,w,h line per target"
    )
    parser.add_argument("--output", type=pathlib.Path, required=True)
    parser.add_argument("--video-out", type=pathlib.Path, help="draw the boxes into this video")
    parser.add_argument("--tracker", choices=TRACKERS, default="ettrack")
    parser.add_argument("--checkpoint", help="exported E.T.Track (default: the shipped one)")
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate of --video-out")
    parser.add_argument(
        "--cpu-devices",
        type=int,
        default=1,
        metavar="N",
        help="on CPU, split the host into N JAX devices (0: one per core); several targets "
        "are then searched on all of them (one target always runs on one)",
    )
    args = parser.parse_args(argv)
    # Before JAX starts: one small jitted call per frame, whose result is needed at once
    # (as pipelines.track), and the device split.
    prefer_synchronous_cpu_dispatch()
    use_cpu_devices(args.cpu_devices)

    inits = list(args.init)
    if args.init_file is not None:
        lines = args.init_file.read_text().splitlines()
        for lineno, line in enumerate(lines, 1):
            if line.strip():
                try:
                    inits.append(parse_box(line))
                except argparse.ArgumentTypeError as e:
                    parser.error(f"{args.init_file}:{lineno}: {e}")
    if not inits:
        parser.error("give the first-frame box with --init x,y,w,h (or --init-file)")
    init_boxes = np.stack(inits).astype(np.float64)
    source = {"frames_dir": args.frames, "video": args.video}

    try:
        total = count_frames(**source)
        tracker = make_sot_tracker(args.tracker, args.checkpoint)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    from tqdm import tqdm

    drawn = []
    draw = None
    if args.video_out is not None:
        from jaxmot.core.draw import draw_tracks

        def draw(frame, boxes):
            drawn.append(draw_tracks(frame, boxes, np.arange(1, len(boxes) + 1)))

    results = np.zeros((total, len(init_boxes), 4))
    start = time.perf_counter()
    for t, boxes in tqdm(
        track_video(tracker, iter_frames(**source), init_boxes, draw=draw),
        total=total,
        unit="frame",
    ):
        results[t] = boxes
    elapsed = time.perf_counter() - start
    print(
        f"{args.tracker}: {total} frames x {len(init_boxes)} target(s) in {elapsed:.1f} s "
        f"({total / elapsed:.1f} frames/s, first frame and compilation included)"
    )

    write_boxes(args.output, results)
    print(f"boxes -> {args.output}")
    if args.video_out is not None:
        from jaxmot.core.draw import write_video

        write_video(args.video_out, drawn, args.fps)
        print(f"video -> {args.video_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
