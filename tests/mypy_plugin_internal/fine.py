import torch


def use() -> None:
    a = torch.zeros(3, 4)
    a @ a
