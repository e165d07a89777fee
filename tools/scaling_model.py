#!/usr/bin/python3
"""Predicted data-parallel training efficiency of the equivariant flow on 1 to 1024 GPUs (docs/scaling.md, "A model
past these machines"). One training step = the local batch's loss and gradient (compute), then one all-reduce of
the flat gradient plus the loss (src/train/trainer.cpp). E = t_compute / t_step, from:

  compute    measured CPU ms per sample and step (--compute-ms-per-sample L=V or --csv), carried to other L as
             L^2 log L (an extrapolation); on a GPU that divided by --gpu-speedup (an ASSUMPTION) unless
             --gpu-ms-per-sample gives measured GPU figures
  all-reduce flat ring 2(N-1)/N S/B + 2(N-1) alpha; hierarchical (NVLink reduce-scatter, InfiniBand ring between
             nodes, NVLink all-gather); NCCL's tree (latency 2 ((g-1) alpha_nvl + log2(nodes) alpha_tree))

    /usr/bin/python3 tools/scaling_model.py --compute-ms-per-sample 12=1.0 --compute-ms-per-sample 32=8.0 \
        --markdown scaling_model.md --plot docs/figures/scaling_model.png --json scaling_model.json
"""
import argparse
import csv
import itertools
import json
import math
import sys

# --- Interconnect defaults. Each is an option; the sources are repeated in docs/scaling.md.
NVLINK_GBPS = 450.0  # GB/s per direction per GPU: NVLink 4 on H100/H200 SXM, 18 links, 900 GB/s total (NVIDIA's
#                      H100/H200 product pages; NVIDIA's MLPerf Inference v4.1 system file for H200-SXM-141GBx8)
IB_GBITPS = 400.0  # Gb/s per direction per HCA: InfiniBand NDR; DGX H100/H200 has eight single-port ConnectX-7,
#                    one per GPU (DGX H100 User Guide, "Network Modules"; DGX BasePOD reference architecture)
# Latencies in us: NCCL 2.20.3's own tuning model, src/graph/tuning.cc (NVIDIA/nccl commit b6475625), LL protocol
# (the one NCCL picks for small messages): hwLat NVLink ring 0.6, network ring 2.7, network tree 5.0; baseLat
# 6.6 (ring) / 6.8 (tree) per call. Model constants, not measurements of a given cluster.
ALPHA_NVL_US, ALPHA_IB_US, ALPHA_TREE_US, BASE_US = 0.6, 2.7, 5.0, 6.6
PCIE_GBPS, PCIE_LAT_US = 64.0, 10.0  # --host-staging: PCIe Gen5 x16, 128 GB/s both ways (H200 page); 10 us ASSUMED
# Share of a path-gradient step spent in the adjoint: docs/performance.md, bench_flow, L = 32, batch 100, float:
# path s/step 2.778, s/sample() 0.5959 and the forward with the score costs about 2 sample() -> 1 - 2*0.596/2.778.
ADJOINT_FRACTION = 0.57


def kernel_rows(L):
    """D4 orbits of displacements r mod L, one theta row each (src/flow/equivariant_flow.cpp, theta_rows() ->
    Lattice::orbit_of(); tests/test_lattice.cpp OrbitCounts): m (m + 1) / 2 with m = floor(L/2) + 1."""
    m = L // 2 + 1
    return m * (m + 1) // 2


def orbit_count_brute(L):
    """Lattice::orbit_of() (src/lattice/lattice.cpp) redone: images of each r under the 8 point-group maps."""
    seen, n = set(), 0
    for r in ((x1, x2) for x1 in range(L) for x2 in range(L)):
        n += r not in seen
        for d in range(8):
            a, b = (r[1], r[0]) if d >= 4 else r
            for _ in range(d % 4):
                a, b = -b, a
            seen.add((a % L, b % L))
    return n


def n_params(L, A, F):
    """theta[row][a][j] then omega[f]: kernel_rows * A * F + F (equivariant_flow.hpp theta_size(); the constructor's
    n_params = theta_size() + frequencies; features = F without sign_breaking)."""
    return kernel_rows(L) * A * F + F


def message_bytes(L, A, F):
    """Trainer::step() sums grad_and_loss_, n_params + 1 doubles (real_t = double), in one MPI_Allreduce."""
    return 8 * (n_params(L, A, F) + 1)


assert n_params(20, 10, 9) == 5949, "L = 20, time_basis 10, frequencies 9 has 5949 parameters"
assert all(kernel_rows(L) == orbit_count_brute(L) for L in range(2, 15))


def cost_shape(L):  # per-sample cost ~ L^2 log L: every RK4 stage is FFT convolutions on L x L
    return L * L * math.log2(L)


def per_sample_ms(L, measured):
    """Measured value at L, else scaled by L^2 log L from the nearest measured L below (or the smallest)."""
    below = [l for l in measured if l < L]
    L0 = max(below) if below else min(measured)
    scaled = measured[L0] * cost_shape(L) / cost_shape(L0)
    if L in measured:  # with a smaller measured L, say what the scaling law would have predicted
        return measured[L], "measured" + (f" (L^2 log L from L={L0} predicts {scaled:.3g})" if below else "")
    return scaled, f"L={L0} x L^2 log L (extrapolated)"


def read_csv(path):
    """L -> ms per sample from a scaling-study CSV whose columns are not fixed: an L column ('L', 'lattice') and
    either ms per sample ('compute_ms_per_sample', 'ms_per_sample') or compute per step ('compute_ms', 'step_ms',
    'compute_s', 's_per_step') with a batch ('local_batch', or 'batch'/'batch_size' split over 'ranks'). Rows of
    the fewest ranks per L are used (no waiting for other ranks in them); repeated rows give their median."""
    with open(path, newline="") as f:
        rows = [{k.strip().lower(): v.strip() for k, v in r.items() if k and v} for r in csv.DictReader(f)]
    get = lambda r, *names: next((float(r[n]) for n in names if n in r), None)  # noqa: E731
    rows = [(int(get(r, "l", "lattice")), get(r, "ranks", "n_ranks", "np") or 1.0, r) for r in rows
            if get(r, "l", "lattice") is not None]
    values = {}
    for L, ranks, r in rows:
        if ranks != min(q for l, q, _ in rows if l == L):
            continue
        step_ms = get(r, "compute_ms", "step_ms") or 1e3 * (get(r, "compute_s", "s_per_step") or math.nan)
        local = get(r, "local_batch") or (get(r, "batch", "batch_size") or math.nan) / ranks
        ms = get(r, "compute_ms_per_sample", "ms_per_sample") or step_ms / local
        if math.isfinite(ms):
            values.setdefault(L, []).append(ms)
    if not values:
        sys.exit(f"{path}: no row with an L column and a compute time per sample or per step and batch")
    return {L: sorted(v)[len(v) // 2] for L, v in values.items()}


class Net:
    def __init__(self, a):
        e = a.bw_efficiency
        self.g, self.B_nvl, self.B_ib = a.gpus_per_node, a.nvlink_gbps * 1e9 * e, a.ib_gbitps / 8 * 1e9 * e
        self.a_nvl, self.a_ib, self.a_tree, self.base = (x * 1e-6 for x in (a.alpha_nvl_us, a.alpha_ib_us,
                                                                             a.alpha_tree_us, a.base_us))
        self.stage = lambda S: 2 * (S / (a.pcie_gbps * 1e9) + a.pcie_latency_us * 1e-6) * a.host_staging

    @staticmethod
    def ring(S, n, B, alpha):
        return 0.0 if n <= 1 else 2 * (n - 1) / n * S / B + 2 * (n - 1) * alpha

    def flat_ring(self, S, N):  # topology-blind ring: past one node every step waits for an InfiniBand hop
        if N <= 1:
            return 0.0
        B, alpha = (self.B_nvl, self.a_nvl) if N <= self.g else (self.B_ib, self.a_ib)
        return self.base + self.stage(S) + self.ring(S, N, B, alpha)

    def hierarchical(self, S, N):
        """Reduce-scatter over NVLink within the node, ring all-reduce of the 1/g shares between nodes (one HCA per
        GPU, so the g rings run side by side), all-gather over NVLink."""
        if N <= 1:
            return 0.0
        g, nodes = min(N, self.g), math.ceil(N / min(N, self.g))
        intra = (g - 1) / g * S / self.B_nvl + (g - 1) * self.a_nvl
        return self.base + self.stage(S) + 2 * intra + self.ring(S / g, nodes, self.B_ib, self.a_ib)

    def tree(self, S, N):  # NCCL's tree model: latency 2((g-1) a_nvl + log2(nodes) a_tree), 2 S / B of transfer
        if N <= 1:
            return 0.0
        g, nodes = min(N, self.g), math.ceil(N / min(N, self.g))
        depth = math.ceil(math.log2(nodes)) if nodes > 1 else 0
        B = self.B_ib if nodes > 1 else self.B_nvl
        return self.base + self.stage(S) + 2 * ((g - 1) * self.a_nvl + depth * self.a_tree) + 2 * S / B

    def best(self, S, N):  # NCCL times both and picks the faster
        return min(self.hierarchical(S, N), self.tree(S, N))


def overlapped_step(t_c, N, A, S, tail_extra, adj_frac, allreduce):
    """All-reduce overlapped with the adjoint. The adjoint runs from t_end back to 0 and W(t) uses only the two hat
    functions around t (include/phi4flow/flow/equivariant_flow.hpp, hat_weights), so theta[:, a, :] is final once
    the adjoint has passed t_{a-1}: slices A-1..2 at fractions 1/(A-1)..(A-2)/(A-1) of it, slices 1 and 0, omega
    and the loss only at its end. Slices are sent in nb buckets as they become final (network one at a time), the
    rest after the adjoint; the best nb (0 = no overlap) is taken. Each bucket pays the all-reduce latency."""
    if N <= 1:
        return t_c
    t_fwd, t_adj = t_c * (1 - adj_frac), t_c * adj_frac
    slice_bytes, early = (S - tail_extra) / A, max(A - 2, 0)
    best = t_c + allreduce(S, N)
    for nb in range(1, early + 1):
        free, sent = 0.0, 0.0
        for j in range(nb):
            first, last = j * early // nb, (j + 1) * early // nb
            ready = t_fwd + t_adj * last / (A - 1)
            free = max(ready, free) + allreduce((last - first) * slice_bytes, N)
            sent += (last - first) * slice_bytes
        best = min(best, max(t_c, free) + allreduce(S - sent, N))
    return best


def stop_point(ns, effs, threshold):
    """Largest N of the list before efficiency first drops below the threshold."""
    ok = [n for n, _ in itertools.takewhile(lambda p: p[1] is not None and p[1] >= threshold, zip(ns, effs))]
    return ok[-1] if ok else None


def parse_pairs(items, what):
    out = {}
    for item in items or []:
        try:
            L, v = item.split("=")
            out[int(L)] = float(v)
        except ValueError:
            sys.exit(f"{what}: expected L=VALUE, got {item!r}")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add = p.add_argument
    add("--compute-ms-per-sample", action="append", metavar="L=MS",
        help="measured ms of compute per sample per training step on one CPU rank (repeatable)")
    add("--csv", help="scaling-study CSV with the same information (see read_csv)")
    add("--gpu-speedup", type=float, default=30.0, help="ASSUMED GPU / one-CPU-rank speed-up (default 30)")
    add("--gpu-ms-per-sample", action="append", metavar="L=MS", help="measured GPU figures; override the speed-up")
    add("--gpu-fixed-ms", type=float, default=0.0, help="per-step GPU time independent of the batch (launches)")
    add("--time-basis", type=int, default=10, help="flow.time_basis A (input/L20.ini, input/L32.ini)")
    add("--frequencies", type=int, default=9, help="flow.frequencies F (same files)")
    for name, default, what in (("--sizes", [32, 64, 128], "lattice sizes L"),
                                ("--batches", [4, 16, 64, 256], "per-GPU batches b (weak scaling)"),
                                ("--global-batches", [1024, 8192], "global batches B (strong scaling)"),
                                ("--gpus", [1, 8, 16, 32, 64, 128, 256, 512, 1024], "GPU counts N")):
        add(name, type=int, nargs="+", default=default, help=what)
    for name, default, what in (("--gpus-per-node", 8, "GPUs (and HCAs) per node"),
                                ("--nvlink-gbps", NVLINK_GBPS, "NVLink GB/s per direction per GPU"),
                                ("--ib-gbitps", IB_GBITPS, "InfiniBand Gb/s per direction per HCA"),
                                ("--bw-efficiency", 1.0, "share of peak bandwidth reached (1 = peak, optimistic)"),
                                ("--alpha-nvl-us", ALPHA_NVL_US, "NVLink hop latency"),
                                ("--alpha-ib-us", ALPHA_IB_US, "InfiniBand ring-step latency"),
                                ("--alpha-tree-us", ALPHA_TREE_US, "InfiniBand tree-level latency"),
                                ("--base-us", BASE_US, "fixed cost of one all-reduce call"),
                                ("--pcie-gbps", PCIE_GBPS, "with --host-staging"),
                                ("--pcie-latency-us", PCIE_LAT_US, "with --host-staging, per copy"),
                                ("--accumulate", 4, "micro-batches per all-reduce (gradient accumulation)"),
                                ("--adjoint-fraction", ADJOINT_FRACTION, "share of the step spent in the adjoint"),
                                ("--threshold", 0.8, "efficiency below which the step stops scaling")):
        add(name, type=type(default), default=default, help=f"{what} (default {default})")
    add("--host-staging", action="store_true", help="add MpiReducer's device->host->device copies (today's code)")
    add("--markdown", help="also write the tables here")
    add("--plot", default="docs/figures/scaling_model.png", help="PNG ('' for none)")
    add("--json", help="all predictions as JSON")
    a = p.parse_args()

    cpu = parse_pairs(a.compute_ms_per_sample, "--compute-ms-per-sample")
    if a.csv:
        cpu = {**read_csv(a.csv), **cpu}
    gpu_measured = parse_pairs(a.gpu_ms_per_sample, "--gpu-ms-per-sample")
    if not cpu and not gpu_measured:
        sys.exit("give --compute-ms-per-sample L=MS (repeatable), --csv FILE or --gpu-ms-per-sample L=MS")
    net, A, F, ns, thr, k = Net(a), a.time_basis, a.frequencies, sorted(a.gpus), a.threshold, a.accumulate
    algos = {"flat ring": net.flat_ring, "hierarchical": net.hierarchical, "NCCL tree": net.tree}
    step = {name: (lambda f: lambda tc, S, n: tc + f(S, n))(f) for name, f in algos.items()}
    step["best + overlap"] = lambda tc, S, n: overlapped_step(tc, n, A, S, 8 * (F + 1), a.adjoint_fraction, net.best)
    acc = f"best + accumulate x{k}"
    out, md = {"inputs": vars(a), "gpus": ns, "cpu_ms_per_sample": cpu, "sizes": {}}, []
    emit = md.append
    fmt = lambda e: "-" if e is None else f"{e:.2f}"  # noqa: E731
    table = lambda first, rows: emit("\n".join([f"| {first} | " + " | ".join(f"N={n}" for n in ns) + " |",  # noqa
                                                "|---|" + "---|" * len(ns)] + rows))

    emit(f"# Predicted training efficiency (E = compute / step; step stops scaling below E = {thr})\n")
    emit("| L | parameters | message (KB) | CPU ms/sample | source | GPU ms/sample | source |\n" + "|---" * 7 + "|")
    info = {}
    for L in a.sizes:
        c, csrc = per_sample_ms(L, cpu) if cpu else (None, "-")
        gms, gsrc = per_sample_ms(L, gpu_measured) if gpu_measured else (c / a.gpu_speedup, None)
        gsrc = f"GPU {gsrc}" if gpu_measured else f"CPU / {a.gpu_speedup:g} (ASSUMED speed-up)"
        info[L] = (n_params(L, A, F), message_bytes(L, A, F), gms * 1e-3)
        emit(f"| {L} | {info[L][0]} | {info[L][1] / 1e3:.1f} | {fmt(c)} | {csrc} | {gms:.4f} | {gsrc} |")
        out["sizes"][L] = {"parameters": info[L][0], "message_bytes": info[L][1], "cpu_ms_per_sample": c,
                           "cpu_source": csrc, "gpu_ms_per_sample": gms, "gpu_source": gsrc}

    emit("\n## All-reduce time per step (us), independent of the compute figures\n")
    rows = []
    for L in a.sizes:
        for name, f in algos.items():
            t = [f(info[L][1], n) * 1e6 for n in ns]
            rows.append(f"| {L}, {name} | " + " | ".join(f"{x:.1f}" for x in t) + " |")
            out["sizes"][L].setdefault("allreduce_us", {})[name] = t
    table("L, algorithm", rows)
    emit(f"\n## Per-GPU compute per step needed for E >= {thr}: t_allreduce x {thr}/(1 - {thr}), and the per-GPU "
         "batch that gives it at the GPU ms/sample above\n")
    need = lambda f, L, n: f(info[L][1], n) * thr / (1 - thr)  # noqa: E731
    table("L, algorithm", [f"| {L}, {name} | " + " | ".join(
        f"{need(f, L, n) * 1e3:.2g} ms, b>={math.ceil(need(f, L, n) / info[L][2])}" if n > 1 else "-" for n in ns)
        + " |"
        for L in a.sizes for name, f in (("flat ring", net.flat_ring), ("best", net.best))])

    summary, plot_data = [], {}
    for L in a.sizes:
        S, ts = info[L][1], info[L][2]
        t_c = lambda b: a.gpu_fixed_ms * 1e-3 + b * ts  # noqa: E731
        weak, strong, rows = {}, {}, []
        for b in a.batches:
            weak[b] = {name: [t_c(b) / f(t_c(b), S, n) for n in ns] for name, f in step.items()}
            weak[b][acc] = [k * t_c(b) / (k * t_c(b) + net.best(S, n)) for n in ns]
            rows += [f"| {b}, {name} | " + " | ".join(fmt(e) for e in effs) + " |" for name, effs in weak[b].items()]
            summary.append((L, f"weak, b = {b}", {q: stop_point(ns, e, thr) for q, e in weak[b].items()}, None))
        emit(f"\n## L = {L}: weak scaling, fixed per-GPU batch b (global batch N b)\n")
        table("b, all-reduce", rows)
        rows = []
        for B in a.global_batches:
            T = {name: [f(t_c(math.ceil(B / n)), S, n) if n <= B else None for n in ns] for name, f in step.items()}
            strong[B] = {name: [None if t is None else t_c(B) / (n * t) for n, t in zip(ns, T[name])] for name in T}
            rows += [f"| {B}, {name} | " + " | ".join(fmt(e) for e in effs) + " |" for name, effs in strong[B].items()]
            fastest = min((t, n) for n, t in zip(ns, T["best + overlap"]) if t is not None)[1]
            summary.append((L, f"strong, B = {B}", {q: stop_point(ns, e, thr) for q, e in strong[B].items()}, fastest))
            out["sizes"][L].setdefault("strong_step_s", {})[B] = T
        emit(f"\n## L = {L}: strong scaling, fixed global batch B (per-GPU batch ceil(B/N))\n")
        table("B, all-reduce", rows)
        plot_data[L] = (weak, strong)
        out["sizes"][L].update({"weak_efficiency": weak, "strong_efficiency": strong})

    emit(f"\n## Where the step stops scaling: largest N with E >= {thr} (fastest N: shortest step, best + overlap)\n")
    names = list(step) + [acc]
    emit("| L | scenario | " + " | ".join(names) + " | fastest N |\n|---|---|" + "---|" * (len(names) + 1))
    cell = lambda v: "" if v is None else (f">={v}" if v == ns[-1] else str(v))  # noqa: E731
    for L, scen, stops, fastest in summary:
        emit(f"| {L} | {scen} | " + " | ".join(cell(stops.get(q)) for q in names) + f" | {cell(fastest)} |")
    out["stops"] = [{"L": L, "scenario": s, "last_N_above_threshold": st, "fastest_N": fa} for L, s, st, fa in summary]

    text = "\n".join(md) + "\n"
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1, default=str)
    if a.plot:
        plot(a, ns, plot_data)


def plot(a, ns, data):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, len(data), figsize=(5 * len(data), 8.5), squeeze=False, sharey=True)
    styles = {"flat ring": ":", "best": "-", "best + overlap": "-.", f"best + accumulate x{a.accumulate}": "--"}
    for col, (L, (weak, strong)) in enumerate(data.items()):
        for row, (series, label) in enumerate(((weak, "b"), (strong, "B"))):
            ax = axes[row][col]
            for i, (key, rows) in enumerate(series.items()):  # best = what NCCL would pick
                rows = {**rows, "best": [None if h is None else max(h, t) for h, t in
                                         zip(rows["hierarchical"], rows["NCCL tree"])]}
                for name, ls in styles.items():
                    if name in rows:
                        y = [float("nan") if e is None else e for e in rows[name]]
                        ax.plot(ns, y, ls, color=f"C{i}", marker=".", label=f"{label}={key}, {name}")
            ax.axhline(a.threshold, color="grey", lw=0.7)
            ax.set_xscale("log", base=2)
            ax.set_xticks(ns, [str(n) for n in ns], fontsize=7)
            ax.set_ylim(0, 1.05)
            ax.set_xlabel("GPUs N")
            ax.set_title(f"L = {L}, " + ("weak (per-GPU batch b)" if row == 0 else "strong (global batch B)"))
            ax.grid(alpha=0.3)
            if col == 0:
                ax.legend(fontsize=6, ncol=2)
        [r[0].set_ylabel("efficiency") for r in axes]
    gpu = "measured GPU figures" if a.gpu_ms_per_sample else f"GPU = CPU / {a.gpu_speedup:g} (assumed)"
    fig.suptitle(f"Model, not measurement: {gpu}; NVLink {a.nvlink_gbps:g} GB/s, IB {a.ib_gbitps:g} Gb/s, "
                 f"alpha {a.alpha_nvl_us:g}/{a.alpha_ib_us:g}/{a.alpha_tree_us:g} us (NCCL tuning model)", fontsize=9)
    fig.tight_layout()
    fig.savefig(a.plot, dpi=130)
    print(f"wrote {a.plot}")


if __name__ == "__main__":
    main()
