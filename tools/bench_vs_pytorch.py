#!/usr/bin/env python3
"""phi4flow against the plain PyTorch reference of the same flow (tools/pytorch_cnf.py): seconds per training step
and per proposal on the same machine.

Settings of the comparison (the paper's model): A = 10 time basis functions, F = 9 frequencies, 50 RK4 steps, batch
100 (global: phi4flow splits train.batch_size over its ranks), total gradient, a fresh model.

* PyTorch: float32 (--dtype), torch.set_num_threads(--torch-threads, default: all cores); one warm-up step, then
  up to --steps timed steps (fewer once --max-seconds is spent; at least one), median and best; sample() of a batch
  without autograd for the proposal cost. Autograd keeps every RK4 stage's features (about 3 B F L^2 numbers per
  stage); where that would not fit in memory, RK4 steps are recomputed in the backward pass (--recompute).
* phi4flow train: two runs, of 1 and 1 + K steps, both reporting (ESS of the minimum number of samples, the same
  cost in both) only at their last step; the difference of the training times in their history files, over K
  steps, is the cost of a step without start-up, allocation, FFT planning or the first step. K is --steps, fewer
  if the first run says K steps would take more than --max-seconds. Launched as [--mpiexec -n RANKS] BINARY with
  OMP_NUM_THREADS = --threads; --phi4flow-args are added to every phi4flow command line (e.g.
  "--flow.precision=single").
* phi4flow also with train.gradient = path, and with the training settings of input/L<L>.ini where that file
  exists (its batch, its train.ode_steps, its gradient and precision).
* phi4flow sample: MH runs of 1 and 1 + K steps with 100 chains in all (100 / RANKS per rank, one flow batch
  each), thermalisation 0, nothing stored; the difference of the wall-clock times over K * 100 proposals.

Ratios are PyTorch / phi4flow (above 1: phi4flow is faster). Run it alone on the machine (the numbers are
wall-clock times).

    flock /tmp/phi4flow-build.lock /usr/bin/python3 tools/bench_vs_pytorch.py --phi4flow build/src/phi4flow \\
        --sizes 12 32 --ranks 2 --out bench.md
"""
import argparse
import csv
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import pytorch_cnf as pc  # noqa: E402

import torch  # noqa: E402

TIME_BASIS, FREQUENCIES = 10, 9


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--phi4flow", default=os.environ.get("PHI4FLOW", os.path.join(ROOT, "build/src/phi4flow")),
                   help="phi4flow binary (default: $PHI4FLOW, else build/src/phi4flow)")
    p.add_argument("--sizes", type=int, nargs="+", default=[12, 32, 64])
    p.add_argument("--batch", type=int, default=100, help="global batch (training) and proposals per MH step")
    p.add_argument("--ode-steps", type=int, default=50)
    p.add_argument("--steps", type=int, default=3, help="timed steps per measurement (at most)")
    p.add_argument("--max-seconds", type=float, default=60.0, help="rough bound on each measurement's timed part")
    p.add_argument("--ranks", type=int, default=1, help="MPI ranks of phi4flow (mpiexec -n RANKS if > 1)")
    p.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for phi4flow (an OpenMP build)")
    p.add_argument("--mpiexec", default="mpirun")
    p.add_argument("--mpiexec-args", default=None,
                   help="extra launcher options (default: '--bind-to none' when --threads > 1, else none)")
    p.add_argument("--phi4flow-args", default="", help="extra options for every phi4flow command, one string")
    p.add_argument("--torch-threads", type=int, default=os.cpu_count())
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--recompute", choices=["auto", "yes", "no"], default="auto",
                   help="PyTorch: recompute RK4 steps in the backward pass (auto: when memory would not suffice)")
    p.add_argument("--inputs", default=os.path.join(ROOT, "input"), help="folder of the L<L>.ini input files")
    p.add_argument("--skip", nargs="*", default=[], choices=["torch", "train", "path", "inputs", "sample"],
                   help="measurements to leave out")
    p.add_argument("--lam", type=float, default=5.0, help="coupling of the action (m2 = -4); timing only")
    p.add_argument("--out", help="write the table here: Markdown if it ends in .md, else CSV")
    p.add_argument("--keep", help="keep phi4flow's files and logs in this folder")
    return p.parse_args()


# ---------------------------------------------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------------------------------------------

def available_bytes():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def torch_timings(L, args):
    dtype = getattr(torch, args.dtype)
    item = torch.finfo(dtype).bits // 8
    saved = 3 * args.batch * FREQUENCIES * L * L * item * 4 * args.ode_steps  # about 3 feature-sized tensors a stage
    free = available_bytes()
    recompute = args.recompute == "yes" or (args.recompute == "auto" and free is not None and saved > 0.6 * free)
    torch.manual_seed(L)
    model = pc.EquivariantCNF(L, TIME_BASIS, FREQUENCIES, args.ode_steps, dtype=dtype, seed=L)
    action = pc.Phi4Action(L, -4.0, args.lam)
    optimizer = pc.make_adam(model, lr=1e-4)

    def draw():
        return torch.randn(args.batch, L * L, dtype=dtype)

    def timed(fn, budget):
        fn()  # warm-up
        times = []
        while len(times) < args.steps and (not times or sum(times) + statistics.median(times) <= budget):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return times

    result = {"torch_recompute": recompute, "torch_saved_gb": saved / 1e9}
    if "torch" in args.skip:
        return result
    steps = timed(lambda: pc.train_step(model, optimizer, draw(), action, checkpoint_steps=recompute),
                  args.max_seconds)
    with torch.no_grad():
        proposals = timed(lambda: model.sample(draw()), args.max_seconds)
    result.update(torch_step=statistics.median(steps), torch_step_best=min(steps), torch_step_n=len(steps),
                  torch_proposal=statistics.median(proposals) / args.batch,
                  torch_proposal_best=min(proposals) / args.batch, torch_proposal_n=len(proposals))
    return result


# ---------------------------------------------------------------------------------------------------------------
# phi4flow
# ---------------------------------------------------------------------------------------------------------------

class Phi4flow:
    def __init__(self, args, folder):
        self.args, self.folder = args, folder
        self.binary = os.path.abspath(args.phi4flow)
        self.extra = shlex.split(args.phi4flow_args)
        launcher_args = args.mpiexec_args
        if launcher_args is None:
            launcher_args = "--bind-to none" if (args.threads or 1) > 1 else ""
        self.launcher = [args.mpiexec, "-n", str(args.ranks)] + shlex.split(launcher_args) if args.ranks > 1 else []
        self.env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                        OMPI_MCA_rmaps_base_oversubscribe="1", HDF5_USE_FILE_LOCKING="FALSE")
        if args.threads:
            self.env["OMP_NUM_THREADS"] = str(args.threads)
        self.count = 0

    def describe(self):
        return " ".join(self.launcher + [self.binary, "<command>", "..."] + self.extra)

    def run(self, command, options, label):
        """Runs phi4flow COMMAND; returns its wall-clock seconds. RuntimeError with the end of its output if it
        fails."""
        self.count += 1
        log = os.path.join(self.folder, f"{self.count:03d}-{label}.log")
        cmd = self.launcher + [self.binary, command] + options + self.extra
        t0 = time.perf_counter()
        with open(log, "w") as out:
            out.write(" ".join(shlex.quote(c) for c in cmd) + "\n")
            out.flush()
            status = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env).returncode
        seconds = time.perf_counter() - t0
        if status != 0:
            lines = open(log).read().splitlines()[1:]
            said = [x for x in lines if x.startswith("phi4flow") or "rror" in x and "mpirun" not in x]
            raise RuntimeError(f"phi4flow {command} exited with {status} ({log}):\n  " +
                               "\n  ".join((said or lines)[-4:]))
        return seconds

    def config(self, L):
        """A minimal input file: the comparison's model and training settings, nothing about precision (the
        binary's default, or --phi4flow-args)."""
        path = os.path.join(self.folder, f"L{L}.ini")
        a = self.args
        with open(path, "w") as f:
            f.write(f"""[lattice]
L = {L}
[action]
m2 = -4.0
lam = {a.lam}
[run]
seed = {L}
progress_interval = 100000
[flow]
model = equivariant_cnf
time_basis = {TIME_BASIS}
frequencies = {FREQUENCIES}
ode_steps = {a.ode_steps}
[train]
batch_size = {a.batch}
lr = 1e-4
lr_schedule = constant
ode_steps = {a.ode_steps}
gradient = total
ess_every = 1000000000
ess_samples = {a.ranks}
checkpoint_every = 1000000000
""")
        return path

    @staticmethod
    def last_history_row(checkpoint):
        history = checkpoint[:-3] + ".history.csv"
        rows = [line.split(",") for line in open(history).read().splitlines()[1:] if line]
        return int(rows[-1][0]), float(rows[-1][4])

    def train_seconds_per_step(self, options, label):
        """(s/step, timed steps): the history times of a 1-step and a (1 + K)-step run, differenced."""
        a = self.args
        base = ["--force", "--train.ess_every=1000000000", f"--train.ess_samples={a.ranks}",
                "--train.checkpoint_every=1000000000", "--run.progress_interval=100000"] + options
        first = os.path.join(self.folder, f"{label}-1.h5")
        self.run("train", base + ["--train.steps=1", f"--train.checkpoint={first}"], f"{label}-1")
        step1, seconds1 = self.last_history_row(first)
        k = max(1, min(a.steps, int(a.max_seconds / max(seconds1, 1e-9))))
        second = os.path.join(self.folder, f"{label}-{1 + k}.h5")
        self.run("train", base + [f"--train.steps={1 + k}", f"--train.checkpoint={second}",
                                  f"--train.time_limit={max(2 * a.max_seconds, 10 * seconds1):.0f}"],
                 f"{label}-{1 + k}")
        step2, seconds2 = self.last_history_row(second)
        if step2 <= step1:
            raise RuntimeError(f"{label}: the second run stopped at step {step2}")
        return (seconds2 - seconds1) / (step2 - step1), step2 - step1, first

    def sample_seconds_per_proposal(self, config, checkpoint, per_step_hint):
        a = self.args
        if a.batch % a.ranks:
            raise RuntimeError(f"--batch {a.batch} is not a multiple of --ranks {a.ranks}")
        chains = a.batch // a.ranks
        output = os.path.join(self.folder, "sample.h5")

        def run(steps):
            return self.run("sample", ["--config", config, "--force", f"--checkpoint={checkpoint}",
                                       f"--sample.chains_per_rank={chains}", f"--sample.batch_size={chains}",
                                       "--sample.thermalisation=0", f"--sample.steps={steps}",
                                       "--sample.measure_every=1", f"--sample.flush_every={steps}",
                                       "--sample.store_fields=false", f"--sample.output={output}",
                                       "--run.progress_interval=100000"], f"sample-{steps}")

        # Start-up (MPI, plans, file creation) varies by ~0.1 s between runs, so the timed part must be long: up to
        # 20 MH steps per timed training step asked for, within --max-seconds; the 1-step run is the best of two.
        t1 = min(run(1), run(1))
        k = max(2, min(20 * a.steps, int(a.max_seconds / max(per_step_hint, 1e-9))))
        t2 = run(1 + k)
        return (t2 - t1) / (k * a.batch), k


def phi4flow_timings(L, runner, args):
    result = {}
    config = runner.config(L)
    checkpoint = None

    def attempt(key, fn):
        try:
            return fn()
        except (RuntimeError, OSError, ValueError, IndexError) as error:
            print(f"  L = {L}, {key}: {error}", file=sys.stderr)
            result[key] = float("nan")
            return None

    if "train" not in args.skip:
        out = attempt("phi4flow_step", lambda: runner.train_seconds_per_step(["--config", config], f"L{L}-total"))
        if out:
            result["phi4flow_step"], result["phi4flow_step_n"], checkpoint = out
    elif "sample" not in args.skip:  # a model to sample from
        checkpoint = os.path.join(runner.folder, f"L{L}-model.h5")
        attempt("phi4flow_proposal", lambda: runner.run("train", [
            "--config", config, "--force", "--train.steps=1", f"--train.checkpoint={checkpoint}"], f"L{L}-model"))
    if "path" not in args.skip:
        out = attempt("phi4flow_path_step", lambda: runner.train_seconds_per_step(
            ["--config", config, "--train.gradient=path"], f"L{L}-path"))
        if out:
            result["phi4flow_path_step"] = out[0]
    input_file = os.path.join(args.inputs, f"L{L}.ini")
    if "inputs" not in args.skip and os.path.exists(input_file):
        out = attempt("phi4flow_input_step", lambda: runner.train_seconds_per_step(
            ["--config", input_file], f"L{L}-input"))
        if out:
            result["phi4flow_input_step"] = out[0]
            result["input_settings"] = input_settings(input_file)
    if "sample" not in args.skip and checkpoint:
        out = attempt("phi4flow_proposal", lambda: runner.sample_seconds_per_proposal(
            config, checkpoint, result.get("phi4flow_step", 0.0) / 3))
        if out:
            result["phi4flow_proposal"] = out[0]
    return result


def input_settings(path):
    """The training settings of an input file that set a step's cost, as 'batch 100, 27 RK4, path, single'."""
    import configparser
    c = configparser.ConfigParser(inline_comment_prefixes=("#",))
    c.read(path)
    train, flow = c["train"] if "train" in c else {}, c["flow"] if "flow" in c else {}
    steps = train.get("ode_steps", "0")
    steps = flow.get("ode_steps", "50") if steps == "0" else steps
    precision = flow.get("precision", "double")
    return (f"batch {train.get('batch_size', '100')}, {steps} RK4, {train.get('gradient', 'total')} gradient, "
            f"{precision}")


# ---------------------------------------------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------------------------------------------

COLUMNS = [("L", "L", "{}"),
           ("torch_step", "torch s/step", "{:.4g}"),
           ("phi4flow_step", "phi4flow s/step", "{:.4g}"),
           ("step_ratio", "ratio", "{:.2f}"),
           ("torch_proposal", "torch s/proposal", "{:.3g}"),
           ("phi4flow_proposal", "phi4flow s/proposal", "{:.3g}"),
           ("proposal_ratio", "ratio", "{:.2f}"),
           ("phi4flow_path_step", "phi4flow path s/step", "{:.4g}"),
           ("phi4flow_input_step", "phi4flow input-file s/step", "{:.4g}"),
           ("input_settings", "input-file settings", "{}")]


def cell(row, key, fmt):
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)


def ratio(a, b):
    return a / b if a is not None and b is not None and b > 0 and not math.isnan(a) and not math.isnan(b) else None


def print_table(rows, header):
    cells = [[title for _, title, _ in COLUMNS]] + [[cell(r, k, f) for k, _, f in COLUMNS] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    print("\n".join(header))
    for line in cells:
        print("  ".join(c.rjust(w) for c, w in zip(line, widths)), flush=True)


def write_table(path, rows, header):
    if path.endswith(".md"):
        with open(path, "w") as f:
            f.write("\n".join(f"<!-- {h} -->" for h in header) + "\n\n")
            f.write("| " + " | ".join(t for _, t, _ in COLUMNS) + " |\n")
            f.write("|" + "---|" * len(COLUMNS) + "\n")
            for r in rows:
                f.write("| " + " | ".join(cell(r, k, fmt) for k, _, fmt in COLUMNS) + " |\n")
        return
    keys = ["L", "torch_step", "torch_step_best", "torch_step_n", "phi4flow_step", "phi4flow_step_n", "step_ratio",
            "torch_proposal", "torch_proposal_best", "phi4flow_proposal", "proposal_ratio", "phi4flow_path_step",
            "phi4flow_input_step", "input_settings", "torch_recompute"]
    with open(path, "w", newline="") as f:
        for h in header:
            f.write(f"# {h}\n")
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in keys})


def main():
    args = parse_args()
    torch.set_num_threads(args.torch_threads)
    if "train" not in args.skip or "sample" not in args.skip or "path" not in args.skip:
        if not os.access(args.phi4flow, os.X_OK):
            sys.exit(f"no phi4flow binary at {args.phi4flow}: give --phi4flow or PHI4FLOW")
    folder = args.keep or tempfile.mkdtemp(prefix="bench_vs_pytorch.")
    os.makedirs(folder, exist_ok=True)
    runner = Phi4flow(args, folder)
    header = [f"A = {TIME_BASIS}, F = {FREQUENCIES}, {args.ode_steps} RK4 steps, batch {args.batch}, total gradient "
              f"(phi4flow path and input-file columns: see their names), fresh model",
              f"PyTorch {torch.__version__}, {args.dtype}, {args.torch_threads} threads; median of up to "
              f"{args.steps} timed steps after a warm-up",
              f"phi4flow: {runner.describe()} ({args.ranks} ranks x "
              f"{args.threads or 'default'} threads); (1 + K)-step minus 1-step runs, K <= {args.steps} "
              f"(proposals: K <= {20 * args.steps} MH steps of {args.batch})",
              "ratio = PyTorch / phi4flow (> 1: phi4flow faster)"]
    rows = []
    for L in args.sizes:
        print(f"L = {L} ...", file=sys.stderr, flush=True)
        row = {"L": L}
        row.update(torch_timings(L, args))
        if row.get("torch_recompute"):
            print(f"  PyTorch recomputes RK4 steps in the backward pass (autograd would keep about "
                  f"{row['torch_saved_gb']:.1f} GB)", file=sys.stderr)
        row.update(phi4flow_timings(L, runner, args))
        row["step_ratio"] = ratio(row.get("torch_step"), row.get("phi4flow_step"))
        row["proposal_ratio"] = ratio(row.get("torch_proposal"), row.get("phi4flow_proposal"))
        rows.append(row)
        print(f"  {row}", file=sys.stderr, flush=True)
    print_table(rows, header)
    if args.out:
        write_table(args.out, rows, header)
        print(f"table written to {args.out}")
    if not args.keep:
        import shutil
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
