// The solver of EquivariantFlow in double or float (flow_solver.hpp): the kernel transforms and their cache,
// the scratch memory, the RK4 integrator and its discrete adjoint. The kernels it launches live in
// equivariant_flow_kernels.cpp.
#include "flow_solver.hpp"

#include <string>

#include "phi4flow/error.hpp"

namespace phi4flow::flow::detail {

namespace {

template <class Real>
class FlowSolverOf final : public FlowSolver {
 public:
  explicit FlowSolverOf(const FlowDefinition& definition);

  void sample(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q) override;
  void sample_with_score(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q,
                         const FieldBatch& score) override;
  void log_density(const ConstFieldBatch& phi, const BatchScalars& log_q) override;
  void invert(const ConstFieldBatch& phi, const FieldBatch& z, const BatchScalars& log_q) override;
  double loss_and_gradient(const ConstFieldBatch& z, const Phi4Action& action, const ParameterView& grad,
                           GradientEstimator estimator) override;
  void vector_field(const ConstFieldBatch& phi, double t, const FieldBatch& g, const BatchScalars& div) override;
  void vector_field_vjp(const ConstFieldBatch& phi, double t, const ConstFieldBatch& v, double c,
                        const FieldBatch& phi_bar, const ParameterView& grad) override;

 private:
  using F = Fields<Real>;
  using CF = ConstFields<Real>;
  using S = Spectra<Real>;
  struct Workspace;
  struct AdjointWorkspace;
  struct ScoreWorkspace;

  static F make_fields(const std::string& name, int rows, int cols) {
    return F(uninitialized("phi4flow::EquivariantFlow::" + name), rows, cols);
  }
  static S make_spectra(const std::string& name, int rows, int cols) {
    return S(uninitialized("phi4flow::EquivariantFlow::" + name), rows, cols);
  }
  static BatchScalars make_scalars(const std::string& name, int n) {
    return BatchScalars(uninitialized("phi4flow::EquivariantFlow::" + name), n);
  }

  TimeWeights time_weights(double t) const { return hat_weights(config().time_basis, config().t_end, t); }
  const EquivariantFlowConfig& config() const { return def_.config; }
  FeatureSet feature_set() const {
    return FeatureSet{config().frequencies, def_.features, config().sign_breaking, def_.omega_offset,
                      config().linear_term ? 1 : 0};
  }
  Workspace& workspace(int batch);
  AdjointWorkspace& adjoint_workspace(int batch);
  ScoreWorkspace& score_workspace(int batch);
  void refresh_kernel_transforms();
  void prepare_time(const TimeWeights& tw);
  // log q and the latent field of phi: integrates backwards, leaving the latent field in workspace().latent.
  void integrate_back(const ConstFieldBatch& phi, const BatchScalars& log_q);
  void velocity(Workspace& ws, const CF& y, const S& spectra);
  // adj.phi_bar = d/dy [ws.fields . g(y) + c div g(y)]; the parameter derivative is added to grad, or skipped
  // when grad is empty (the score needs phi_bar alone).
  void velocity_vjp(Workspace& ws, AdjointWorkspace& adj, const CF& y, const S& spectra, bool spectra_ready,
                    const TimeWeights& tw, double c, const ParameterView& grad);
  void rk4_step(Workspace& ws, const CF& y, const F& y_out, const BatchScalars& ell, double t, double h);
  void score_rk4_step(Workspace& ws, AdjointWorkspace& adj, ScoreWorkspace& sc, const CF& y, const F& y_out,
                      const BatchScalars& ell, const F& score, double t, double h);
  void adjoint_step(Workspace& ws, AdjointWorkspace& adj, const CF& y, double t, double h, double ell_bar,
                    const ParameterView& grad);
  void finish_theta_gradient(const ParameterView& grad);

  FlowDefinition def_;
  ParameterView params_of_transforms_;  // the parameters kernel_spectra_ was computed from
  bool transforms_valid_ = false;
  F kernel_fields_;     // (a, j) x r: W_{a,j}(r), later the theta-gradient correlations
  S kernel_spectra_;    // (a, j) x k: conj(W^_{a,j}(k)) / N
  S theta_spectra_;     // (a, j) x k: adjoint accumulator of the theta gradient in Fourier space
  std::unique_ptr<RealFft2d<Real>> kernel_fft_;
  S stage_kernel_;      // j x k: sum_a K_a(t) conj(W^_{a,j}(k)) / N at the current stage time
  RealView stage_w0_;   // j: W_j(t, r = 0) at the current stage time
  std::unique_ptr<Workspace> ws_;
  std::unique_ptr<AdjointWorkspace> adj_;
  std::unique_ptr<ScoreWorkspace> score_ws_;
  Kokkos::View<Real***, Kokkos::LayoutRight, MemSpace> trajectory_;  // phi after step n + 1, for the adjoint
};

/// Forward scratch for one batch size B. Feature rows are b * nf + j; the FFT plans are made for these
/// buffers and run on them or on buffers allocated alike.
template <class Real>
struct FlowSolverOf<Real>::Workspace {
  Workspace(int L, int batch_size, int n_features, FftPlanning planning)
      : batch(batch_size),
        features(make_fields("features", batch_size * n_features, L * L)),
        feature_spectra(make_spectra("feature_spectra", batch_size * n_features, half_spectrum_size(L))),
        fields(make_fields("fields", batch_size, L * L)),
        field_spectra(make_spectra("field_spectra", batch_size, half_spectrum_size(L))),
        feature_fft(L, features, feature_spectra, planning),
        field_fft(L, fields, field_spectra, planning),
        acc(make_fields("acc", batch_size, L * L)),
        stage(make_fields("stage", batch_size, L * L)),
        state(make_fields("state", batch_size, L * L)),
        latent(uninitialized("phi4flow::EquivariantFlow::latent"), batch_size, L * L),
        div(make_scalars("div", batch_size)),
        ell_acc(make_scalars("ell_acc", batch_size)),
        ell(make_scalars("ell", batch_size)),
        action(make_scalars("action", batch_size)) {}

  int batch;
  F features;  // h_j(phi); in the VJP then W_j * v, then the omega terms
  S feature_spectra;
  F fields;  // g from the inverse FFT, or the cotangent v for the forward one
  S field_spectra;
  RealFft2d<Real> feature_fft;
  RealFft2d<Real> field_fft;
  F acc;    // RK4: k1 + 2 k2 + 2 k3
  F stage;  // RK4: input of the next stage
  F state;  // the field being integrated by sample, invert and the vector-field calls
  FieldBatch latent;  // invert's latent field in double, for log r
  BatchScalars div, ell_acc, ell, action;
};

/// Adjoint scratch for one batch size: one step's recomputed stage inputs Y2, Y3, Y4 and the feature
/// spectra of Y1, Y2, Y3, which the VJPs of those stages reuse; the latent fields in the solver's precision and
/// the final fields in double for the action.
template <class Real>
struct FlowSolverOf<Real>::AdjointWorkspace {
  AdjointWorkspace(int L, int batch_size, int n_features, int n_reduced)
      : batch(batch_size),
        stage_inputs(uninitialized("phi4flow::EquivariantFlow::stage_inputs"), 3, batch_size, L * L),
        stage_spectra{make_spectra("stage_spectra", batch_size * n_features, half_spectrum_size(L)),
                      make_spectra("stage_spectra", batch_size * n_features, half_spectrum_size(L)),
                      make_spectra("stage_spectra", batch_size * n_features, half_spectrum_size(L))},
        phi_bar(make_fields("phi_bar", batch_size, L * L)),
        adjoint(make_fields("adjoint", batch_size, L * L)),
        adjoint_next(make_fields("adjoint_next", batch_size, L * L)),
        latent(make_fields("latent", batch_size, L * L)),
        final_fields(uninitialized("phi4flow::EquivariantFlow::final_fields"), batch_size, L * L),
        force(uninitialized("phi4flow::EquivariantFlow::force"), batch_size, L * L),
        partial(uninitialized("phi4flow::EquivariantFlow::partial"), n_reduced, batch_size) {}

  F stage_input(int i) const { return Kokkos::subview(stage_inputs, i, Kokkos::ALL, Kokkos::ALL); }

  int batch;
  Kokkos::View<Real***, Kokkos::LayoutRight, MemSpace> stage_inputs;
  S stage_spectra[3];
  F phi_bar;             // VJP output of one stage
  F adjoint;             // cotangent of phi at the start of the current step
  F adjoint_next;        // the same for the previous step, being accumulated
  F latent;              // z in the solver's precision: the start of step 0
  FieldBatch final_fields, force;  // phi at t_end and dS/dphi there, in double for the action
  ReductionRows partial;  // per-field sums of the VJP's site terms
};

/// Scratch of the score's RK4 for one batch size. The score's stages reuse the forward's kernels with a
/// divergence and a log q of their own that nothing reads.
template <class Real>
struct FlowSolverOf<Real>::ScoreWorkspace {
  ScoreWorkspace(int L, int batch_size)
      : batch(batch_size),
        score(make_fields("score", batch_size, L * L)),
        velocity(make_fields("score_velocity", batch_size, L * L)),
        acc(make_fields("score_acc", batch_size, L * L)),
        stage(make_fields("score_stage", batch_size, L * L)),
        no_div(make_scalars("score_no_div", batch_size)),
        unused_acc(make_scalars("score_unused_acc", batch_size)),
        unused_ell(make_scalars("score_unused_ell", batch_size)) {}

  int batch;
  F score;     // the score at the current step
  F velocity;  // g of the current stage, kept while the VJP reuses the forward scratch
  F acc;       // RK4: m1 + 2 m2 + 2 m3 for the score's slopes m
  F stage;     // the score at the next stage
  BatchScalars no_div, unused_acc, unused_ell;
};

template <class Real>
FlowSolverOf<Real>::FlowSolverOf(const FlowDefinition& definition)
    : def_(definition),
      params_of_transforms_("phi4flow::EquivariantFlow::parameters_of_transforms", definition.params.extent(0)) {
  const int kernel_count = config().time_basis * def_.features;
  kernel_fields_ = make_fields("kernel_fields", kernel_count, def_.sites);
  kernel_spectra_ = make_spectra("kernel_spectra", kernel_count, def_.modes);
  theta_spectra_ = make_spectra("theta_spectra", kernel_count, def_.modes);
  kernel_fft_ = std::make_unique<RealFft2d<Real>>(def_.L, kernel_fields_, kernel_spectra_, config().fft_planning);
  stage_kernel_ = make_spectra("stage_kernel", def_.features, def_.modes);
  stage_w0_ = RealView("phi4flow::EquivariantFlow::stage_w0", def_.features);
}

template <class Real>
typename FlowSolverOf<Real>::Workspace& FlowSolverOf<Real>::workspace(int batch) {
  PHI4FLOW_CHECK(batch > 0, "a batch needs at least one field");
  if (!ws_ || ws_->batch != batch) {
    ws_.reset();  // free the old scratch before allocating the new
    ws_ = std::make_unique<Workspace>(def_.L, batch, def_.features, config().fft_planning);
  }
  return *ws_;
}

template <class Real>
typename FlowSolverOf<Real>::AdjointWorkspace& FlowSolverOf<Real>::adjoint_workspace(int batch) {
  if (!adj_ || adj_->batch != batch) {
    adj_.reset();
    // Sums the VJP reduces per field: one per omega_f, one per W_j(t, 0) of a non-constant feature j.
    const int F_ = config().frequencies;
    const int n_reduced = F_ + def_.features - (config().sign_breaking ? 1 : 0);
    adj_ = std::make_unique<AdjointWorkspace>(def_.L, batch, def_.features, n_reduced);
  }
  return *adj_;
}

template <class Real>
typename FlowSolverOf<Real>::ScoreWorkspace& FlowSolverOf<Real>::score_workspace(int batch) {
  if (!score_ws_ || score_ws_->batch != batch) {
    score_ws_.reset();
    score_ws_ = std::make_unique<ScoreWorkspace>(def_.L, batch);
    Kokkos::deep_copy(score_ws_->no_div, 0.0);
  }
  return *score_ws_;
}

template <class Real>
void FlowSolverOf<Real>::refresh_kernel_transforms() {
  if (transforms_valid_ && count_differences(def_.params, params_of_transforms_) == 0) return;
  scatter_theta(def_.params, def_.row_of, config().time_basis, def_.features, kernel_fields_);
  kernel_fft_->forward(kernel_fields_, kernel_spectra_);
  // g^ = conj(W^) s^ (g is a correlation with W: g(x) = sum_r W(r) s(x + r)); 1/N normalises the inverse FFT.
  conjugate_scale(kernel_spectra_, 1.0 / def_.sites);
  Kokkos::deep_copy(params_of_transforms_, def_.params);
  transforms_valid_ = true;
}

template <class Real>
void FlowSolverOf<Real>::prepare_time(const TimeWeights& tw) {
  stage_kernel(kernel_spectra_, def_.params, tw, def_.features, stage_kernel_, stage_w0_);
}

template <class Real>
void FlowSolverOf<Real>::velocity(Workspace& ws, const CF& y, const S& spectra) {
  compute_features(y, def_.params, stage_w0_, feature_set(), ws.features, ws.div);
  ws.feature_fft.forward(ws.features, spectra);
  combine_spectra(spectra, stage_kernel_, def_.features, ws.field_spectra);
  ws.field_fft.inverse(ws.field_spectra, ws.fields);
}

template <class Real>
void FlowSolverOf<Real>::velocity_vjp(Workspace& ws, AdjointWorkspace& adj, const CF& y, const S& spectra,
                                      bool spectra_ready, const TimeWeights& tw, double c, const ParameterView& grad) {
  const bool parameter_terms = grad.extent(0) > 0;
  const FeatureSet fs = feature_set();
  if (!spectra_ready) {
    compute_features(y, def_.params, stage_w0_, fs, ws.features, ws.div);
    ws.feature_fft.forward(ws.features, spectra);
  }
  ws.field_fft.forward(ws.fields, ws.field_spectra);
  correlate_and_convolve(ws.field_spectra, stage_kernel_, tw, def_.features, parameter_terms, spectra,
                         theta_spectra_);
  ws.feature_fft.inverse(spectra, ws.features);
  // The inverse FFT has consumed `spectra` (c2r overwrites its input), so its storage takes the site terms:
  // N reals per row fit in L (L/2 + 1) complex numbers.
  const F site_terms(reinterpret_cast<Real*>(spectra.data()), spectra.extent(0), def_.sites);
  vjp_pointwise(y, def_.params, stage_w0_, c, fs, ws.features, site_terms, adj.phi_bar);
  if (parameter_terms) accumulate_site_terms(ws.features, site_terms, fs, tw, adj.partial, grad);
}

template <class Real>
void FlowSolverOf<Real>::rk4_step(Workspace& ws, const CF& y, const F& y_out, const BatchScalars& ell, double t,
                                  double h) {
  prepare_time(time_weights(t));
  velocity(ws, y, ws.feature_spectra);
  rk4_stage(y, CF(ws.fields), ws.div, true, 1.0, 0.5 * h, ws.acc, ws.ell_acc, ws.stage);
  prepare_time(time_weights(t + 0.5 * h));
  velocity(ws, ws.stage, ws.feature_spectra);
  rk4_stage(y, CF(ws.fields), ws.div, false, 2.0, 0.5 * h, ws.acc, ws.ell_acc, ws.stage);
  velocity(ws, ws.stage, ws.feature_spectra);
  rk4_stage(y, CF(ws.fields), ws.div, false, 2.0, h, ws.acc, ws.ell_acc, ws.stage);
  prepare_time(time_weights(t + h));
  velocity(ws, ws.stage, ws.feature_spectra);
  rk4_finish(y, CF(ws.fields), ws.div, ws.acc, ws.ell_acc, h, y_out, ell);
}

template <class Real>
void FlowSolverOf<Real>::score_rk4_step(Workspace& ws, AdjointWorkspace& adj, ScoreWorkspace& sc, const CF& y,
                                        const F& y_out, const BatchScalars& ell, const F& score, double t, double h) {
  // (phi, score) as one RK4 system: each stage's slope of the score, -(J^T s + grad div), is the VJP of g with
  // cotangent s and divergence cotangent 1 at that stage's input, whose features velocity() has just transformed.
  const double stage_time[4] = {t, t + 0.5 * h, t + 0.5 * h, t + h};
  const double next_coeff[3] = {0.5 * h, 0.5 * h, h};
  const double weight[3] = {1.0, 2.0, 2.0};
  CF phi_in = y, score_in = score;
  for (int i = 0; i < 4; ++i) {
    const TimeWeights tw = time_weights(stage_time[i]);
    if (i != 2) prepare_time(tw);
    velocity(ws, phi_in, ws.feature_spectra);
    Kokkos::deep_copy(sc.velocity, ws.fields);
    Kokkos::deep_copy(ws.fields, score_in);
    velocity_vjp(ws, adj, phi_in, ws.feature_spectra, true, tw, 1.0, ParameterView());
    if (i < 3) {
      rk4_stage(y, CF(sc.velocity), ws.div, i == 0, weight[i], next_coeff[i], ws.acc, ws.ell_acc, ws.stage);
      rk4_stage(CF(score), CF(adj.phi_bar), sc.no_div, i == 0, weight[i], -next_coeff[i], sc.acc, sc.unused_acc,
                sc.stage);
      phi_in = ws.stage;
      score_in = sc.stage;
    } else {
      rk4_finish(y, CF(sc.velocity), ws.div, ws.acc, ws.ell_acc, h, y_out, ell);
      rk4_finish(CF(score), CF(adj.phi_bar), sc.no_div, sc.acc, sc.unused_acc, -h, score, sc.unused_ell);
    }
  }
}

template <class Real>
void FlowSolverOf<Real>::adjoint_step(Workspace& ws, AdjointWorkspace& adj, const CF& y, double t, double h,
                                      double ell_bar, const ParameterView& grad) {
  // Recompute the stage inputs Y2, Y3, Y4 from the stored start of the step, keeping the feature spectra of
  // Y1, Y2, Y3 for their VJPs.
  const TimeWeights t0 = time_weights(t), t_half = time_weights(t + 0.5 * h), t1 = time_weights(t + h);
  const F y2 = adj.stage_input(0), y3 = adj.stage_input(1), y4 = adj.stage_input(2);
  const S* stage_spectra = adj.stage_spectra;
  prepare_time(t0);
  velocity(ws, y, stage_spectra[0]);
  shift(y, CF(ws.fields), 0.5 * h, y2);
  prepare_time(t_half);
  velocity(ws, y2, stage_spectra[1]);
  shift(y, CF(ws.fields), 0.5 * h, y3);
  velocity(ws, y3, stage_spectra[2]);
  shift(y, CF(ws.fields), h, y4);

  // Walk the stages backwards. y_next = y + h/6 (k1 + 2 k2 + 2 k3 + k4) and ell_next = ell - h/6 (d1 + 2 d2 +
  // 2 d3 + d4) with ell's cotangent ell_bar, so stage i sees v_i = h w_i / 6 adjoint + (its share of later
  // stages) and c_i = -ell_bar h w_i / 6; Y4 = y + h k3, Y3 = y + h/2 k2, Y2 = y + h/2 k1 pass the stage
  // cotangents back.
  scale(CF(adj.adjoint), h / 6.0, ws.fields);
  prepare_time(t1);
  velocity_vjp(ws, adj, y4, ws.feature_spectra, false, t1, -ell_bar * h / 6.0, grad);
  adjoint_combine(CF(adj.adjoint), CF(adj.phi_bar), true, h / 3.0, h, adj.adjoint_next, ws.fields);
  prepare_time(t_half);
  velocity_vjp(ws, adj, y3, stage_spectra[2], true, t_half, -ell_bar * h / 3.0, grad);
  adjoint_combine(CF(adj.adjoint), CF(adj.phi_bar), false, h / 3.0, 0.5 * h, adj.adjoint_next, ws.fields);
  velocity_vjp(ws, adj, y2, stage_spectra[1], true, t_half, -ell_bar * h / 3.0, grad);
  adjoint_combine(CF(adj.adjoint), CF(adj.phi_bar), false, h / 6.0, 0.5 * h, adj.adjoint_next, ws.fields);
  prepare_time(t0);
  velocity_vjp(ws, adj, y, stage_spectra[0], true, t0, -ell_bar * h / 6.0, grad);
  shift(CF(adj.adjoint_next), CF(adj.phi_bar), 1.0, adj.adjoint);
}

template <class Real>
void FlowSolverOf<Real>::finish_theta_gradient(const ParameterView& grad) {
  kernel_fft_->inverse(theta_spectra_, kernel_fields_);
  // The correlations' spectra summed unnormalised products: 1/N completes the inverse transform.
  gather_theta_gradient(kernel_fields_, def_.row_start, def_.row_sites, config().time_basis, def_.features,
                        1.0 / def_.sites, grad);
}

template <class Real>
void FlowSolverOf<Real>::sample(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q) {
  const int batch = static_cast<int>(z.extent(0));
  require_same_batch("EquivariantFlow::sample", def_.sites, z, phi, log_q);
  Workspace& ws = workspace(batch);
  refresh_kernel_transforms();
  convert<double, Real>(z, ws.state);
  log_prior(z, log_q);
  const double h = config().t_end / config().steps;
  for (int n = 0; n < config().steps; ++n) rk4_step(ws, ws.state, ws.state, log_q, n * h, h);
  convert<Real, double>(ws.state, phi);
}

template <class Real>
void FlowSolverOf<Real>::sample_with_score(const ConstFieldBatch& z, const FieldBatch& phi,
                                           const BatchScalars& log_q, const FieldBatch& score) {
  const int batch = static_cast<int>(z.extent(0));
  require_same_batch("EquivariantFlow::sample_with_score", def_.sites, z, phi, log_q);
  require_same_batch("EquivariantFlow::sample_with_score (score)", def_.sites, z, score, log_q);
  Workspace& ws = workspace(batch);
  AdjointWorkspace& adj = adjoint_workspace(batch);
  ScoreWorkspace& sc = score_workspace(batch);
  refresh_kernel_transforms();
  convert<double, Real>(z, ws.state);
  log_prior(z, log_q);
  scale(CF(ws.state), -1.0, sc.score);  // grad log r(z) = -z
  const double h = config().t_end / config().steps;
  for (int n = 0; n < config().steps; ++n) score_rk4_step(ws, adj, sc, ws.state, ws.state, log_q, sc.score, n * h, h);
  convert<Real, double>(ws.state, phi);
  convert<Real, double>(sc.score, score);
}

template <class Real>
void FlowSolverOf<Real>::integrate_back(const ConstFieldBatch& phi, const BatchScalars& log_q) {
  Workspace& ws = workspace(static_cast<int>(phi.extent(0)));
  refresh_kernel_transforms();
  convert<double, Real>(phi, ws.state);
  Kokkos::deep_copy(ws.ell, 0.0);
  // Backwards from t_end, ell accumulates the integral of div g over [0, t_end]: log q = log r(z) - ell.
  const double h = config().t_end / config().steps;
  for (int n = 0; n < config().steps; ++n) rk4_step(ws, ws.state, ws.state, ws.ell, config().t_end - n * h, -h);
  convert<Real, double>(ws.state, ws.latent);
  log_prior(ws.latent, log_q);
  subtract(ws.ell, log_q);
}

template <class Real>
void FlowSolverOf<Real>::log_density(const ConstFieldBatch& phi, const BatchScalars& log_q) {
  require_same_batch("EquivariantFlow::log_density", def_.sites, phi, phi, log_q);
  integrate_back(phi, log_q);
}

template <class Real>
void FlowSolverOf<Real>::invert(const ConstFieldBatch& phi, const FieldBatch& z, const BatchScalars& log_q) {
  require_same_batch("EquivariantFlow::invert", def_.sites, phi, z, log_q);
  integrate_back(phi, log_q);
  Kokkos::deep_copy(z, workspace(static_cast<int>(phi.extent(0))).latent);
}

template <class Real>
double FlowSolverOf<Real>::loss_and_gradient(const ConstFieldBatch& z, const Phi4Action& action,
                                             const ParameterView& grad, GradientEstimator estimator) {
  const int batch = static_cast<int>(z.extent(0));
  PHI4FLOW_CHECK(static_cast<int>(z.extent(1)) == def_.sites && action.lattice().extent() == def_.L,
                 "EquivariantFlow::loss_and_gradient: z and the action must live on the flow's lattice");
  PHI4FLOW_CHECK(grad.extent(0) == def_.params.extent(0),
                 "EquivariantFlow::loss_and_gradient: grad has " + std::to_string(grad.extent(0)) +
                     " entries, the model " + std::to_string(def_.params.extent(0)));
  Workspace& ws = workspace(batch);
  AdjointWorkspace& adj = adjoint_workspace(batch);
  refresh_kernel_transforms();
  const int steps = config().steps;
  if (trajectory_.extent(0) != static_cast<std::size_t>(steps) ||
      trajectory_.extent(1) != static_cast<std::size_t>(batch)) {
    trajectory_ = decltype(trajectory_)();
    trajectory_ =
        decltype(trajectory_)(uninitialized("phi4flow::EquivariantFlow::trajectory"), steps, batch, def_.sites);
  }
  convert<double, Real>(z, adj.latent);
  // phi after step n is trajectory_(n); the start of step 0 is z itself.
  auto start_of = [&](int n) -> CF {
    return n == 0 ? CF(adj.latent) : CF(Kokkos::subview(trajectory_, n - 1, Kokkos::ALL, Kokkos::ALL));
  };

  const bool path = estimator == GradientEstimator::path;
  ScoreWorkspace* sc = path ? &score_workspace(batch) : nullptr;
  const F score = path ? sc->score : F();
  const double h = config().t_end / steps;
  log_prior(z, ws.ell);
  if (path) scale(CF(adj.latent), -1.0, score);
  for (int n = 0; n < steps; ++n) {
    const F next = Kokkos::subview(trajectory_, n, Kokkos::ALL, Kokkos::ALL);
    if (path) {
      score_rk4_step(ws, adj, *sc, start_of(n), next, ws.ell, score, n * h, h);
    } else {
      rk4_step(ws, start_of(n), next, ws.ell, n * h, h);
    }
  }
  convert<Real, double>(start_of(steps), adj.final_fields);
  action.action(adj.final_fields, ws.action);
  const double loss = sum_of_sums(ws.ell, ws.action);

  // Cotangents at t_end. Total: dS/dphi for phi and 1 for ell (constant in time, so it never needs propagating).
  // Path: the sample's dependence alone, d(log q + S)/dphi at fixed parameters, for phi and 0 for ell.
  action.force(adj.final_fields, adj.force);
  convert<double, Real>(adj.force, adj.adjoint);
  if (path) shift(CF(adj.adjoint), CF(score), 1.0, adj.adjoint);
  Kokkos::deep_copy(grad, 0.0);
  Kokkos::deep_copy(theta_spectra_, Kokkos::complex<Real>(0, 0));
  const double ell_bar = path ? 0.0 : 1.0;
  for (int n = steps - 1; n >= 0; --n) adjoint_step(ws, adj, start_of(n), n * h, h, ell_bar, grad);
  finish_theta_gradient(grad);
  return loss;
}

template <class Real>
void FlowSolverOf<Real>::vector_field(const ConstFieldBatch& phi, double t, const FieldBatch& g,
                                      const BatchScalars& div) {
  require_same_batch("EquivariantFlow::vector_field", def_.sites, phi, g, div);
  Workspace& ws = workspace(static_cast<int>(phi.extent(0)));
  refresh_kernel_transforms();
  prepare_time(time_weights(t));
  convert<double, Real>(phi, ws.state);
  velocity(ws, ws.state, ws.feature_spectra);
  convert<Real, double>(ws.fields, g);
  Kokkos::deep_copy(div, ws.div);
}

template <class Real>
void FlowSolverOf<Real>::vector_field_vjp(const ConstFieldBatch& phi, double t, const ConstFieldBatch& v, double c,
                                          const FieldBatch& phi_bar, const ParameterView& grad) {
  PHI4FLOW_CHECK(static_cast<int>(phi.extent(1)) == def_.sites && v.extent(0) == phi.extent(0) &&
                     v.extent(1) == phi.extent(1) && phi_bar.extent(0) == phi.extent(0) &&
                     phi_bar.extent(1) == phi.extent(1) && grad.extent(0) == def_.params.extent(0),
                 "EquivariantFlow::vector_field_vjp: phi, v, phi_bar and grad do not match the model");
  Workspace& ws = workspace(static_cast<int>(phi.extent(0)));
  AdjointWorkspace& adj = adjoint_workspace(static_cast<int>(phi.extent(0)));
  refresh_kernel_transforms();
  const TimeWeights tw = time_weights(t);
  prepare_time(tw);
  Kokkos::deep_copy(grad, 0.0);
  Kokkos::deep_copy(theta_spectra_, Kokkos::complex<Real>(0, 0));
  convert<double, Real>(phi, ws.state);
  convert<double, Real>(v, ws.fields);
  velocity_vjp(ws, adj, ws.state, ws.feature_spectra, false, tw, c, grad);
  convert<Real, double>(adj.phi_bar, phi_bar);
  finish_theta_gradient(grad);
}

}  // namespace

std::unique_ptr<FlowSolver> make_flow_solver(const FlowDefinition& definition) {
  if (definition.config.single_precision) return std::make_unique<FlowSolverOf<float>>(definition);
  return std::make_unique<FlowSolverOf<double>>(definition);
}

}  // namespace phi4flow::flow::detail
