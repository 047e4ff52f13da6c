"""Per-layer attribution: which layer loses the symmetry. Guide: docs/attribution.md.

A model declares its covariant layers in `activation_irreps()` → {submodule name: spec}, in forward order. A spec is
a representation — a `clariant_core.Rep`, an `Irreps` (or its string), "vector" (real four-vectors on the last axis,
transforming with Λ = to_so13(M)) or "scalar" (invariant features), read once by `Rep.parse` — or a pair
`(representation, selector)` for layers whose output is not the activation itself: an int indexes a tuple output, a
callable `selector(output, batch_size)` returns the activation (and may reshape a flattened `[B·N, …]` tensor back to
`[B, N, …]`).

Forward hooks record each declared layer on x and on Λx. An activation is per particle, `[B, N', …, dim]` with
N' ≥ N (model-internal particles, such as the LGN's beams, come first and are compared too; padding is not), or per
jet, `[B, …, dim]`; dict outputs {Irrep: [B, N, τ, d]} are flattened in the Irreps' order. Each layer's equivariance
error per jet is ‖a(Λx) − ρ(M') a(x)‖ / ‖ρ(M') a(x)‖, with M' = L(Λx) M L(x)⁻¹ for models that evaluate in an
input-dependent frame and declare it through `activation_frame(p, mask)` (SL(2,C) L per jet), else M' = M. Nothing
here depends on the LGN's internals.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

import clariant_core as cc
from clariant_core.devices import model_device, resolve_device

from . import representations as reps
from .evaluation import check_jets
from .exact import lorentz_apply
from .measures import dtype_name
from .statistics import p95
from .workers import cpu_particles_per_call


@dataclass(frozen=True)
class LayerError:
    name: str
    irreps: str  # the declared representation as printed: an Irreps string, "vector" or "scalar"
    median: float
    p95: float
    max: float


@dataclass
class Attribution:
    layers: list[LayerError]
    threshold: float
    transform: str
    dtype: str

    @property
    def first_broken(self) -> str | None:
        """The first declared layer (forward order) whose p95 error exceeds the threshold (non-finite counts)."""
        for layer in self.layers:
            if not layer.p95 <= self.threshold:
                return layer.name
        return None


@dataclass(frozen=True)
class _Layer:
    name: str
    rep: cc.Rep
    selector: int | Callable | None


def default_element() -> torch.Tensor:
    """A generic element (boost of rapidity 1 along (1,2,2)/3 after a rotation by 1.1 about (−2,1,2)/3)."""
    return cc.sl2c(boost=torch.tensor([1.0, 2.0, 2.0], dtype=torch.float64) / 3) @ cc.sl2c(
        rotation=torch.tensor([-2.0, 1.0, 2.0], dtype=torch.float64) / 3 * 1.1
    )


def _declared(model) -> list[_Layer]:
    out = []
    for name, spec in model.activation_irreps().items():
        rep, selector = spec if isinstance(spec, tuple) else (spec, None)
        if isinstance(spec, tuple) and len(spec) != 2:
            raise ValueError(f"activation_irreps()[{name!r}] must be a representation or (representation, selector)")
        if selector is not None and not (callable(selector) or isinstance(selector, int)):
            raise ValueError(
                f"activation_irreps()[{name!r}]: the selector must be an int (tuple index) or a callable "
                f"selector(output, batch_size), got {type(selector).__name__}"
            )
        try:
            rep = cc.Rep.parse(rep)
        except ValueError as e:
            raise ValueError(f"activation_irreps()[{name!r}]: {e}") from None
        out.append(_Layer(name, rep, selector))
    return out


def _needs_conversion(model: torch.nn.Module, dtype: torch.dtype) -> bool:
    """Whether any floating parameter or buffer is not in `dtype` (complex ones: not in its complex counterpart)."""
    want = {False: dtype, True: cc.complex_of(dtype)}
    tensors = [*model.parameters(), *model.buffers()]
    return any(t.dtype != want[t.is_complex()] for t in tensors if t.is_floating_point() or t.is_complex())


def _submodule(net: torch.nn.Module, name: str) -> torch.nn.Module:
    try:
        return net.get_submodule(name)
    except AttributeError:
        names = [n for n, _ in net.named_modules() if n]
        shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
        raise ValueError(
            f"activation_irreps() names {name!r}, which is not a submodule of {type(net).__name__} "
            f"(its submodules: {shown or 'none'})"
        ) from None


def _select(layer: _Layer, out, batch: int) -> torch.Tensor:
    """The activation of one layer's output as one tensor (dicts flattened), detached from later in-place edits."""
    if layer.selector is None and isinstance(out, (tuple, list)):
        raise ValueError(
            f"layer {layer.name!r} returns a {type(out).__name__} of {len(out)} items: declare it in "
            f"activation_irreps() as (representation, index) or (representation, selector)"
        )
    if isinstance(layer.selector, int):
        try:
            out = out[layer.selector]
        except (IndexError, KeyError, TypeError) as e:
            raise ValueError(
                f"layer {layer.name!r}: selector index {layer.selector} does not apply to its output ({e})"
            ) from None
    elif layer.selector is not None:
        out = layer.selector(out, batch)
    a = reps.flatten(out, layer.rep)
    if not isinstance(a, torch.Tensor):
        raise ValueError(f"layer {layer.name!r}: the activation is a {type(a).__name__}, not a tensor")
    return a.detach().to("cpu", copy=True)


def _layout(
    layer: _Layer, a: torch.Tensor, mask: torch.Tensor, per_particle: bool | None = None
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """(activation [B, P, dim], weights [B, P, 1]: 1 on real and model-internal particles and on per-jet rows,
    whether it was read per particle). `per_particle`: as an earlier forward of the same attribution read the layer
    (None: from the shape, per particle when its second axis holds at least the mask's N)."""
    b, n = mask.shape
    if a.ndim < 2 or a.shape[0] != b:
        hint = ""
        if a.ndim >= 1 and a.shape[0] != b and a.shape[0] % b == 0:
            hint = (
                f"; a flattened [B·N, …] activation needs a selector reshaping it, e.g. "
                f"('{layer.rep}', lambda out, batch_size: out.reshape(batch_size, -1, {a.shape[-1]}))"
            )
        raise ValueError(
            f"layer {layer.name!r} emits {tuple(a.shape)}: expected [B={b}, N, …, dim] or [B={b}, …, dim]{hint}"
        )
    if not layer.rep.fits(a.shape[-1]):
        raise ValueError(
            f"layer {layer.name!r} emits {tuple(a.shape)}, but its declared representation {layer.rep} has "
            f"dimension {layer.rep.dim} on the last axis"
        )
    dim = a.shape[-1]
    fits = a.ndim >= 3 and a.shape[1] >= n
    if per_particle is None:
        per_particle = fits
    elif per_particle and not fits:
        raise _LayerCalls(
            f"layer {layer.name!r} emits {tuple(a.shape)} on jets of {n} particles, after per-particle activations "
            "on longer jets"
        )
    if per_particle:  # model-internal particles come first
        extra = a.shape[1] - n
        w = torch.cat([mask.new_ones(b, extra), mask], 1).to(torch.float64)
        k = math.prod(a.shape[2:-1])
        return a.reshape(b, -1, dim), w.repeat_interleave(k, 1)[..., None], True
    return a.reshape(b, -1, dim), torch.ones(b, 1, 1, dtype=torch.float64), False


def _run(net, layers: list[_Layer], x: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """One forward with hooks; {layer name: activation}. Raises naming a layer that did not run, or ran twice."""
    records: dict[str, list] = {layer.name: [] for layer in layers}
    b = x.shape[0]

    def hook_of(layer):
        return lambda mod, args, out: records[layer.name].append(_select(layer, out, b))

    handles = [_submodule(net, layer.name).register_forward_hook(hook_of(layer)) for layer in layers]
    try:
        with torch.no_grad():
            net(x, mask)
    finally:
        for h in handles:
            h.remove()
    for layer in layers:
        got = len(records[layer.name])
        if got == 0:
            raise _LayerCalls(
                f"layer {layer.name!r} did not run in forward: model(p, mask) never called this submodule"
            )
        if got > 1:
            raise ValueError(
                f"layer {layer.name!r} ran {got} times in one forward: attribution compares one activation per "
                "forward — declare a submodule that runs once, or pick one call's output in a parent's selector"
            )
    return {name: r[0] for name, r in records.items()}


class _LayerCalls(ValueError):
    """A declared layer that did not run in a forward, or changed its kind of activation between forwards (the
    message; `attribute` adds how the model was run)."""


def _calls(mask: torch.Tensor, trim: bool, dtype: torch.dtype, device: torch.device) -> list[tuple[torch.Tensor, int]]:
    """The forwards `attribute` makes: (jets, width) pairs. Untrimmed, one forward of every jet at the given width.
    Trimmed, the jets by the position of their last real particle, in forwards cut to the widest of theirs (trailing
    padding only is cut: the particles the model sees keep their order), on the CPU each of at most
    `cpu_particles_per_call` particles — the shipped LGN's 256 validation jets at width 100 (45 real particles on
    average) took 1.4 s, mostly padding. The longest jets come first and keep the full width: a layer is read per
    particle or per jet there exactly as without trimming (`_layout`), and the other forwards read it the same way."""
    jets, n = mask.shape
    if not trim or jets == 0 or device.type != "cpu":  # elsewhere the device runs all jets in one forward
        return [(torch.arange(jets), n)]
    spans = torch.where(mask, torch.arange(1, n + 1), 0).amax(1)
    order = torch.argsort(spans, descending=True, stable=True)
    budget = cpu_particles_per_call(dtype)
    out, start = [], 0
    for stop in range(1, jets + 1):  # the first forward's width is n, the others' their first (longest) jet's
        width = n if not out else max(int(spans[order[start]]), 1)
        if stop == jets or (stop + 1 - start) * width > budget:
            out.append((order[start:stop], width))
            start = stop
    return out


def _pooled(net, layers, x, xl, mask, m, device, dtype, calls) -> dict[str, list[torch.Tensor]]:
    """Each layer's errors per jet from every forward of `calls` (`_calls`), one tensor per forward."""
    errors: dict[str, list[torch.Tensor]] = {layer.name: [] for layer in layers}
    kinds: dict[str, bool] = {}
    for rows, width in calls:
        part = _errors(net, layers, x[rows, :width], xl[rows, :width], mask[rows, :width], m, device, dtype, kinds)
        for name, err in part.items():
            errors[name].append(err)
    return errors


def _errors(net, layers, x, xl, mask, m, device, dtype, kinds: dict[str, bool]) -> dict[str, torch.Tensor]:
    """Each layer's equivariance error per jet `[B]` (float64) on jets x (their images xl = Λx) in one forward each.
    `kinds`: whether each layer is read per particle, filled by the first forward and followed by the rest."""
    on = mask.to(device)
    a0s = _run(net, layers, x.to(device, dtype), on)
    a1s = _run(net, layers, xl.to(device, dtype), on)
    if hasattr(net, "activation_frame"):
        l0 = net.activation_frame(x.to(device), on).to("cpu", torch.complex128)
        l1 = net.activation_frame(xl.to(device), on).to("cpu", torch.complex128)
        m_act = l1 @ m @ cc.inverse_sl2c(l0)
        # a product of large factors: its determinant is 1 only to u·‖L₁‖²‖M‖²‖L₀‖²; project back onto SL(2,C)
        det = m_act[:, 0, 0] * m_act[:, 1, 1] - m_act[:, 0, 1] * m_act[:, 1, 0]
        m_act = m_act / torch.sqrt(det)[:, None, None]
    else:
        m_act = m.expand(x.shape[0], 2, 2)
    out = {}
    for layer in layers:
        a0, w, kinds[layer.name] = _layout(layer, a0s[layer.name], mask, kinds.get(layer.name))
        a1, _, _ = _layout(layer, a1s[layer.name], mask, kinds[layer.name])
        if a0.shape != a1.shape:
            raise ValueError(f"layer {layer.name!r} emits {tuple(a0.shape)} on x but {tuple(a1.shape)} on Λx")
        a0, a1, w = a0.to(torch.complex128), a1.to(torch.complex128), w.to(a0.device)
        rho = None if layer.rep.is_invariant else layer.rep.matrix(m_act.to(a0.device))  # ρ(M') [B, dim, dim]
        expected = (a0 if rho is None else torch.einsum("bij,bpj->bpi", rho.to(torch.complex128), a0)) * w
        diff = (a1 * w - expected).reshape(x.shape[0], -1).norm(dim=-1)
        err = diff / expected.reshape(x.shape[0], -1).norm(dim=-1).clamp_min(torch.finfo(torch.float64).tiny)
        out[layer.name] = torch.where(torch.isfinite(err), err, torch.inf).cpu()  # a NaN activation is a finding
    return out


def attribute(
    model,
    p,
    mask,
    m: torch.Tensor | None = None,
    *,
    dtype=torch.float64,
    threshold=None,
    device=None,
    trim_padding: bool = False,
) -> Attribution:
    """Equivariance error of every declared layer under one SL(2,C) element m (default: `default_element()`).

    p: [B, N, 4] four-momenta, mask: [B, N] bool (real particles). The model runs in `dtype` on `device` (default:
    where it lives; inputs are sent there, activations come back to the CPU): a module already in that dtype on that
    device is hooked itself (hooks of its own fire as usual), run in eval mode and given back in the mode it came
    in; otherwise an eval-mode copy (`copy.deepcopy(model).to(device, dtype)`) is hooked by submodule name. A layer
    counts as breaking when its p95 error exceeds `threshold` (default √u of the dtype × cosh²(y), far above
    rounding, far below a symmetry bug). `trim_padding=True`: on the CPU jets of similar length run together, their
    trailing padding cut (`_calls`) — for models whose output does not depend on how much padding follows the
    particles, as the Lorentz sweep assumes by default; a model whose declared layers do not run, or change shape,
    on jets cut that way is run untrimmed. False, and on other devices: every jet at the width given, in one forward.
    p and mask are checked as the Lorentz sweep checks them (bool mask, finite four-momenta with E ≥ |p⃗|, no empty
    jet) before anything runs."""
    if not hasattr(model, "activation_irreps"):
        raise ValueError("per-layer attribution needs model.activation_irreps() → {submodule name: representation}")
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"per-layer attribution hooks submodules: the model must be a torch.nn.Module, not {model!r}")
    check_jets(p, mask)  # before any forward: the jet and field named as given (trimmed forwards reorder the jets)
    m = default_element() if m is None else cc.check_sl2c(m.to(torch.complex128), "m")
    y = float(torch.acosh(cc.to_so13(m)[0, 0].clamp_min(1.0)))
    threshold = math.sqrt(torch.finfo(dtype).eps) * math.cosh(y) ** 2 if threshold is None else threshold
    home = model_device(model) or torch.device("cpu")
    device = home if device is None else resolve_device(device)
    net, converted = model, ""
    if _needs_conversion(model, dtype) or device != home:
        net = copy.deepcopy(model).to(device, dtype).eval()  # the caller's module stays as it was
        converted = (
            f" (attribute() ran an eval-mode {dtype_name(dtype)} copy of the model on {device}, "
            f"copy.deepcopy(model).to({device}, {dtype}), hooked by "
            "submodule name: a forward that calls modules held outside the model's own tree bypasses the copy — "
            f"convert the model yourself, or pass the model's dtype as dtype=)"
        )
    layers = _declared(net)
    x = p.to(torch.float64)
    xl = lorentz_apply(m[None], x)[0]  # rounded once from the exact action of M
    modes = [(mod, mod.training) for mod in net.modules()]
    net.eval()  # dropout and batch-norm updates off, as the model is deployed; each submodule's mode restored below
    try:
        try:
            errors = _pooled(net, layers, x, xl, mask, m, device, dtype, _calls(mask, trim_padding, dtype, device))
        except _LayerCalls:
            if not trim_padding:
                raise
            # a model that takes another path on jets without padding (a declared layer skipped, or emitting
            # another shape): every jet at the width given, as untrimmed
            errors = _pooled(net, layers, x, xl, mask, m, device, dtype, _calls(mask, False, dtype, device))
    except _LayerCalls as e:
        raise ValueError(f"{e}{converted}") from None
    finally:
        for mod, mode in modes:
            mod.training = mode
    out = []
    for layer in layers:
        err = torch.cat(errors[layer.name])
        out.append(LayerError(layer.name, str(layer.rep), float(err.median()), p95(err), float(err.max())))
    return Attribution(out, threshold, f"SL(2,C) element with rapidity {y:.3g}", dtype_name(dtype))
