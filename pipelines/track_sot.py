"""Track one or more targets through a video, a folder of frames or a camera.

  python -m pipelines.track_sot --source VIDEO|DIR|GLOB|CAMERA --init x,y,w,h \
      --output FILE [--video-out FILE.mp4] [--tracker ettrack|mil] [--checkpoint DIR]

`--init` may be given several times (or `--init-file` with one x,y,w,h line per
target): all targets are tracked together, batched in one jitted call per frame, and
`--output` is then a folder receiving `target<i>.txt`. Each output file has one
`x,y,w,h` line per frame; the first is the init box. The default tracker is E.T.Track
with the shipped checkpoint (`checkpoints/sot_ettrack_narrow`); `mil` is OpenCV's MIL
tracker, the baseline. `--source` takes what `pipelines.track --source` takes (frame
rate from the container, `--fps` to override); `--frames DIR` and `--video FILE` are
the older names of an input. `--video-out` is H.264 (browsers play it), written while
tracking, at the source's frame rate. Results are written atomically when tracking ends.
"""

from __future__ import annotations

import argparse
import contextlib
import pathlib
import re
import sys
import time

import numpy as np

from jaxmot.core.frame_source import open_source
from jaxmot.core.runtime import prefer_synchronous_cpu_dispatch, use_cpu_devices
from jaxmot.sot.run import TRACKERS, make_sot_tracker, track_video, write_boxes


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
    source.add_argument(
        "--source",
        help="a video file, a folder or glob of images, or a camera index (0), as in "
        "pipelines.track",
    )
    source.add_argument("--frames", type=pathlib.Path, help="folder of jpg/png frames (older name)")
    source.add_argument(
        "--video",
        type=pathlib.Path,
        help="input video file (older name of --source; in pipelines.track --video is the "
        "output, so prefer --source and --video-out)",
    )
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
    parser.add_argument(
        "--video-out", type=pathlib.Path, help="draw the boxes into this video (.mp4: H.264)"
    )
    parser.add_argument("--tracker", choices=TRACKERS, default="ettrack")
    parser.add_argument("--checkpoint", help="exported E.T.Track (default: the shipped one)")
    parser.add_argument(
        "--fps", type=float, help="frame rate of the source and --video-out (default: the source's)"
    )
    parser.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
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
    spec = args.source if args.source is not None else (args.frames or args.video)
    if args.frames is not None and not args.frames.is_dir():
        print(f"error: frame folder not found: {args.frames}", file=sys.stderr)
        return 2

    try:
        source = open_source(spec, args.fps, args.max_frames)
        tracker = make_sot_tracker(args.tracker, args.checkpoint)
    except (FileNotFoundError, ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    from tqdm import tqdm

    with contextlib.ExitStack() as stack:
        draw = None
        if args.video_out is not None:
            from jaxmot.core.draw import VideoWriter, draw_tracks

            writer = stack.enter_context(VideoWriter(args.video_out, source.fps))
            ids = np.arange(1, len(init_boxes) + 1)

            def draw(frame, boxes):
                writer.write(draw_tracks(frame, boxes, ids))  # streamed, never kept

        results = []
        start = time.perf_counter()
        try:
            for _, boxes in tqdm(
                track_video(tracker, source, init_boxes, draw=draw),
                total=source.length,
                unit="frame",
            ):
                results.append(boxes)
        except (FileNotFoundError, ValueError) as e:  # e.g. an unreadable frame
            print(f"error: {e}", file=sys.stderr)
            return 2
        elapsed = time.perf_counter() - start
    if not results:
        print(f"error: {source.location}: no frames", file=sys.stderr)
        return 2
    total = len(results)
    print(
        f"{args.tracker}: {total} frames x {len(init_boxes)} target(s) in {elapsed:.1f} s "
        f"({total / elapsed:.1f} frames/s, first frame and compilation included)"
    )

    write_boxes(args.output, np.stack(results))
    print(f"boxes -> {args.output}")
    if args.video_out is not None:
        print(f"video -> {args.video_out} ({source.fps:g} fps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
