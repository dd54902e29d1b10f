# fixed-bug reproduction (fixed version): nerf-alpha-repeat
import torch


def over_background(image, background):
    if image.shape[-1] == 4:
        alpha = image[..., -1].unsqueeze(-1).repeat((1, 1, 1, 3))
        return alpha * image[..., :3] + (1 - alpha) * background
    return image


def render_step(background):
    batch = torch.rand(2, 32, 32, 4)
    return over_background(batch, background)
