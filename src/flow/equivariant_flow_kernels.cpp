// The pointwise and k-space Kokkos kernels of EquivariantFlow (paper Section 3; docs/flow.md). Feature
// derivatives, for h = sin(w p): h' = w cos, h'' = -w^2 sin, dh/dw = p cos, dh'/dw = cos - w p sin; for
// h = cos(w p): h' = -w sin, h'' = -w^2 cos, dh/dw = -p sin, dh'/dw = -sin - w p cos; the constant has none.
#include "equivariant_flow_kernels.hpp"

#include "phi4flow/row_sums.hpp"

namespace phi4flow::flow::detail {

namespace {
using Team = Kokkos::TeamPolicy<ExecSpace>::member_type;
// LayoutRight buffers: the last index must run fastest on every backend (CUDA's default is the first).
using Range2 = Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2, Kokkos::Iterate::Right, Kokkos::Iterate::Right>>;

int rows(const ConstFieldBatch& v) {
  return static_cast<int>(v.extent(0));
}
int cols(const ConstFieldBatch& v) {
  return static_cast<int>(v.extent(1));
}
}  // namespace

int count_differences(const ConstRealView& a, const ConstRealView& b) {
  int n = 0;
  Kokkos::parallel_reduce(
      "phi4flow::EquivariantFlow::parameters_changed", Kokkos::RangePolicy<ExecSpace>(0, static_cast<int>(a.extent(0))),
      KOKKOS_LAMBDA(const int i, int& count) { count += a(i) != b(i) ? 1 : 0; }, n);
  return n;
}

void scatter_theta(const ConstRealView& params, const IntView& row_of, int time_basis, int features,
                   const FieldBatch& kernel_fields) {
  const int A = time_basis, nf = features;
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::scatter_theta", Range2({0, 0}, {rows(kernel_fields), cols(kernel_fields)}),
      KOKKOS_LAMBDA(const int aj, const int r) {
        const int a = aj / nf, j = aj % nf;
        kernel_fields(aj, r) = params((row_of(r) * A + a) * nf + j);
      });
}

void conjugate_scale(const SpectrumBatch& spectra, double scale) {
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::conjugate_scale",
      Range2({0, 0}, {static_cast<int>(spectra.extent(0)), static_cast<int>(spectra.extent(1))}),
      KOKKOS_LAMBDA(const int i, const int k) { spectra(i, k) = Kokkos::conj(spectra(i, k)) * scale; });
}

void stage_kernel(const SpectrumBatch& kernel_spectra, const ConstRealView& params, const TimeWeights& tw, int features,
                  const SpectrumBatch& stage_kernel, const RealView& stage_w0) {
  const int nf = features;
  const TimeWeights w = tw;
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::stage_kernel", Range2({0, 0}, {nf, static_cast<int>(kernel_spectra.extent(1))}),
      KOKKOS_LAMBDA(const int j, const int k) {
        stage_kernel(j, k) = w.w_lo * kernel_spectra(w.lo * nf + j, k) + w.w_hi * kernel_spectra(w.hi * nf + j, k);
      });
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::stage_w0", Kokkos::RangePolicy<ExecSpace>(0, nf),
      KOKKOS_LAMBDA(const int j) { stage_w0(j) = w.w_lo * params(w.lo * nf + j) + w.w_hi * params(w.hi * nf + j); });
}

void compute_features(const ConstFieldBatch& y, const ConstRealView& params, const ConstRealView& w0,
                      const FeatureSet& fs, const FieldBatch& features, const BatchScalars& div) {
  const int n = cols(y);
  const FeatureSet f_set = fs;
  for_each_row_sum(
      "phi4flow::EquivariantFlow::features", rows(y), n,
      KOKKOS_LAMBDA(const int b, const int x, double& partial) {
        const int F = f_set.frequencies, nf = f_set.features;
        const double p = y(b, x);
        for (int f = 0; f < F; ++f) {
          const double w = params(f_set.omega_offset + f);
          double s, c;
          sin_cos(w * p, f_set.single_precision_sincos, s, c);
          features(b * nf + f, x) = s;
          partial += w0(f) * w * c;
          if (f_set.sign_breaking) {
            features(b * nf + F + f, x) = c;
            partial -= w0(F + f) * w * s;
          }
        }
        if (f_set.sign_breaking) features(b * nf + 2 * F, x) = 1.0;
      },
      KOKKOS_LAMBDA(const int b, const double sum) { div(b) = sum; });
}

void combine_spectra(const SpectrumBatch& spectra, const SpectrumBatch& stage_kernel, int features,
                     const SpectrumBatch& out) {
  const int nf = features;
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::combine_spectra",
      Range2({0, 0}, {static_cast<int>(out.extent(0)), static_cast<int>(out.extent(1))}),
      KOKKOS_LAMBDA(const int b, const int k) {
        Complex sum(0.0, 0.0);
        for (int j = 0; j < nf; ++j) sum += stage_kernel(j, k) * spectra(b * nf + j, k);
        out(b, k) = sum;
      });
}

void rk4_stage(const ConstFieldBatch& y, const ConstFieldBatch& k, const BatchScalars& div, bool first, double weight,
               double coeff, const FieldBatch& acc, const BatchScalars& ell_acc, const FieldBatch& stage) {
  const int n = cols(y);
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::rk4_stage", Kokkos::TeamPolicy<ExecSpace>(rows(y), Kokkos::AUTO),
      KOKKOS_LAMBDA(const Team& team) {
        const int b = team.league_rank();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n), [&](const int x) {
          acc(b, x) = (first ? 0.0 : acc(b, x)) + weight * k(b, x);
          stage(b, x) = y(b, x) + coeff * k(b, x);
        });
        Kokkos::single(Kokkos::PerTeam(team), [&]() { ell_acc(b) = (first ? 0.0 : ell_acc(b)) + weight * div(b); });
      });
}

void rk4_finish(const ConstFieldBatch& y, const ConstFieldBatch& k, const BatchScalars& div, const FieldBatch& acc,
                const BatchScalars& ell_acc, double h, const FieldBatch& y_out, const BatchScalars& ell) {
  const int n = cols(y);
  const double h6 = h / 6.0;
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::rk4_finish", Kokkos::TeamPolicy<ExecSpace>(rows(y), Kokkos::AUTO),
      KOKKOS_LAMBDA(const Team& team) {
        const int b = team.league_rank();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n),
                             [&](const int x) { y_out(b, x) = y(b, x) + h6 * (acc(b, x) + k(b, x)); });
        Kokkos::single(Kokkos::PerTeam(team), [&]() { ell(b) -= h6 * (ell_acc(b) + div(b)); });
      });
}

void shift(const ConstFieldBatch& y, const ConstFieldBatch& k, double coeff, const FieldBatch& out) {
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::shift", Range2({0, 0}, {rows(y), cols(y)}),
      KOKKOS_LAMBDA(const int b, const int x) { out(b, x) = y(b, x) + coeff * k(b, x); });
}

void scale(const ConstFieldBatch& y, double coeff, const FieldBatch& out) {
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::scale", Range2({0, 0}, {rows(y), cols(y)}),
      KOKKOS_LAMBDA(const int b, const int x) { out(b, x) = coeff * y(b, x); });
}

void correlate_and_convolve(const SpectrumBatch& field_spectra, const SpectrumBatch& stage_kernel,
                            const TimeWeights& tw, int features, bool correlate, const SpectrumBatch& spectra,
                            const SpectrumBatch& theta_spectra) {
  const int nf = features, batch = static_cast<int>(field_spectra.extent(0));
  const TimeWeights w = tw;
  if (!correlate) {
    // No batch sum here: one thread per output entry, modes fastest.
    Kokkos::parallel_for(
        "phi4flow::EquivariantFlow::convolve", Range2({0, 0}, {batch * nf, static_cast<int>(field_spectra.extent(1))}),
        KOKKOS_LAMBDA(const int row, const int k) {
          spectra(row, k) = Kokkos::conj(stage_kernel(row % nf, k)) * field_spectra(row / nf, k);
        });
    return;
  }
  // One pass over the feature spectra does both products: the batch sum happens here, in Fourier space,
  // so the theta gradient needs only A * nf inverse transforms per training step.
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::correlate_and_convolve",
      Range2({0, 0}, {nf, static_cast<int>(field_spectra.extent(1))}), KOKKOS_LAMBDA(const int j, const int k) {
        const Complex w_conj = Kokkos::conj(stage_kernel(j, k));
        Complex corr(0.0, 0.0);
        for (int b = 0; b < batch; ++b) {
          const Complex v = field_spectra(b, k);
          corr += Kokkos::conj(v) * spectra(b * nf + j, k);
          spectra(b * nf + j, k) = w_conj * v;
        }
        theta_spectra(w.lo * nf + j, k) += w.w_lo * corr;
        theta_spectra(w.hi * nf + j, k) += w.w_hi * corr;
      });
}

void vjp_pointwise(const ConstFieldBatch& y, const ConstRealView& params, const ConstRealView& w0, double c,
                   const FeatureSet& fs, const FieldBatch& conv, const FieldBatch& site_terms,
                   const FieldBatch& phi_bar) {
  const FeatureSet f_set = fs;
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::vjp_pointwise", Range2({0, 0}, {rows(y), cols(y)}),
      KOKKOS_LAMBDA(const int b, const int x) {
        const int F = f_set.frequencies, nf = f_set.features;
        const double p = y(b, x);
        double pb = 0.0;
        for (int f = 0; f < F; ++f) {
          const double w = params(f_set.omega_offset + f);
          double s, co;
          sin_cos(w * p, f_set.single_precision_sincos, s, co);
          const int row_sin = b * nf + f;
          const double u_sin = conv(row_sin, x);
          const double c_sin = c * w0(f);
          pb += w * co * u_sin - c_sin * w * w * s;
          double d_omega = p * co * u_sin + c_sin * (co - w * p * s);
          site_terms(row_sin, x) = c * w * co;
          if (f_set.sign_breaking) {
            const int row_cos = b * nf + F + f;
            const double u_cos = conv(row_cos, x);
            const double c_cos = c * w0(F + f);
            pb -= w * s * u_cos + c_cos * w * w * co;
            d_omega -= p * s * u_cos + c_cos * (s + w * p * co);
            site_terms(row_cos, x) = -c * w * s;
          }
          conv(row_sin, x) = d_omega;  // u_sin has been used; the row now carries the omega term
        }
        phi_bar(b, x) = pb;
      });
}

void accumulate_site_terms(const FieldBatch& conv, const FieldBatch& site_terms, const FeatureSet& fs,
                           const TimeWeights& tw, const ReductionRows& partial, const RealView& grad) {
  // Rows q < F: omega_f terms (in conv); rows F + j: terms of W_j(t, 0) for the non-constant features j.
  const FeatureSet f_set = fs;
  const int batch = static_cast<int>(partial.extent(1)), n_terms = static_cast<int>(partial.extent(0));
  const int n = cols(conv);
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::reduce_site_terms", Kokkos::TeamPolicy<ExecSpace>(n_terms * batch, Kokkos::AUTO),
      KOKKOS_LAMBDA(const Team& team) {
        const int q = team.league_rank() / batch, b = team.league_rank() % batch;
        const int F = f_set.frequencies, nf = f_set.features;
        const bool omega_term = q < F;
        const int row = b * nf + (omega_term ? q : q - F);
        double sum = 0.0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, n),
            [&](const int x, double& s) { s += omega_term ? conv(row, x) : site_terms(row, x); }, sum);
        Kokkos::single(Kokkos::PerTeam(team), [&]() { partial(q, b) = sum; });
      });
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

void adjoint_combine(const ConstFieldBatch& adjoint, const ConstFieldBatch& phi_bar, bool first, double alpha,
                     double beta, const FieldBatch& adjoint_next, const FieldBatch& v) {
  Kokkos::parallel_for(
      "phi4flow::EquivariantFlow::adjoint_combine", Range2({0, 0}, {rows(adjoint), cols(adjoint)}),
      KOKKOS_LAMBDA(const int b, const int x) {
        adjoint_next(b, x) = (first ? adjoint(b, x) : adjoint_next(b, x)) + phi_bar(b, x);
        v(b, x) = alpha * adjoint(b, x) + beta * phi_bar(b, x);
      });
}

void gather_theta_gradient(const FieldBatch& correlations, const IntView& row_start, const IntView& row_sites,
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

}  // namespace phi4flow::flow::detail
