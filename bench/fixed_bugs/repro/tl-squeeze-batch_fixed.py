# fixed-bug reproduction (fixed version): tl-squeeze-batch
import torch


def token_strings(vocab, tokens):
    tokens = tokens.squeeze(dim=0) if tokens.dim() == 2 else tokens
    assert tokens.dim() == 1, f"expected one axis, got {tokens.shape}"
    return [vocab[t] for t in tokens.tolist()]


def show_prompt(vocab):
    return token_strings(vocab, torch.randint(0, len(vocab), (1, 7)))
