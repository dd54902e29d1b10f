"""Layouts and joins that real code states without annotations: a label map made one-hot and moved to
channels-first, a project's convolution stack given its channel counts as a list, a layer built for two
copies of one channel count after a join of two maps, and zeros built to pad one axis."""

from __future__ import annotations

import textwrap

from test_engine import HEADER, codes, errors


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
    # maps joined along the points give it ``c``, joined along the channels they fit
    src = """
        from blocks import PointConv, gather
        class Rel(nn.Module):
            def __init__(self, c, out):
                super().__init__()
                self.mlp = PointConv([2 * c, out])
            def forward(self, x, idx):
                nb, _ = torch.max(gather(x, idx) - x, dim=-1, keepdim=True)
                return self.mlp(torch.cat([x, nb], dim={dim}))
    """
    assert "SHP307" in codes(src.format(dim=2))
    assert codes(src.format(dim=1)) == []


def test_two_copies_of_a_channel_count_after_two_maps_joined_along_the_width():
    # near miss: three parts, a layer built for two copies: not the sum of the parts
    src = """
        from helpers import pooled
        class Head(nn.Module):
            def __init__(self, c, n):
                super().__init__()
                self.conv = nn.Conv2d(c * 2, n, 1)
            def forward(self, x):
                a, b = pooled(x)
                return self.conv(torch.cat(({parts}), dim=3))
    """
    assert "SHP307" in codes(src.format(parts="a, b"))
    assert codes(src.format(parts="a, b, x")) == []


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


def test_two_copies_of_a_channel_count_after_repeated_maps_joined_along_the_height():
    # the parts have four axes (a ``repeat`` of four counts) but no channels the engine knows: the layer's ``c * 2``
    # still says what the code meant to stack, as for parts of unknown rank; joined along the channels they fit
    src = """
        class PairScore(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.project = nn.Conv2d(c * 2, 1, kernel_size=1)
            def forward(self, a, b):
                rows, cols = a.size(2), b.size(3)
                a = a.repeat(1, 1, 1, cols)
                b = b.repeat(1, 1, rows, 1)
                return self.project(torch.cat([a, b], dim={dim}))
    """
    assert "SHP307" in codes(src.format(dim=2))
    assert codes(src.format(dim=1)) == []


def test_repeated_maps_tiled_along_the_height_for_their_own_channels_are_fine():
    # near miss: the layer reads one map's channels, as a tiling of maps does
    assert codes("""
        class Tile(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.project = nn.Conv2d(c, 1, kernel_size=1)
            def forward(self, a, b):
                rows, cols = a.size(2), b.size(3)
                a = a.repeat(1, 1, 1, cols)
                b = b.repeat(1, 1, rows, 1)
                return self.project(torch.cat([a, b], dim=2))
    """) == []


_COORDS = """
    def add_coords(x, with_r: bool):
        b, c, n = x.shape
        ramp = torch.arange(n, dtype=torch.float32)[None, None, :].repeat(b, 1, 1)
        out = torch.cat([x, ramp], dim=DIM)
        if with_r:
            out = torch.cat([out, ramp.abs()], dim=1)
        return out
"""


def test_a_later_join_that_fails_on_a_joined_axis_names_the_join():
    # joined along the length, ``x`` and the ramp may both have one channel, so the first join is not proven wrong;
    # the second is, on the doubled length, and its note names the line that doubled it
    src = _COORDS.replace("DIM", "2")
    found = errors(src)
    assert [d.code for d in found] == ["SHP110"]
    first = next(i for i, t in enumerate((HEADER + textwrap.dedent(src)).splitlines(), 1) if "dim=2" in t)
    assert found[0].line == first + 2
    assert any(n.endswith(f"(joined along axis 2 by the `cat` at m.py:{first})") for n in found[0].notes)


def test_coordinates_joined_along_the_channels_are_fine():
    assert codes(_COORDS.replace("DIM", "1")) == []


_SPECTRUM = """
    from einops import rearrange
    from helpers import spectrogram
    class Disc(nn.Module):
        def __init__(self, in_channels: int, filters: int):
            super().__init__()
            self.conv = nn.Conv2d(2 * in_channels, filters, 3, padding=1)
        def forward(self, x):
            z = spectrogram(x)
            z = torch.cat([z.real, z.imag], dim=DIM)
            z = rearrange(z, PATTERN)
            return self.conv(z)
"""


def test_a_join_along_the_height_turned_after_the_channels_still_meets_the_layer():
    # the real and imaginary parts of a spectrogram joined along the frequencies, then frequency and time swapped
    # (the channels stay axis 1): the layer built for two copies of the channel count gets one
    assert "SHP307" in codes(_SPECTRUM.replace("DIM", "2").replace("PATTERN", '"b c w t -> b c t w"'))
    for turn in ("z.permute(0, 1, 3, 2)", "z.transpose(2, 3)"):
        src = _SPECTRUM.replace("DIM", "2").replace("rearrange(z, PATTERN)", turn)
        assert "SHP307" in codes(src), turn


def test_a_join_along_the_channels_turned_after_them_is_fine():
    assert codes(_SPECTRUM.replace("DIM", "1").replace("PATTERN", '"b c w t -> b c t w"')) == []


def test_a_join_whose_axes_are_then_moved_across_the_channels_is_not_followed():
    # near miss: the turn moves the joined axis into axis 1, where the layer reads its channels
    for pattern in ('"b c w t -> b w c t"', '"b c w t -> b (c w) t"'):
        assert "SHP307" not in codes(_SPECTRUM.replace("DIM", "2").replace("PATTERN", pattern)), pattern
    for turn in ("z.transpose(1, 2)", "z.permute(0, 2, 1, 3)", "z.transpose(-1, -2)"):
        # (the joined map's rank is unknown: counted from the end, ``-2`` may be its channels)
        assert "SHP307" not in codes(_SPECTRUM.replace("DIM", "2").replace("rearrange(z, PATTERN)", turn)), turn
