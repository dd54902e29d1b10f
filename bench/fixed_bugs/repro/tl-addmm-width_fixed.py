# fixed-bug reproduction (fixed version): tl-addmm-width
import torch
from jaxtyping import Float
from torch import Tensor


def fused_linear(
    bias: Float[Tensor, "... #d_out"],
    weight: Float[Tensor, "d_in d_out"],
    x: Float[Tensor, "... d_in"],
) -> Float[Tensor, "... d_out"]:
    out_features = weight.shape[-1]
    out_shape = x.size()[:-1] + (out_features,)
    y = torch.addmm(bias, x.view(-1, x.size(-1)), weight)
    return y.view(out_shape)
