"""Human- and machine-readable views of evaluation metrics."""

from __future__ import annotations

import math
import os

from jaxmot.core.atomic import atomic_write_json

# (key, header, is_rate): rates print as percentages with one decimal, e.g. 52.6.
_COLUMNS = (
    ("HOTA", "HOTA", True),
    ("DetA", "DetA", True),
    ("AssA", "AssA", True),
    ("LocA", "LocA", True),
    ("MOTA", "MOTA", True),
    ("IDF1", "IDF1", True),
    ("IDP", "IDP", True),
    ("IDR", "IDR", True),
    ("Rcll", "Rcll", True),
    ("Prcn", "Prcn", True),
    ("MOTP", "MOTP", False),
    ("FP", "FP", False),
    ("FN", "FN", False),
    ("IDs", "IDs", False),
    ("Frag", "Frag", False),
    ("MT", "MT", False),
    ("PT", "PT", False),
    ("ML", "ML", False),
    ("GT", "GT", False),
    ("num_frames", "Frames", False),
)


def _cell(value, is_rate: bool) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)  # nan, inf, -inf
    # MOTP stays a distance (3 decimals): as a percentage it would read like a score.
    return f"{100 * value:.1f}" if is_rate else f"{value:.3f}"


def format_table(metrics: dict[str, dict], label: str = "Sequence") -> str:
    """A fixed-width table, one row per sequence (in order) and OVERALL last; `label`
    heads the first column ("Tracker" for a comparison).

    Rates (HOTA, MOTA, IDF1, ...) are shown as percentages; MOTP as py-motmetrics' mean
    1 - IoU distance (lower is better). Columns missing from every row are left out.
    """
    columns = [c for c in _COLUMNS if any(c[0] in m for m in metrics.values())]
    names = sorted(metrics, key=lambda n: n == "OVERALL")  # stable: OVERALL last
    rows = [[label, *(c[1] for c in columns)]]
    rows += [[n, *(_cell(metrics[n].get(k), r) for k, _, r in columns)] for n in names]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            [row[0].ljust(widths[0])]
            + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def write_json(path: str | os.PathLike, metrics: dict[str, dict]) -> None:
    """Write metrics as JSON (atomic); undefined values (NaN) become null."""
    atomic_write_json(path, metrics)
