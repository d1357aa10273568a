"""One training step for K stacked autoencoders, with its gradients derived by hand.

Why not autograd: a step is a few hundred thousand floating-point operations on 263 parameters per model, and
autograd spends ~550 ATen calls per step on it, nearly all dispatch and graph bookkeeping. The network and the
five loss terms are fixed (SPEC sections 3-4), so their backward pass fits in one function, each gradient
formula beside the quantity it differentiates. Autograd stays in the tests as the reference.

Notation, per model (every line runs for all K models at once; shapes (K, B, .)):
    h1 = x W1 + b1,  a1 = gelu(h1),  z = a1 W2 + b2            encoder; z is the "encoder" tap
    n = |z|,  c = max(n, 1e-12),  u = z / c                     u is the "bottleneck" tap
    h2 = u W3 + b3,  a2 = gelu(h2),  y = a2 W4 + b4             decoder; linear output
    L = recon + sum_k w_k R_k                                    w_k per model: 0 when the term is off
dX means dL/dX. Every reduction stays within one model (bmm, sums over its own batch), never across models,
and every elementwise operation is correctly rounded, so a model's numbers do not depend on which models
share its batch. Scalars are 0-dim tensors made once: a Python number costs a conversion on every call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

import torch
from torch import Tensor

from .designs import PLACED_TERMS
from .losses import RED_DIRECTION, TERMS
from .model import LATENT_DIMS, LAYERS

EPS_NORM = 1e-12  # u = z / max(|z|, 1e-12), as model.unit_length
SAME = 1 - 1e-5  # separate: cosines at or above this are a sample with itself or a duplicate, zeroed
ROW = ("recon", *TERMS)  # the loss terms a step writes per model, in this order
TAPS = ("encoder", "bottleneck")
ROW_INDEX = {name: i for i, name in enumerate(ROW)}


ALIGN = 16  # floats: 64 bytes


def aligned_empty(k: int, *shape: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """An empty (k, *shape) tensor whose k blocks each start on a 64-byte boundary (row-major within a block).

    Why: BLAS picks its kernel by the alignment of the output, and kernels round differently. Contiguous
    (K, 3, B) blocks start at offsets 3B k, so with B odd model k's product would depend on k and K; aligned
    blocks make each model's matrix products the same whatever batch it is in (tests/test_train.py checks)."""
    size = math.prod(shape)
    stride = -(-size // ALIGN) * ALIGN
    inner = [math.prod(shape[i + 1 :]) for i in range(len(shape))]
    return torch.empty(k * stride, dtype=dtype).as_strided((k, *shape), (stride, *inner))


@dataclass(frozen=True)
class Routing:
    """Per placed term (separate, anchor, planar), which models read the bottleneck: (K,) bool.

    A tap that no model reads for a term costs nothing. Where models disagree, each takes its own tap by a lerp
    with weight 0 or 1, which copies values exactly, so mixing designs in one batch changes no model's numbers.
    """

    on_bottleneck: dict[str, Tensor]

    def taps(self, term: str) -> tuple[str, ...]:
        """The taps some model reads `term` on, in TAPS order."""
        mask = self.on_bottleneck[term]
        return tuple(tap for tap, used in zip(TAPS, (not bool(mask.all()), bool(mask.any()))) if used)

    def readers(self, term: str, tap: str, dtype: torch.dtype = torch.float32) -> Tensor:
        """(K, 1, 1), 1.0 for the models that read `term` on `tap`, else 0.0: a lerp weight, which picks exactly
        one side (torch.where with a bool mask is ~10x slower on large batches)."""
        mask = self.on_bottleneck[term]
        return (mask if tap == "bottleneck" else ~mask)[:, None, None].to(dtype)


class Step:
    """Forward pass and hand-derived backward pass of one training step.

    Activations are feature-major, (K, features, B): every matrix product then has the batch as its long
    side, which is several times faster for these thin matrices than (K, B, features). Parameters keep the
    model's (K, in, out) layout and are read through transposed views. Gradients land in `grads` (views into
    the optimizer's flat buffer, named as `params`). Buffers, and every view of them a step uses, are made once:
    at this size creating a view costs about as much as the arithmetic on it.
    """

    def __init__(self, params: dict[str, Tensor], grads: dict[str, Tensor], routing: Routing, k: int, batch: int):
        self.p, self.g, self.batch = params, grads, batch
        self.wt = {name: params[f"{name}_w"].transpose(1, 2) for name, _, _ in LAYERS}  # W^T: (K, out, in)
        self.bt = {name: params[f"{name}_b"].transpose(1, 2) for name, _, _ in LAYERS}  # b as a column
        self.gb = {name: grads[f"{name}_b"].transpose(1, 2) for name, _, _ in LAYERS}
        self.taps = {term: routing.taps(term) for term in PLACED_TERMS}  # decided once per run
        dtype = params["enc1_w"].dtype
        self.readers = {(term, tap): routing.readers(term, tap, dtype) for term in PLACED_TERMS for tap in TAPS}
        width = {name: fan_out for name, _, fan_out in LAYERS}

        def buffer(*shape: int) -> Tensor:
            return aligned_empty(k, *shape, dtype=dtype)

        def const(value: float) -> Tensor:
            return torch.tensor(value, dtype=dtype)

        # inputs (copied in), outputs, and the work buffers with their views
        self.w = torch.empty(len(TAPS), len(ROW), k, dtype=dtype)
        self.w_total = torch.empty(len(ROW), k, dtype=dtype)
        self.row = torch.empty(len(ROW) + 1, k, dtype=dtype)  # ROW, then the total
        self.weighted, self.off = (
            torch.empty(len(ROW) - 1, k, dtype=dtype),
            torch.empty(len(ROW) - 1, k, dtype=torch.bool),
        )
        self.h1, self.phi1, self.a1, self.e1, self.da1 = (buffer(width["enc1"], batch) for _ in range(5))
        self.h2, self.phi2, self.a2, self.e2, self.da2 = (buffer(width["dec1"], batch) for _ in range(5))
        self.y, self.r = buffer(3, batch), buffer(3, batch)
        self.z, self.u, self.du, self.dz, self.d, self.prod = (buffer(LATENT_DIMS, batch) for _ in range(6))
        self.v2, self.v_mixed, self.anchor_tap, self.planar_tap, self.dv, self.dv_bottleneck = (
            buffer(LATENT_DIMS, batch) for _ in range(6)
        )
        self.n, self.c, self.c2, self.t = (buffer(1, batch) for _ in range(4))
        self.value, self.separate_w = buffer(1, 1), buffer(1, 1)
        self.cos, self.q, self.q2, self.q3, self.q_pow, self.kept = (buffer(batch, batch) for _ in range(6))
        self.concept = torch.tensor(RED_DIRECTION, dtype=dtype)[:, None]
        self.zero, self.half, self.one = const(0.0), const(0.5), const(1.0)
        self.sqrt_half, self.same = const(math.sqrt(0.5)), const(SAME)
        self.recon_scale, self.dy_scale = const(1 / (3 * batch)), const(2 / (3 * batch))
        self.mean_scale, self.separate_scale = const(1 / batch), const(50 / batch)
        self.reads, self.mixes = self._reads(routing)
        self.view = self._views(k, batch)

    def _reads(self, routing: Routing) -> tuple[dict[str, Tensor], list[tuple[Tensor, Tensor]]]:
        """What anchor and planar read: u, z, or, where models disagree, a buffer that step() fills per model
        from its tap (one for both terms when they disagree alike, as pre- and post-norm in one batch do)."""
        reads, mixes = {}, []
        for term, buffer in (("anchor", self.anchor_tap), ("planar", self.planar_tap)):
            mask = routing.on_bottleneck[term]
            if self.taps[term] != ("encoder", "bottleneck"):
                reads[term] = self.u if self.taps[term] == ("bottleneck",) else self.z
            elif term == "planar" and torch.equal(mask, routing.on_bottleneck["anchor"]):
                reads[term] = reads["anchor"]
            else:
                reads[term] = buffer
                mixes.append((buffer, self.readers[term, "bottleneck"]))
        return reads, mixes

    def _views(self, k: int, b: int) -> SimpleNamespace:
        i = ROW_INDEX
        w = {tap: self.w[t] for t, tap in enumerate(TAPS)}
        return SimpleNamespace(
            row={name: self.row[i[name]] for name in ROW},
            row_cell={name: self.row[i[name]].view(k, 1, 1) for name in ROW},
            total=self.row[-1],
            terms=self.row[1 : len(ROW)],
            w_encoder=w["encoder"],
            w_bottleneck=w["bottleneck"],
            w_terms=self.w_total[1:],
            w_separate=self.w_total[i["separate"]].view(k, 1, 1),
            w_unit=w["encoder"][i["unit"]].view(k, 1, 1),
            w_anchor={tap: w[tap][i["anchor"]].view(k, 1, 1) for tap in TAPS},
            w_planar={tap: w[tap][i["planar"]].view(k, 1, 1) for tap in TAPS},
            dy_t=self.r.transpose(1, 2),
            dh2_t=self.da2.transpose(1, 2),
            dz_t=self.dz.transpose(1, 2),
            dh1_t=self.da1.transpose(1, 2),
            v_t={name: v.transpose(1, 2) for name, v in (("u", self.u), ("v2", self.v2), ("mixed", self.v_mixed))},
            r2=self.prod[:, :3],
            p23=self.prod[:, 2:],
            n_flat=self.n.view(k, b),
            t_flat=self.t.view(k, b),
            dcos_t=self.q_pow.transpose(1, 2),  # dcos is computed in q_pow
            planar23=self.reads["planar"][:, 2:],
            du23=self.du[:, 2:],
            dz23=self.dz[:, 2:],
            value=self.value[:, 0],
        )

    def __call__(self, x: Tensor, red: Tensor, vibrant: Tensor, w: Tensor) -> Tensor:
        """One step for the batch x (K, 3, B); red, vibrant (K, 1, B) the label weights l_b / (sum l + 1e-8), so
        that a labelled mean is a dot product; w (2, 5, K) each term's weight per tap (encoder, bottleneck), in
        ROW order, 0 where the model's term reads the other tap or is off (w[:, 0] is unused).

        Returns (6, K): the loss terms in ROW order, then the total (recon + the weighted terms switched on).
        The gradients are in `grads`."""
        wt, bt, g, gb, v = self.wt, self.bt, self.g, self.gb, self.view
        z, u, du, dz, n, c = self.z, self.u, self.du, self.dz, self.n, self.c
        self.w.copy_(w)
        # ---- forward (feature-major: h1 = W1^T x + b1 is the transpose of x W1 + b1)
        a1 = self.gelu(torch.baddbmm(bt["enc1"], wt["enc1"], x, out=self.h1), self.phi1, self.a1)
        torch.baddbmm(bt["enc2"], wt["enc2"], a1, out=z)
        self.dot(z, z, self.prod, n, dim=1).sqrt_()  # |z| (linalg.vector_norm is ~50x slower along dim 1)
        torch.div(z, torch.clamp_min(n, EPS_NORM, out=c), out=u)
        a2 = self.gelu(torch.baddbmm(bt["dec1"], wt["dec1"], u, out=self.h2), self.phi2, self.a2)
        torch.baddbmm(bt["dec2"], wt["dec2"], a2, out=self.y)

        # ---- recon = mean_{i,b} r^2, r = y - x                         d recon / dy = 2 r / (3B)
        r = torch.sub(self.y, x, out=self.r)
        torch.sum(torch.mul(r, r, out=v.r2), dim=(1, 2), out=v.row["recon"]).mul_(self.recon_scale)
        dy = r.mul_(self.dy_scale)
        # ---- decoder: y = a2 W4 + b4,  a2 = gelu(h2),  h2 = u W3 + b3   (per sample; here for B at once)
        torch.bmm(a2, v.dy_t, out=g["dec2_w"])  # dW4 = sum_b a2_b dy_b^T
        torch.sum(dy, dim=2, keepdim=True, out=gb["dec2"])  # db4 = sum_b dy_b
        torch.bmm(self.p["dec2_w"], dy, out=self.da2)  # da2 = W4 dy
        dh2 = self.gelu_backward(self.da2, self.h2, self.phi2, self.e2)
        torch.bmm(u, v.dh2_t, out=g["dec1_w"])  # dW3 = sum_b u_b dh2_b^T
        torch.sum(dh2, dim=2, keepdim=True, out=gb["dec1"])  # db3 = sum_b dh2_b
        torch.bmm(self.p["dec1_w"], dh2, out=du)  # du = W3 dh2

        # ---- regularizers read on the bottleneck add to du; then the normalization carries du back to z
        torch.add(v.w_encoder, v.w_bottleneck, out=self.w_total)
        self.separate()
        d, z23 = self.anchor_and_planar(red, vibrant)
        self.add_gradients("bottleneck", d, z23, du, v.du23, red, vibrant)
        # u = z / c:  dz = (du - u (u . du)) / c   (for n >= 1e-12; below that z ~ 0, u ~ 0 and dz = du / c)
        torch.addcmul(du, u, self.dot(u, du, self.prod, self.t, dim=1), value=-1, out=dz).div_(c)
        # ---- regularizers read on the encoder add to dz
        # unit  R = mean_b (n_b - 1)^2                  dR/dz = 2 (n - 1) / B * z / n = 2 (n - 1) / B * u
        n_minus_1 = n.sub_(self.one)  # n is not needed any more
        self.dot(v.n_flat, v.n_flat, v.t_flat, v.row["unit"], dim=1, keepdim=False).mul_(self.mean_scale)
        dz.addcmul_(u, n_minus_1.mul_(v.w_unit).mul_(self.mean_scale), value=2)
        self.add_gradients("encoder", d, z23, dz, v.dz23, red, vibrant)

        # ---- encoder: z = a1 W2 + b2,  a1 = gelu(h1),  h1 = x W1 + b1
        torch.bmm(a1, v.dz_t, out=g["enc2_w"])  # dW2 = sum_b a1_b dz_b^T
        torch.sum(dz, dim=2, keepdim=True, out=gb["enc2"])  # db2 = sum_b dz_b
        torch.bmm(self.p["enc2_w"], dz, out=self.da1)  # da1 = W2 dz
        dh1 = self.gelu_backward(self.da1, self.h1, self.phi1, self.e1)
        torch.bmm(x, v.dh1_t, out=g["enc1_w"])  # dW1 = sum_b x_b dh1_b^T
        torch.sum(dh1, dim=2, keepdim=True, out=gb["enc1"])  # db1 = sum_b dh1_b

        self.total()
        return self.row

    def total(self) -> None:
        """L = recon + sum of w_k R_k over the terms switched on: a term with weight 0 is left out, so that an
        infinite value there is no NaN (0 x inf)."""
        v = self.view
        torch.mul(v.w_terms, v.terms, out=self.weighted).masked_fill_(torch.eq(v.w_terms, self.zero, out=self.off), 0.0)
        torch.sum(self.weighted, 0, out=v.total).add_(v.row["recon"])

    def gelu(self, h: Tensor, phi: Tensor, out: Tensor) -> Tensor:
        """gelu(h) = h Phi(h), Phi(h) = (1 + erf(h / sqrt 2)) / 2: the exact GELU. Keeps Phi for the backward.

        Written out because F.gelu goes through oneDNN on CPU, whose per-call setup costs more than the math."""
        torch.mul(h, self.sqrt_half, out=phi).erf_()
        torch.add(self.half, phi, alpha=0.5, out=phi)  # 1/2 + erf/2 (one tensor operand: a vectorized loop)
        return torch.mul(h, phi, out=out)

    def gelu_backward(self, da: Tensor, h: Tensor, phi: Tensor, e: Tensor) -> Tensor:
        """dh = da gelu'(h),  gelu'(h) = Phi(h) + h phi(h),  phi(h) = exp(-h^2 / 2) / sqrt(2 pi). Overwrites da."""
        torch.addcmul(self.zero, h, h, value=-0.5, out=e).exp_()
        return da.mul_(torch.addcmul(phi, h, e, value=1 / math.sqrt(2 * math.pi), out=e))

    def anchor_and_planar(self, red: Tensor, vib: Tensor) -> tuple[Tensor, Tensor]:
        """The two labelled-mean terms, each on the tap its model reads (Z: z or u); values into the row.

        anchor  R = sum_b red_b |Z_b - c|^2           dR/dZ = 2 red_b (Z_b - c)
        planar  R = sum_b vib_b (Z_b2^2 + Z_b3^2)     dR/dZ = 2 vib_b (0, 0, Z_b2, Z_b3)
        Returns Z - c for anchor and (Z_2, Z_3) for planar, from which add_gradients() makes the gradients.
        """
        v = self.view
        for buffer, on_bottleneck in self.mixes:  # where models disagree, each its own: weights 0 or 1, exact
            torch.lerp(self.z, self.u, on_bottleneck, out=buffer)
        d = torch.sub(self.reads["anchor"], self.concept, out=self.d)
        squared = self.dot(d, d, self.prod, self.t, dim=1)
        self.dot(red, squared, self.t, v.row_cell["anchor"], dim=2)
        z23 = v.planar23
        squared = self.dot(z23, z23, v.p23, self.t, dim=1)
        self.dot(vib, squared, self.t, v.row_cell["planar"], dim=2)
        return d, z23

    def add_gradients(self, tap: str, d: Tensor, z23: Tensor, grad: Tensor, grad23: Tensor, red: Tensor, vib: Tensor):
        """Add anchor's and planar's gradients, weighted per model (0 unless the model reads them on `tap`), to
        `grad` (du or dz; grad23 its dims 2 and 3). A tap no model reads them on costs nothing."""
        v = self.view
        if tap in self.taps["anchor"]:
            grad.addcmul_(d, torch.mul(red, v.w_anchor[tap], out=self.t), value=2)
        if tap in self.taps["planar"]:
            grad23.addcmul_(z23, torch.mul(vib, v.w_planar[tap], out=self.t), value=2)

    def separate(self) -> None:
        """separate  R = (1/B) sum_ij q_ij^100,  q = (C + 1)/2,  C = V^T V (cosines; V holds unit columns),
        V = Z / max(|Z|, 1e-12), with q = 1/2 wherever C >= 1 - 1e-5 (a sample with itself or a duplicate:
        zeroed before the shift).

        dR/dC = 50 q^99 / B off those entries (0 on them);  dR/dV = V (dC + dC^T);
        dR/dZ = (dV - V (V . dV)) / max(|Z|, 1e-12), the dot product per sample.
        On the encoder Z = z, so V = u and dR/dz is what the normalization's backward makes of dV: dV joins du.
        On the bottleneck Z = u, normalized once more (|u| = 1 up to rounding), and dR/du joins du.
        """
        u, taps, on_bottleneck, view = self.u, self.taps["separate"], self.readers["separate", "bottleneck"], self.view
        v, v_t = u, view.v_t["u"]
        if "bottleneck" in taps:
            c2 = self.dot(u, u, self.prod, self.c2, dim=1).sqrt_().clamp_min_(EPS_NORM)
            v, v_t = torch.div(u, c2, out=self.v2), view.v_t["v2"]
            if taps != ("bottleneck",):
                v, v_t = torch.lerp(u, self.v2, on_bottleneck, out=self.v_mixed), view.v_t["mixed"]
        cos = torch.bmm(v_t, v, out=self.cos)
        kept = torch.lt(cos, self.same, out=self.kept)  # 1.0, or 0.0 for a self-pair or duplicate (float: fast)
        q = torch.add(self.half, cos.mul_(kept), alpha=0.5, out=self.q)  # (C + 1) / 2, C zeroed where not kept
        q99 = self.power_99(q)
        # R = (1/B) sum q^100, q^100 = q^99 q
        torch.sum(torch.mul(q99, q, out=self.q2), dim=(1, 2), out=view.row["separate"]).mul_(self.mean_scale)
        dcos = q99.mul_(kept)  # dR/dC without its factor 50 w / B, which scales dV below (K x 4 x B, not B x B)
        dv = torch.bmm(v, dcos, out=self.dv).baddbmm_(v, view.dcos_t)  # V dC + V dC^T
        dv.mul_(torch.mul(view.w_separate, self.separate_scale, out=self.separate_w))
        if "bottleneck" in taps:
            dot = self.dot(self.v2, dv, self.prod, self.t, dim=1)
            dv_bottleneck = torch.addcmul(dv, self.v2, dot, value=-1, out=self.dv_bottleneck).div_(c2)
            dv = dv_bottleneck if taps == ("bottleneck",) else torch.lerp(dv, dv_bottleneck, on_bottleneck, out=dv)
        self.du.add_(dv)

    def power_99(self, q: Tensor) -> Tensor:
        """q^99 = (q^3)^32 q^3: q^3 (pow's fast path for 3 is q q q in one pass), five squarings, one product;
        pow(q, 99) itself goes through the generic power function, ~20x slower."""
        q3 = torch.pow(q, 3, out=self.q3)
        q_pow = torch.mul(q3, q3, out=self.q_pow)  # q^6
        for _ in range(4):  # q^12, q^24, q^48, q^96
            q_pow.mul_(q_pow)
        return q_pow.mul_(q3)

    @staticmethod
    def dot(a: Tensor, b: Tensor, product: Tensor, out: Tensor, dim: int, keepdim: bool = True) -> Tensor:
        """sum over axis `dim` of a * b (dim 1: a sample's coordinates; dim 2: a model's samples)."""
        return torch.sum(torch.mul(a, b, out=product), dim=dim, keepdim=keepdim, out=out)
