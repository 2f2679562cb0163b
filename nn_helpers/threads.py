"""Threads: how many cores there are, and how many threads BLAS (the library behind ``@``) may use.

A small matrix product gains nothing from a second BLAS thread; it only waits for it. Code that runs its
own threads (``CNN(workers=2)``), or that multiplies small matrices many times (the 2-D playground), holds
BLAS to one thread per thread of its own:

    with blas_threads(1):
        train(...)

threadpoolctl sets the limit inside a running process, whatever ``OPENBLAS_NUM_THREADS`` said at start-up.
"""

from __future__ import annotations

import contextlib
import os

from threadpoolctl import threadpool_info, threadpool_limits


def cores() -> int:
    """The CPU cores this process may run on (its affinity where the OS tells it, else ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                                   # macOS, Windows
        return os.cpu_count() or 1


def blas_threads(limit: int | None):
    """A context in which BLAS (OpenBLAS, MKL) runs at most ``limit`` threads; ``None`` changes nothing."""
    if limit is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=limit, user_api="blas")


def blas_info() -> str:
    """Which BLAS runs and with how many threads, e.g. ``openblas 0.3.30 (Haswell kernel), 1 thread``
    (call it inside :func:`blas_threads` to see the limit)."""
    parts = [f"{i.get('internal_api')} {i.get('version')}"
             + (f" ({i['architecture']} kernel)" if i.get("architecture") else "")
             + f", {i.get('num_threads')} thread{'s' if i.get('num_threads') != 1 else ''}"
             for i in threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(parts) or "no BLAS library found by threadpoolctl"
