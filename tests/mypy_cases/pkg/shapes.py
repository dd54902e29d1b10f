# Shape aliases shared by the package.
from jaxtyping import Float
from torch import Tensor

Hidden = Float[Tensor, "n 32"]
