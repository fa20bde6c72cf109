"""Run an ``rmr1`` stage under ``accelerate launch --config_file recipes/accelerate/fsdp.yaml`` on CPU.

accelerate builds an FSDP plugin from the config, then keeps a CPU group as plain ``MULTI_CPU``
(data parallel): FSDP is only wired for accelerators. PyTorch's FSDP2 itself shards over gloo on
CPU, so the one fact changed here is that accelerate's state names the group FSDP and keeps its
plugin — everything else (the trainer, the sharded forward and backward, the collective export,
the writing on one rank) is the code a GPU run takes. Used by ``tests/test_distributed.py``.
"""

from __future__ import annotations

import os
import sys

import accelerate.state
from accelerate.utils import DistributedType

_init = accelerate.state.AcceleratorState.__init__
_plugin = []


def _fsdp_on_cpu(self, *args, **kwargs):
    # Every AcceleratorState() re-reads the process group's type (MULTI_CPU); name it FSDP each time.
    _init(self, *args, **kwargs)
    if kwargs.get("fsdp_plugin") is not None:
        _plugin[:] = [kwargs["fsdp_plugin"]]
    if _plugin and self.distributed_type == DistributedType.MULTI_CPU and os.environ.get("ACCELERATE_USE_FSDP") == "true":
        self.distributed_type = DistributedType.FSDP
        self.fsdp_plugin = _plugin[0]
        accelerate.state.PartialState._shared_state["distributed_type"] = DistributedType.FSDP


accelerate.state.AcceleratorState.__init__ = _fsdp_on_cpu

if __name__ == "__main__":
    from rmr1_utils.cli import main

    sys.exit(main(sys.argv[1:]))
