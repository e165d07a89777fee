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

struct EquivariantFlowConfig {
  int time_basis = 10;  ///< A: hat functions K_a(t) on a uniform grid over [0, t_end]
  int frequencies = 9;  ///< F: learnable frequencies omega_f
  int steps = 50;       ///< fixed RK4 steps from t = 0 to t_end
  /// Ablation: one theta row per displacement r (translation equivariance only) instead of per D4 orbit.
  bool translation_only = false;
  /// Ablation: features {sin(omega_f phi), cos(omega_f phi), 1} instead of sin alone (breaks phi -> -phi).
  bool sign_breaking = false;
  double t_end = 1.0;
  FftPlanning fft_planning = FftPlanning::estimate;
  /// sin and cos of the features in float: three times cheaper on CPUs (they are most of a step) and log q moves
  /// by ~1e-5, far below the RK4 error (docs/flow.md). Everything else stays double.
  bool single_precision_sincos = false;
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
/// is the identity), omega from N(0,1) drawn with rng::Purpose::flow_init.
///
/// Features j: sin(omega_j phi) for j < F; with sign_breaking also cos(omega_{j-F} phi) for F <= j < 2F and
/// the constant 1 at j = 2F.
///
/// Caching: the A * feature_count() kernel transforms W^_{a,j}(k) are kept between calls. Every public call
/// compares parameters() with the values the transforms were made from (one pass over the buffer) and
/// recomputes them when anything changed, so writing into parameters() from anywhere is always safe.
///
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
  void load_parameters_from_lattice(const std::vector<double>& from, int L_from) override;

  const Lattice& lattice() const { return lattice_; }
  const EquivariantFlowConfig& config() const { return config_; }
  /// \brief Rows of theta: the number of D4 orbits of displacements, or L^2 when translation_only.
  int kernel_rows() const { return rows_; }
  /// \brief Features per site: F, or 2F + 1 with sign_breaking.
  int feature_count() const { return features_; }
  /// \brief Number of theta entries, kernel_rows() * A * feature_count(); omega follows them.
  int theta_size() const { return rows_ * config_.time_basis * features_; }
  /// \brief Position of theta[row][a][j] in parameters().
  int theta_index(int row, int a, int j) const { return (row * config_.time_basis + a) * features_ + j; }
  /// \brief Position of omega[f] in parameters().
  int omega_index(int f) const { return theta_size() + f; }
  /// \brief Theta row of each displacement r (indexed by its site): its D4 orbit, or r when translation_only.
  const std::vector<int>& row_of_displacement() const { return row_of_host_; }

  /// \brief The vector field g(phi_b, t) and its divergence for every field of a batch.
  void vector_field(const ConstFieldBatch& phi, double t, const FieldBatch& g, const BatchScalars& div);
  /// \brief Vector-Jacobian product of J = sum_b [ v_b . g(phi_b, t) + c div g(phi_b, t) ]: phi_bar = dJ/dphi
  /// and grad = dJ/d(parameters) (overwritten).
  void vector_field_vjp(const ConstFieldBatch& phi, double t, const ConstFieldBatch& v, double c,
                        const FieldBatch& phi_bar, const ParameterView& grad);

 private:
  struct Workspace;         // scratch of the forward integration, per batch size
  struct AdjointWorkspace;  // scratch of the discrete adjoint, per batch size
  struct ScoreWorkspace;    // scratch of the score's integration, per batch size

  TimeWeights time_weights(double t) const { return hat_weights(config_.time_basis, config_.t_end, t); }
  Workspace& workspace(int batch);
  AdjointWorkspace& adjoint_workspace(int batch);
  ScoreWorkspace& score_workspace(int batch);
  double do_loss_and_gradient(const ConstFieldBatch& z, const Phi4Action& action, const ParameterView& grad,
                              GradientEstimator estimator) override;
  void refresh_kernel_transforms();
  void prepare_time(const TimeWeights& tw);
  void velocity(Workspace& ws, const ConstFieldBatch& y, const SpectrumBatch& spectra);
  // adj.phi_bar = d/dy [ws.fields . g(y) + c div g(y)]; the parameter derivative is added to grad, or skipped
  // when grad is empty (the score needs phi_bar alone).
  void velocity_vjp(Workspace& ws, AdjointWorkspace& adj, const ConstFieldBatch& y, const SpectrumBatch& spectra,
                    bool spectra_ready, const TimeWeights& tw, double c, const ParameterView& grad);
  void rk4_step(Workspace& ws, const ConstFieldBatch& y, const FieldBatch& y_out, const BatchScalars& ell, double t,
                double h);
  void score_rk4_step(Workspace& ws, AdjointWorkspace& adj, ScoreWorkspace& sc, const ConstFieldBatch& y,
                      const FieldBatch& y_out, const BatchScalars& ell, const FieldBatch& score, double t, double h);
  void adjoint_step(Workspace& ws, AdjointWorkspace& adj, const ConstFieldBatch& y, double t, double h,
                    double ell_bar, const ParameterView& grad);
  void finish_theta_gradient(const ParameterView& grad);

  Lattice lattice_;
  EquivariantFlowConfig config_;
  int sites_ = 0;     // N = L^2
  int modes_ = 0;     // L (L/2 + 1)
  int rows_ = 0;      // theta rows
  int features_ = 0;  // j per site

  ParameterView params_;
  ParameterView params_of_transforms_;  // the parameters kernel_spectra_ was computed from
  bool transforms_valid_ = false;

  std::vector<int> row_of_host_;
  Kokkos::View<int*, MemSpace> row_of_;     // theta row of displacement r
  Kokkos::View<int*, MemSpace> row_start_;  // displacements of row p: row_sites_[row_start_[p] .. row_start_[p+1])
  Kokkos::View<int*, MemSpace> row_sites_;

  FieldBatch kernel_fields_;      // (a, j) x r: W_{a,j}(r), later the theta-gradient correlations
  SpectrumBatch kernel_spectra_;  // (a, j) x k: conj(W^_{a,j}(k)) / N
  SpectrumBatch theta_spectra_;   // (a, j) x k: adjoint accumulator of the theta gradient in Fourier space
  std::unique_ptr<RealFft2d> kernel_fft_;
  SpectrumBatch stage_kernel_;                // j x k: sum_a K_a(t) conj(W^_{a,j}(k)) / N at the current stage time
  Kokkos::View<real_t*, MemSpace> stage_w0_;  // j: W_j(t, r = 0) at the current stage time

  std::unique_ptr<Workspace> ws_;
  std::unique_ptr<AdjointWorkspace> adj_;
  std::unique_ptr<ScoreWorkspace> score_ws_;
  Kokkos::View<real_t***, Kokkos::LayoutRight, MemSpace> trajectory_;  // phi after step n + 1, for the adjoint
};

}  // namespace phi4flow::flow
