"""One rank of the 2-process placement test: where this process would put a 4-bit model on CUDA,
and where it really loads one on this CPU machine. Writes ``<out>/rank<r>.json``.

Run by ``tests/test_distributed.py`` under ``torchrun --nproc_per_node 2`` (which sets ``RANK``
and ``LOCAL_RANK``, as ``accelerate launch`` does on a GPU node).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch.distributed as dist

from rmr1_utils.models import EMBEDDED_DIRNAME, load_model_and_tokenizer, quantized_device_map, tiny_random_model_path

if __name__ == "__main__":
    out = Path(sys.argv[1])
    dist.init_process_group("gloo")
    # A cache of this rank's own first: rank 1 must write a whole model folder too (transformers'
    # save_pretrained writes weights from rank 0 only); then the shared cache, built by both at once.
    own = Path(os.environ["RMR1_CACHE"]) / f"rank{dist.get_rank()}"
    (own / "models").mkdir(parents=True)
    (own / "models" / EMBEDDED_DIRNAME).symlink_to(Path(os.environ["RMR1_CACHE"]) / "models" / EMBEDDED_DIRNAME)
    shared = os.environ["RMR1_CACHE"]
    os.environ["RMR1_CACHE"] = str(own)
    own_folder = tiny_random_model_path()
    os.environ["RMR1_CACHE"] = shared
    model, _ = load_model_and_tokenizer("tiny-random", quantization="4bit", device="cpu")
    layer = model.model.layers[0].self_attn.q_proj
    record = {
        "rank": dist.get_rank(),
        "local_rank": int(os.environ["LOCAL_RANK"]),
        "cuda_map": quantized_device_map("cuda"),
        "explicit_map": quantized_device_map("cuda:1"),
        "loaded_on": str(layer.weight.device),
        "layer": type(layer).__name__,
        "own_cache_files": sorted(p.name for p in own_folder.iterdir()),
    }
    (out / f"rank{record['rank']}.json").write_text(json.dumps(record))
    dist.barrier()
    dist.destroy_process_group()
