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

using detail::ConstRealView;
using detail::RealView;

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

// The bond factorisation theta[r][a][j] = sum_{al, be} C[r][al][be] T[al][a] V[be][j] (follow-up paper), with T or V
// the identity where its bond is off. Offsets into the parameter buffer; T and V follow the core.
struct Bonds {
  int rows, A, nf, Tc, Fc;  // Tc, Fc: channels of the core (the bonds, or A and nf)
  bool time, feature;       // whether T, V are learned
  int T_offset, V_offset;
  bool fourier;  // T fixed: the Fourier functions at the hat nodes

  /// The m-th Fourier function of the time kernel at node a: 1, sin(pi u), cos(pi u), sin(2 pi u), ... with
  /// u = t_a / t_end = a / (A - 1).
  KOKKOS_INLINE_FUNCTION double fourier_at(int m, int a) const {
    if (m == 0) return 1.0;
    const double u = A > 1 ? static_cast<double>(a) / (A - 1) : 0.0, angle = 3.14159265358979323846 * ((m + 1) / 2) * u;
    return m % 2 == 1 ? kmath::sin(angle) : kmath::cos(angle);
  }
  KOKKOS_INLINE_FUNCTION double T(const ConstRealView& p, int al, int a) const {
    if (fourier) return fourier_at(al, a);
    return time ? p(T_offset + al * A + a) : (al == a ? 1.0 : 0.0);
  }
  KOKKOS_INLINE_FUNCTION double V(const ConstRealView& p, int be, int j) const {
    return feature ? p(V_offset + be * nf + j) : (be == j ? 1.0 : 0.0);
  }
  KOKKOS_INLINE_FUNCTION double C(const ConstRealView& p, int r, int al, int be) const {
    return p((r * Tc + al) * Fc + be);
  }
  KOKKOS_INLINE_FUNCTION int theta_at(int r, int a, int j) const { return (r * A + a) * nf + j; }
};

Bonds bonds_of(const EquivariantFlow& flow) {
  const EquivariantFlowConfig& c = flow.config();
  const int A = c.time_basis, nf = flow.feature_count();
  const int core = flow.core_size();
  return Bonds{flow.kernel_rows(),
               A,
               nf,
               c.fourier_time > 0 ? c.fourier_time : c.time_bond > 0 ? c.time_bond : A,
               c.feature_bond > 0 ? c.feature_bond : nf,
               c.time_bond > 0,
               c.feature_bond > 0,
               core,
               core + (c.time_bond > 0 ? c.time_bond * A : 0),
               c.fourier_time > 0};
}

void contract_bonds(const Bonds& bonds, const ConstRealView& p, const RealView& theta) {
  const Bonds b = bonds;
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::contract_bonds", Kokkos::RangePolicy<ExecSpace>(0, b.rows * b.A * b.nf),
      KOKKOS_LAMBDA(const int i) {
        const int r = i / (b.A * b.nf), a = (i / b.nf) % b.A, j = i % b.nf;
        double sum = 0.0;
        for (int al = 0; al < b.Tc; ++al) {
          double inner = 0.0;
          for (int be = 0; be < b.Fc; ++be) inner += b.C(p, r, al, be) * b.V(p, be, j);
          sum += inner * b.T(p, al, a);
        }
        theta(i) = sum;
      });
}

// grad_C, grad_T, grad_V from G = d/d theta: the chain rule through contract_bonds.
void pull_back_bonds(const Bonds& bonds, const ConstRealView& p, const ConstRealView& G, const RealView& grad) {
  const Bonds b = bonds;
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::pull_back_core", Kokkos::RangePolicy<ExecSpace>(0, b.rows * b.Tc * b.Fc),
      KOKKOS_LAMBDA(const int i) {
        const int r = i / (b.Tc * b.Fc), al = (i / b.Fc) % b.Tc, be = i % b.Fc;
        double sum = 0.0;
        for (int a = 0; a < b.A; ++a)
          for (int j = 0; j < b.nf; ++j) sum += G(b.theta_at(r, a, j)) * b.T(p, al, a) * b.V(p, be, j);
        grad(i) = sum;
      });
  if (b.time)
    Kokkos::parallel_for(
        "phi4flow::EquivariantFlow::pull_back_time_bond", Kokkos::RangePolicy<ExecSpace>(0, b.Tc * b.A),
        KOKKOS_LAMBDA(const int i) {
          const int al = i / b.A, a = i % b.A;
          double sum = 0.0;
          for (int r = 0; r < b.rows; ++r)
            for (int be = 0; be < b.Fc; ++be) {
              double inner = 0.0;
              for (int j = 0; j < b.nf; ++j) inner += G(b.theta_at(r, a, j)) * b.V(p, be, j);
              sum += inner * b.C(p, r, al, be);
            }
          grad(b.T_offset + i) = sum;
        });
  if (b.feature)
    Kokkos::parallel_for(
        "phi4flow::EquivariantFlow::pull_back_feature_bond", Kokkos::RangePolicy<ExecSpace>(0, b.Fc * b.nf),
        KOKKOS_LAMBDA(const int i) {
          const int be = i / b.nf, j = i % b.nf;
          double sum = 0.0;
          for (int r = 0; r < b.rows; ++r)
            for (int al = 0; al < b.Tc; ++al) {
              double inner = 0.0;
              for (int a = 0; a < b.A; ++a) inner += G(b.theta_at(r, a, j)) * b.T(p, al, a);
              sum += inner * b.C(p, r, al, be);
            }
          grad(b.V_offset + i) = sum;
        });
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
  check_input(config.time_bond >= 0 && config.time_bond <= config.time_basis, "time_bond",
              "must be 0 (off) or a channel count up to flow.time_basis = " + std::to_string(config.time_basis) +
                  ", got " + std::to_string(config.time_bond));
  check_input(config.feature_bond >= 0 && config.feature_bond <= features_, "feature_bond",
              "must be 0 (off) or a channel count up to the " + std::to_string(features_) + " features, got " +
                  std::to_string(config.feature_bond));
  check_input(config.fourier_time >= 0 && config.fourier_time <= config.time_basis, "fourier_time",
              "must be 0 (off) or a number of Fourier functions up to flow.time_basis = " +
                  std::to_string(config.time_basis) + " (the nodes they are taken at), got " +
                  std::to_string(config.fourier_time));
  check_input(config.fourier_time == 0 || config.time_bond == 0, "fourier_time",
              "and flow.time_bond both set the time channels: use one of them");
  time_channels_ = config.fourier_time > 0 ? config.fourier_time
                   : config.time_bond > 0  ? config.time_bond
                                           : config.time_basis;
  feature_channels_ = config.feature_bond > 0 ? config.feature_bond : features_;
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

  const int bond_size = (config.time_bond > 0 ? config.time_bond * config.time_basis : 0) +
                        (config.feature_bond > 0 ? config.feature_bond * features_ : 0);
  const int n_params = core_size() + bond_size + config.frequencies;
  params_ = ParameterView("phi4flow::EquivariantFlow::parameters", n_params);  // theta (or C) = 0: the identity
  auto host_params = Kokkos::create_mirror_view(params_);
  Kokkos::deep_copy(host_params, 0.0);
  const rng::Philox gen(seed, rng::Purpose::flow_init);
  // T and V from N(0, 1 / bond), so that theta = C T V starts at the scale of C.
  for (int i = 0; i < bond_size; ++i) {
    const int bond = i < config.time_bond * config.time_basis ? config.time_bond : config.feature_bond;
    host_params(core_size() + i) = gen.normal(2, 0, static_cast<std::uint32_t>(i)) / std::sqrt(double(bond));
  }
  for (int f = 0; f < config.frequencies; ++f) {
    const auto element = static_cast<std::uint32_t>(f);
    host_params(omega_index(f)) =
        config.uniform_frequencies ? 5.0 * gen.uniform(1, 0, element) : gen.normal(0, 0, element);
  }
  Kokkos::deep_copy(params_, host_params);
  effective_ = params_;
  if (has_bonds()) {
    effective_ = ParameterView("phi4flow::EquivariantFlow::effective_parameters", theta_size() + config.frequencies);
    effective_grad_ = ParameterView("phi4flow::EquivariantFlow::effective_gradient", effective_.extent(0));
  }

  detail::FlowDefinition definition;
  definition.L = L;
  definition.sites = sites_;
  definition.modes = half_spectrum_size(L);
  definition.features = features_;
  definition.omega_offset = theta_size();
  definition.config = config;
  definition.params = effective_;
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
  // Named only when on, so that the checkpoints written before the options existed still describe their model.
  if (config_.linear_term) hyper.emplace_back("linear_term", 1.0);
  if (config_.time_bond > 0) hyper.emplace_back("time_bond", config_.time_bond);
  if (config_.feature_bond > 0) hyper.emplace_back("feature_bond", config_.feature_bond);
  if (config_.fourier_time > 0) hyper.emplace_back("fourier_time", config_.fourier_time);
  return hyper;
}

std::vector<std::string> EquivariantFlow::options_added_at_start() const {
  if (config_.linear_term) return {"linear_term"};
  return {};
}

void EquivariantFlow::load_start_parameters(const std::vector<double>& given, int L_from,
                                            const std::vector<std::string>& added) {
  const int L = lattice_.extent();
  const std::string source = "train.init_from (a flow trained on L = " + std::to_string(L_from) + ")";
  if (L_from < 2 || L_from > L)
    throw InputError(source + ": L = " + std::to_string(L) + " can only start from a lattice at most as large");
  const bool add_linear = std::find(added.begin(), added.end(), "linear_term") != added.end();
  for (const std::string& option : added)
    if (option != "linear_term" || !config_.linear_term)
      throw InputError(source + ": flow." + option + " cannot be added to a trained flow; set it as the source had it");
  const Lattice lattice_from(L_from);
  const std::vector<int> row_from = theta_rows(lattice_from, config_.translation_only);
  const int rows_from = *std::max_element(row_from.begin(), row_from.end()) + 1;
  // Rows of theta (or of the core C) move over by displacement; what follows them (T, V, omega) is copied.
  const int row_size = time_channels_ * feature_channels_;
  const std::size_t tail = params_.extent(0) - static_cast<std::size_t>(core_size());
  const std::size_t expected = static_cast<std::size_t>(rows_from) * row_size + tail;
  // An added linear_term: the source lacks the feature j = F in each vector over features (the core's rows
  // without feature_bond, V's rows with it); it starts at 0 here, so that this flow starts as the source's.
  const int F = config_.frequencies;
  const std::size_t feature_vectors = config_.feature_bond > 0 ? config_.feature_bond : rows_from * time_channels_;
  const std::size_t first_vector =
      config_.feature_bond > 0 ? static_cast<std::size_t>(rows_from) * row_size + config_.time_bond * config_.time_basis
                               : 0;
  const std::size_t expected_given = add_linear ? expected - feature_vectors : expected;
  if (given.size() != expected_given) {
    throw InputError(source + " holds " + std::to_string(given.size()) + " parameters, this model's kernel on L = " +
                     std::to_string(L_from) + " has " + std::to_string(expected_given) +
                     ": use the same flow.* settings");
  }
  std::vector<double> from = given;
  if (add_linear) {
    from.assign(expected, 0.0);
    const std::size_t width = features_, width_given = features_ - 1;
    const auto end_given = given.begin() + static_cast<std::ptrdiff_t>(first_vector + feature_vectors * width_given);
    std::copy(given.begin(), given.begin() + static_cast<std::ptrdiff_t>(first_vector), from.begin());
    for (std::size_t v = 0; v < feature_vectors; ++v)
      for (std::size_t j = 0; j < width_given; ++j)
        from[first_vector + v * width + (j < F ? j : j + 1)] = given[first_vector + v * width_given + j];
    std::copy(end_given, given.end(), from.begin() + static_cast<std::ptrdiff_t>(first_vector + feature_vectors * width));
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
  std::copy(from.end() - static_cast<std::ptrdiff_t>(tail), from.end(), to.end() - static_cast<std::ptrdiff_t>(tail));
  Kokkos::deep_copy(
      params_, Kokkos::View<const real_t*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(to.data(), to.size()));
}

void EquivariantFlow::update_effective() {
  if (!has_bonds()) return;
  contract_bonds(bonds_of(*this), params_, Kokkos::subview(effective_, std::make_pair(0, theta_size())));
  Kokkos::deep_copy(Kokkos::subview(effective_, std::make_pair(theta_size(), theta_size() + config_.frequencies)),
                    Kokkos::subview(params_, std::make_pair(omega_index(0), omega_index(0) + config_.frequencies)));
}

void EquivariantFlow::pull_back(const ParameterView& grad) {
  pull_back_bonds(bonds_of(*this), params_, effective_grad_, grad);
  Kokkos::deep_copy(
      Kokkos::subview(grad, std::make_pair(omega_index(0), omega_index(0) + config_.frequencies)),
      Kokkos::subview(effective_grad_, std::make_pair(theta_size(), theta_size() + config_.frequencies)));
}

ParameterView EquivariantFlow::effective_parameters() {
  update_effective();
  return effective_;
}

void EquivariantFlow::sample(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q) {
  update_effective();
  solver_->sample(z, phi, log_q);
}

void EquivariantFlow::sample_with_score(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q,
                                        const FieldBatch& score) {
  update_effective();
  solver_->sample_with_score(z, phi, log_q, score);
}

void EquivariantFlow::log_density(const ConstFieldBatch& phi, const BatchScalars& log_q) {
  update_effective();
  solver_->log_density(phi, log_q);
}

void EquivariantFlow::invert(const ConstFieldBatch& phi, const FieldBatch& z, const BatchScalars& log_q) {
  update_effective();
  solver_->invert(phi, z, log_q);
}

double EquivariantFlow::do_loss_and_gradient(const ConstFieldBatch& z, const Phi4Action& action,
                                             const ParameterView& grad, GradientEstimator estimator) {
  update_effective();
  if (!has_bonds()) return solver_->loss_and_gradient(z, action, grad, estimator);
  const double loss = solver_->loss_and_gradient(z, action, effective_grad_, estimator);
  pull_back(grad);
  return loss;
}

void EquivariantFlow::vector_field(const ConstFieldBatch& phi, double t, const FieldBatch& g, const BatchScalars& div) {
  update_effective();
  solver_->vector_field(phi, t, g, div);
}

void EquivariantFlow::vector_field_vjp(const ConstFieldBatch& phi, double t, const ConstFieldBatch& v, double c,
                                       const FieldBatch& phi_bar, const ParameterView& grad) {
  update_effective();
  if (!has_bonds()) return solver_->vector_field_vjp(phi, t, v, c, phi_bar, grad);
  solver_->vector_field_vjp(phi, t, v, c, phi_bar, effective_grad_);
  pull_back(grad);
}

}  // namespace phi4flow::flow
