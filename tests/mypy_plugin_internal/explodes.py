from jaxtyping import Float
from torch import Tensor


def explode(x: int) -> int:
    return x


def use(a: Float[Tensor, "n d"], b: Float[Tensor, "d n"]) -> None:
    explode(1)
    a @ a
