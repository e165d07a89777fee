// Memory estimates of the commands, and the check against the memory available on the node.
#include "memory_check.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "phi4flow/error.hpp"

namespace phi4flow::app {

namespace {

constexpr double kReal = 8.0;      // real_t = double
constexpr double kMargin = 1.15;   // allocator slack, FFT plans, HDF5 buffers, MPI
constexpr double kFixed = 64e6;    // code, Kokkos, MPI and HDF5 themselves

/// Sizes of the lattice, in doubles so that no product overflows.
struct Geometry {
  double L, N, M;  // extent, sites L^2, modes of the half spectrum L (L/2 + 1)
  explicit Geometry(int extent)
      : L(std::max(extent, 0)), N(L * L), M(L * (std::floor(L / 2) + 1)) {}
};

/// What one model allocates for a batch of B fields: a fixed part (parameters, kernels) and per-field parts of
/// the forward integration, of the gradient and of the score.
struct ModelCost {
  double fixed = 0.0;
  double forward = 0.0;      ///< per field: sample, log_density
  double gradient = 0.0;     ///< per field, besides forward: loss_and_gradient's scratch
  double stored = 0.0;       ///< per field: the states kept for the backward pass (RK4 steps or coupling layers)
  double path = 0.0;         ///< per field, besides gradient: the path estimator's score
  std::string stored_key;    ///< the key that sets how many states are stored, with its value
  std::string stored_name;   ///< that key alone
  std::string forward_keys;  ///< keys that make the per-field scratch grow
};

ModelCost model_cost(const io::Settings& settings, const Geometry& g, int ode_steps, const std::string& steps_key) {
  const io::FlowConfig& flow = settings.flow;
  ModelCost cost;
  if (flow.model == "realnvp") {
    const double hc = std::max(flow.hidden_channels, 0), H = std::max(flow.hidden_layers, 0);
    const double k2 = static_cast<double>(flow.kernel_size) * flow.kernel_size;
    const double layers = std::max(flow.coupling_layers, 0);
    const double per_layer =
        H > 0 ? hc * (k2 + 1) + (H - 1) * hc * (hc * k2 + 1) + 2 * (hc * k2 + 1) : 2 * (k2 + 1);
    cost.fixed = 6 * kReal * layers * per_layer + 4.0 * k2 * g.N;  // parameters, gradient, Adam; neighbour table
    // Workspace: hidden activations, two hidden cotangents, (s, t) and its cotangent, adjoint and state fields.
    cost.forward = kReal * g.N * (H * hc + (H > 0 ? 2 * hc : 0) + 4 + 2);
    cost.stored = kReal * g.N * layers;
    cost.stored_key = "flow.coupling_layers = " + std::to_string(flow.coupling_layers);
    cost.stored_name = "flow.coupling_layers";
    cost.forward_keys = "flow.hidden_channels, flow.hidden_layers";
    return cost;
  }
  const double F = std::max(flow.frequencies, 0), A = std::max(flow.time_basis, 0);
  const double nf = F + (flow.linear_term ? 1 : 0) + (flow.sign_breaking ? F + 1 : 0);
  const double rows = flow.translation_only ? g.N : g.N / 8 + g.L + 1;  // D4 orbits of displacements
  // With bond matrices the learned core is rows x time_bond x feature_bond, and theta (rows x A x nf) is kept
  // beside it with its gradient.
  const double Tc = flow.fourier_time > 0 ? flow.fourier_time : flow.time_bond > 0 ? flow.time_bond : A;
  const double Fc = flow.feature_bond > 0 ? flow.feature_bond : nf;
  const bool bonds = flow.time_bond > 0 || flow.feature_bond > 0 || flow.fourier_time > 0;
  const double params = rows * Tc * Fc + (flow.time_bond > 0 ? Tc * A : 0) + (flow.feature_bond > 0 ? Fc * nf : 0) + F;
  // Fields and spectra are in the solver's precision (flow.precision); parameters, log q and the fields handed in
  // and out are double.
  const double real = flow.precision == "single" ? kReal / 2 : kReal, complex = 2 * real;
  // Parameters, their copy for the kernel cache, gradient, Adam moments, the trainer's gradient buffer; the
  // kernel fields and their two spectra (time basis x features); the stage kernel.
  cost.fixed = 6 * kReal * params + (bonds ? 2 * kReal * (rows * A * nf + F) : 0) +
               A * nf * (real * g.N + 2 * complex * g.M) + complex * nf * g.M;
  // Workspace: features and their spectra, g and its spectrum, acc, stage and state; the latent field in double.
  cost.forward = real * g.N * (nf + 4) + complex * g.M * (nf + 1) + kReal * g.N;
  // Adjoint: three stage inputs, three stages' feature spectra, phi_bar, adjoint, adjoint_next, the latent field;
  // the final fields and the force in double; partial sums.
  cost.gradient = real * g.N * 7 + 3 * complex * g.M * nf + kReal * 2 * g.N + kReal * 3 * F;
  cost.stored = real * g.N * std::max(ode_steps, 0);
  cost.path = 4 * real * g.N;
  cost.stored_key = steps_key + " = " + std::to_string(ode_steps);
  cost.stored_name = steps_key;
  cost.forward_keys = "flow.frequencies";
  return cost;
}

/// Host record block of an ensemble writer: flush_every records of every local chain, and the chains' state;
/// twice, since a flush holds a copy of the block as well (measured: an hmc run at L = 128 peaks at about twice
/// its block).
double record_block(const Geometry& g, double chains, double flush_every, bool store_fields, double series,
                    double vectors) {
  const double per_record = (store_fields ? g.N : 0.0) + vectors * g.L + series + 1;
  return 2 * kReal * (flush_every * chains * per_record + chains * (g.N + 4));
}

std::string number(double x) {
  std::ostringstream out;
  out.precision(6);
  out << x;
  return out.str();
}

}  // namespace

double MemoryEstimate::per_rank() const {
  double total = kFixed;
  for (const auto& part : parts) total += part.bytes;
  return total * kMargin;
}

const MemoryPart& MemoryEstimate::largest() const {
  static const MemoryPart none{"nothing", 0.0, ""};
  if (parts.empty()) return none;
  return *std::max_element(parts.begin(), parts.end(),
                           [](const MemoryPart& a, const MemoryPart& b) { return a.bytes < b.bytes; });
}

MemoryEstimate estimate_memory(const io::Settings& settings, const std::string& command, int n_ranks, int samples) {
  const Geometry g(settings.lattice.L);
  const std::string sites = " x lattice.L^2 = " + number(g.N) + " sites";
  MemoryEstimate estimate;
  auto& parts = estimate.parts;
  if (command == "hmc") {
    const io::HmcConfig& hmc = settings.hmc;
    const double chains = std::max(hmc.chains_per_rank, 0);
    parts.push_back({"the chains' fields, momenta and copies (5 fields x hmc.chains_per_rank = " + number(chains) +
                         sites + ")",
                     5 * kReal * chains * g.N, "hmc.chains_per_rank, lattice.L"});
    parts.push_back({"the record block (hmc.flush_every = " + std::to_string(hmc.flush_every) +
                         " records x hmc.chains_per_rank = " + number(chains) + (hmc.store_fields ? sites : "") + ")",
                     record_block(g, chains, std::max(hmc.flush_every, 0), hmc.store_fields, 6, 1),
                     std::string("hmc.flush_every, hmc.chains_per_rank") +
                         (hmc.store_fields ? ", lattice.L (or hmc.store_fields = false)" : "")});
  } else if (command == "train") {
    const io::TrainConfig& train = settings.train;
    const int ranks = std::max(n_ranks, 1);
    const double batch = std::ceil(static_cast<double>(std::max(train.batch_size, 0)) / ranks);
    const bool own_steps = train.ode_steps > 0;
    const std::string steps_key = own_steps ? "train.ode_steps" : "flow.ode_steps";
    const int steps = own_steps ? train.ode_steps : settings.flow.ode_steps;
    const ModelCost model = model_cost(settings, g, steps, steps_key);
    const std::string share = "train.batch_size = " + std::to_string(train.batch_size) + " over " +
                              std::to_string(ranks) + (ranks == 1 ? " rank" : " ranks");
    parts.push_back({"the model's parameters and kernels", model.fixed, "lattice.L, flow.time_basis, flow.frequencies"});
    parts.push_back({"the flow's scratch (" + share + sites + " x the features)",
                     batch * (model.forward + model.gradient + 2 * kReal * g.N +
                              (train.gradient == "path" ? model.path : 0.0)),
                     "train.batch_size, " + model.forward_keys + ", lattice.L"});
    parts.push_back({"the states kept for the gradient (" + share + " x " + model.stored_key + sites + ")",
                     batch * model.stored, "train.batch_size, " + model.stored_name + ", lattice.L"});
  } else if (command == "sample") {
    const io::SampleConfig& sample = settings.sample;
    const double batch = std::max(sample.batch_size, 0), chains = std::max(sample.chains_per_rank, 0);
    const ModelCost model = model_cost(settings, g, settings.flow.ode_steps, "flow.ode_steps");
    parts.push_back({"the model's parameters and kernels", model.fixed, "lattice.L, flow.time_basis, flow.frequencies"});
    // The model's forward scratch, the latent and proposed fields with their host copy, the proposals of a
    // round (max(batch, chains) fields on the host) and the chains' states.
    parts.push_back({"the proposals' scratch (sample.batch_size = " + std::to_string(sample.batch_size) + sites +
                         " x the features)",
                     batch * (model.forward + 3 * kReal * g.N) + kReal * g.N * (std::max(batch, chains) + chains),
                     "sample.batch_size, " + model.forward_keys + ", lattice.L"});
    parts.push_back({"the record block (sample.flush_every = " + std::to_string(sample.flush_every) +
                         " records x sample.chains_per_rank = " + number(chains) + (sample.store_fields ? sites : "") +
                         ")",
                     record_block(g, chains, std::max(sample.flush_every, 0), sample.store_fields, 24, 2),
                     std::string("sample.flush_every, sample.chains_per_rank") +
                         (sample.store_fields ? ", lattice.L (or sample.store_fields = false)" : "")});
  } else if (command == "solver-error") {
    const double batch = std::max(samples, 0);
    const ModelCost model = model_cost(settings, g, settings.flow.ode_steps, "flow.ode_steps");
    parts.push_back({"two models' parameters and kernels", 2 * model.fixed, "lattice.L, flow.time_basis"});
    parts.push_back({"two models' scratch and five fields (--samples = " + std::to_string(samples) + sites + ")",
                     batch * (2 * model.forward + 5 * kReal * g.N), "--samples, lattice.L"});
  } else if (command == "symmetry") {
    // Every one of the 8 L^2 lattice images of one configuration at once: a batch of 8 N fields of N sites.
    const double images = 8 * g.N;
    const ModelCost model = model_cost(settings, g, settings.flow.ode_steps, "flow.ode_steps");
    parts.push_back({"the model's parameters and kernels", model.fixed, "lattice.L"});
    parts.push_back({"the 8 L^2 = " + number(images) + " lattice images of a configuration and the model's scratch "
                         "for them (they grow as lattice.L^4)",
                     images * (model.forward + 2 * kReal * g.N), "lattice.L"});
    // The ensemble it reads (all stored fields) is not counted: its size is that of the file given.
  }
  return estimate;
}

namespace {

/// A number from the first line of a file (cgroup files), or -1 if absent or "max".
double read_number(const std::string& path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word == "max") return -1.0;
  char* end = nullptr;
  const double x = std::strtod(word.c_str(), &end);
  return end != word.c_str() ? x : -1.0;
}

/// Room left under a cgroup memory limit (v2, then v1), or -1 if there is none.
double cgroup_room() {
  double limit = read_number("/sys/fs/cgroup/memory.max"), used = read_number("/sys/fs/cgroup/memory.current");
  if (limit < 0) {
    limit = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    used = read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  }
  if (limit < 0 || limit > 1e18) return -1.0;  // v1 reports "no limit" as a huge number
  return std::max(0.0, limit - std::max(used, 0.0));
}

}  // namespace

double available_memory_bytes() {
  double available = -1.0;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kb = 0.0;
  std::string unit;
  while (meminfo >> key >> kb) {
    std::getline(meminfo, unit);
    if (key == "MemAvailable:") {
      available = kb * 1024.0;
      break;
    }
  }
  if (available < 0) {
    const long pages = ::sysconf(_SC_AVPHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) available = static_cast<double>(pages) * page;
  }
  const double room = cgroup_room();
  if (room >= 0 && (available < 0 || room < available)) available = room;
  return std::max(available, 0.0);
}

std::string format_bytes(double bytes) {
  const char* units[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (bytes >= 1000.0 && u < 6) {
    bytes /= 1000.0;
    ++u;
  }
  char text[32];
  std::snprintf(text, sizeof text, u == 0 ? "%.0f %s" : "%.3g %s", bytes, units[u]);
  return text;
}

void check_memory(const io::Settings& settings, const std::string& command, int n_ranks, int ranks_on_node,
                  int samples) {
  const MemoryEstimate estimate = estimate_memory(settings, command, n_ranks, samples);
  if (estimate.parts.empty()) return;
  const bool serial = command == "solver-error" || command == "symmetry";  // rank 0 does the work
  const int local = serial ? 1 : std::max(1, ranks_on_node);
  const double per_rank = estimate.per_rank(), needed = per_rank * local;
  const double available = available_memory_bytes();
  if (available <= 0.0 || needed <= available) return;
  const MemoryPart& largest = estimate.largest();
  std::string where = format_bytes(per_rank) + (serial ? "" : " per rank");
  if (local > 1) where += " x " + std::to_string(local) + " ranks on this node = " + format_bytes(needed);
  throw InputError("not enough memory: " + command + " needs about " + where + ", " + format_bytes(available) +
                   " is available; most of it, " + format_bytes(largest.bytes * kMargin) + ", is " + largest.what +
                   ": lower " + largest.keys + (local > 1 ? ", or run fewer ranks per node" : ""));
}

}  // namespace phi4flow::app
