"""Layer factories: functions and tables that give a layer's class or instance chosen by a string or a flag
(``get_norm_layer("layernorm")(dim)``, ``_NORM_MAP[name]``, ``create_conv2d(cin, cout, k, **kwargs)``). Where
every choice has the same shape behaviour the call is that layer; where they differ only what all of them keep
is known, and a diagnostic is reported only when every choice gives it."""

from __future__ import annotations

from test_engine import codes, errors, reveals

_TABLE = """
    _PLANE = {{"batch": nn.BatchNorm2d, "instance": nn.InstanceNorm2d}}
    _MIXED = dict(batch=nn.BatchNorm2d, layer=nn.LayerNorm)

    def plane(name):
        return _PLANE[name]

    def f(x: Float[Tensor, "b 8 5 5"], name: str):
        {body}
"""


def test_a_table_of_classes_read_by_a_known_name_is_that_class():
    assert reveals(_TABLE.format(body='reveal_shape(_PLANE["batch"](8)(x))')) == ["b 8 5 5"]
    assert codes(_TABLE.format(body='_PLANE["batch"](4)(x)')) == ["SHP107"]
    assert reveals(_TABLE.format(body='reveal_shape(_MIXED["layer"](8)(x))')) == ["..."]  # the last axis is not 8


def test_a_table_read_by_an_unknown_name_gives_what_every_class_gives():
    assert reveals(_TABLE.format(body="reveal_shape(_PLANE[name](8)(x))")) == ["b 8 5 5"]
    # a LayerNorm(8) of "w" fails where a BatchNorm2d(8) runs: nothing reported, and past the call the
    # BatchNorm2d is the one that ran
    assert reveals(_TABLE.format(body="reveal_shape(_MIXED[name](8)(x))")) == ["b 8 5 5"]
    assert codes(_TABLE.format(body="_MIXED[name](8)(x)")) == []
    # where both may run, what both keep
    assert reveals(_TABLE.format(body="reveal_shape(_MIXED[name](5)(x[:, :5]))")) == ["b 5 5 5"]
    # an InstanceNorm2d without weights takes any channels: the call may run
    assert codes(_TABLE.format(body="_PLANE[name](4)(x)")) == []


def test_a_factory_called_with_a_name_only_is_the_layer_it_returns():
    assert reveals(_TABLE.format(body='reveal_shape(plane("batch")(8)(x))')) == ["b 8 5 5"]
    assert reveals(_TABLE.format(body='reveal_shape(plane("Batch".lower())(8)(x))')) == ["b 8 5 5"]
    assert codes(_TABLE.format(body='plane("batch")(4)(x)')) == ["SHP107"]
    assert reveals(_TABLE.format(body="reveal_shape(plane(name)(8)(x))")) == ["b 8 5 5"]


def test_a_choice_reports_only_what_every_option_reports():
    src = """
        def pick(kind):
            if kind == "layer":
                return nn.LayerNorm
            return nn.BatchNorm2d

        def f(x: Float[Tensor, "b 8 5 5"], kind: str):
            {body}
    """
    assert codes(src.format(body="pick(kind)(4)(x)")) == ["SHP107"]  # neither takes 8 channels nor a last axis of 4
    assert codes(src.format(body="pick(kind)(8)(x)")) == []  # BatchNorm2d(8) runs
    assert codes(src.format(body="pick(kind)(5)(x)")) == []  # LayerNorm(5) runs
    assert reveals(src.format(body='reveal_shape(pick("layer")(5)(x))')) == ["b 8 5 5"]


def test_past_a_choice_the_options_that_fail_on_its_arguments_did_not_run():
    # BLIP's self-attention: its keys come from a layer built for the encoder's width in cross-attention and
    # for the model's width otherwise; applied to the model's hidden states, only the second can run, and the
    # keys it gives are known, so the untransposed key after it is seen
    src = """
        class SelfAttention(nn.Module):
            def __init__(self, hidden_size: int, encoder_width: int, heads: int, cross: bool):
                super().__init__()
                self.heads, self.d = heads, hidden_size // heads
                self.query = nn.Linear(hidden_size, hidden_size)
                if cross:
                    self.key = nn.Linear(encoder_width, hidden_size)
                else:
                    self.key = nn.Linear(hidden_size, hidden_size)

            def split(self, x):
                return x.view(x.size(0), x.size(1), self.heads, self.d).permute(0, 2, 1, 3)

            def forward(self, h: Float[Tensor, "b t hidden_size"]):
                q = self.split(self.query(h))
                k = self.split(self.key(h))
                reveal_shape(k)
                return q @ k{t}
    """
    assert reveals(src.format(t=".transpose(-1, -2)")) == ["b heads t hidden_size//heads"]
    assert codes(src.format(t=".transpose(-1, -2)")) == []
    assert codes(src.format(t="")) == ["SHP201"]


def test_a_choice_of_layers_narrows_an_unknown_input_only_where_its_options_agree():
    # the key's layer is built for the encoder's width under a flag and for the model's otherwise: applied to
    # hidden states of unknown shape, either may run, so the states' width is not the first option's (which
    # the query's layer would then contradict); options that agree (a norm of one width) still narrow it
    src = """
        class SelfAttention(nn.Module):
            def __init__(self, hidden_size, encoder_width, cross):
                super().__init__()
                self.query = nn.Linear(hidden_size, hidden_size)
                if cross:
                    self.key = nn.Linear(encoder_width, hidden_size)
                else:
                    self.key = nn.Linear({other}, hidden_size)

            def forward(self, h):
                k = self.key(h)
                reveal_shape(h)
                q = self.query(h)
                return q @ k.transpose(-1, -2)
    """
    assert reveals(src.format(other="hidden_size")) == ["..."]
    assert codes(src.format(other="hidden_size")) == []
    assert reveals(src.format(other="encoder_width")) == ["... encoder_width"]
    assert codes(src.format(other="encoder_width")) == ["SHP107"]


def test_a_function_given_only_names_keeps_nothing_but_a_layer():
    src = """
        def width(kind):
            return 4 if kind == "small" else 8

        def f(x: Float[Tensor, "b 8"]):
            reveal_shape(nn.Linear(width("small"), 3)(x))
    """
    assert reveals(src) == ["b 3"]  # not "4": only a layer is kept of such a call
    assert codes(src) == []


_CONV = """
    def make_conv(cin, cout, k, **kw):
        if kw.pop("separable", False):
            return nn.Conv2d(cin, cout, k, groups=cin, **kw)
        return nn.Conv2d(cin, cout, k, padding=k // 2, **kw)

    class Net(nn.Module):
        def __init__(self, cin: int, cout: int):
            super().__init__()
            self.conv = make_conv(cin, cout, 3, stride=2)

        def forward(self, x: Float[Tensor, "b {c} h w"]):
            reveal_shape(self.conv(x))
"""


def test_a_convolution_built_with_options_passed_through_keeps_its_channels():
    # the keywords the call gives (``stride=2``) are those ``**kw`` passes on
    assert reveals(_CONV.format(c="cin")) == ["b cout (h-1)//2+1 (w-1)//2+1"]
    assert codes(_CONV.format(c="cout")) == ["SHP107"]


def test_options_passed_through_never_make_a_layer_of_sizes_given_by_name():
    src = """
        def f(x: Float[Tensor, "b 8 h w"], kw):
            reveal_shape(nn.Conv2d(8, 4, 3, **kw)(x))
            reveal_shape(nn.Conv2d(in_channels=8, out_channels=4, kernel_size=3, **kw)(x))
            reveal_shape(nn.Linear(8, 4, **kw)(x.permute(0, 2, 3, 1)))
    """
    assert reveals(src) == ["b 4 ? ?", "...", "b h w 4"]


def test_a_table_of_many_classes_read_by_an_unknown_name_is_unknown():
    # the options are not followed past eight: nothing is claimed of a choice among more
    classes = "".join(f"        class Norm{i}(nn.BatchNorm2d):\n            pass\n" for i in range(8))
    entries = ", ".join(f'"bn{i}": Norm{i}' for i in range(8)) + ', "ln": nn.LayerNorm'
    src = "\n" + classes + f"""
        _MANY = {{{entries}}}

        def f(x: Float[Tensor, "b 8 5 5"], name: str):
            reveal_shape(_MANY[name](8)(x))
            _MANY[name](5)(x)  # a BatchNorm2d(5) fails, the LayerNorm(5) runs
    """
    assert reveals(src) == ["..."]
    assert codes(src) == []


def test_what_may_return_a_layer_is_read_from_the_text():
    import ast
    import textwrap

    from shapecheck._engine._callables import may_give_layer

    def gives(src: str) -> bool:
        return may_give_layer(ast.parse(textwrap.dedent(src)).body[0])

    assert gives("def f(name):\n    return _NORMS[name]")
    assert gives("def f(c, k):\n    m = nn.Conv2d(c, c, k) if k else Conv2dSame(c, c, k)\n    return m")
    assert gives("def f(kind):\n    if kind == 'ln':\n        return nn.LayerNorm\n    return None")
    assert not gives("def f(n):\n    return n")
    assert not gives("def f(name):\n    return name.upper()")
    assert not gives("def f(name):\n    def g():\n        return nn.ReLU\n    return g")


def test_a_module_level_name_of_a_layer_class_is_that_class_in_functions_and_methods():
    # ``BatchNorm2d = nn.BatchNorm2d`` (or a synchronised norm imported under that name): a chain built with it in
    # a factory or a constructor is the chain of those layers
    src = """
        BatchNorm2d = nn.BatchNorm2d

        def conv_bn(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=False), BatchNorm2d(cout), nn.ReLU())

        class Block(nn.Module):
            def __init__(self, cin, cmid, cout):
                super().__init__()
                self.a = conv_bn(cin, cmid)
                self.b = nn.Sequential(nn.Conv2d(cmid, cmid, 1), BatchNorm2d({norm}))
            def forward(self, x):
                reveal_shape(self.a(x))
                return self.b(self.a(x))
    """
    assert reveals(src.format(norm="cmid")) == ["... cmid ? ?"]
    assert codes(src.format(norm="cout")) == ["SHP107"]
    # bound twice (to what a helper picks, later), the name is not one class: nothing is taken from it
    twice = src.replace("BatchNorm2d = nn.BatchNorm2d", "BatchNorm2d = nn.BatchNorm2d\n        BatchNorm2d = pick_norm()")
    assert twice != src and codes(twice.format(norm="cout")) == []


def test_a_library_layer_extended_with_a_mixin_is_that_layer():
    src = """
        class RelevanceMixin(nn.Module):
            def relprop(self, r):
                return r

        class Linear(nn.Linear, RelevanceMixin):
            pass

        class Mlp(nn.Module):
            def __init__(self, d, h):
                super().__init__()
                self.fc1 = Linear(d, h)
                self.fc2 = Linear({fc2})
            def forward(self, x):
                reveal_shape(self.fc1(x))
                return self.fc2(self.fc1(x))
    """
    assert reveals(src.format(fc2="h, d")) == ["... h"]
    assert codes(src.format(fc2="d, h")) == ["SHP107"]


def test_an_unread_synchronised_batch_norm_and_a_layer_from_a_star_import_are_the_library_s(tmp_path):
    # the classes come from the repository's own modules, which a file linted alone cannot read: a batch norm
    # synchronised across devices normalises axis 1 as the library's does, and a star import's ``Conv2d`` is
    # named after the library layer, as an explicit import of one is
    src = """
        from lib.nn import SynchronizedBatchNorm2d
        from layers_ours import *
        BatchNorm2d = SynchronizedBatchNorm2d

        class Block(nn.Module):
            def __init__(self, cin, cmid):
                super().__init__()
                self.conv = Conv2d(cin, cmid, 3, padding=1)
                self.norm = BatchNorm2d({norm})
            def forward(self, x):
                reveal_shape(self.conv(x))
                return self.norm(self.conv(x))
    """
    from shapecheck._engine._project import Project
    from test_engine import run

    user = tmp_path / "block.py"
    found = {}
    for norm in ("cmid", "cin"):
        user.write_text(src.format(norm=norm))
        found[norm] = run(src.format(norm=norm), path=str(user), project=Project([user], roots=[str(tmp_path)]))
    assert [d.message for d in found["cmid"] if d.code == "reveal"] == ["... cmid ? ?"]
    assert [d.code for d in found["cmid"] if d.code != "reveal"] == []
    assert [d.code for d in found["cin"] if d.code != "reveal"] == ["SHP107"]


def test_a_helper_s_size_written_in_a_layer_s_call_is_named_after_the_call():
    # ``make_divisible`` of the code: its int, the same wherever the same call is written
    src = """
        def make_divisible(v, d=8):
            return max(d, int(v + d / 2) // d * d)

        class SqueezeExcite(nn.Module):
            def __init__(self, channels, r=4):
                super().__init__()
                self.fc = nn.Sequential(nn.Linear(channels, make_divisible(channels // r)), nn.ReLU(),
                                        nn.Linear({second}, channels))
            def forward(self, x):
                return x * self.fc(x.mean((2, 3)))[:, :, None, None]
    """
    assert codes(src.format(second="make_divisible(channels // r)")) == []
    out = errors(src.format(second="channels"))
    assert [d.code for d in out] == ["SHP107"] and "make_divisible(channels // r)" in out[0].message
    # a library's int (``int``, ``math.ceil``) is not a helper's: its value is what the sizes make
    lib = src.replace("make_divisible(channels // r)", "int(channels * 0.25)")
    assert codes(lib.format(second="int(channels * 0.25)")) == []


def test_zipped_layers_are_applied_in_turn():
    src = """
        from itertools import zip_longest

        class Block(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.net = nn.Linear(dim, dim)
            def forward(self, x, extra=None):
                return self.net(x) + x

        class Model(nn.Module):
            def __init__(self, dim, depth, n_out):
                super().__init__()
                self.layers = nn.ModuleList([])
                for _ in range(depth):
                    self.layers.append(Block(dim))
                self.norm = nn.LayerNorm(dim)
                self.head = nn.Linear({head})
            def forward(self, x, extras=()):
                x = self.norm(x)
                z = x
                for layer, e in zip(self.layers, extras):
                    z = layer(z, e)
                reveal_shape(z)
                w = x
                for layer, e in zip_longest(self.layers, extras):
                    w = layer(w, extra=e)
                return self.head(w)
    """
    assert reveals(src.format(head="dim, n_out")) == ["... dim"]
    assert codes(src.format(head="n_out, dim")) == ["SHP107"]


def test_a_layer_that_is_one_of_two_keeps_a_chain_checked():
    # ``nn.BatchNorm2d(c) if bn else nn.Identity()`` inside ``nn.Sequential``: the chain goes on through it, where it
    # is built and where it is called (a module of the code as an option too)
    src = """
        class Gate(nn.Module):
            def __init__(self, ch):
                super().__init__()
                self.fc = nn.Linear(ch, ch)
            def forward(self, x):
                return x * self.fc(x.mean((2, 3)))[:, :, None, None]

        class Block(nn.Module):
            def __init__(self, hidden, oup, bn, gate):
                super().__init__()
                self.a = nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1),
                                       nn.BatchNorm2d(hidden) if bn else nn.Identity(),
                                       nn.ReLU(), nn.Conv2d({last}, oup, 1), nn.BatchNorm2d(oup))
                self.b = nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1), Gate(hidden) if gate else nn.Identity(),
                                       nn.Conv2d({last}, oup, 1))
            def forward(self, x):
                return self.a(x) + self.b(x)
    """
    assert codes(src.format(last="hidden")) == []
    out = errors(src.format(last="oup"))
    assert [d.code for d in out] == ["SHP107", "SHP107"]
    assert len({d.line for d in out}) == 2  # the first chain where it is built, the second where it is called
