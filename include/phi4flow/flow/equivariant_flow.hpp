// The equivariant continuous normalizing flow of the paper (paper Section 3; docs/flow.md): the vector field
//   g(x; phi, t) = sum_j sum_r W_j(t, r) h_j(phi(x + r)),   W_j(t, r) = sum_a K_a(t) theta[row(r), a, j],
// a periodic convolution evaluated with FFTs; its divergence in closed form; classical RK4 with fixed steps
// for phi and log q together; the reverse-KL gradient by the discrete adjoint of that RK4.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "phi4flow/flow/fft.hpp"
#include "phi4flow/flow/model.hpp"
#include "phi4flow/lattice/lattice.hpp"

namespace phi4flow::flow {

namespace detail {
class FlowSolver;
}

struct EquivariantFlowConfig {
  int time_basis = 10;  ///< A: hat functions K_a(t) on a uniform grid over [0, t_end]
  int frequencies = 9;  ///< F: learnable frequencies omega_f
  int steps = 50;       ///< fixed RK4 steps from t = 0 to t_end
  /// Ablation: one theta row per displacement r (translation equivariance only) instead of per D4 orbit.
  bool translation_only = false;
  /// Ablation: features {sin(omega_f phi), cos(omega_f phi), 1} instead of sin alone (breaks phi -> -phi).
  bool sign_breaking = false;
  /// Follow-up paper (Gerdes et al., SciPost Phys. 15, 238 (2023)): phi itself as one more feature beside the sin
  /// features (odd, so the flow stays equivariant under phi -> -phi).
  bool linear_term = false;
  /// Initial frequencies: N(0, 1) (the paper), or uniform in (0, 5) (the follow-up paper).
  bool uniform_frequencies = false;
  /// Follow-up paper's bond matrices (0: none): the kernel theta[row][a][j] = sum_{alpha, beta} C[row][alpha][beta]
  /// T[alpha][a] V[beta][j] is learned through a core C of time_bond x feature_bond channels per row, T mixing the
  /// A time functions down to time_bond channels and V the features down to feature_bond.
  int time_bond = 0;
  int feature_bond = 0;
  /// Follow-up paper's Fourier time kernel (0: the hat functions alone): theta[row][a][j] = sum_m C[row][m][beta]
  /// kappa_m(t_a) V[beta][j] with the fixed functions kappa = 1, sin(pi t / t_end), cos(pi t / t_end), sin(2 pi t /
  /// t_end), ... (the first fourier_time of them) taken at the A hat nodes t_a: between nodes the kernel is their
  /// linear interpolation, so it is the Fourier series itself at every RK4 stage time that is a node.
  int fourier_time = 0;
  double t_end = 1.0;
  FftPlanning fft_planning = FftPlanning::estimate;
  /// flow.precision = single: fields, features, FFTs and adjoint states in float (about twice as fast on CPUs,
  /// half the memory); the action, log q, the divergence sums and the gradient stay double (docs/flow.md).
  bool single_precision = false;
};

/// The time kernel at one time: the two hat functions that can be nonzero, K_lo(t) = w_lo and K_hi(t) = w_hi
/// (w_hi = 0 and hi = lo when A = 1). All other K_a(t) vanish.
struct TimeWeights {
  int lo;
  int hi;
  double w_lo;
  double w_hi;
};

/// \brief Hat functions K_a(t) = max(0, 1 - |t - t_a| / dt) on the grid t_a = a dt, dt = t_end / (A - 1),
/// evaluated at t (clamped to [0, t_end]); they sum to 1.
TimeWeights hat_weights(int time_basis, double t_end, double t);

/// Parameters, in one flat buffer: theta[row][a][j] (row = D4 orbit of the displacement, or the displacement's
/// site index when translation_only; a < A; j < feature_count()), then omega[f]. theta starts at 0 (the flow
/// is the identity), omega from N(0,1), or U(0, 5) with uniform_frequencies, drawn with rng::Purpose::flow_init.
/// With bond matrices the buffer holds instead the core C[row][alpha][beta] (starting at 0), T[alpha][a] and
/// V[beta][j] (from N(0, 1 / bond)), then omega; the kernel theta is computed from them before every use
/// (effective_parameters()), and gradients are pulled back to them.
///
/// Features j: sin(omega_j phi) for j < F; with linear_term phi itself at j = F; with sign_breaking then
/// cos(omega_f phi) for the next F and the constant 1 last.
///
/// Caching: the A * feature_count() kernel transforms W^_{a,j}(k) are kept between calls. Every public call
/// compares parameters() with the values the transforms were made from (one pass over the buffer) and
/// recomputes them when anything changed, so writing into parameters() from anywhere is always safe.
///
/// The arithmetic runs in the precision of config.single_precision (a solver in double or float,
/// src/flow/flow_solver.hpp); the fields passed in and out, log q, the action and the gradient are double.
/// Scratch memory is allocated once per batch size (a new batch size reallocates it and replans the FFTs).
/// loss_and_gradient() also keeps phi at the end of every step (steps x batch x sites numbers) and, within
/// one step of the adjoint, the feature spectra of three RK4 stages (3 x batch x feature_count() x L (L/2+1)
/// complex numbers), which spares recomputing them. The path estimator adds four fields per sample for the
/// score's RK4.
class EquivariantFlow final : public Model {
 public:
  /// \brief Flow on `lattice`; throws InputError naming the flow.* key of an invalid setting.
  EquivariantFlow(const Lattice& lattice, const EquivariantFlowConfig& config, std::uint32_t seed);
  ~EquivariantFlow() override;
  EquivariantFlow(const EquivariantFlow&) = delete;
  EquivariantFlow& operator=(const EquivariantFlow&) = delete;

  std::string kind() const override { return "equivariant_cnf"; }
  ParameterView parameters() override { return params_; }
  void sample(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q) override;
  bool has_path_gradient() const override { return true; }
  /// \brief sample(), and also the score of each output, score_b = grad_phi log q(phi_b), integrated along the
  /// flow from grad log r(z) = -z with the same RK4 steps (docs/flow.md, "The path gradient"):
  ///   d score / dt = -(dg/dphi)^T score - grad_phi div g.
  /// Costs about twice sample(); the path gradient needs it.
  void sample_with_score(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q,
                         const FieldBatch& score);
  /// \brief log q(phi_b), integrating the flow backwards from t_end to 0 with the same fixed-step RK4.
  void log_density(const ConstFieldBatch& phi, const BatchScalars& log_q) override;
  /// \brief Integrates the flow backwards: the latent z_b that phi_b came from, and log q(phi_b). Up to the
  /// solver's discretisation error, the inverse of sample().
  void invert(const ConstFieldBatch& phi, const FieldBatch& z, const BatchScalars& log_q);
  std::vector<std::pair<std::string, double>> hyperparameters() const override;
  /// \brief Carries a kernel learned on a smaller (or equal) lattice over by displacement: W(r) for |r_i| <=
  /// L_from / 2 in both directions comes from the same displacement on L_from, longer ones start at 0; omega is
  /// copied. On an even L_from the displacement L_from / 2 is one site with two images here, +-L_from / 2; each
  /// gets half of its weight, so that sum_r W(r), the response to a constant field, is unchanged.
  /// An added linear_term starts with a zero kernel column for phi (or, with feature_bond, a zero column of V).
  void load_start_parameters(const std::vector<double>& from, int L_from,
                             const std::vector<std::string>& added) override;
  /// \brief linear_term, when on: a flow trained without it is a start for one with it.
  std::vector<std::string> options_added_at_start() const override;

  const Lattice& lattice() const { return lattice_; }
  const EquivariantFlowConfig& config() const { return config_; }
  /// \brief Rows of theta: the number of D4 orbits of displacements, or L^2 when translation_only.
  int kernel_rows() const { return rows_; }
  /// \brief Features per site: F, plus 1 with linear_term, plus F + 1 with sign_breaking.
  int feature_count() const { return features_; }
  /// \brief Number of theta entries, kernel_rows() * A * feature_count(); omega follows them in
  /// effective_parameters().
  int theta_size() const { return rows_ * config_.time_basis * features_; }
  /// \brief Position of theta[row][a][j] in effective_parameters().
  int theta_index(int row, int a, int j) const { return (row * config_.time_basis + a) * features_ + j; }
  /// \brief Position of omega[f] in parameters() (and at theta_size() + f in effective_parameters()).
  int omega_index(int f) const { return static_cast<int>(params_.extent(0)) - config_.frequencies + f; }
  /// \brief Whether the kernel is learned through a core (time_bond, feature_bond or fourier_time).
  bool has_bonds() const { return config_.time_bond > 0 || config_.feature_bond > 0 || config_.fourier_time > 0; }
  /// \brief Entries of the learned kernel that precede T, V and omega in parameters(): theta_size() without bonds,
  /// kernel_rows() x time channels x feature channels with them.
  int core_size() const { return rows_ * time_channels_ * feature_channels_; }
  /// \brief theta[row][a][j] then omega[f], as the solver uses them: computed from parameters() now.
  ParameterView effective_parameters();
  /// \brief Theta row of each displacement r (indexed by its site): its D4 orbit, or r when translation_only.
  const std::vector<int>& row_of_displacement() const { return row_of_host_; }

  /// \brief The vector field g(phi_b, t) and its divergence for every field of a batch.
  void vector_field(const ConstFieldBatch& phi, double t, const FieldBatch& g, const BatchScalars& div);
  /// \brief Vector-Jacobian product of J = sum_b [ v_b . g(phi_b, t) + c div g(phi_b, t) ]: phi_bar = dJ/dphi
  /// and grad = dJ/d(parameters) (overwritten).
  void vector_field_vjp(const ConstFieldBatch& phi, double t, const ConstFieldBatch& v, double c,
                        const FieldBatch& phi_bar, const ParameterView& grad);

 private:
  double do_loss_and_gradient(const ConstFieldBatch& z, const Phi4Action& action, const ParameterView& grad,
                              GradientEstimator estimator) override;
  /// With bonds: theta from C, T and V into effective_ (the solver's parameters). Without: nothing to do.
  void update_effective();
  /// With bonds: the gradient with respect to effective_ (in effective_grad_) pulled back to C, T, V and omega.
  void pull_back(const ParameterView& grad);

  Lattice lattice_;
  EquivariantFlowConfig config_;
  int sites_ = 0;     // N = L^2
  int rows_ = 0;      // theta rows
  int features_ = 0;  // j per site
  int time_channels_ = 0, feature_channels_ = 0;  // of the core: the bonds, or A and features_ without them
  ParameterView params_;
  ParameterView effective_;       // theta and omega for the solver: params_ itself without bonds
  ParameterView effective_grad_;  // with bonds: the solver's gradient, before pull_back
  std::vector<int> row_of_host_;
  std::unique_ptr<detail::FlowSolver> solver_;
};

}  // namespace phi4flow::flow
