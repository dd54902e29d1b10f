"""The engine on scripts and helpers: sizes a script sets in its ``__main__`` block, helpers defined
inside a function that read its names, and one finding per place under several calls' shapes."""

from __future__ import annotations

from test_engine import codes, errors, reveals


def test_sizes_set_once_in_the_main_block_are_the_scripts_sizes():
    assert reveals("""
        def f():
            reveal_shape(torch.zeros(width, d_k, d_v, ff))

        if __name__ == "__main__":
            width = 8
            d_k = d_v = 16
            ff = 4 * d_k + width // 2
    """) == ["width d_k d_v ff"]  # named after their variables: the script may be run with others


def test_a_name_bound_twice_at_module_level_is_not_a_size_of_the_script():
    # set twice in the block, set at the top and again in the block, rebound by a function through ``global``
    assert reveals("""
        top = 2

        def f():
            reveal_shape(torch.zeros(steps, top, mode, 5))

        def set_mode(m):
            global mode
            mode = m

        if __name__ == "__main__":
            steps = 3
            steps = 4
            top = 6
            mode = 7
    """) == ["? ? ? 5"]


_SCRIPT_HEADS = """
        class Scores(torch.nn.Module):
            def forward(self, q, k):
                return torch.matmul(q, k)

        class Heads(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.W_Q = torch.nn.Linear(width, heads * head_size)
                self.W_K = torch.nn.Linear(width, heads * head_size)

            def forward(self, x):
                n = x.size(0)
                q = self.W_Q(x).view(n, -1, heads, head_size).transpose(1, 2)
                k = self.W_K(x).view(n, -1, heads, head_size).transpose(1, 2)
                return Scores()(q, k)

        if __name__ == "__main__":
            width = 32
            heads = 4
            head_size = 8
"""


def test_sizes_of_the_main_block_prove_an_untransposed_key():
    assert codes(_SCRIPT_HEADS) == ["SHP201"]


def test_a_helper_defined_in_the_body_reads_the_names_bound_before_it():
    assert reveals("""
        def attend(x, n_heads: int):
            bs, qlen, dim = x.size()
            per_head = dim // n_heads

            def split(t):
                return t.view(bs, -1, n_heads, per_head).transpose(1, 2)

            reveal_shape(split(x * 2))
    """) == ["bs n_heads (dim*qlen)//(n_heads*(dim//n_heads)) dim//n_heads"]


def test_a_helper_does_not_read_a_name_bound_after_it_or_twice_as_the_modules():
    # ``scale`` and ``heads`` are the function's own, not the module's 3; called in the function, the helper
    # reads them as they are at the call (``scale`` read off ``x``, ``heads`` bound last to 2)
    assert reveals("""
        scale = 3
        heads = 3

        def f(x):
            def grow(t):
                return torch.zeros(scale, heads) * t

            scale = x.shape[0]
            heads = 1
            heads = 2
            reveal_shape(grow(torch.ones(1)))
    """) == ["scale 2"]


def test_one_finding_per_place_under_several_calls():
    # the scores function fails under the heads module's call and again under the script's call through
    # it (a contraction its sizes prove wrong): one diagnostic
    out = codes(_SCRIPT_HEADS + "            Heads()(torch.randn(2, 5, width))\n")
    assert out in (["SHP201"], ["SHP101"])


def test_a_modules_forward_called_by_name_is_the_module_called():
    src = """
        class Stem(nn.Module):
            def __init__(self, n_in=3):
                super().__init__()
                self.conv1 = nn.Conv2d({conv})
            def forward(self, x):
                return self.conv1(x)

        if __name__ == "__main__":
            model = Stem(n_in=3)
            reveal_shape(model.forward(torch.randn(1, 3, 64, 64)))
    """
    assert reveals(src.format(conv="n_in, 64, 7, stride=2, padding=3")) == ["1 64 32 32"]
    assert [d.code for d in errors(src.format(conv="64, n_in, 7, stride=2, padding=3"))] == ["SHP107"]
