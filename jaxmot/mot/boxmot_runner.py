"""Run boxmot's motion trackers on MOTChallenge det.txt files (a script, not a module).

    PYTHON_WITH_BOXMOT jaxmot/mot/boxmot_runner.py MANIFEST.json

boxmot is a peer to compare with, not a dependency: it lives in its own environment
(`pip install boxmot==25.0.0 --no-deps` plus its light dependencies and a CPU torch), so
this file imports only numpy, yaml and boxmot, and is run by that environment's Python
(`pipelines.compare_trackers --boxmot-python`). The manifest is a JSON object:

    {"tracker": "bytetrack" | "ocsort" | "botsort", "defaults": "class" | "yaml",
     "sequences": [{"det": PATH, "out": PATH, "frame_rate": F, "width": W,
                    "height": H, "length": T}, ...]}

"class" builds the tracker with its constructor's defaults, "yaml" with the `default`
values of boxmot's configs/trackers/<name>.yaml (the tuning search's starting point).
BoT-SORT runs without ReID and, since the sequences have no pixels, without camera-motion
compensation. Results are MOTChallenge `frame,id,x,y,w,h,score,-1,-1,-1` lines.
"""

import json
import pathlib
import sys
import time

import numpy as np

CLASSES = {"bytetrack": "ByteTrack", "ocsort": "OcSort", "botsort": "BotSort"}


def _yaml_defaults(name: str) -> dict:
    import boxmot
    import yaml

    path = pathlib.Path(boxmot.__file__).parent / "configs" / "trackers" / f"{name}.yaml"
    spec = yaml.safe_load(path.read_text())
    return {k: v["default"] for k, v in spec.items() if isinstance(v, dict) and "default" in v}


def _tracker_class(name: str):
    if name == "bytetrack":
        from boxmot.trackers.box.bytetrack.tracker import ByteTrack

        return ByteTrack
    if name == "ocsort":
        from boxmot.trackers.box.ocsort.tracker import OcSort

        return OcSort
    from boxmot.trackers.box.botsort.tracker import BotSort

    return BotSort


def build(name: str, defaults: str, frame_rate: float):
    cls = _tracker_class(name)
    kwargs = _yaml_defaults(name) if defaults == "yaml" else {}
    accepted = cls.__init__.__code__.co_varnames
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    if "frame_rate" in accepted:
        kwargs["frame_rate"] = int(round(frame_rate))
    if name == "botsort":
        kwargs.update(use_embeddings=False, use_cmc=False)
    return cls(**kwargs)


def run_sequence(tracker, seq: dict) -> tuple[str, float]:
    raw = np.loadtxt(seq["det"], delimiter=",", ndmin=2)
    image = np.zeros((int(seq["height"]), int(seq["width"]), 3), np.uint8)
    lines, seconds = [], 0.0
    for frame in range(1, int(seq["length"]) + 1):
        rows = raw[raw[:, 0] == frame] if len(raw) else raw
        dets = np.zeros((len(rows), 6))
        if len(rows):
            dets[:, :2] = rows[:, 2:4]
            dets[:, 2:4] = rows[:, 2:4] + rows[:, 4:6]
            dets[:, 4] = rows[:, 6]
        start = time.perf_counter()
        out = np.asarray(tracker.update(dets, image)).reshape(-1, 8)
        seconds += time.perf_counter() - start
        for x1, y1, x2, y2, tid, conf, _cls, _ind in out:
            lines.append(f"{frame},{int(tid)},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},"
                         f"{conf:.4f},-1,-1,-1")  # fmt: skip
    return "\n".join(lines) + ("\n" if lines else ""), seconds


def main(path: str) -> int:
    manifest = json.loads(pathlib.Path(path).read_text())
    timing = {}
    for seq in manifest["sequences"]:
        tracker = build(manifest["tracker"], manifest["defaults"], seq["frame_rate"])
        text, seconds = run_sequence(tracker, seq)
        pathlib.Path(seq["out"]).write_text(text)
        timing[seq["out"]] = seconds
    print(json.dumps(timing))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
