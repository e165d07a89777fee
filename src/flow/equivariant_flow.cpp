// EquivariantFlow: parameters and their kernel transforms, scratch memory, the RK4 integrator and its discrete
// adjoint. The kernels it launches live in equivariant_flow_kernels.cpp.
#include "phi4flow/flow/equivariant_flow.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>

#include "equivariant_flow_kernels.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/rng/philox.hpp"

namespace phi4flow::flow {

namespace {

FieldBatch scratch_fields(const std::string& name, int rows, int cols) {
  return FieldBatch(uninitialized("phi4flow::EquivariantFlow::" + name), rows, cols);
}

SpectrumBatch scratch_spectra(const std::string& name, int rows, int cols) {
  return SpectrumBatch(uninitialized("phi4flow::EquivariantFlow::" + name), rows,
                       cols);
}

BatchScalars scratch_scalars(const std::string& name, int n) {
  return BatchScalars(uninitialized("phi4flow::EquivariantFlow::" + name), n);
}

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

/// Forward scratch for one batch size B. Feature rows are b * nf + j; the FFT plans are made for these
/// buffers and run on them or on buffers allocated alike.
struct EquivariantFlow::Workspace {
  Workspace(int L, int batch_size, int n_features, FftPlanning planning)
      : batch(batch_size),
        features(scratch_fields("features", batch_size * n_features, L * L)),
        feature_spectra(scratch_spectra("feature_spectra", batch_size * n_features, half_spectrum_size(L))),
        fields(scratch_fields("fields", batch_size, L * L)),
        field_spectra(scratch_spectra("field_spectra", batch_size, half_spectrum_size(L))),
        feature_fft(L, features, feature_spectra, planning),
        field_fft(L, fields, field_spectra, planning),
        acc(scratch_fields("acc", batch_size, L * L)),
        stage(scratch_fields("stage", batch_size, L * L)),
        state(scratch_fields("state", batch_size, L * L)),
        div(scratch_scalars("div", batch_size)),
        ell_acc(scratch_scalars("ell_acc", batch_size)),
        ell(scratch_scalars("ell", batch_size)),
        action(scratch_scalars("action", batch_size)) {}

  int batch;
  FieldBatch features;  // h_j(phi); in the VJP then W_j * v, then the omega terms
  SpectrumBatch feature_spectra;
  FieldBatch fields;  // g from the inverse FFT, or the cotangent v for the forward one
  SpectrumBatch field_spectra;
  RealFft2d feature_fft;
  RealFft2d field_fft;
  FieldBatch acc;    // RK4: k1 + 2 k2 + 2 k3
  FieldBatch stage;  // RK4: input of the next stage
  FieldBatch state;  // log_density: the latent field it integrates back to
  BatchScalars div, ell_acc, ell, action;
};

/// Adjoint scratch for one batch size: one step's recomputed stage inputs Y2, Y3, Y4 and the feature
/// spectra of Y1, Y2, Y3, which the VJPs of those stages reuse.
struct EquivariantFlow::AdjointWorkspace {
  AdjointWorkspace(int L, int batch_size, int n_features, int n_reduced)
      : batch(batch_size),
        stage_inputs(uninitialized("phi4flow::EquivariantFlow::stage_inputs"), 3,
                     batch_size, L * L),
        stage_spectra{scratch_spectra("stage_spectra", batch_size * n_features, half_spectrum_size(L)),
                      scratch_spectra("stage_spectra", batch_size * n_features, half_spectrum_size(L)),
                      scratch_spectra("stage_spectra", batch_size * n_features, half_spectrum_size(L))},
        phi_bar(scratch_fields("phi_bar", batch_size, L * L)),
        adjoint(scratch_fields("adjoint", batch_size, L * L)),
        adjoint_next(scratch_fields("adjoint_next", batch_size, L * L)),
        partial(uninitialized("phi4flow::EquivariantFlow::partial"), n_reduced,
                batch_size) {}

  FieldBatch stage_input(int i) const { return Kokkos::subview(stage_inputs, i, Kokkos::ALL, Kokkos::ALL); }

  int batch;
  Kokkos::View<real_t***, Kokkos::LayoutRight, MemSpace> stage_inputs;
  SpectrumBatch stage_spectra[3];
  FieldBatch phi_bar;             // VJP output of one stage
  FieldBatch adjoint;             // cotangent of phi at the start of the current step
  FieldBatch adjoint_next;        // the same for the previous step, being accumulated
  detail::ReductionRows partial;  // per-field sums of the VJP's site terms
};

/// Scratch of the score's RK4 for one batch size. The score's stages reuse the forward's kernels with a
/// divergence and a log q of their own that nothing reads.
struct EquivariantFlow::ScoreWorkspace {
  ScoreWorkspace(int L, int batch_size)
      : batch(batch_size),
        score(scratch_fields("score", batch_size, L * L)),
        velocity(scratch_fields("score_velocity", batch_size, L * L)),
        acc(scratch_fields("score_acc", batch_size, L * L)),
        stage(scratch_fields("score_stage", batch_size, L * L)),
        no_div(scratch_scalars("score_no_div", batch_size)),
        unused_acc(scratch_scalars("score_unused_acc", batch_size)),
        unused_ell(scratch_scalars("score_unused_ell", batch_size)) {}

  int batch;
  FieldBatch score;     // loss_and_gradient's score at the current step
  FieldBatch velocity;  // g of the current stage, kept while the VJP reuses the forward scratch
  FieldBatch acc;       // RK4: m1 + 2 m2 + 2 m3 for the score's slopes m
  FieldBatch stage;     // the score at the next stage
  BatchScalars no_div, unused_acc, unused_ell;
};

EquivariantFlow::EquivariantFlow(const Lattice& lattice, const EquivariantFlowConfig& config, std::uint32_t seed)
    : lattice_(lattice), config_(config) {
  check_input(config.time_basis >= 1, "time_basis", "must be at least 1, got " + std::to_string(config.time_basis));
  check_input(config.frequencies >= 1, "frequencies", "must be at least 1, got " + std::to_string(config.frequencies));
  check_input(config.steps >= 1, "ode_steps", "must be at least 1, got " + std::to_string(config.steps));
  check_input(std::isfinite(config.t_end) && config.t_end > 0.0, "t_end",
              "must be a positive time, got " + std::to_string(config.t_end));

  const int L = lattice.extent();
  sites_ = lattice.volume();
  modes_ = half_spectrum_size(L);
  features_ = config.sign_breaking ? 2 * config.frequencies + 1 : config.frequencies;
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
  row_of_ = to_device(row_of_host_, "phi4flow::EquivariantFlow::row_of");
  row_start_ = to_device(start, "phi4flow::EquivariantFlow::row_start");
  row_sites_ = to_device(members, "phi4flow::EquivariantFlow::row_sites");

  const int n_params = theta_size() + config.frequencies;
  params_ = ParameterView("phi4flow::EquivariantFlow::parameters", n_params);  // theta = 0: the identity
  params_of_transforms_ = ParameterView("phi4flow::EquivariantFlow::parameters_of_transforms", n_params);
  auto host_params = Kokkos::create_mirror_view(params_);
  Kokkos::deep_copy(host_params, 0.0);
  const rng::Philox gen(seed, rng::Purpose::flow_init);
  for (int f = 0; f < config.frequencies; ++f)
    host_params(omega_index(f)) = gen.normal(0, 0, static_cast<std::uint32_t>(f));
  Kokkos::deep_copy(params_, host_params);

  const int kernel_count = config.time_basis * features_;
  kernel_fields_ = scratch_fields("kernel_fields", kernel_count, sites_);
  kernel_spectra_ = scratch_spectra("kernel_spectra", kernel_count, modes_);
  theta_spectra_ = scratch_spectra("theta_spectra", kernel_count, modes_);
  kernel_fft_ = std::make_unique<RealFft2d>(L, kernel_fields_, kernel_spectra_, config.fft_planning);
  stage_kernel_ = scratch_spectra("stage_kernel", features_, modes_);
  stage_w0_ = Kokkos::View<real_t*, MemSpace>("phi4flow::EquivariantFlow::stage_w0", features_);
}

EquivariantFlow::~EquivariantFlow() = default;

std::vector<std::pair<std::string, double>> EquivariantFlow::hyperparameters() const {
  return {{"L", lattice_.extent()},
          {"time_basis", config_.time_basis},
          {"frequencies", config_.frequencies},
          {"steps", config_.steps},
          {"translation_only", config_.translation_only ? 1.0 : 0.0},
          {"sign_breaking", config_.sign_breaking ? 1.0 : 0.0},
          {"t_end", config_.t_end},
          {"single_precision_sincos", config_.single_precision_sincos ? 1.0 : 0.0},
          {"parameters", static_cast<double>(params_.extent(0))}};
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

EquivariantFlow::Workspace& EquivariantFlow::workspace(int batch) {
  PHI4FLOW_CHECK(batch > 0, "a batch needs at least one field");
  if (!ws_ || ws_->batch != batch) {
    ws_.reset();  // free the old scratch before allocating the new
    ws_ = std::make_unique<Workspace>(lattice_.extent(), batch, features_, config_.fft_planning);
  }
  return *ws_;
}

EquivariantFlow::AdjointWorkspace& EquivariantFlow::adjoint_workspace(int batch) {
  if (!adj_ || adj_->batch != batch) {
    adj_.reset();
    // Sums the VJP reduces per field: one per omega_f, one per W_j(t, 0) of a non-constant feature j.
    const int n_reduced = config_.frequencies + (config_.sign_breaking ? 2 * config_.frequencies : config_.frequencies);
    adj_ = std::make_unique<AdjointWorkspace>(lattice_.extent(), batch, features_, n_reduced);
  }
  return *adj_;
}

EquivariantFlow::ScoreWorkspace& EquivariantFlow::score_workspace(int batch) {
  if (!score_ws_ || score_ws_->batch != batch) {
    score_ws_.reset();
    score_ws_ = std::make_unique<ScoreWorkspace>(lattice_.extent(), batch);
    Kokkos::deep_copy(score_ws_->no_div, 0.0);
  }
  return *score_ws_;
}

void EquivariantFlow::refresh_kernel_transforms() {
  if (transforms_valid_ && detail::count_differences(params_, params_of_transforms_) == 0) return;
  detail::scatter_theta(params_, row_of_, config_.time_basis, features_, kernel_fields_);
  kernel_fft_->forward(kernel_fields_, kernel_spectra_);
  // g^ = conj(W^) s^ (g is a correlation with W: g(x) = sum_r W(r) s(x + r)); 1/N normalises the inverse FFT.
  detail::conjugate_scale(kernel_spectra_, 1.0 / sites_);
  Kokkos::deep_copy(params_of_transforms_, params_);
  transforms_valid_ = true;
}

void EquivariantFlow::prepare_time(const TimeWeights& tw) {
  detail::stage_kernel(kernel_spectra_, params_, tw, features_, stage_kernel_, stage_w0_);
}

void EquivariantFlow::velocity(Workspace& ws, const ConstFieldBatch& y, const SpectrumBatch& spectra) {
  const detail::FeatureSet fs{config_.frequencies, features_, config_.sign_breaking, omega_index(0),
                              config_.single_precision_sincos};
  detail::compute_features(y, params_, stage_w0_, fs, ws.features, ws.div);
  ws.feature_fft.forward(ws.features, spectra);
  detail::combine_spectra(spectra, stage_kernel_, features_, ws.field_spectra);
  ws.field_fft.inverse(ws.field_spectra, ws.fields);
}

void EquivariantFlow::velocity_vjp(Workspace& ws, AdjointWorkspace& adj, const ConstFieldBatch& y,
                                   const SpectrumBatch& spectra, bool spectra_ready, const TimeWeights& tw, double c,
                                   const ParameterView& grad) {
  const bool parameter_terms = grad.extent(0) > 0;
  const detail::FeatureSet fs{config_.frequencies, features_, config_.sign_breaking, omega_index(0),
                              config_.single_precision_sincos};
  if (!spectra_ready) {
    detail::compute_features(y, params_, stage_w0_, fs, ws.features, ws.div);
    ws.feature_fft.forward(ws.features, spectra);
  }
  ws.field_fft.forward(ws.fields, ws.field_spectra);
  detail::correlate_and_convolve(ws.field_spectra, stage_kernel_, tw, features_, parameter_terms, spectra,
                                 theta_spectra_);
  ws.feature_fft.inverse(spectra, ws.features);
  // The inverse FFT has consumed `spectra` (c2r overwrites its input), so its storage takes the site terms:
  // N reals per row fit in L (L/2 + 1) complex numbers.
  const FieldBatch site_terms(reinterpret_cast<real_t*>(spectra.data()), spectra.extent(0), sites_);
  detail::vjp_pointwise(y, params_, stage_w0_, c, fs, ws.features, site_terms, adj.phi_bar);
  if (parameter_terms) detail::accumulate_site_terms(ws.features, site_terms, fs, tw, adj.partial, grad);
}

void EquivariantFlow::rk4_step(Workspace& ws, const ConstFieldBatch& y, const FieldBatch& y_out,
                               const BatchScalars& ell, double t, double h) {
  prepare_time(time_weights(t));
  velocity(ws, y, ws.feature_spectra);
  detail::rk4_stage(y, ws.fields, ws.div, true, 1.0, 0.5 * h, ws.acc, ws.ell_acc, ws.stage);
  prepare_time(time_weights(t + 0.5 * h));
  velocity(ws, ws.stage, ws.feature_spectra);
  detail::rk4_stage(y, ws.fields, ws.div, false, 2.0, 0.5 * h, ws.acc, ws.ell_acc, ws.stage);
  velocity(ws, ws.stage, ws.feature_spectra);
  detail::rk4_stage(y, ws.fields, ws.div, false, 2.0, h, ws.acc, ws.ell_acc, ws.stage);
  prepare_time(time_weights(t + h));
  velocity(ws, ws.stage, ws.feature_spectra);
  detail::rk4_finish(y, ws.fields, ws.div, ws.acc, ws.ell_acc, h, y_out, ell);
}

void EquivariantFlow::score_rk4_step(Workspace& ws, AdjointWorkspace& adj, ScoreWorkspace& sc,
                                     const ConstFieldBatch& y, const FieldBatch& y_out, const BatchScalars& ell,
                                     const FieldBatch& score, double t, double h) {
  // (phi, score) as one RK4 system: each stage's slope of the score, -(J^T s + grad div), is the VJP of g with
  // cotangent s and divergence cotangent 1 at that stage's input, whose features velocity() has just transformed.
  const double stage_time[4] = {t, t + 0.5 * h, t + 0.5 * h, t + h};
  const double next_coeff[3] = {0.5 * h, 0.5 * h, h};
  const double weight[3] = {1.0, 2.0, 2.0};
  ConstFieldBatch phi_in = y, score_in = score;
  for (int i = 0; i < 4; ++i) {
    const TimeWeights tw = time_weights(stage_time[i]);
    if (i != 2) prepare_time(tw);
    velocity(ws, phi_in, ws.feature_spectra);
    Kokkos::deep_copy(sc.velocity, ws.fields);
    Kokkos::deep_copy(ws.fields, score_in);
    velocity_vjp(ws, adj, phi_in, ws.feature_spectra, true, tw, 1.0, ParameterView());
    if (i < 3) {
      detail::rk4_stage(y, sc.velocity, ws.div, i == 0, weight[i], next_coeff[i], ws.acc, ws.ell_acc, ws.stage);
      detail::rk4_stage(score, adj.phi_bar, sc.no_div, i == 0, weight[i], -next_coeff[i], sc.acc, sc.unused_acc,
                        sc.stage);
      phi_in = ws.stage;
      score_in = sc.stage;
    } else {
      detail::rk4_finish(y, sc.velocity, ws.div, ws.acc, ws.ell_acc, h, y_out, ell);
      detail::rk4_finish(score, adj.phi_bar, sc.no_div, sc.acc, sc.unused_acc, -h, score, sc.unused_ell);
    }
  }
}

void EquivariantFlow::adjoint_step(Workspace& ws, AdjointWorkspace& adj, const ConstFieldBatch& y, double t, double h,
                                   double ell_bar, const ParameterView& grad) {
  // Recompute the stage inputs Y2, Y3, Y4 from the stored start of the step, keeping the feature spectra of
  // Y1, Y2, Y3 for their VJPs.
  const TimeWeights t0 = time_weights(t), t_half = time_weights(t + 0.5 * h), t1 = time_weights(t + h);
  const FieldBatch y2 = adj.stage_input(0), y3 = adj.stage_input(1), y4 = adj.stage_input(2);
  const SpectrumBatch* spectra = adj.stage_spectra;
  prepare_time(t0);
  velocity(ws, y, spectra[0]);
  detail::shift(y, ws.fields, 0.5 * h, y2);
  prepare_time(t_half);
  velocity(ws, y2, spectra[1]);
  detail::shift(y, ws.fields, 0.5 * h, y3);
  velocity(ws, y3, spectra[2]);
  detail::shift(y, ws.fields, h, y4);

  // Walk the stages backwards. y_next = y + h/6 (k1 + 2 k2 + 2 k3 + k4) and ell_next = ell - h/6 (d1 + 2 d2 +
  // 2 d3 + d4) with ell's cotangent ell_bar, so stage i sees v_i = h w_i / 6 adjoint + (its share of later
  // stages) and c_i = -ell_bar h w_i / 6; Y4 = y + h k3, Y3 = y + h/2 k2, Y2 = y + h/2 k1 pass the stage
  // cotangents back.
  detail::scale(adj.adjoint, h / 6.0, ws.fields);
  prepare_time(t1);
  velocity_vjp(ws, adj, y4, ws.feature_spectra, false, t1, -ell_bar * h / 6.0, grad);
  detail::adjoint_combine(adj.adjoint, adj.phi_bar, true, h / 3.0, h, adj.adjoint_next, ws.fields);
  prepare_time(t_half);
  velocity_vjp(ws, adj, y3, spectra[2], true, t_half, -ell_bar * h / 3.0, grad);
  detail::adjoint_combine(adj.adjoint, adj.phi_bar, false, h / 3.0, 0.5 * h, adj.adjoint_next, ws.fields);
  velocity_vjp(ws, adj, y2, spectra[1], true, t_half, -ell_bar * h / 3.0, grad);
  detail::adjoint_combine(adj.adjoint, adj.phi_bar, false, h / 6.0, 0.5 * h, adj.adjoint_next, ws.fields);
  prepare_time(t0);
  velocity_vjp(ws, adj, y, spectra[0], true, t0, -ell_bar * h / 6.0, grad);
  detail::shift(adj.adjoint_next, adj.phi_bar, 1.0, adj.adjoint);
}

void EquivariantFlow::finish_theta_gradient(const ParameterView& grad) {
  kernel_fft_->inverse(theta_spectra_, kernel_fields_);
  // The correlations' spectra summed unnormalised products: 1/N completes the inverse transform.
  detail::gather_theta_gradient(kernel_fields_, row_start_, row_sites_, config_.time_basis, features_, 1.0 / sites_,
                                grad);
}

void EquivariantFlow::sample(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q) {
  const int batch = static_cast<int>(z.extent(0));
  detail::require_same_batch("EquivariantFlow::sample", sites_, z, phi, log_q);
  Workspace& ws = workspace(batch);
  refresh_kernel_transforms();
  Kokkos::deep_copy(phi, z);
  detail::log_prior(z, log_q);
  const double h = config_.t_end / config_.steps;
  for (int n = 0; n < config_.steps; ++n) rk4_step(ws, phi, phi, log_q, n * h, h);
}

void EquivariantFlow::sample_with_score(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q,
                                        const FieldBatch& score) {
  const int batch = static_cast<int>(z.extent(0));
  detail::require_same_batch("EquivariantFlow::sample_with_score", sites_, z, phi, log_q);
  detail::require_same_batch("EquivariantFlow::sample_with_score (score)", sites_, z, score, log_q);
  Workspace& ws = workspace(batch);
  AdjointWorkspace& adj = adjoint_workspace(batch);
  ScoreWorkspace& sc = score_workspace(batch);
  refresh_kernel_transforms();
  Kokkos::deep_copy(phi, z);
  detail::log_prior(z, log_q);
  detail::scale(z, -1.0, score);  // grad log r(z) = -z
  const double h = config_.t_end / config_.steps;
  for (int n = 0; n < config_.steps; ++n) score_rk4_step(ws, adj, sc, phi, phi, log_q, score, n * h, h);
}

void EquivariantFlow::log_density(const ConstFieldBatch& phi, const BatchScalars& log_q) {
  invert(phi, workspace(static_cast<int>(phi.extent(0))).state, log_q);
}

void EquivariantFlow::invert(const ConstFieldBatch& phi, const FieldBatch& z, const BatchScalars& log_q) {
  const int batch = static_cast<int>(phi.extent(0));
  detail::require_same_batch("EquivariantFlow::invert", sites_, phi, z, log_q);
  Workspace& ws = workspace(batch);
  refresh_kernel_transforms();
  Kokkos::deep_copy(z, phi);
  Kokkos::deep_copy(ws.ell, 0.0);
  // Backwards from t_end, ell accumulates the integral of div g over [0, t_end]: log q = log r(z) - ell.
  const double h = config_.t_end / config_.steps;
  for (int n = 0; n < config_.steps; ++n) rk4_step(ws, z, z, ws.ell, config_.t_end - n * h, -h);
  detail::log_prior(z, log_q);
  detail::subtract(ws.ell, log_q);
}

double EquivariantFlow::do_loss_and_gradient(const ConstFieldBatch& z, const Phi4Action& action,
                                             const ParameterView& grad, GradientEstimator estimator) {
  const int batch = static_cast<int>(z.extent(0));
  PHI4FLOW_CHECK(static_cast<int>(z.extent(1)) == sites_ && action.lattice().extent() == lattice_.extent(),
                 "EquivariantFlow::loss_and_gradient: z and the action must live on the flow's lattice");
  PHI4FLOW_CHECK(grad.extent(0) == params_.extent(0), "EquivariantFlow::loss_and_gradient: grad has " +
                                                          std::to_string(grad.extent(0)) + " entries, the model " +
                                                          std::to_string(params_.extent(0)));
  Workspace& ws = workspace(batch);
  AdjointWorkspace& adj = adjoint_workspace(batch);
  refresh_kernel_transforms();
  const int steps = config_.steps;
  if (trajectory_.extent(0) != static_cast<std::size_t>(steps) ||
      trajectory_.extent(1) != static_cast<std::size_t>(batch)) {
    trajectory_ = decltype(trajectory_)();
    trajectory_ = decltype(trajectory_)(
        uninitialized("phi4flow::EquivariantFlow::trajectory"), steps, batch, sites_);
  }
  // phi after step n is trajectory_(n); the start of step 0 is z itself.
  auto start_of = [&](int n) -> ConstFieldBatch {
    return n == 0 ? z : ConstFieldBatch(Kokkos::subview(trajectory_, n - 1, Kokkos::ALL, Kokkos::ALL));
  };

  const bool path = estimator == GradientEstimator::path;
  ScoreWorkspace* sc = path ? &score_workspace(batch) : nullptr;
  const FieldBatch score = path ? sc->score : FieldBatch();
  const double h = config_.t_end / steps;
  detail::log_prior(z, ws.ell);
  if (path) detail::scale(z, -1.0, score);
  for (int n = 0; n < steps; ++n) {
    const FieldBatch next = Kokkos::subview(trajectory_, n, Kokkos::ALL, Kokkos::ALL);
    if (path) {
      score_rk4_step(ws, adj, *sc, start_of(n), next, ws.ell, score, n * h, h);
    } else {
      rk4_step(ws, start_of(n), next, ws.ell, n * h, h);
    }
  }
  const ConstFieldBatch phi = start_of(steps);
  action.action(phi, ws.action);
  const double loss = detail::sum_of_sums(ws.ell, ws.action);

  // Cotangents at t_end. Total: dS/dphi for phi and 1 for ell (constant in time, so it never needs propagating).
  // Path: the sample's dependence alone, d(log q + S)/dphi at fixed parameters, for phi and 0 for ell.
  action.force(phi, adj.adjoint);
  if (path) detail::shift(adj.adjoint, score, 1.0, adj.adjoint);
  Kokkos::deep_copy(grad, 0.0);
  Kokkos::deep_copy(theta_spectra_, Complex(0.0, 0.0));
  const double ell_bar = path ? 0.0 : 1.0;
  for (int n = steps - 1; n >= 0; --n) adjoint_step(ws, adj, start_of(n), n * h, h, ell_bar, grad);
  finish_theta_gradient(grad);
  return loss;
}

void EquivariantFlow::vector_field(const ConstFieldBatch& phi, double t, const FieldBatch& g, const BatchScalars& div) {
  detail::require_same_batch("EquivariantFlow::vector_field", sites_, phi, g, div);
  Workspace& ws = workspace(static_cast<int>(phi.extent(0)));
  refresh_kernel_transforms();
  prepare_time(time_weights(t));
  velocity(ws, phi, ws.feature_spectra);
  Kokkos::deep_copy(g, ws.fields);
  Kokkos::deep_copy(div, ws.div);
}

void EquivariantFlow::vector_field_vjp(const ConstFieldBatch& phi, double t, const ConstFieldBatch& v, double c,
                                       const FieldBatch& phi_bar, const ParameterView& grad) {
  PHI4FLOW_CHECK(static_cast<int>(phi.extent(1)) == sites_ && v.extent(0) == phi.extent(0) &&
                     v.extent(1) == phi.extent(1) && phi_bar.extent(0) == phi.extent(0) &&
                     phi_bar.extent(1) == phi.extent(1) && grad.extent(0) == params_.extent(0),
                 "EquivariantFlow::vector_field_vjp: phi, v, phi_bar and grad do not match the model");
  Workspace& ws = workspace(static_cast<int>(phi.extent(0)));
  AdjointWorkspace& adj = adjoint_workspace(static_cast<int>(phi.extent(0)));
  refresh_kernel_transforms();
  const TimeWeights tw = time_weights(t);
  prepare_time(tw);
  Kokkos::deep_copy(grad, 0.0);
  Kokkos::deep_copy(theta_spectra_, Complex(0.0, 0.0));
  Kokkos::deep_copy(ws.fields, v);
  velocity_vjp(ws, adj, phi, ws.feature_spectra, false, tw, c, grad);
  Kokkos::deep_copy(phi_bar, adj.phi_bar);
  finish_theta_gradient(grad);
}

}  // namespace phi4flow::flow
