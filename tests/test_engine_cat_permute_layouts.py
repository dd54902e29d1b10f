"""Layouts and joins that real code states without annotations: a label map made one-hot and moved to
channels-first, a project's convolution stack given its channel counts as a list, a layer built for two
copies of one channel count after a join of two maps, and zeros built to pad one axis."""

from __future__ import annotations

from test_engine import codes


def test_a_one_hot_label_map_moved_first_with_its_height_and_width_swapped():
    # ``one_hot`` appends the classes: ``(b, 1, h, w, k)`` squeezed is ``(b, h, w, k)``, and ``permute(0, 3, 2, 1)``
    # of it (a chained call: the permutation fixes the rank) reverses height and width
    assert "SHP303" in codes("""
        def onehot(logits, k: int):
            lab = torch.argmax(logits, dim=1, keepdim=True)
            return F.one_hot(lab, num_classes=k).squeeze(1).permute(0, 3, 2, 1).float()
    """)


def test_a_one_hot_label_map_moved_first_in_order_is_fine():
    assert codes("""
        def onehot(logits, k: int):
            lab = torch.argmax(logits, dim=1, keepdim=True)
            return F.one_hot(lab, num_classes=k).squeeze(1).permute(0, 3, 1, 2).float()
    """) == []


def test_a_permute_of_four_axes_of_unknown_meaning_stays_quiet():
    # near miss: no producer says what the axes hold (a spectrogram's ``(b, t, f, c)`` turned on purpose)
    assert codes("""
        def turn(x):
            return x.squeeze(1).permute(0, 3, 2, 1)
    """) == []


def test_a_convolution_stack_given_a_list_of_channel_counts_reads_the_first():
    # ``PointConv([2 * c, out])`` of a module the engine did not see: a convolution block reading ``2 * c``; two
    # maps joined along the points give it ``c``
    assert "SHP307" in codes("""
        from blocks import PointConv, gather
        class Rel(nn.Module):
            def __init__(self, c, out):
                super().__init__()
                self.mlp = PointConv([2 * c, out])
            def forward(self, x, idx):
                nb, _ = torch.max(gather(x, idx) - x, dim=-1, keepdim=True)
                return self.mlp(torch.cat([x, nb], dim=2))
    """)


def test_a_convolution_stack_after_a_join_along_the_channels_is_fine():
    assert codes("""
        from blocks import PointConv, gather
        class Rel(nn.Module):
            def __init__(self, c, out):
                super().__init__()
                self.mlp = PointConv([2 * c, out])
            def forward(self, x, idx):
                nb, _ = torch.max(gather(x, idx) - x, dim=-1, keepdim=True)
                return self.mlp(torch.cat([x, nb], dim=1))
    """) == []


def test_two_copies_of_a_channel_count_after_two_maps_joined_along_the_width():
    assert "SHP307" in codes("""
        from helpers import pooled
        class Head(nn.Module):
            def __init__(self, c, n):
                super().__init__()
                self.conv = nn.Conv2d(c * 2, n, 1)
            def forward(self, x):
                a, b = pooled(x)
                return self.conv(torch.cat((a, b), dim=3))
    """)


def test_two_copies_of_a_channel_count_after_three_maps_say_nothing():
    # near miss: three parts, a layer built for two copies: not the sum of the parts
    assert codes("""
        from helpers import pooled
        class Head(nn.Module):
            def __init__(self, c, n):
                super().__init__()
                self.conv = nn.Conv2d(c * 2, n, 1)
            def forward(self, x):
                a, b = pooled(x)
                return self.conv(torch.cat((a, b, x), dim=3))
    """) == []


def test_zeros_padding_the_channels_moved_to_the_device_then_joined_along_the_height():
    assert "SHP309" in codes("""
        def widen(x, extra: int):
            z = torch.zeros((x.size(0), extra, x.size(2), x.size(3)))
            z = z.to(x.device)
            return torch.cat((x, z), dim=2)
    """)


def test_zeros_padding_the_time_axis_joined_along_it_are_fine():
    assert codes("""
        def pad_to(xs, L: int):
            B, T, D = xs.size()
            if L - T < 0:
                return xs[:, :L - T]
            pad = torch.zeros(B, L - T, D, device=xs.device)
            return torch.cat([xs, pad], dim=1)
    """) == []
