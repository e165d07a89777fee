// The pointwise and k-space Kokkos kernels of EquivariantFlow (paper Section 3; docs/flow.md), for double and
// float fields. Feature derivatives, for h = sin(w p): h' = w cos, h'' = -w^2 sin, dh/dw = p cos, dh'/dw = cos -
// w p sin; for h = cos(w p): h' = -w sin, h'' = -w^2 cos, dh/dw = -p sin, dh'/dw = -sin - w p cos; the constant
// has none.
#include "equivariant_flow_kernels.hpp"

#include "phi4flow/row_sums.hpp"

namespace phi4flow::flow::detail {

namespace {
using Team = Kokkos::TeamPolicy<ExecSpace>::member_type;
// LayoutRight buffers: the last index must run fastest on every backend (CUDA's default is the first).
using Range2 = Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2, Kokkos::Iterate::Right, Kokkos::Iterate::Right>>;

template <class View>
int rows(const View& v) {
  return static_cast<int>(v.extent(0));
}
template <class View>
int cols(const View& v) {
  return static_cast<int>(v.extent(1));
}
// Work items of kSiteLanes sites covering n sites.
int site_chunks(int n) {
  return (n + kSiteLanes - 1) / kSiteLanes;
}
}  // namespace

int count_differences(const ConstRealView& a, const ConstRealView& b) {
  int n = 0;
  Kokkos::parallel_reduce(
      "phi4flow::EquivariantFlow::parameters_changed", Kokkos::RangePolicy<ExecSpace>(0, static_cast<int>(a.extent(0))),
      KOKKOS_LAMBDA(const int i, int& count) { count += a(i) != b(i) ? 1 : 0; }, n);
  return n;
}

template <class From, class To>
void convert(const FieldBatchOf<const From>& in, const FieldBatchOf<To>& out) {
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::convert", Range2({0, 0}, {rows(in), cols(in)}),
      KOKKOS_LAMBDA(const int b, const int x) { out(b, x) = static_cast<To>(in(b, x)); });
}

template <class Real>
void scatter_theta(const ConstRealView& params, const IntView& row_of, int time_basis, int features,
                   const Fields<Real>& kernel_fields) {
  const int A = time_basis, nf = features;
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::scatter_theta", Range2({0, 0}, {rows(kernel_fields), cols(kernel_fields)}),
      KOKKOS_LAMBDA(const int aj, const int r) {
        const int a = aj / nf, j = aj % nf;
        kernel_fields(aj, r) = static_cast<Real>(params((row_of(r) * A + a) * nf + j));
      });
}

template <class Real>
void conjugate_scale(const Spectra<Real>& spectra, double scale) {
  const Real factor = static_cast<Real>(scale);
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::conjugate_scale", Range2({0, 0}, {rows(spectra), cols(spectra)}),
      KOKKOS_LAMBDA(const int i, const int k) { spectra(i, k) = Kokkos::conj(spectra(i, k)) * factor; });
}

template <class Real>
void stage_kernel(const Spectra<Real>& kernel_spectra, const ConstRealView& params, const TimeWeights& tw, int features,
                  const Spectra<Real>& stage_kernel, const RealView& stage_w0) {
  const int nf = features;
  const TimeWeights w = tw;
  const Real w_lo = static_cast<Real>(w.w_lo), w_hi = static_cast<Real>(w.w_hi);
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::stage_kernel", Range2({0, 0}, {nf, cols(kernel_spectra)}),
      KOKKOS_LAMBDA(const int j, const int k) {
        stage_kernel(j, k) = w_lo * kernel_spectra(w.lo * nf + j, k) + w_hi * kernel_spectra(w.hi * nf + j, k);
      });
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::stage_w0", Kokkos::RangePolicy<ExecSpace>(0, nf),
      KOKKOS_LAMBDA(const int j) { stage_w0(j) = w.w_lo * params(w.lo * nf + j) + w.w_hi * params(w.hi * nf + j); });
}

template <class Real>
void compute_features(const ConstFields<Real>& y, const ConstRealView& params, const ConstRealView& w0,
                      const FeatureSet& fs, const Fields<Real>& features, const BatchScalars& div) {
  const int n = cols(y);
  const FeatureSet f_set = fs;
  for_each_row_sum(
      "phi4flow::EquivariantFlow::features", rows(y), site_chunks(n),
      KOKKOS_LAMBDA(const int b, const int chunk, double& partial) {
        const int F = f_set.frequencies, nf = f_set.features, cos0 = F + f_set.linear;
        const int x0 = chunk * kSiteLanes, m = n - x0 < kSiteLanes ? n - x0 : kSiteLanes;
        const Real* p = &y(b, x0);
        Real arg[kSiteLanes], s[kSiteLanes], c[kSiteLanes], site_div[kSiteLanes];
        for (int i = 0; i < m; ++i) site_div[i] = 0;
        if (f_set.linear) {  // h = phi, h' = 1
          Real* h_lin = &features(b * nf + F, x0);
          const Real w0_lin = static_cast<Real>(w0(F));
          for (int i = 0; i < m; ++i) {
            h_lin[i] = p[i];
            site_div[i] = w0_lin;
          }
        }
        for (int f = 0; f < F; ++f) {
          const Real w = static_cast<Real>(params(f_set.omega_offset + f));
          for (int i = 0; i < m; ++i) arg[i] = w * p[i];
          sincos_lanes(arg, s, c, m);
          Real* h_sin = &features(b * nf + f, x0);
          const Real w0_w = static_cast<Real>(w0(f)) * w;
          for (int i = 0; i < m; ++i) {
            h_sin[i] = s[i];
            site_div[i] += w0_w * c[i];
          }
          if (f_set.sign_breaking) {
            Real* h_cos = &features(b * nf + cos0 + f, x0);
            const Real w0_w_cos = static_cast<Real>(w0(cos0 + f)) * w;
            for (int i = 0; i < m; ++i) {
              h_cos[i] = c[i];
              site_div[i] -= w0_w_cos * s[i];
            }
          }
        }
        if (f_set.sign_breaking) {
          Real* one = &features(b * nf + cos0 + F, x0);
          for (int i = 0; i < m; ++i) one[i] = Real(1);
        }
        partial += lane_sum(site_div, m);  // the divergence becomes log q: summed over sites in double
      },
      KOKKOS_LAMBDA(const int b, const double sum) { div(b) = sum; });
}

template <class Real>
void combine_spectra(const Spectra<Real>& spectra, const Spectra<Real>& stage_kernel, int features,
                     const Spectra<Real>& out) {
  using C = Kokkos::complex<Real>;
  const int nf = features, modes = cols(out);
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::combine_spectra", Range2({0, 0}, {rows(out), site_chunks(modes)}),
      KOKKOS_LAMBDA(const int b, const int chunk) {
        const int k0 = chunk * kSiteLanes, m = modes - k0 < kSiteLanes ? modes - k0 : kSiteLanes;
        C sum[kSiteLanes];
        for (int i = 0; i < m; ++i) sum[i] = C(0, 0);
        for (int j = 0; j < nf; ++j) {
          const C* kernel = &stage_kernel(j, k0);
          const C* feature = &spectra(b * nf + j, k0);
          for (int i = 0; i < m; ++i) sum[i] += kernel[i] * feature[i];
        }
        C* g = &out(b, k0);
        for (int i = 0; i < m; ++i) g[i] = sum[i];
      });
}

template <class Real>
void rk4_stage(const ConstFields<Real>& y, const ConstFields<Real>& k, const BatchScalars& div, bool first,
               double weight, double coeff, const Fields<Real>& acc, const BatchScalars& ell_acc,
               const Fields<Real>& stage) {
  const int n = cols(y);
  const Real wt = static_cast<Real>(weight), cf = static_cast<Real>(coeff);
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::rk4_stage", Kokkos::TeamPolicy<ExecSpace>(rows(y), Kokkos::AUTO),
      KOKKOS_LAMBDA(const Team& team) {
        const int b = team.league_rank();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n), [&](const int x) {
          acc(b, x) = (first ? Real(0) : acc(b, x)) + wt * k(b, x);
          stage(b, x) = y(b, x) + cf * k(b, x);
        });
        Kokkos::single(Kokkos::PerTeam(team), [&]() { ell_acc(b) = (first ? 0.0 : ell_acc(b)) + weight * div(b); });
      });
}

template <class Real>
void rk4_finish(const ConstFields<Real>& y, const ConstFields<Real>& k, const BatchScalars& div,
                const Fields<Real>& acc, const BatchScalars& ell_acc, double h, const Fields<Real>& y_out,
                const BatchScalars& ell) {
  const int n = cols(y);
  const double h6 = h / 6.0;
  const Real h6_real = static_cast<Real>(h6);
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::rk4_finish", Kokkos::TeamPolicy<ExecSpace>(rows(y), Kokkos::AUTO),
      KOKKOS_LAMBDA(const Team& team) {
        const int b = team.league_rank();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n),
                             [&](const int x) { y_out(b, x) = y(b, x) + h6_real * (acc(b, x) + k(b, x)); });
        Kokkos::single(Kokkos::PerTeam(team), [&]() { ell(b) -= h6 * (ell_acc(b) + div(b)); });
      });
}

template <class Real>
void shift(const ConstFields<Real>& y, const ConstFields<Real>& k, double coeff, const Fields<Real>& out) {
  const Real cf = static_cast<Real>(coeff);
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::shift", Range2({0, 0}, {rows(y), cols(y)}),
      KOKKOS_LAMBDA(const int b, const int x) { out(b, x) = y(b, x) + cf * k(b, x); });
}

template <class Real>
void scale(const ConstFields<Real>& y, double coeff, const Fields<Real>& out) {
  const Real cf = static_cast<Real>(coeff);
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::scale", Range2({0, 0}, {rows(y), cols(y)}),
      KOKKOS_LAMBDA(const int b, const int x) { out(b, x) = cf * y(b, x); });
}

template <class Real>
void correlate_and_convolve(const Spectra<Real>& field_spectra, const Spectra<Real>& stage_kernel,
                            const TimeWeights& tw, int features, bool correlate, const Spectra<Real>& spectra,
                            const Spectra<Real>& theta_spectra) {
  using C = Kokkos::complex<Real>;
  const int nf = features, batch = rows(field_spectra), modes = cols(field_spectra);
  const TimeWeights w = tw;
  const Real w_lo = static_cast<Real>(w.w_lo), w_hi = static_cast<Real>(w.w_hi);
  if (!correlate) {
    // No batch sum here: one work item per row and run of modes.
    Kokkos::parallel_for(
        "phi4flow::EquivariantFlow::convolve", Range2({0, 0}, {batch * nf, site_chunks(modes)}),
        KOKKOS_LAMBDA(const int row, const int chunk) {
          const int k0 = chunk * kSiteLanes, m = modes - k0 < kSiteLanes ? modes - k0 : kSiteLanes;
          const C* kernel = &stage_kernel(row % nf, k0);
          const C* v = &field_spectra(row / nf, k0);
          C* out = &spectra(row, k0);
          for (int i = 0; i < m; ++i) out[i] = Kokkos::conj(kernel[i]) * v[i];
        });
    return;
  }
  // One pass over the feature spectra does both products: the batch sum happens here, in Fourier space,
  // so the theta gradient needs only A * nf inverse transforms per training step.
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::correlate_and_convolve", Range2({0, 0}, {nf, site_chunks(modes)}),
      KOKKOS_LAMBDA(const int j, const int chunk) {
        const int k0 = chunk * kSiteLanes, m = modes - k0 < kSiteLanes ? modes - k0 : kSiteLanes;
        const C* kernel = &stage_kernel(j, k0);
        C corr[kSiteLanes];
        for (int i = 0; i < m; ++i) corr[i] = C(0, 0);
        for (int b = 0; b < batch; ++b) {
          const C* v = &field_spectra(b, k0);
          C* feature = &spectra(b * nf + j, k0);
          for (int i = 0; i < m; ++i) {
            corr[i] += Kokkos::conj(v[i]) * feature[i];
            feature[i] = Kokkos::conj(kernel[i]) * v[i];
          }
        }
        C* theta_lo = &theta_spectra(w.lo * nf + j, k0);
        C* theta_hi = &theta_spectra(w.hi * nf + j, k0);
        for (int i = 0; i < m; ++i) theta_lo[i] += w_lo * corr[i];
        for (int i = 0; i < m; ++i) theta_hi[i] += w_hi * corr[i];
      });
}

template <class Real>
void vjp_pointwise(const ConstFields<Real>& y, const ConstRealView& params, const ConstRealView& w0, double c,
                   const FeatureSet& fs, const Fields<Real>& conv, const Fields<Real>& site_terms,
                   const Fields<Real>& phi_bar) {
  const FeatureSet f_set = fs;
  const int n = cols(y);
  const Real c_div = static_cast<Real>(c);
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::vjp_pointwise", Range2({0, 0}, {rows(y), site_chunks(n)}),
      KOKKOS_LAMBDA(const int b, const int chunk) {
        const int F = f_set.frequencies, nf = f_set.features, cos0 = F + f_set.linear;
        const int x0 = chunk * kSiteLanes, m = n - x0 < kSiteLanes ? n - x0 : kSiteLanes;
        const Real* p = &y(b, x0);
        Real pb[kSiteLanes], arg[kSiteLanes], s[kSiteLanes], co[kSiteLanes];
        for (int i = 0; i < m; ++i) pb[i] = 0;
        if (f_set.linear) {  // h' = 1, h'' = 0: W * v passes straight through; c div g has the term c W_lin(t, 0)
          const Real* u_lin = &conv(b * nf + F, x0);
          Real* site_lin = &site_terms(b * nf + F, x0);
          for (int i = 0; i < m; ++i) {
            pb[i] = u_lin[i];
            site_lin[i] = c_div;
          }
        }
        for (int f = 0; f < F; ++f) {
          const Real w = static_cast<Real>(params(f_set.omega_offset + f));
          for (int i = 0; i < m; ++i) arg[i] = w * p[i];
          sincos_lanes(arg, s, co, m);
          Real* u_sin = &conv(b * nf + f, x0);  // read as W * v, then overwritten with the omega term
          Real* site_sin = &site_terms(b * nf + f, x0);
          const Real c_sin = c_div * static_cast<Real>(w0(f));
          for (int i = 0; i < m; ++i) {
            const Real u = u_sin[i];
            pb[i] += w * co[i] * u - c_sin * w * w * s[i];
            site_sin[i] = c_div * w * co[i];
            u_sin[i] = p[i] * co[i] * u + c_sin * (co[i] - w * p[i] * s[i]);
          }
          if (f_set.sign_breaking) {
            const Real* u_cos = &conv(b * nf + cos0 + f, x0);
            Real* site_cos = &site_terms(b * nf + cos0 + f, x0);
            const Real c_cos = c_div * static_cast<Real>(w0(cos0 + f));
            for (int i = 0; i < m; ++i) {
              pb[i] -= w * s[i] * u_cos[i] + c_cos * w * w * co[i];
              u_sin[i] -= p[i] * s[i] * u_cos[i] + c_cos * (s[i] + w * p[i] * co[i]);
              site_cos[i] = -c_div * w * s[i];
            }
          }
        }
        Real* out = &phi_bar(b, x0);
        for (int i = 0; i < m; ++i) out[i] = pb[i];
      });
}

template <class Real>
void accumulate_site_terms(const Fields<Real>& conv, const Fields<Real>& site_terms, const FeatureSet& fs,
                           const TimeWeights& tw, const ReductionRows& partial, const RealView& grad) {
  // Rows q < F: omega_f terms (in conv); rows F + j: terms of W_j(t, 0) for the non-constant features j (all but
  // the last feature with sign breaking, the constant).
  const FeatureSet f_set = fs;
  const int batch = static_cast<int>(partial.extent(1)), n_terms = static_cast<int>(partial.extent(0));
  const int n = cols(conv);
  for_each_row_sum(
      "phi4flow::EquivariantFlow::reduce_site_terms", n_terms * batch, site_chunks(n),
      KOKKOS_LAMBDA(const int qb, const int chunk, double& sum) {
        const int q = qb / batch, b = qb % batch;
        const int F = f_set.frequencies, nf = f_set.features;
        const int x0 = chunk * kSiteLanes, m = n - x0 < kSiteLanes ? n - x0 : kSiteLanes;
        sum += lane_sum(q < F ? &conv(b * nf + q, x0) : &site_terms(b * nf + q - F, x0), m);
      },
      KOKKOS_LAMBDA(const int qb, const double sum) { partial(qb / batch, qb % batch) = sum; });
  const TimeWeights w = tw;
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::accumulate_site_terms", Kokkos::RangePolicy<ExecSpace>(0, n_terms),
      KOKKOS_LAMBDA(const int q) {
        const int F = f_set.frequencies, nf = f_set.features;
        double sum = 0.0;
        for (int b = 0; b < batch; ++b) sum += partial(q, b);
        if (q < F) {
          grad(f_set.omega_offset + q) += sum;
        } else {
          grad(w.lo * nf + q - F) += w.w_lo * sum;  // theta[0][a][j]: displacement r = 0 is row 0
          grad(w.hi * nf + q - F) += w.w_hi * sum;
        }
      });
}

template <class Real>
void adjoint_combine(const ConstFields<Real>& adjoint, const ConstFields<Real>& phi_bar, bool first, double alpha,
                     double beta, const Fields<Real>& adjoint_next, const Fields<Real>& v) {
  const Real a = static_cast<Real>(alpha), be = static_cast<Real>(beta);
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::adjoint_combine", Range2({0, 0}, {rows(adjoint), cols(adjoint)}),
      KOKKOS_LAMBDA(const int b, const int x) {
        adjoint_next(b, x) = (first ? adjoint(b, x) : adjoint_next(b, x)) + phi_bar(b, x);
        v(b, x) = a * adjoint(b, x) + be * phi_bar(b, x);
      });
}

template <class Real>
void gather_theta_gradient(const Fields<Real>& correlations, const IntView& row_start, const IntView& row_sites,
                           int time_basis, int features, double scale, const RealView& grad) {
  const int per_row = time_basis * features;
  const int n_rows = static_cast<int>(row_start.extent(0)) - 1;
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::gather_theta_gradient", Kokkos::RangePolicy<ExecSpace>(0, n_rows * per_row),
      KOKKOS_LAMBDA(const int i) {
        const int p = i / per_row, aj = i % per_row;
        double sum = 0.0;
        for (int m = row_start(p); m < row_start(p + 1); ++m) sum += correlations(aj, row_sites(m));
        grad(i) += scale * sum;
      });
}

template void convert<double, double>(const FieldBatchOf<const double>&, const FieldBatchOf<double>&);
template void convert<float, double>(const FieldBatchOf<const float>&, const FieldBatchOf<double>&);
template void convert<double, float>(const FieldBatchOf<const double>&, const FieldBatchOf<float>&);

#define PHI4FLOW_INSTANTIATE_FLOW_KERNELS(Real)                                                                     \
  template void scatter_theta<Real>(const ConstRealView&, const IntView&, int, int, const Fields<Real>&);           \
  template void conjugate_scale<Real>(const Spectra<Real>&, double);                                                \
  template void stage_kernel<Real>(const Spectra<Real>&, const ConstRealView&, const TimeWeights&, int,             \
                                   const Spectra<Real>&, const RealView&);                                          \
  template void compute_features<Real>(const ConstFields<Real>&, const ConstRealView&, const ConstRealView&,        \
                                       const FeatureSet&, const Fields<Real>&, const BatchScalars&);                \
  template void combine_spectra<Real>(const Spectra<Real>&, const Spectra<Real>&, int, const Spectra<Real>&);       \
  template void rk4_stage<Real>(const ConstFields<Real>&, const ConstFields<Real>&, const BatchScalars&, bool,      \
                                double, double, const Fields<Real>&, const BatchScalars&, const Fields<Real>&);     \
  template void rk4_finish<Real>(const ConstFields<Real>&, const ConstFields<Real>&, const BatchScalars&,           \
                                 const Fields<Real>&, const BatchScalars&, double, const Fields<Real>&,             \
                                 const BatchScalars&);                                                              \
  template void shift<Real>(const ConstFields<Real>&, const ConstFields<Real>&, double, const Fields<Real>&);        \
  template void scale<Real>(const ConstFields<Real>&, double, const Fields<Real>&);                                 \
  template void correlate_and_convolve<Real>(const Spectra<Real>&, const Spectra<Real>&, const TimeWeights&, int,    \
                                             bool, const Spectra<Real>&, const Spectra<Real>&);                     \
  template void vjp_pointwise<Real>(const ConstFields<Real>&, const ConstRealView&, const ConstRealView&, double,    \
                                    const FeatureSet&, const Fields<Real>&, const Fields<Real>&,                    \
                                    const Fields<Real>&);                                                           \
  template void accumulate_site_terms<Real>(const Fields<Real>&, const Fields<Real>&, const FeatureSet&,             \
                                            const TimeWeights&, const ReductionRows&, const RealView&);             \
  template void adjoint_combine<Real>(const ConstFields<Real>&, const ConstFields<Real>&, bool, double, double,      \
                                      const Fields<Real>&, const Fields<Real>&);                                    \
  template void gather_theta_gradient<Real>(const Fields<Real>&, const IntView&, const IntView&, int, int, double,   \
                                            const RealView&);

PHI4FLOW_INSTANTIATE_FLOW_KERNELS(double)
PHI4FLOW_INSTANTIATE_FLOW_KERNELS(float)

}  // namespace phi4flow::flow::detail
