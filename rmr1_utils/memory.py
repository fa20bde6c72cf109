"""Peak tensor memory, measured the same way on a CPU as ``torch.cuda.max_memory_allocated`` on a GPU.

On a GPU the caching allocator counts every tensor's bytes; on a CPU torch keeps no such count.
:class:`PeakTensorMemory` makes one: a ``TorchDispatchMode`` that sees every tensor an operation
creates, counts its storage's bytes while the storage lives (a view or an in-place result shares an
input's storage and adds nothing) and remembers the highest total. It is what ``rmr1 plan``'s
calibration compares its estimates with (``tests/test_plan.py``, ``RESULT P7``) and what
``make gpu-smoke`` reports in its CPU mode. Tensors that existed before the block (the weights) are
not counted: the measure is what the block added at its peak.

It slows every operation down (a Python call per op): measure a step, not a run.
"""

from __future__ import annotations

import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode


class PeakTensorMemory(TorchDispatchMode):
    """Within the block, the bytes of tensors created and still alive, and their peak.

    Attributes:
        live: bytes held now by tensors created in the block.
        peak: the highest ``live`` seen.

    Example::

        with PeakTensorMemory() as memory:
            model(**batch).loss.backward()
        print(memory.peak / 2**20, "MiB")
    """

    def __init__(self, device: str = "cpu"):
        super().__init__()
        self.device = device
        self.live = 0
        self.peak = 0
        self._sizes: dict[int, tuple] = {}

    def _count(self, tensor) -> None:
        if not isinstance(tensor, torch.Tensor) or tensor.device.type != self.device:
            return
        storage = tensor.untyped_storage()
        key = id(storage)  # storages keep one Python object while they live
        if key in self._sizes:
            return
        size = storage.nbytes()
        # The weak reference's callback runs when the storage is freed; the dict keeps the reference alive.
        self._sizes[key] = (size, weakref.ref(storage, lambda _, key=key: self._release(key)))
        self.live += size
        self.peak = max(self.peak, self.live)

    def _release(self, key: int) -> None:
        size, _ = self._sizes.pop(key, (0, None))
        self.live -= size

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        # A view or an in-place result shares an input's storage: nothing new (a weight's `.t()` is not a copy).
        inputs = {id(t.untyped_storage()) for t in _tensors((args, kwargs))}
        for tensor in _tensors(out):
            if id(tensor.untyped_storage()) not in inputs:
                self._count(tensor)
        return out


def _tensors(obj):
    """The tensors in an operation's arguments or results (nested tuples, lists and dicts)."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)
