# fixed-bug reproduction: tl-squeeze-batch
"""TransformerLensOrg/TransformerLens, fixed in 3151108. Token ids come as (pos,) or (1, pos); to
drop the leading batch axis the code squeezes dim 1, the positions: a (1, pos) input stays
two-axis and fails the check below it, a (pos,) input has no dim 1 at all.

Expected: a diagnostic on the squeeze for the (1, pos) call below (a squeeze of an axis that is
not of size 1 is a no-op; the rank check after it then fails). No code names this yet; SHP104 is
the nearest.
"""

import torch


def token_strings(vocab, tokens):
    tokens = tokens.squeeze(dim=1)  # error: SHP104
    assert tokens.dim() == 1, f"expected one axis, got {tokens.shape}"
    return [vocab[t] for t in tokens.tolist()]


def show_prompt(vocab):
    return token_strings(vocab, torch.randint(0, len(vocab), (1, 7)))
