"""Channel counts through unannotated convolution stacks: what real model code writes, and what the
engine now follows (sizes an ``int`` parameter receives, residual sums, a module's own weight seen
through a slice, InstanceNorm, a convolution after a GroupNorm, sizes the constructor relates)."""

from __future__ import annotations

from test_engine import HEADER, codes, errors, reveals

_AT = HEADER.count("\n")  # the lines the test header adds before a snippet


def test_an_int_parameter_receives_the_callers_size():
    # ``num_channels: int`` given an unannotated constructor argument: ``torch.ones(num_channels)`` is
    # that size, so the norm's output keeps the channels
    assert reveals("""
        class ChanNorm(nn.Module):
            def __init__(self, num_channels: int):
                super().__init__()
                self.weight = nn.Parameter(torch.ones(num_channels))
            def forward(self, x):
                return self.weight[:, None, None] * x
        class Net(nn.Module):
            def __init__(self, c_in, c_out):
                super().__init__()
                self.conv = nn.Conv2d(c_in, c_out, 1)
                self.norm = ChanNorm(c_out)
            def forward(self, x):
                B, C, H, W = x.shape
                reveal_shape(self.norm(self.conv(x)))
    """) == ["B c_out H W"]


def test_a_module_weight_held_by_a_local_is_reported_on_the_call():
    # ``weight = self.weight``, scaled under a flag, then ``F.linear(x, weight)``: a weight the module was built
    # with met what came in, so the call gave it an input it was not built for
    found = errors("""
        class Linear(nn.Module):
            def __init__(self, in_features: int, out_features: int, quant: bool):
                super().__init__()
                self.weight = nn.Parameter(torch.empty((out_features, in_features)))
                self.scaler = nn.Parameter(torch.empty(out_features))
                self.quant = quant
            def forward(self, x):
                weight = self.weight
                if self.quant:
                    weight = weight * self.scaler.unsqueeze(-1)
                return F.linear(x, weight)
        class MLP(nn.Module):
            def __init__(self, hidden: int, inner: int, quant: bool):
                super().__init__()
                self.up = Linear(inner, hidden, quant)
            def forward(self, x: Float[Tensor, "b hidden"]):
                return self.up(x)
    """)
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 18)]  # the call, not the callee


def test_a_module_weight_seen_through_a_slice_is_reported_on_the_call():
    found = errors("""
        class ChanNorm(nn.Module):
            def __init__(self, num_channels: int):
                super().__init__()
                self.weight = nn.Parameter(torch.ones(num_channels))
            def forward(self, x):
                return self.weight[:, None, None] * x
        class Net(nn.Module):
            def __init__(self, c_in, c_out):
                super().__init__()
                self.conv = nn.Conv2d(c_in, c_out, 1)
                self.norm = ChanNorm(c_in)
            def forward(self, x):
                B, C, H, W = x.shape
                return self.norm(self.conv(x))
    """)
    assert [(d.code, d.line) for d in found] == [("SHP102", _AT + 15)]  # the call: the module was given an input it was not built for


def test_a_residual_sum_narrows_the_input_first():
    found = errors("""
        class Res(nn.Module):
            def __init__(self, c_in, c_out):
                super().__init__()
                self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
            def forward(self, x):
                return x + self.conv(x)
    """)
    assert [d.code for d in found] == ["SHP102"] and '"c_in"' in found[0].message


def test_sizes_a_constructor_asserts_equal_are_one_size_in_forward():
    assert errors("""
        class Res(nn.Module):
            def __init__(self, c_in, c_out):
                super().__init__()
                assert c_in == c_out
                self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
            def forward(self, x):
                return x + self.conv(x)
    """) == []


def test_a_field_bound_to_a_data_axis_stays_distinct_from_other_fields():
    # ``c_in`` met the channels of ``x`` (bound to them); ``c_out`` is still another size
    found = errors("""
        class Net(nn.Module):
            def __init__(self, c_in, c_out):
                super().__init__()
                self.conv = nn.Conv2d(c_in, c_out, 1)
                self.bias = nn.Parameter(torch.zeros(1, c_in, 1, 1))
            def forward(self, x):
                B, C, H, W = x.shape
                return self.conv(x) + self.bias
    """)
    assert [d.code for d in found] == ["SHP102"]


def test_a_size_from_code_binds_to_an_annotated_data_axis():
    assert errors("""
        class Net(nn.Module):
            def __init__(self, dim, out_dim):
                super().__init__()
                self.conv = nn.Conv2d(dim, out_dim, 1)
                self.norm = nn.GroupNorm(1, out_dim)
            def forward(self, x: Float[Tensor, "b channels h w"]) -> Float[Tensor, "b out h w"]:
                return self.norm(self.conv(x))
    """) == []


def test_an_affine_instance_norm_checks_the_channels():
    found = errors("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 32, 9)
                self.norm = nn.InstanceNorm2d(16, affine=True)
                self.plain = nn.InstanceNorm2d(16)
            def forward(self, x):
                y = self.plain(self.conv(x))
                return self.norm(self.conv(x))
    """)
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 10)]  # not the plain norm, which only warns


def test_a_conv_after_a_group_norm_of_an_unknown_input_keeps_its_channels():
    assert reveals("""
        class Net(nn.Module):
            def __init__(self, c, groups):
                super().__init__()
                self.norm = nn.GroupNorm(groups, c)
                self.conv = nn.Conv2d(c, 2 * c, 3)
            def forward(self, x):
                reveal_shape(self.conv(self.norm(x)))
    """) == ["? c*2 ? ?"]  # a GroupNorm takes (N, C, *): batched, so the convolution's channels are axis 1


def test_a_conv_after_a_group_norm_reads_its_channels_in_axis_1():
    # a resnet block with its first convolution built backwards: the norm fixed axis 1 of the unknown input
    # to ``in_channels``, which the convolution reads as its channels
    found = errors("""
        class ResnetBlock(nn.Module):
            def __init__(self, in_channels, out_channels):
                super().__init__()
                self.norm1 = nn.GroupNorm(32, in_channels)
                self.conv1 = nn.Conv2d(out_channels, in_channels, 3, padding=1)
                self.norm2 = nn.GroupNorm(32, out_channels)
            def forward(self, x):
                h = F.silu(self.norm1(x))
                return self.norm2(self.conv1(h))
    """)
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 10)]
    assert '"out_channels" input channels, got "in_channels"' in found[0].message


def test_a_class_attribute_int_is_read_through_self():
    found = errors("""
        class Bottleneck(nn.Module):
            expansion = 4
            def __init__(self, planes):
                super().__init__()
                self.conv = nn.Conv2d(planes, planes, 3, padding=1)
                self.bn = nn.BatchNorm2d(planes * self.expansion)
            def forward(self, x):
                return self.bn(self.conv(x))
    """)
    assert [d.code for d in found] == ["SHP107"] and '"planes*4"' in found[0].message


def test_a_group_norm_reads_a_convolution_output_of_unknown_rank_batched():
    found = errors("""
        class Block(nn.Module):
            def __init__(self, dim, dim_out, groups=8):
                super().__init__()
                self.proj = nn.Conv2d(dim, dim_out, 3, padding=1)
                self.norm = nn.GroupNorm(groups, dim)
            def forward(self, x):
                return self.norm(self.proj(x))
    """)
    assert [d.code for d in found] == ["SHP107"]


def test_a_glu_over_the_channels_of_a_convolution_output():
    assert reveals("""
        class Gate(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.conv = nn.Conv2d(c, 2 * c, 3, padding=1)
                self.glu = nn.GLU(dim=1)
                self.norm = nn.GroupNorm(4, c)
            def forward(self, x):
                reveal_shape(self.norm(self.glu(self.conv(x))))
    """) == ["... c ? ?"]


def test_a_batch_norm_1d_after_a_conv_1d_of_unknown_rank():
    found = errors("""
        class Stem(nn.Module):
            def __init__(self, n_in, n_out):
                super().__init__()
                self.conv = nn.Conv1d(n_in, n_out, 3, padding=1)
                self.bn = nn.BatchNorm1d(n_in)
            def forward(self, x):
                return self.bn(self.conv(x))
    """)
    assert [d.code for d in found] == ["SHP107"]


def test_a_classifier_head_after_pooling_and_flatten():
    found = errors("""
        class Head(nn.Module):
            def __init__(self, c, n_cls):
                super().__init__()
                self.conv = nn.Conv2d(c, n_cls, 1)
                self.pool = nn.AdaptiveAvgPool2d(1)
                self.fc = nn.Linear(c, n_cls)
            def forward(self, x):
                x = self.pool(self.conv(x))
                x = torch.flatten(x, 1)
                return self.fc(x)
    """)
    assert [d.code for d in found] == ["SHP107"]
    assert reveals("""
        class Head(nn.Module):
            def __init__(self, c, n_cls):
                super().__init__()
                self.conv = nn.Conv2d(c, n_cls, 1)
                self.pool = nn.AdaptiveAvgPool2d((1, 1))
            def forward(self, x):
                reveal_shape(self.pool(self.conv(x)))
                reveal_shape(self.pool(self.conv(x)).flatten(1))
    """) == ["... n_cls 1 1", "? n_cls"]


def test_a_sequential_stops_at_the_layer_that_fails():
    # the GroupNorm fails; the last convolution's channels are not compared with the input's again
    found = errors("""
        class Gated(nn.Module):
            def __init__(self, ch, groups=4):
                super().__init__()
                self.net = nn.Sequential(
                    nn.Conv2d(ch * 2, ch, 3, padding=1),
                    nn.GLU(dim=1),
                    nn.GroupNorm(groups, ch),
                    nn.Conv2d(ch, ch, 1),
                )
            def forward(self, x):
                return self.net(x) + x
    """)
    assert [d.code for d in found] == ["SHP107"]


def test_a_norm_whose_forward_returns_a_tensor_reports_a_wrong_input_on_the_call():
    # ``-> torch.Tensor`` on ``forward``, the weight cast through a local: still the module's own tensor
    found = errors("""
        class RMSNorm(nn.Module):
            def __init__(self, size: int, eps: float = 1e-6) -> None:
                super().__init__()
                self.weight = nn.Parameter(torch.ones(size))
                self.eps = eps
            def forward(self, x: torch.Tensor) -> torch.Tensor:
                normed = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
                weight = self.weight
                return normed * weight.float()
        class Proj(nn.Module):
            def __init__(self, config):
                super().__init__()
                self.down = nn.Linear(config.d_model, config.rank)
                self.norm = RMSNorm(config.d_model)
            def forward(self, x):
                return self.norm(self.down(x))
    """)
    assert [(d.code, d.line) for d in found] == [("SHP102", _AT + 17)]  # the call, not the callee's line


_SHORTCUT = """
    class Block(nn.Module):
        expansion = 1
        def __init__(self, in_planes, planes, stride=1):
            super().__init__()
            self.conv = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1)
            self.shortcut = nn.Sequential()
            if stride != 1 or in_planes != self.expansion * planes:
                self.shortcut = nn.Sequential(nn.Conv2d({proj}, kernel_size=1, stride=stride))
            self.res_conv = nn.Conv2d({res}, 1) if in_planes != planes else nn.Identity()
        def forward(self, x):
            out = self.conv(x) + self.shortcut(x)
            return out + self.res_conv(x)
"""


def test_a_shortcut_built_for_sizes_that_differ_is_the_shortcut_applied():
    # ``if in_planes != planes:`` in a constructor: the two sizes the code names differently are distinct
    # axes, so the projection built for them is the shortcut that meets the input, not the identity
    ok = _SHORTCUT.format(proj="in_planes, self.expansion * planes", res="in_planes, planes")
    assert errors(ok) == []
    found = errors(_SHORTCUT.format(proj="self.expansion * planes, in_planes", res="in_planes, planes"))
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 12)]
    found = errors(_SHORTCUT.format(proj="in_planes, self.expansion * planes", res="planes, in_planes"))
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 13)]


def test_a_size_test_that_guards_a_raise_is_not_decided():
    # ``if in_ch != out_ch: raise``: the constructor says the sizes are one, and what follows is analysed
    found = errors("""
        class Res(nn.Module):
            def __init__(self, in_ch, out_ch):
                super().__init__()
                if in_ch != out_ch:
                    raise ValueError("a residual block keeps its channels")
                self.conv = nn.Conv2d(in_ch, out_ch, 3, padding=1)
                self.norm = nn.BatchNorm2d(2 * out_ch)
            def forward(self, x):
                return x + self.norm(self.conv(x))
    """)
    assert [d.code for d in found] == ["SHP107"]


_DOUBLE = """
    class DoubleConv(nn.Module):
        def __init__(self, in_channels, out_channels, mid_channels=None):
            super().__init__()
            {fill}
            self.double_conv = nn.Sequential(
                nn.Conv2d({first}, kernel_size=3, padding=1),
                nn.BatchNorm2d(mid_channels),
                nn.Conv2d({second}, kernel_size=3, padding=1),
                nn.BatchNorm2d(out_channels),
            )
        def forward(self, x):
            return self.double_conv(x)
"""


def test_a_parameter_left_to_none_and_filled_from_a_size_is_one_of_two_sizes():
    # ``if not mid_channels: mid_channels = out_channels``: the size given, or ``out_channels``; distinct from
    # ``in_channels`` either way, but perhaps ``out_channels`` itself
    for fill in ("if not mid_channels:\n                mid_channels = out_channels",
                 "if mid_channels is None:\n                mid_channels = out_channels",
                 "mid_channels = mid_channels or out_channels"):
        ok = _DOUBLE.format(fill=fill, first="in_channels, mid_channels", second="mid_channels, out_channels")
        assert errors(ok) == []
        found = errors(_DOUBLE.format(fill=fill, first="mid_channels, in_channels",
                                      second="mid_channels, out_channels"))
        assert [d.code for d in found] == ["SHP107"], fill
        # ``mid_channels`` may be ``out_channels``: swapping the second convolution may change nothing
        same = _DOUBLE.format(fill=fill, first="in_channels, mid_channels", second="out_channels, mid_channels")
        assert errors(same) == []


def test_two_parameters_filled_from_one_size_may_be_one_size():
    # ``hidden = hidden or dim`` and ``out = out or dim``: both may be ``dim``, so neither is distinct from the other
    assert errors("""
        class ConvMlp(nn.Module):
            def __init__(self, dim, hidden=None, out=None):
                super().__init__()
                hidden = hidden or dim
                out = out or dim
                self.fc1 = nn.Conv2d(dim, hidden, 1)
                self.norm = nn.BatchNorm2d(out)
            def forward(self, x):
                return self.norm(self.fc1(x))
    """) == []


_STAGES = """
    def leaky_relu(p=0.1):
        return nn.LeakyReLU(p)
    class Disc(nn.Module):
        def __init__(self, channels, layers, input_channels):
            super().__init__()
            self.init_conv = nn.Conv1d({init}, 15, padding=7)
            self.conv_layers = nn.ModuleList([])
            curr = channels
            for _ in range(layers):
                chan_out = min(curr * 4, 1024)
                self.conv_layers.append(nn.Sequential(nn.Conv1d(curr, chan_out, 41, stride=4), leaky_relu()))
                curr = chan_out
        def forward(self, x):
            x = self.init_conv(x)
            for layer in self.conv_layers:
                x = layer(x)
            return x
"""


def test_a_loop_over_modules_appended_in_a_loop_applies_the_first_one_first():
    # the first block appended is the first a loop over the list applies; the later ones are unknown here
    assert errors(_STAGES.format(init="input_channels, channels")) == []
    found = errors(_STAGES.format(init="channels, input_channels"))
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 17)]


_BODY = """
    class Enc(nn.Module):
        def __init__(self, in_channels, base, mults=(1, 2, 4)):
            super().__init__()
            self.stem = nn.Conv2d({stem}, 3, padding=1)
            layers = []
            in_ch = base
            for mult in mults:
                out_ch = base * mult
                layers.append(nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1))
                layers.append(nn.ReLU())
                in_ch = out_ch
            self.body = nn.Sequential(*layers)
        def forward(self, x):
            B, C, H, W = x.shape
            return self.body(self.stem(x))
"""


def test_a_sequential_of_layers_appended_in_a_loop_meets_its_input_with_the_first():
    assert errors(_BODY.format(stem="in_channels, base")) == []
    found = errors(_BODY.format(stem="base, in_channels"))
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 16)]
    # the later layers (convolutions of sizes the loop computes, activations) keep the batch and the rank, and say
    # nothing of the channels or the grid that come out
    assert reveals(_BODY.format(stem="in_channels, base").replace("return self.body", "reveal_shape(self.body")
                   .replace("(self.stem(x))", "(self.stem(x)))")) == ["B ? ? ?"]


_STAGES_OF_A_LIST = """
    class Unet(nn.Module):
        def __init__(self, dim, channels=3, dim_mults=(1, 2, 4, 8)):
            super().__init__()
            self.init_conv = nn.Conv2d({init}, 7, padding=3)
            dims = [dim, *map(lambda m: dim * m, dim_mults)]
            in_out = list(zip(dims[:-1], dims[1:]))
            self.downs = nn.ModuleList([])
            for ind, (dim_in, dim_out) in enumerate(in_out):
                self.downs.append(nn.ModuleList([
                    nn.Conv2d(dim_in, dim_in, 3, padding=1),
                    nn.Conv2d(dim_in, dim_out, 3, padding=1),
                ]))
        def forward(self, x):
            x = self.init_conv(x)
            for block1, block2 in self.downs:
                x = block1(x)
                x = block2(x)
            return x
"""


def test_stages_built_from_a_list_of_sizes_whose_first_is_known():
    # ``dims = [dim, *...]``, ``zip(dims[:-1], dims[1:])``, ``enumerate``: the first stage takes ``dim``, and its
    # ``nn.ModuleList([...])`` unpacks into its layers in order
    assert errors(_STAGES_OF_A_LIST.format(init="channels, dim")) == []
    found = errors(_STAGES_OF_A_LIST.format(init="dim, channels"))
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 17)]


def test_an_item_of_a_module_list_written_out_is_that_layer():
    found = errors("""
        class Two(nn.Module):
            def __init__(self, c_in, c_mid, c_out):
                super().__init__()
                self.convs = nn.ModuleList([nn.Conv2d(c_in, c_mid, 1), nn.Conv2d(c_in, c_out, 1)])
            def forward(self, x):
                return self.convs[1](self.convs[0](x))
    """)
    assert [d.code for d in found] == ["SHP107"]


def test_a_parameter_filled_by_a_default_helper_is_one_of_two_sizes():
    # lucidrains' ``default(val, d)``: ``init_dim = default(init_dim, dim)`` is the size given or ``dim``
    src = """
        def exists(val):
            return val is not None
        def default(val, d):
            if exists(val):
                return val
            return d() if callable(d) else d
        class Stem(nn.Module):
            def __init__(self, dim, init_dim=None, channels=3):
                super().__init__()
                init_dim = default(init_dim, dim)
                self.init_conv = nn.Conv2d({conv}, 7, padding=3)
                self.norm = nn.BatchNorm2d({norm})
            def forward(self, x):
                return self.norm(self.init_conv(x))
    """
    assert errors(src.format(conv="channels, init_dim", norm="init_dim")) == []
    assert errors(src.format(conv="channels, init_dim", norm="dim")) == []  # ``init_dim`` may be ``dim``
    found = errors(src.format(conv="init_dim, channels", norm="init_dim"))
    assert [d.code for d in found] == ["SHP107"]


def test_padding_keeps_the_channels_of_a_convolution_output_of_unknown_rank():
    # ``nn.ZeroPad2d`` and ``F.pad`` pad the last axes: the channels of ``... c h w`` go on to the next layer
    src = """
        class Disc(nn.Module):
            def __init__(self, in_channels=3):
                super().__init__()
                def block(in_filters, out_filters, normalization=True):
                    layers = [nn.Conv2d(in_filters, out_filters, 4, stride=2, padding=1)]
                    if normalization:
                        layers.append(nn.InstanceNorm2d(out_filters))
                    layers.append(nn.LeakyReLU(0.2, inplace=True))
                    return layers
                self.model = nn.Sequential(
                    *block(in_channels * 2, 64, normalization=False),
                    *block(64, 128),
                    nn.ZeroPad2d((1, 0, 1, 0)),
                    nn.Conv2d({last}, 4, padding=1, bias=False),
                )
            def forward(self, img_A, img_B):
                return self.model(torch.cat((img_A, img_B), 1))
        class Causal(nn.Module):
            def __init__(self, chan_in, chan_out, kernel_size):
                super().__init__()
                self.causal_padding = kernel_size - 1
                self.conv = nn.Conv1d(chan_in, chan_out, kernel_size)
                self.norm = nn.BatchNorm1d({norm})
            def forward(self, x):
                x = F.pad(self.conv(x), (self.causal_padding, 0))
                return self.norm(x)
    """
    assert errors(src.format(last="128, 1", norm="chan_out")) == []
    found = errors(src.format(last="1, 128", norm="chan_in"))
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 18), ("SHP107", _AT + 27)]


def test_a_reflection_pad_of_a_convolution_output_of_unknown_rank_is_no_rank_error():
    # ``... c h w``: its rank is unknown, so nothing says it is not 3 or 4 axes
    assert errors("""
        class Res(nn.Module):
            def __init__(self, channels):
                super().__init__()
                self.pad = nn.ReflectionPad2d(1)
                self.conv1 = nn.Conv2d(channels, channels, 3)
                self.conv2 = nn.Conv2d(channels, channels, 3)
            def forward(self, x):
                return self.conv2(self.pad(self.conv1(self.pad(x))))
    """) == []


def test_a_function_defined_in_forward_sees_the_module():
    # CLIP's ``def stem(x): ...`` inside ``forward``: ``self`` is the module analysed, its layers known
    src = """
        class Stem(nn.Module):
            def __init__(self, width=64):
                super().__init__()
                self.conv1 = nn.Conv2d(3, width // 2, kernel_size=3, stride=2, padding=1, bias=False)
                self.bn1 = nn.BatchNorm2d(width // 2)
                self.conv2 = nn.Conv2d({conv2}, kernel_size=3, padding=1, bias=False)
                self.bn2 = nn.BatchNorm2d(width)
            def forward(self, x):
                def stem(x):
                    x = self.bn1(self.conv1(x))
                    return self.bn2(self.conv2(x))
                return stem(x)
    """
    assert errors(src.format(conv2="width // 2, width")) == []
    found = errors(src.format(conv2="width, width // 2"))
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 12)]


def test_a_partial_of_a_block_class_builds_that_block():
    # ``block_klass = partial(ResnetBlock, groups=8)``: ``block_klass(dim * 2, dim)`` is a ResnetBlock giving ``dim``
    src = """
        from functools import partial
        class ResnetBlock(nn.Module):
            def __init__(self, dim, dim_out, groups=8):
                super().__init__()
                self.block1 = nn.Conv2d(dim, dim_out, 3, padding=1)
                self.norm = nn.GroupNorm(groups, dim_out)
            def forward(self, x):
                return self.norm(self.block1(x))
        class Tail(nn.Module):
            def __init__(self, dim, out_dim, groups=8):
                super().__init__()
                block_klass = partial(ResnetBlock, groups=groups)
                self.final_res_block = block_klass(dim * 2, dim)
                self.final_conv = nn.Conv2d({conv}, 1)
            def forward(self, x):
                return self.final_conv(self.final_res_block(x))
    """
    assert errors(src.format(conv="dim, out_dim")) == []
    found = errors(src.format(conv="out_dim, dim"))
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 17)]


def test_an_assertion_of_rank_and_size_together_narrows_the_input():
    # ``assert input.dim() == 2 and input.size(1) == self.in_features``: every part of the ``and`` holds, so
    # the input has two axes (``unsqueeze(2)`` then gives the layer its three)
    src = """
        class GroupedLinear(nn.Module):
            def __init__(self, in_features, out_features, groups=1):
                super().__init__()
                self.in_features = in_features
                self.layer = nn.Conv1d({conv}, kernel_size=1, groups=groups)
            def forward(self, input):
                assert input.dim() == 2 and input.size(1) == self.in_features
                reveal_shape(input)
                return self.layer(input.unsqueeze(2)).squeeze(2)
    """
    # of two axes, the second the size the code asserts it is
    assert reveals(src.format(conv="in_features, out_features")) == ["? in_features"]
    # so a layer built for ``out_features`` inputs (its sizes swapped) meets a size it is not
    found = errors(src.format(conv="out_features, in_features"))
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 10)]


def test_a_chain_broken_whatever_it_is_given_is_reported_where_it_is_built():
    # the second convolution cannot take what the first gives, for any input: reported on it, once, with a
    # note, and not again where the chain is called; a chain that fits, and one built in a branch the default
    # configuration skips, the same
    src = """
        class Fuse(nn.Module):
            def __init__(self, channels=64, r=4, kind="2D"):
                super().__init__()
                inter = channels // r
                if kind == "1D":
                    self.att = nn.Sequential(
                        nn.Conv1d(channels, inter, 1),
                        nn.BatchNorm1d({norm}),
                        nn.ReLU(),
                    )
                else:
                    self.att = nn.Sequential(
                        nn.Conv2d(channels, inter, 1),
                        nn.BatchNorm2d(inter),
                        nn.ReLU(),
                    )
            def forward(self, x):
                return self.att(x) + 1
    """
    assert errors(src.format(norm="inter")) == []
    found = errors(src.format(norm="channels"))
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 9)]
    assert "whatever the chain is given" in found[0].notes[-1]


def test_the_first_layer_of_a_broken_chain_still_meets_the_input():
    # what the first layer finds wrong with the input is the caller's, and is reported at the call
    found = errors("""
        class Head(nn.Module):
            def __init__(self, d, hidden, n):
                super().__init__()
                self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(d, n))
            def forward(self, x: Float[Tensor, "b hidden"]):
                return self.mlp(x)
    """)
    assert sorted((d.code, d.line) for d in found) == [("SHP107", _AT + 5), ("SHP107", _AT + 7)]


def test_a_chain_of_layers_given_by_a_list_is_checked_where_it_is_called():
    # `nn.Sequential(*layers)`: the layers are not written in the call, so the call reports, as before
    found = errors("""
        class Stack(nn.Module):
            def __init__(self, c, h):
                super().__init__()
                layers = [nn.Linear(c, h), nn.ReLU(), nn.Linear(c, h)]
                self.net = nn.Sequential(*layers)
            def forward(self, x):
                return self.net(x)
    """)
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 8)]


def test_an_activation_flag_left_at_its_default_builds_the_activation():
    # yolo's ``Conv``: ``act=True`` picks SiLU, a module given picks itself; built without ``act``, the block
    # is SiLU after the convolution, so its output keeps the channels
    assert reveals("""
        class Conv(nn.Module):
            def __init__(self, c1, c2, k=1, act=True):
                super().__init__()
                self.conv = nn.Conv2d(c1, c2, k, padding=k // 2)
                self.act = nn.SiLU() if act is True else (act if isinstance(act, nn.Module) else nn.Identity())
            def forward(self, x):
                return self.act(self.conv(x))
        class Net(nn.Module):
            def __init__(self, c1, c2):
                super().__init__()
                self.cv1 = Conv(c1, c2, 3)
            def forward(self, x):
                reveal_shape(self.cv1(x))
    """) == ["... c2 ? ?"]


def test_a_hidden_width_rounded_from_a_ratio_is_a_size_of_its_own():
    # ``c_ = int(2 * c2 * e)``: the engine cannot compute it, but it is one size the code names, and twice it is
    # another
    src = """
        class Block(nn.Module):
            def __init__(self, c1, c2, e=0.5):
                super().__init__()
                c_ = int(2 * c2 * e)
                self.cv1 = nn.Conv2d(c1, c_, 1)
                self.cv2 = nn.Conv2d(c1, c_, 1)
                self.cv3 = nn.Conv2d(2 * c_, c2, 1)
            def forward(self, x):
                y1, y2 = self.cv1(x), self.cv2(x)
                return self.cv3(torch.cat((y1, y2), dim=AXIS))
    """
    assert errors(src.replace("AXIS", "1")) == []
    found = errors(src.replace("AXIS", "0"))  # the halves stacked along the batch
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 11)]
    assert '"c_*2" input channels, got "c_"' in found[0].message


def test_a_size_times_a_half_is_halved():
    assert reveals("""
        class Head(nn.Module):
            def __init__(self, c1, c2):
                super().__init__()
                self.fc = nn.Linear(c1, int(c2 * 0.5))
            def forward(self, x: Float[Tensor, "b c1"]):
                reveal_shape(self.fc(x))
    """) == ["b c2//2"]


_PATCH_MERGING = """
    class PatchMerging(nn.Module):
        def __init__(self, dim, norm_layer=nn.LayerNorm):
            super().__init__()
            self.reduction = nn.Linear(IN * dim, OUT * dim, bias=False)
            self.norm = norm_layer(4 * dim)
        def forward(self, x):
            B, L, C = x.shape
            x = x.view(B, 8, -1, C)
            x0 = x[:, 0::2, 0::2, :]
            x1 = x[:, 1::2, 0::2, :]
            x2 = x[:, 0::2, 1::2, :]
            x3 = x[:, 1::2, 1::2, :]
            x = torch.cat([x0, x1, x2, x3], -1).view(B, -1, 4 * C)
            x = self.norm(x)
            reveal_shape(x)
            return self.reduction(x)
"""


def test_four_parts_joined_meet_a_norm_of_four_times_the_width():
    # Swin's patch merging: ``C*4`` against ``LayerNorm(4 * dim)`` makes ``C`` the width, so a reduction
    # built backwards meets ``dim*4`` features where it expects ``dim*2``
    [merged] = reveals(_PATCH_MERGING.replace("IN", "4").replace("OUT", "2"))
    assert merged.split()[-1] == "dim*4"
    found = errors(_PATCH_MERGING.replace("IN", "2").replace("OUT", "4"))
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 17)]
    assert '"dim*2" input features, got "dim*4"' in found[0].message


def test_a_norm_layer_left_at_its_layer_norm_default_checks_the_last_axis():
    src = """
        class Block(nn.Module):
            def __init__(self, dim, out_dim, norm_layer=nn.LayerNorm):
                super().__init__()
                self.proj = nn.Linear(dim, out_dim)
                self.norm = norm_layer(NORMED)
            def forward(self, x):
                return self.norm(self.proj(x))
    """
    assert errors(src.replace("NORMED", "out_dim")) == []
    assert [d.code for d in errors(src.replace("NORMED", "dim"))] == ["SHP107"]
    # a norm layer given without a default (``norm_layer=None`` filled by the caller) is not judged
    assert errors(src.replace("NORMED", "dim").replace("norm_layer=nn.LayerNorm", "norm_layer=None")) == []


def test_a_multiple_of_a_size_binds_only_what_it_divides():
    # ``C*4`` against ``dim*2`` does not say what ``C`` is (``dim`` may be odd): nothing learnt, nothing reported
    assert errors("""
        class Head(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.fc = nn.Linear(2 * dim, dim)
            def forward(self, x):
                B, L, C = x.shape
                return self.fc(torch.cat([x, x, x, x], -1))
    """) == []


def test_int_of_a_constructor_argument_is_the_size_it_names():
    # ``c_ = int(c2)``: what ``int`` takes is a number, so the halves joined along the height meet a
    # convolution that expects their channels summed
    found = errors("""
        class CSP(nn.Module):
            def __init__(self, c1, c2):
                super().__init__()
                c_ = int(c2)
                self.cv1 = nn.Conv2d(c1, c_, 1)
                self.cv2 = nn.Conv2d(c_, c_, 1)
                self.cv3 = nn.Conv2d(2 * c_, c2, 1)
            def forward(self, x):
                x1 = self.cv1(x)
                return self.cv3(torch.cat((x1, self.cv2(x1)), dim=2))
    """)
    assert [d.code for d in found] == ["SHP307"] or sorted(d.code for d in found) == ["SHP107", "SHP307"]
    assert any('"c2*2"' in d.message for d in found)


def test_the_legacy_tensor_constructor_given_sizes_is_shaped():
    assert reveals("""
        class RepConv(nn.Module):
            def __init__(self, cin, cout, k, groups):
                super().__init__()
                self.weight = nn.Parameter(torch.Tensor(cout, cin // groups, k, k))
                self.scale = nn.Parameter(torch.FloatTensor(cout))
                self.data = torch.Tensor([[1.0, 2.0, 3.0]])
            def forward(self, x):
                reveal_shape(self.weight)
                reveal_shape(self.scale)
                reveal_shape(self.data)
    """) == ["cout cin//groups k k", "...", "1 3"]  # one unknown object may be the data, not a size


_FINAL_LAYER = """
    def modulate(x, shift, scale):
        return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)

    class FinalLayer(nn.Module):
        def __init__(self, hidden_size, patch_size, out_channels):
            super().__init__()
            self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False)
            self.linear = nn.Linear(LINEAR)
            self.ada = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))
        def forward(self, x, c):
            shift, scale = self.ada(c).chunk(2, dim=1)
            return self.linear(modulate(self.norm_final(x), shift, scale))
"""


def test_the_pieces_of_a_chunk_of_unknown_rank_are_tensors():
    # an adaptive norm's shift and scale, chunked along dim 1 of a tensor of unknown rank: tensors of unknown
    # shape, so the modulated features keep what the norm proved, and a final layer built backwards is found
    assert errors(_FINAL_LAYER.replace("LINEAR", "hidden_size, patch_size * patch_size * out_channels")) == []
    found = errors(_FINAL_LAYER.replace("LINEAR", "patch_size * patch_size * out_channels, hidden_size"))
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 13)]


_LINEAR_ATTENTION = """
    from einops import rearrange

    class LinearAttention(nn.Module):
        def __init__(self, dim, heads=4, dim_head=32):
            super().__init__()
            self.heads = heads
            hidden_dim = dim_head * heads
            self.to_qkv = nn.Conv2d(dim, hidden_dim * 3, 1, bias=False)
            self.to_out = nn.Conv2d(OUT, 1)
        def forward(self, x):
            b, c, h, w = x.shape
            qkv = self.to_qkv(x)
            q, k, v = rearrange(qkv, "b (qkv heads c) h w -> qkv b heads c (h w)", heads=self.heads, qkv=3)
            context = torch.einsum("bhdn,bhen->bhde", k.softmax(dim=-1), v)
            out = torch.einsum("bhde,bhdn->bhen", context, q)
            out = rearrange(out, "b heads c (h w) -> b (heads c) h w", heads=self.heads, h=h, w=w)
            return self.to_out(out)
"""


def test_a_size_bound_to_the_channels_read_still_differs_from_a_product():
    # ``dim`` met the channels ``b, c, h, w = x.shape`` read and was bound to them; the heads' features,
    # ``dim_head*heads``, are still not ``dim``
    src = _LINEAR_ATTENTION
    assert errors(src.replace("OUT", "hidden_dim, dim")) == []
    found = errors(src.replace("OUT", "dim, hidden_dim"))
    assert [d.code for d in found] == ["SHP107"] and '"dim_head*heads"' in found[0].message


_TYPED_RESNET_BLOCK = """
    class ResnetBlock(nn.Module):
        def __init__(self, in_channels: int, out_channels: int):
            super().__init__()
            self.in_channels = in_channels
            out_channels = in_channels if out_channels is None else out_channels
            self.out_channels = out_channels
            self.norm1 = nn.GroupNorm(32, in_channels)
            self.conv1 = nn.Conv2d(CONV1, kernel_size=3, padding=1)
            self.norm2 = nn.GroupNorm(32, out_channels)
            if self.in_channels != self.out_channels:
                self.nin_shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        def forward(self, x):
            h = self.norm2(self.conv1(F.silu(self.norm1(x))))
            if self.in_channels != self.out_channels:
                x = self.nin_shortcut(x)
            return x + h
"""


def test_an_int_parameter_without_a_default_is_never_none():
    # ``out_channels: int`` with no default: the fill from ``in_channels`` never runs, so the two are distinct
    assert errors(_TYPED_RESNET_BLOCK.replace("CONV1", "in_channels, out_channels")) == []
    found = errors(_TYPED_RESNET_BLOCK.replace("CONV1", "out_channels, in_channels"))
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 14)]
    # with a default of None the fill may run, and the two may be one size
    assert errors(_TYPED_RESNET_BLOCK.replace("CONV1", "out_channels, in_channels")
                  .replace("out_channels: int)", "out_channels=None)")) == []


_RESNET = """
    class BasicBlock(nn.Module):
        expansion = 1
        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(inplanes, planes, 3, stride, 1), nn.BatchNorm2d(planes), nn.ReLU(),
                                      nn.Conv2d(planes, planes, 3, 1, 1), nn.BatchNorm2d(planes))
            self.downsample = downsample
        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            return F.relu(self.body(x) + identity)

    class Bottleneck(nn.Module):
        expansion = 4
        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
            self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
            self.downsample = downsample
        def forward(self, x):
            identity = x
            out = self.conv3(F.relu(self.conv2(F.relu(self.conv1(x)))))
            if self.downsample is not None:
                identity = self.downsample(x)
            return F.relu(out + identity)

    class ResNet(nn.Module):
        def __init__(self, block, layers, num_classes=1000):
            super().__init__()
            self.inplanes = 64
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.layer1 = self._make_layer(block, 64, layers[0])
            self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        def _make_layer(self, block, planes, blocks, stride=1):
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = nn.Sequential(nn.Conv2d({down}, 1, stride, bias=False),
                                           nn.BatchNorm2d(planes * block.expansion))
            layers = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            for _ in range(1, blocks):
                layers.append(block(self.inplanes, planes))
            return nn.Sequential(*layers)
        def forward(self, x):
            x = self.layer1(self.conv1(x))
            reveal_shape(x)
            return self.layer2(x)
"""
_DOWN = "self.inplanes, planes * block.expansion"


def test_a_resnet_is_analysed_with_the_block_the_file_builds_it_with():
    # ``block`` has no default: the file's first construction, ``ResNet(BasicBlock, ...)``, decides; the stage the
    # list of blocks makes gives the first block's output, which the blocks appended after it keep
    built = "\n    def resnet18(**kwargs):\n        return ResNet(BasicBlock, [2, 2], **kwargs)\n"
    src = _RESNET.format(down=_DOWN) + built
    assert reveals(src.replace("return self.layer2(x)", "return reveal_shape(self.layer2(x))")) \
        == ["... 64 ? ?", "... 128 ? ?"]
    assert errors(src) == []
    # the downsampling convolution built with its sizes swapped meets the stage's input in the first block
    found = errors(_RESNET.format(down="planes * block.expansion, self.inplanes") + built)
    assert found and {d.code for d in found} == {"SHP107"}, found
    # built through a function handing its own parameter on (torchvision's ``_resnet``), with a bottleneck
    through = ("\n    def _resnet(block, layers, **kwargs):\n        return ResNet(block, layers, **kwargs)\n"
               "\n    def resnet50():\n        return _resnet(Bottleneck, [3, 4])\n")
    assert reveals(_RESNET.format(down=_DOWN) + through) == ["... 256 ? ?"]
    assert errors(_RESNET.format(down=_DOWN) + through) == []
    # built nowhere in the file: the block is unknown, and so is what the stages give
    assert reveals(_RESNET.format(down=_DOWN)) == ["..."]


def test_a_text_cnn_pools_its_whole_length_into_one_position():
    # the kernel spans the embedding (``(k, embed)``: width 1), and a max pool whose window is the length read off
    # the tensor (``h.size(2)``, an axis the engine had not named) leaves one position, squeezed away
    src = """
        class TextCNN(nn.Module):
            def __init__(self, vocab_size, embed, num_filters, num_classes):
                super().__init__()
                self.emb = nn.Embedding(vocab_size, embed)
                self.convs = nn.Conv2d(1, num_filters, (3, embed))
                self.fc = nn.Linear({fc})
            def forward(self, s):
                b, n = s.shape
                x = self.emb(s).unsqueeze(1)
                h = F.relu(self.convs(x)).squeeze(3)
                h = F.max_pool1d(h, h.size(2)).squeeze(2)
                reveal_shape(h)
                return self.fc(h)
    """
    assert reveals(src.format(fc="num_filters, num_classes")) == ["b num_filters"]
    assert errors(src.format(fc="num_filters, num_classes")) == []
    assert [d.code for d in errors(src.format(fc="num_classes, num_filters"))] == ["SHP107"]



def test_a_resize_given_its_options_through_a_dict_of_branches_keeps_batch_and_channels():
    # Depth-Anything's fusion block: the size or the scale is picked by branches and spliced in with ``**modifier``
    assert reveals("""
        def f(x: Float[Tensor, "b c h w"], size):
            if size is None:
                modifier = {"scale_factor": 2}
            else:
                modifier = {"size": size}
            reveal_shape(nn.functional.interpolate(x, **modifier, mode="bilinear", align_corners=True))
    """) == ["b c ? ?"]


def test_a_ratio_kept_on_the_module_is_still_taken_at_its_default():
    # a bottleneck's ``expansion=4`` stored as ``self.expansion`` for its builders: ``planes * expansion`` is still
    # ``4*planes``, a size other than ``planes``
    src = """
        class Bottleneck(nn.Module):
            def __init__(self, inplanes, planes, expansion=4):
                super().__init__()
                self.expansion = expansion
                self.conv1 = nn.Conv2d(inplanes, planes, 1)
                self.conv3 = nn.Conv2d({conv3})
                self.bn3 = nn.BatchNorm2d(planes * expansion)
            def forward(self, x):
                return self.bn3(self.conv3(self.conv1(x)))
    """
    assert errors(src.format(conv3="planes, planes * expansion, 1")) == []
    assert [d.code for d in errors(src.format(conv3="planes * expansion, planes, 1"))] == ["SHP107"]


def test_a_split_into_halves_of_a_named_size_gives_two_halves():
    # CSPNet's cross stage: the expanded channels split in two by ``expand_chs // 2``, as ``chunk(2, dim=1)`` halves
    src = """
        class CrossStage(nn.Module):
            def __init__(self, in_chs, exp_chs, out_chs):
                super().__init__()
                self.expand_chs = exp_chs
                self.conv_exp = nn.Conv2d(in_chs, exp_chs, 1)
                self.conv_transition = nn.Conv2d(exp_chs, out_chs, 1)
            def forward(self, x):
                B, C, H, W = x.shape
                xs, xb = self.conv_exp(x).split(self.expand_chs // 2, dim=1)
                reveal_shape(xs)
                return self.conv_transition(torch.cat([xs, xb], dim={dim}))
    """
    assert reveals(src.format(dim=1)) == ["B exp_chs//2 H W"]
    assert errors(src.format(dim=1)) == []
    assert "SHP107" in [d.code for d in errors(src.format(dim=2))]


def test_a_convolution_block_of_a_module_not_seen_maps_the_channels():
    # ``ConvBNReLU(in_ch, out_ch, 3)`` imported from a module the analysis did not read: a batched map of ``in_ch``
    # channels becomes one of ``out_ch``, its other axes unknown; a block built as (channels, kernel) or a recurrent
    # cell is not read so
    src = """
        from mypkg.layers import ConvBNReLU, SeparableConv, ConvLSTM
        class Head(nn.Module):
            def __init__(self, c: int):
                super().__init__()
                self.a = ConvBNReLU(3, 32, 3)
                self.b = ConvBNReLU(3, 16, kernel_size=3)
                self.sep = SeparableConv(c, 3)
                self.rnn = ConvLSTM(3, c)
                self.fuse = ConvBNReLU(48, c, 1)
            def forward(self, x):
                assert x.dim() == 4
                a, b = self.a(x), self.b(x)
                reveal_shape(a)
                reveal_shape(self.sep(x))
                reveal_shape(self.rnn(x))
                return self.fuse(torch.cat([a, b], dim={dim}))
    """
    assert reveals(src.format(dim=1)) == ["? 32 ? ?", "...", "..."]
    assert codes(src.format(dim=1)) == []
    assert codes(src.format(dim=2)) == ["SHP110"]
    assert errors(src.format(dim=1).replace("ConvBNReLU(48, c, 1)", "ConvBNReLU(40, c, 1)"))[0].message == \
        'ConvBNReLU expects 40 input channels, got 48'


def test_a_cat_of_parts_known_from_the_front_checks_the_axes_before_the_joined_one():
    # ``_ConvBNPReLU(3, 32, 3, **kwargs)`` of a module not seen gives ``? 32 ...``; its input is ``? 3 ...``: joined along
    # the channels they fit, along axis 2 their channels differ
    src = """
        from core.nn import _ConvBNPReLU
        class Stage(nn.Module):
            def __init__(self, **kwargs):
                super().__init__()
                self.conv = _ConvBNPReLU(3, 32, 3, 2, 1, **kwargs)
            def forward(self, x):
                out = self.conv(x)
                reveal_shape(out)
                reveal_shape(x)
                return torch.cat([out, x], dim={dim})
    """
    assert reveals(src.format(dim=1)) == ["? 32 ...", "? 3 ..."]
    assert codes(src.format(dim=1)) == []
    assert codes(src.format(dim=2)) == ["SHP110"]



def test_a_norm_layer_of_a_module_not_read_keeps_the_chain_going():
    # ``LayerNorm(n, dim=1)`` imported from another file: whatever axes it normalises, it keeps the shape, so the
    # convolution after the chain meets the chain's channels (built for the input's instead: a swapped size)
    src = """
        from mylib.norms import LayerNorm
        class Predictor(nn.Module):
            def __init__(self, idim, n_chans):
                super().__init__()
                self.body = nn.Sequential(nn.Conv1d(idim, n_chans, 3, padding=1), nn.ReLU(), LayerNorm(n_chans, dim=1))
                self.proj = nn.Conv1d({proj}, 1, 1)
            def forward(self, x: Float[Tensor, "b idim t"]):
                reveal_shape(self.body(x))
                return self.proj(self.body(x))
    """
    assert reveals(src.format(proj="n_chans")) == ["b n_chans t"]
    assert codes(src.format(proj="n_chans")) == []
    assert codes(src.format(proj="idim")) == ["SHP107"]


def test_a_wrapper_named_for_a_norm_is_not_a_norm():
    # ``PreNorm(dim, fn)`` applies another module: what it gives is not known, nor is a function's (``layer_norm``)
    out = reveals("""
        from mylib.blocks import PreNorm, layer_norm_fn
        class Block(nn.Module):
            def __init__(self, dim, fn):
                super().__init__()
                self.pre = PreNorm(dim, fn)
            def forward(self, x: Float[Tensor, "b n dim"]):
                reveal_shape(self.pre(x))
                reveal_shape(layer_norm_fn(x))
    """)
    assert out == ["...", "..."], out


def test_layers_added_to_a_module_list_with_plus_equals_are_applied_in_turn():
    # ``self.conv += [nn.Sequential(...)]``: the layers are appended as by ``append``
    out = reveals("""
        class Stack(nn.Module):
            def __init__(self, c, width):
                super().__init__()
                self.conv = nn.ModuleList()
                self.conv += [nn.Sequential(nn.Conv1d(c, width, 1), nn.ReLU())]
            def forward(self, x: Float[Tensor, "b c t"]):
                for f in self.conv:
                    x = f(x)
                    reveal_shape(x)
    """)
    assert out == ["b width t"], out

