"""Numba kernels with a parallel and a serial compilation, chosen per call by thread count.

A ``parallel=True`` kernel costs more to compile than the same code compiled serially
(numba's parfor passes), and most jobs of a campaign run on one thread, where the
parallel compilation buys nothing. :func:`threaded_kernel` compiles the same Python
function both ways, each with its own on-disk cache entry, and calls the serial one
whenever numba runs on one thread. It is used only for kernels whose serial compilation
runs as fast on one thread (benchmarks/README.md lists which); the kernels it wraps write
only to their own slabs and reduce in a fixed order, so both give bit-identical results
(the thread-count tests of every stage check it).
"""

from __future__ import annotations

import functools
import types

import numba
from numba import njit


def _renamed(fn, suffix: str):
    # A copy of ``fn`` under another qualified name: numba names its cache files after
    # the qualified name, and its cache index does not tell parallel from serial code.
    clone = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix, fn.__defaults__, fn.__closure__)
    clone.__qualname__ = fn.__qualname__ + suffix
    clone.__module__ = fn.__module__
    clone.__doc__ = fn.__doc__
    return clone


def threaded_kernel(cache: bool = True, **options):
    """Compile a ``prange`` kernel both parallel and serial; call one per thread count.

    Parameters
    ----------
    cache : bool, optional
        Numba's on-disk cache, one entry per compilation (off only for code without a
        source file, such as this docstring's example).
    **options
        Further :func:`numba.njit` options (``fastmath=False``, ...).

    Returns
    -------
    callable
        A decorator. The decorated name is a plain Python function (callable from Python
        only, not from other kernels) that runs ``.parallel`` when
        :func:`numba.get_num_threads` is above 1 and ``.serial`` otherwise; both are the
        numba dispatchers, for inspection and tests.

    Examples
    --------
    >>> import numpy as np
    >>> from numba import prange
    >>> @threaded_kernel(cache=False)
    ... def double(a, out):  # pragma: no cover - numba
    ...     for i in prange(a.shape[0]):
    ...         out[i] = 2.0 * a[i]
    >>> out = np.zeros(3)
    >>> double(np.arange(3.0), out)
    >>> out
    array([0., 2., 4.])
    >>> double.serial.py_func.__qualname__
    'double_serial'
    """

    def decorate(fn):
        parallel = njit(parallel=True, cache=cache, **options)(fn)
        serial = njit(cache=cache, **options)(_renamed(fn, "_serial"))

        @functools.wraps(fn)
        def dispatch(*args):
            return (parallel if numba.get_num_threads() > 1 else serial)(*args)

        dispatch.parallel = parallel
        dispatch.serial = serial
        return dispatch

    return decorate
