"""How many threads numeric libraries may use: one by default.

OpenBLAS (numpy's matrix products) and OpenMP (the e5 engine) start a thread per core and spin while
they wait. On a machine whose cores are busy with other work (a container with a CPU limit, replicas
side by side, a shared host) those threads fight each other: the same 3,000 messages took 219 s instead
of 13 s (issue 17). One thread per process is as fast on short sentences and degrades gently under load;
`NUMERIC_THREADS` raises it. `bot/__init__.py` sets the libraries' variables before numpy is imported;
`limit_threads` applies the setting again through threadpoolctl, for a value that came from `.env`.
"""

from __future__ import annotations

import os

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def default_threads(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    value = environ.get("NUMERIC_THREADS", "1").strip()
    return value if value.isdigit() and int(value) > 0 else "1"


def set_thread_variables(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Before numpy loads: a variable set explicitly (by an operator who knows better) is kept."""
    threads = default_threads(environ)
    for name in THREAD_VARIABLES:
        environ.setdefault(name, threads)
    # With more than one thread, OpenMP's idle threads sleep instead of spinning on cores others need.
    environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def limit_threads(threads: int) -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the variables set at import still hold
        return
    threadpool_limits(limits=threads)
