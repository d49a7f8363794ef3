"""Pure array functions: box geometry, Kalman filtering, assignment, padding."""

from jaxmot.ops import assignment, boxes, kalman, padding
from jaxmot.ops.assignment import assignment_device, linear_assignment
from jaxmot.ops.boxes import iou_matrix

__all__ = [
    "assignment",
    "assignment_device",
    "boxes",
    "iou_matrix",
    "kalman",
    "linear_assignment",
    "padding",
]
