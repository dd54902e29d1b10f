# fixed-bug reproduction: nerf-dirs-annotation
"""nerfstudio-project/nerfstudio, fixed in 4603cf6. A helper that maps unit directions to [0, 1]
annotates its input as exactly two axes, 'bs 3', while its callers pass ray samples with any
number of batch axes, (rays, samples, 3); the return annotation already says '*bs 3'.

Expected: SHP105 at the call with a (rays, samples, 3) tensor (the annotation line itself is the
fix; 'bs' used both as one axis and as a variadic axis could be flagged too).
"""

import torch
from jaxtyping import Float
from torch import Tensor


def to_unit_range(directions: Float[Tensor, "bs 3"]) -> Float[Tensor, "*bs 3"]:
    return (directions + 1.0) / 2.0


def encode_samples(directions: Float[Tensor, "rays samples 3"]):
    return to_unit_range(directions)  # error: SHP105
