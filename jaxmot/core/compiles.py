"""Count XLA compilations (benchmarks report them; tests assert there are none)."""

from __future__ import annotations

import threading

from jax import monitoring

_EVENT = "/jax/core/compile/backend_compile_duration"
_lock = threading.Lock()
_count = 0
_seconds = 0.0
_installed = False


def _listener(event: str, duration: float, **kwargs) -> None:
    global _count, _seconds
    if event == _EVENT:
        with _lock:
            _count += 1
            _seconds += duration


def _install() -> None:
    global _installed
    if not _installed:
        monitoring.register_event_duration_secs_listener(_listener)
        _installed = True


class CompileCounter:
    """Context manager: `.count` compilations and `.seconds` spent compiling inside it."""

    def __enter__(self) -> CompileCounter:
        _install()
        self._start = (_count, _seconds)
        self.count, self.seconds = 0, 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.count = _count - self._start[0]
        self.seconds = _seconds - self._start[1]
