# fixed-bug reproduction: tl-addmm-width
"""TransformerLensOrg/TransformerLens, fixed in d9dfcb0. A fused bias + matmul over any batch axes
computes the output size from the weight's first axis (d_in) instead of its last (d_out), and
views the product (n, d_out) to (..., d_in).

Expected: SHP103 on the view (or SHP105 on the return), d_in against d_out of the annotations.
"""

import torch
from jaxtyping import Float
from torch import Tensor


def fused_linear(
    bias: Float[Tensor, "... #d_out"],
    weight: Float[Tensor, "d_in d_out"],
    x: Float[Tensor, "... d_in"],
) -> Float[Tensor, "... d_out"]:
    out_features = weight.shape[-2]
    out_shape = x.size()[:-1] + (out_features,)
    y = torch.addmm(bias, x.view(-1, x.size(-1)), weight)
    return y.view(out_shape)  # error: SHP103|SHP105
