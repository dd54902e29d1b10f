"""Losses: cross_entropy, nll_loss, mse/l1/smooth_l1/huber, kl_div, binary cross-entropy (function and module)."""

from __future__ import annotations

from .._shape import Shape
from ._registry import Site, module_rule, qd, shape_rule
from ._util import axes, build, known

_INT = ("long", "int", "int64", "int32", "torch.long", "torch.int64", "torch.int32", "torch.int", "int16",
        "torch.int16", "uint8", "torch.uint8")


def _reduction(reduction, size_average=None, reduce=None) -> str | None:
    if reduce is False:
        return "none"
    if reduce is True or size_average is not None:
        return "mean"
    return reduction if isinstance(reduction, str) else None


def _show(s: Shape) -> str:
    return "(" + ", ".join(str(d) for d in s.dims) + ")"


def _class_loss(site: Site, input, target, reduction: str | None, what: str, probs_ok: bool):
    if not known(input) or not known(target):
        return None
    if input.rank == 0:
        site.error("SHP104", f"{what} expects logits with a class axis, got a scalar")
        return None
    dtype = str(target.get_meta("dtype")) if target.get_meta("dtype") is not None else None
    if target.rank == input.rank and probs_ok:
        if dtype in _INT:
            site.error("SHP110", f"{what} gets integer targets of the input's shape {_show(input)}; class "
                                 f"indices drop the class axis (axis 1)",
                       notes=(f"{target.label or 'the target'} has shape ({target})",))
            return None
        for i in range(input.rank):
            if site.unify(input.dims[i], target.dims[i]) is False:
                site.error("SHP110", f"{what} with class probabilities needs a target of the input's shape, got "
                                     f"{qd(site.resolve(target.dims[i]))} for {qd(site.resolve(input.dims[i]))}",
                           notes=(site.axis_note(input, i), site.axis_note(target, i)))
                return None
        out = build(axes(input)[:1] + axes(input)[2:]) if input.rank > 1 else Shape(())
    elif target.rank == input.rank - 1:
        ia = axes(input)
        want = ia[:1] + ia[2:] if input.rank > 1 else []
        for i, ((w, _), t) in enumerate(zip(want, target.dims)):
            if site.unify(w, t) is False:
                src = 0 if i == 0 else i + 1
                site.error("SHP110", f"{what} expects targets of shape {_show(build(want))} for input {_show(input)} "
                                     f"(classes on axis 1), got {_show(target)}",
                           notes=(site.axis_note(input, src), site.axis_note(target, i)),
                           help=("for (batch, seq, classes) logits, pass `logits.transpose(1, 2)` or flatten both"
                                 if input.rank == 3 else None))
                return None
        out = target if input.rank > 1 else Shape(())
    else:
        site.error("SHP104", f"{what} expects targets of {input.rank - 1} axes (class indices)"
                             + (f" or {input.rank} (probabilities)" if probs_ok else "") + f", got {target.rank}",
                   notes=(f"{input.label or 'the input'} has shape ({input})",
                          f"{target.label or 'the target'} has shape ({target})"))
        return None
    if reduction is None:
        return None
    if reduction == "none":
        return out if out is target else build(axes(out))
    return Shape(())


@shape_rule("torch.nn.functional.cross_entropy",
            ok=["b c, b -> ()", "b c, b | reduction='none' -> b", "b c t, b t | reduction='none' -> b t",
                "b c, b c -> ()", "c, () | reduction='none' -> ()"],
            bad=["b t c, b t ! SHP110", "b c, n ! SHP110", "b c, b c 1 ! SHP104"])
def cross_entropy(site: Site, input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0) -> Shape | None:
    """``F.cross_entropy(logits, target)``: logits ``(N, C, d...)`` (classes on axis 1) or ``(C,)``; the target is
    class indices ``(N, d...)`` or probabilities of the logits' shape. Scalar unless ``reduction='none'``."""
    return _class_loss(site, input, target, _reduction(reduction, size_average, reduce), "cross_entropy", True)


@shape_rule("torch.nn.functional.nll_loss",
            ok=["b c, b -> ()", "b c t, b t | reduction='none' -> b t"], bad=["b t c, b t ! SHP110", "b c, b c ! SHP104"])
def nll_loss(site: Site, input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean") -> Shape | None:
    """``F.nll_loss(log_probs, target)``: ``(N, C, d...)`` with class indices ``(N, d...)``."""
    return _class_loss(site, input, target, _reduction(reduction, size_average, reduce), "nll_loss", False)


@module_rule("torch.nn.CrossEntropyLoss", init="weight=None, size_average=None, ignore_index=-100, reduce=None, "
                                                "reduction='mean', label_smoothing=0.0",
             ok=["init: | b c, b -> ()", "init: reduction='none' | b c t, b t -> b t"], bad=["init: | b t c, b t ! SHP110"])
def CrossEntropyLoss(site: Site, init: dict, input, target) -> Shape | None:
    """``nn.CrossEntropyLoss(reduction=...)``; see ``F.cross_entropy``."""
    r = _reduction(init.get("reduction"), init.get("size_average"), init.get("reduce"))
    return _class_loss(site, input, target, r, "cross_entropy", True)


@module_rule("torch.nn.NLLLoss", init="weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean'",
             ok=["init: | b c, b -> ()"], bad=["init: | b t c, b t ! SHP110"])
def NLLLoss(site: Site, init: dict, input, target) -> Shape | None:
    """``nn.NLLLoss(reduction=...)``; see ``F.nll_loss``."""
    r = _reduction(init.get("reduction"), init.get("size_average"), init.get("reduce"))
    return _class_loss(site, input, target, r, "nll_loss", False)


def _pointwise(site: Site, input, target, reduction: str | None, what: str, strict: bool):
    if not isinstance(input, Shape) or not isinstance(target, Shape):
        return None
    if strict:
        if input.rank is not None and target.rank is not None and (
                input.rank != target.rank or any(site.compare(a, b) == "ne" for a, b in zip(input.dims, target.dims))):
            site.error("SHP110", f"{what} needs a target of the input's shape, got ({target}) for ({input})")
            return None
        out = input
    else:
        out = site.broadcast(input, target, what=what)
        if site.failed:
            return None
    if reduction is None:
        return None
    if reduction == "none":
        return out
    return Shape(())


def _register_pointwise(name: str, module: str, strict: bool, extra: str = "") -> None:
    def f(site: Site, input, target, *args, **kwargs):
        red = kwargs.get("reduction", "mean")
        return _pointwise(site, input, target, _reduction(red, kwargs.get("size_average"), kwargs.get("reduce")),
                          name, strict)

    f.__name__ = name
    f.__doc__ = (f"``F.{name}(input, target)``: " + ("the shapes must be equal" if strict else "the shapes broadcast")
                 + "; the result is a scalar unless ``reduction='none'``" + (" (``'batchmean'`` is a scalar)" if extra else "")
                 + ".")
    ok = ["b n, b n -> ()", "b n, b n | reduction='none' -> b n", "b n, b n | reduction='sum' -> ()"]
    if not strict:
        ok.append("b n, n | reduction='none' -> b n")
    bad = ["b n, b m ! SHP110"] if strict else ["b n, b m ! SHP102"]
    shape_rule(f"torch.nn.functional.{name}", ok=ok, bad=bad)(f)

    def m(site: Site, init: dict, input, target):
        r = _reduction(init.get("reduction", "mean"), init.get("size_average"), init.get("reduce"))
        return _pointwise(site, input, target, r, name, strict)

    m.__name__ = module
    m.__doc__ = f"``nn.{module}(reduction=...)``; see ``F.{name}``."
    module_rule(f"torch.nn.{module}", init="*args, reduction='mean', size_average=None, reduce=None, **kwargs",
                ok=["init: | b n, b n -> ()", "init: reduction='none' | b n, b n -> b n"],
                bad=["init: | b n, b m ! " + ("SHP110" if strict else "SHP102")])(m)


for _name, _module, _strict in (("mse_loss", "MSELoss", False), ("l1_loss", "L1Loss", False),
                                ("smooth_l1_loss", "SmoothL1Loss", False), ("huber_loss", "HuberLoss", False),
                                ("kl_div", "KLDivLoss", False), ("binary_cross_entropy", "BCELoss", True),
                                ("binary_cross_entropy_with_logits", "BCEWithLogitsLoss", True)):
    _register_pointwise(_name, _module, _strict, "batchmean" if _name == "kl_div" else "")
