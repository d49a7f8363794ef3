# Everyday commands. `just --list` shows them.
# Uses the project's virtualenv (.venv) when there is one, else the current python.
python := if path_exists(".venv/bin/python") == "true" { ".venv/bin/python" } else { "python3" }

# Track a synthetic sequence with every tracker, evaluate, draw a video
# (`just demo sot`: single-object tracking with E.T.Track and MIL;
# `just demo jde`: JDE detects, embeds and tracks a synthetic sequence from pixels).
demo *ARGS:
    {{python}} -m pipelines.demo {{ARGS}}

# The default test suite (what CI runs); slow tests excluded. Two worker processes,
# one test module per worker at a time (module fixtures are built once); `-n 0` runs
# in this process, `-n 4` on four workers.
test *ARGS:
    {{python}} -m pytest -q -m "not slow" -n 2 --dist loadfile {{ARGS}}

# Every test, slow ones included.
test-all *ARGS:
    {{python}} -m pytest -q -n 2 --dist loadfile {{ARGS}}

# Benchmarks, e.g. `just bench tracker --json runs/bench_tracker.json`.
bench *ARGS:
    {{python}} -m pipelines.bench {{ARGS}}

# Train a model: `just train gnn --config synthetic_sim --workdir runs/gnn`.
train MODEL *ARGS:
    {{python}} -m pipelines.train_{{MODEL}} {{ARGS}}

# Track one sequence: `just track --sequence DIR --tracker iou --output FILE`.
track *ARGS:
    {{python}} -m pipelines.track {{ARGS}}

# Evaluate results: `just evaluate --gt DIR --results DIR`.
evaluate *ARGS:
    {{python}} -m pipelines.evaluate {{ARGS}}

# Format check and lint.
lint:
    {{python}} -m ruff format --check .
    {{python}} -m ruff check .

# Apply the formatter and the safe lint fixes.
fmt:
    {{python}} -m ruff format .
    {{python}} -m ruff check --fix .

# Segment a folder of images: `just segment --images DIR --output DIR --low-res DIR`.
segment *ARGS:
    {{python}} -m pipelines.segment {{ARGS}}

# Single-object tracking: `just track-sot --frames DIR --init x,y,w,h --output FILE`.
track-sot *ARGS:
    {{python}} -m pipelines.track_sot {{ARGS}}

# Score single-object results: `just evaluate-sot --predictions DIR --groundtruth DIR`.
evaluate-sot *ARGS:
    {{python}} -m pipelines.evaluate_sot {{ARGS}}

# E.T.Track vs OpenCV MIL on DAVIS-2016 and tennis under $JAXMOT_DATA (docs/sot.md).
compare-sot *ARGS:
    {{python}} -m pipelines.compare_sot {{ARGS}}
