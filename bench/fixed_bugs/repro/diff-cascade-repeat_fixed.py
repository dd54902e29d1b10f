# fixed-bug reproduction (fixed version): diff-cascade-repeat
import torch
import torch.nn as nn


class ImageConditioner(nn.Module):
    def __init__(self, channels, dim):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(channels, dim, 4, stride=4), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def encode(self, images, copies):
        embeds = [self.encoder(img).unsqueeze(1) for img in images]
        embeds = torch.cat(embeds, dim=1)
        return embeds.repeat(copies, 1, 1)
