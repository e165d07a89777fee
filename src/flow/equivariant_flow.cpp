// EquivariantFlow: settings, parameters, their initialisation and transfer across lattice sizes. The arithmetic
// (kernel transforms, RK4, adjoint) is its solver's, in the precision the settings ask for (flow_solver.cpp).
#include "phi4flow/flow/equivariant_flow.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>

#include "flow_solver.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/rng/philox.hpp"

namespace phi4flow::flow {

namespace {

void check_input(bool ok, const std::string& key, const std::string& what) {
  if (!ok) throw InputError("flow." + key + ": " + what);
}

// Theta row of each displacement r (indexed by its site): its D4 orbit, or r itself when translation_only.
std::vector<int> theta_rows(const Lattice& lattice, bool translation_only) {
  if (!translation_only) return lattice.orbit_of();
  std::vector<int> rows(lattice.volume());
  for (int r = 0; r < lattice.volume(); ++r) rows[r] = r;
  return rows;
}

}  // namespace

TimeWeights hat_weights(int time_basis, double t_end, double t) {
  if (time_basis == 1) return TimeWeights{0, 0, 1.0, 0.0};
  const double u = std::clamp(t / t_end, 0.0, 1.0) * (time_basis - 1);
  const int lo = std::min(static_cast<int>(u), time_basis - 2);
  const double w_hi = u - lo;
  return TimeWeights{lo, lo + 1, 1.0 - w_hi, w_hi};
}

EquivariantFlow::EquivariantFlow(const Lattice& lattice, const EquivariantFlowConfig& config, std::uint32_t seed)
    : lattice_(lattice), config_(config) {
  check_input(config.time_basis >= 1, "time_basis", "must be at least 1, got " + std::to_string(config.time_basis));
  check_input(config.frequencies >= 1, "frequencies", "must be at least 1, got " + std::to_string(config.frequencies));
  check_input(config.steps >= 1, "ode_steps", "must be at least 1, got " + std::to_string(config.steps));
  check_input(std::isfinite(config.t_end) && config.t_end > 0.0, "t_end",
              "must be a positive time, got " + std::to_string(config.t_end));

  const int L = lattice.extent();
  sites_ = lattice.volume();
  features_ = config.frequencies + (config.linear_term ? 1 : 0) + (config.sign_breaking ? config.frequencies + 1 : 0);
  row_of_host_ = theta_rows(lattice, config.translation_only);
  rows_ = *std::max_element(row_of_host_.begin(), row_of_host_.end()) + 1;

  // Displacements of each theta row, as compressed rows, for gathering the theta gradient.
  std::vector<int> start(rows_ + 1, 0), members(sites_);
  for (int r = 0; r < sites_; ++r) ++start[row_of_host_[r] + 1];
  for (int p = 0; p < rows_; ++p) start[p + 1] += start[p];
  std::vector<int> fill(start.begin(), start.end() - 1);
  for (int r = 0; r < sites_; ++r) members[fill[row_of_host_[r]]++] = r;
  auto to_device = [](const std::vector<int>& v, const std::string& name) {
    Kokkos::View<int*, MemSpace> out(name, v.size());
    Kokkos::deep_copy(out,
                      Kokkos::View<const int*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(v.data(), v.size()));
    return out;
  };

  const int n_params = theta_size() + config.frequencies;
  params_ = ParameterView("phi4flow::EquivariantFlow::parameters", n_params);  // theta = 0: the identity
  auto host_params = Kokkos::create_mirror_view(params_);
  Kokkos::deep_copy(host_params, 0.0);
  const rng::Philox gen(seed, rng::Purpose::flow_init);
  for (int f = 0; f < config.frequencies; ++f) {
    const auto element = static_cast<std::uint32_t>(f);
    host_params(omega_index(f)) =
        config.uniform_frequencies ? 5.0 * gen.uniform(1, 0, element) : gen.normal(0, 0, element);
  }
  Kokkos::deep_copy(params_, host_params);

  detail::FlowDefinition definition;
  definition.L = L;
  definition.sites = sites_;
  definition.modes = half_spectrum_size(L);
  definition.features = features_;
  definition.omega_offset = omega_index(0);
  definition.config = config;
  definition.params = params_;
  definition.row_of = to_device(row_of_host_, "phi4flow::EquivariantFlow::row_of");
  definition.row_start = to_device(start, "phi4flow::EquivariantFlow::row_start");
  definition.row_sites = to_device(members, "phi4flow::EquivariantFlow::row_sites");
  solver_ = detail::make_flow_solver(definition);
}

EquivariantFlow::~EquivariantFlow() = default;

std::vector<std::pair<std::string, double>> EquivariantFlow::hyperparameters() const {
  std::vector<std::pair<std::string, double>> hyper = {{"L", lattice_.extent()},
                                                       {"time_basis", config_.time_basis},
                                                       {"frequencies", config_.frequencies},
                                                       {"steps", config_.steps},
                                                       {"translation_only", config_.translation_only ? 1.0 : 0.0},
                                                       {"sign_breaking", config_.sign_breaking ? 1.0 : 0.0},
                                                       {"t_end", config_.t_end},
                                                       {"single_precision", config_.single_precision ? 1.0 : 0.0},
                                                       {"parameters", static_cast<double>(params_.extent(0))}};
  // Named only when on, so that the checkpoints written before the option existed still describe their model.
  if (config_.linear_term) hyper.emplace_back("linear_term", 1.0);
  return hyper;
}

void EquivariantFlow::load_parameters_from_lattice(const std::vector<double>& from, int L_from) {
  const int L = lattice_.extent();
  const std::string source = "train.init_from (a flow trained on L = " + std::to_string(L_from) + ")";
  if (L_from < 2 || L_from > L)
    throw InputError(source + ": L = " + std::to_string(L) + " can only start from a lattice at most as large");
  const Lattice lattice_from(L_from);
  const std::vector<int> row_from = theta_rows(lattice_from, config_.translation_only);
  const int rows_from = *std::max_element(row_from.begin(), row_from.end()) + 1;
  const int row_size = config_.time_basis * features_;
  const std::size_t expected = static_cast<std::size_t>(rows_from) * row_size + config_.frequencies;
  if (from.size() != expected) {
    throw InputError(source + " holds " + std::to_string(from.size()) + " parameters, this model's kernel on L = " +
                     std::to_string(L_from) + " has " + std::to_string(expected) + ": use the same flow.* settings");
  }

  std::vector<double> to(params_.extent(0), 0.0);
  const int reach = L_from / 2;
  // Both images of the displacement L_from / 2 exist here when L_from is even and smaller than L.
  const bool split_edge = L_from % 2 == 0 && L_from < L;
  const auto centred = [L](int x) { return (x + L / 2) % L - L / 2; };  // in [-L/2, L/2)
  for (int r = 0; r < sites_; ++r) {
    const Site d = lattice_.coords(r);
    const int d1 = centred(d.x1), d2 = centred(d.x2);
    if (std::abs(d1) > reach || std::abs(d2) > reach) continue;
    const double weight =
        (split_edge && std::abs(d1) == reach ? 0.5 : 1.0) * (split_edge && std::abs(d2) == reach ? 0.5 : 1.0);
    const int source_row = row_from[lattice_from.index(d1, d2)];
    // Every member of a row here maps to one row there with one weight (both are D4-invariant), so rows shared
    // by several displacements are written with the same values.
    for (int i = 0; i < row_size; ++i) to[row_of_host_[r] * row_size + i] = weight * from[source_row * row_size + i];
  }
  std::copy(from.end() - config_.frequencies, from.end(), to.end() - config_.frequencies);
  Kokkos::deep_copy(
      params_, Kokkos::View<const real_t*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(to.data(), to.size()));
}

void EquivariantFlow::sample(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q) {
  solver_->sample(z, phi, log_q);
}

void EquivariantFlow::sample_with_score(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q,
                                        const FieldBatch& score) {
  solver_->sample_with_score(z, phi, log_q, score);
}

void EquivariantFlow::log_density(const ConstFieldBatch& phi, const BatchScalars& log_q) {
  solver_->log_density(phi, log_q);
}

void EquivariantFlow::invert(const ConstFieldBatch& phi, const FieldBatch& z, const BatchScalars& log_q) {
  solver_->invert(phi, z, log_q);
}

double EquivariantFlow::do_loss_and_gradient(const ConstFieldBatch& z, const Phi4Action& action,
                                             const ParameterView& grad, GradientEstimator estimator) {
  return solver_->loss_and_gradient(z, action, grad, estimator);
}

void EquivariantFlow::vector_field(const ConstFieldBatch& phi, double t, const FieldBatch& g, const BatchScalars& div) {
  solver_->vector_field(phi, t, g, div);
}

void EquivariantFlow::vector_field_vjp(const ConstFieldBatch& phi, double t, const ConstFieldBatch& v, double c,
                                       const FieldBatch& phi_bar, const ParameterView& grad) {
  solver_->vector_field_vjp(phi, t, v, c, phi_bar, grad);
}

}  // namespace phi4flow::flow
