// Internal: the Kokkos kernels of EquivariantFlow, as free functions (CUDA forbids device lambdas inside
// private member functions), for fields, features and spectra in double or float (Real; flow.precision). Sums
// that become log q or the gradient (divergences, site-term reductions) are accumulated in double. Index
// conventions: feature rows of a batch are b * nf + j; kernel rows are a * nf + j; theta[row][a][j] sits at
// (row * A + a) * nf + j, so row 0 (displacement r = 0) at a * nf + j.
#pragma once

#include "batch_kernels.hpp"
#include "phi4flow/flow/equivariant_flow.hpp"
#if !defined(KOKKOS_ENABLE_CUDA)
#include "vector_math.hpp"
#endif

namespace phi4flow::flow::detail {

/// The feature set of a flow, in this order: sin(omega_f phi) for f < F; with the linear term phi itself; with sign
/// breaking cos(omega_f phi) and 1.
struct FeatureSet {
  int frequencies;  // F
  int features;     // nf = F + linear + (sign breaking ? F + 1 : 0)
  bool sign_breaking;
  int omega_offset;  // position of omega[0] in the parameter buffer
  int linear;        // 1 with the linear term (feature j = F), else 0
};

/// Sites (or modes) per work item of the pointwise and k-space kernels: one per GPU thread; on CPUs a contiguous run
/// that the compiler vectorises and whose sin and cos one call of SLEEF's vector functions computes.
#if defined(KOKKOS_ENABLE_CUDA)
constexpr int kSiteLanes = 1;
#else
constexpr int kSiteLanes = 64;
#endif

/// \brief s[i] = sin(x[i]), c[i] = cos(x[i]) for i < m <= kSiteLanes.
template <class Real>
KOKKOS_INLINE_FUNCTION void sincos_lanes(const Real* x, Real* s, Real* c, int m) {
#if defined(KOKKOS_ENABLE_CUDA)
  for (int i = 0; i < m; ++i) {
    s[i] = kmath::sin(x[i]);
    c[i] = kmath::cos(x[i]);
  }
#else
  sincos_array(x, s, c, m);
#endif
}

/// \brief sum_i v[i] over i < m, in double, with eight partial sums in Real so that CPUs add eight lanes at once.
template <class Real>
KOKKOS_INLINE_FUNCTION double lane_sum(const Real* v, int m) {
  Real partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= m; i += 8)
    for (int l = 0; l < 8; ++l) partial[l] += v[i + l];
  double total = 0.0;
  for (int l = 0; l < 8; ++l) total += partial[l];
  for (; i < m; ++i) total += v[i];
  return total;
}

template <class Real>
using Fields = FieldBatchOf<Real>;
template <class Real>
using ConstFields = FieldBatchOf<const Real>;
template <class Real>
using Spectra = SpectrumBatchOf<Real>;
using IntView = Kokkos::View<int*, MemSpace>;
using RealView = Kokkos::View<real_t*, MemSpace>;
using ConstRealView = Kokkos::View<const real_t*, MemSpace>;
using ReductionRows = Kokkos::View<real_t**, Kokkos::LayoutRight, MemSpace>;

/// \brief Number of entries in which a and b differ.
int count_differences(const ConstRealView& a, const ConstRealView& b);
/// \brief out = in, converted to out's precision (a plain copy when both are the same).
template <class From, class To>
void convert(const FieldBatchOf<const From>& in, const FieldBatchOf<To>& out);
/// \brief kernel_fields(a * nf + j, r) = theta[row_of(r)][a][j].
template <class Real>
void scatter_theta(const ConstRealView& params, const IntView& row_of, int time_basis, int features,
                   const Fields<Real>& kernel_fields);
/// \brief spectra = conj(spectra) * scale: turns W^ into the factor the forward convolution multiplies with.
template <class Real>
void conjugate_scale(const Spectra<Real>& spectra, double scale);
/// \brief stage_kernel(j, k) = sum_a K_a(t) kernel_spectra(a * nf + j, k); stage_w0(j) = W_j(t, 0).
template <class Real>
void stage_kernel(const Spectra<Real>& kernel_spectra, const ConstRealView& params, const TimeWeights& tw, int features,
                  const Spectra<Real>& stage_kernel, const RealView& stage_w0);

/// \brief features(b * nf + j, x) = h_j(y(b, x)) and div(b) = sum_x sum_j w0_j h_j'(y(b, x)).
template <class Real>
void compute_features(const ConstFields<Real>& y, const ConstRealView& params, const ConstRealView& w0,
                      const FeatureSet& fs, const Fields<Real>& features, const BatchScalars& div);
/// \brief out(b, k) = sum_j stage_kernel(j, k) spectra(b * nf + j, k): the spectrum of g.
template <class Real>
void combine_spectra(const Spectra<Real>& spectra, const Spectra<Real>& stage_kernel, int features,
                     const Spectra<Real>& out);

/// \brief One RK4 stage: acc = (first ? 0 : acc) + weight k, ell_acc likewise with div, stage = y + coeff k.
template <class Real>
void rk4_stage(const ConstFields<Real>& y, const ConstFields<Real>& k, const BatchScalars& div, bool first,
               double weight, double coeff, const Fields<Real>& acc, const BatchScalars& ell_acc,
               const Fields<Real>& stage);
/// \brief Last RK4 stage: y_out = y + h/6 (acc + k), ell -= h/6 (ell_acc + div). y_out may alias y.
template <class Real>
void rk4_finish(const ConstFields<Real>& y, const ConstFields<Real>& k, const BatchScalars& div,
                const Fields<Real>& acc, const BatchScalars& ell_acc, double h, const Fields<Real>& y_out,
                const BatchScalars& ell);
/// \brief out = y + coeff k.
template <class Real>
void shift(const ConstFields<Real>& y, const ConstFields<Real>& k, double coeff, const Fields<Real>& out);
/// \brief out = coeff y.
template <class Real>
void scale(const ConstFields<Real>& y, double coeff, const Fields<Real>& out);

/// \brief Adjoint in Fourier space. With V the spectra of the cotangents v_b and S those of the features:
/// theta_spectra(a * nf + j, k) += K_a(t) sum_b conj(V_b(k)) S_{b,j}(k) (the batch-summed correlations
/// C_j(r) = sum_x v(x) h_j(x + r)), then S_{b,j}(k) is overwritten with the spectrum of W_j * v_b. Without
/// `correlate`, only the latter (the VJP for phi alone).
template <class Real>
void correlate_and_convolve(const Spectra<Real>& field_spectra, const Spectra<Real>& stage_kernel,
                            const TimeWeights& tw, int features, bool correlate, const Spectra<Real>& spectra,
                            const Spectra<Real>& theta_spectra);
/// \brief Pointwise part of the VJP at every site: phi_bar from u_j = (W_j * v) (held in conv) and the
/// divergence cotangent c; then conv(b * nf + f, x) becomes the site's term of d/domega_f and
/// site_terms(b * nf + j, x) its term of d/dW_j(t, 0).
template <class Real>
void vjp_pointwise(const ConstFields<Real>& y, const ConstRealView& params, const ConstRealView& w0, double c,
                   const FeatureSet& fs, const Fields<Real>& conv, const Fields<Real>& site_terms,
                   const Fields<Real>& phi_bar);
/// \brief Sums the site terms over sites and batch and adds them to the omega and theta[0][a][j] entries of grad.
template <class Real>
void accumulate_site_terms(const Fields<Real>& conv, const Fields<Real>& site_terms, const FeatureSet& fs,
                           const TimeWeights& tw, const ReductionRows& partial, const RealView& grad);
/// \brief adjoint_next = (first ? adjoint : adjoint_next) + phi_bar; v = alpha adjoint + beta phi_bar.
template <class Real>
void adjoint_combine(const ConstFields<Real>& adjoint, const ConstFields<Real>& phi_bar, bool first, double alpha,
                     double beta, const Fields<Real>& adjoint_next, const Fields<Real>& v);
/// \brief grad[(p * A + a) * nf + j] += scale * sum_{r in row p} correlations(a * nf + j, r).
template <class Real>
void gather_theta_gradient(const Fields<Real>& correlations, const IntView& row_start, const IntView& row_sites,
                           int time_basis, int features, double scale, const RealView& grad);

}  // namespace phi4flow::flow::detail
