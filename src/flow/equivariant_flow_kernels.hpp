// Internal: the Kokkos kernels of EquivariantFlow, as free functions (CUDA forbids device lambdas inside
// private member functions). Index conventions: feature rows of a batch are b * nf + j; kernel rows are
// a * nf + j; theta[row][a][j] sits at (row * A + a) * nf + j, so row 0 (displacement r = 0) at a * nf + j.
#pragma once

#include "batch_kernels.hpp"
#include "phi4flow/flow/equivariant_flow.hpp"

namespace phi4flow::flow::detail {

/// The feature set of a flow: sin(omega_f phi) for f < F, with sign breaking also cos(omega_f phi) and 1.
struct FeatureSet {
  int frequencies;  // F
  int features;     // nf: F, or 2F + 1 with sign breaking
  bool sign_breaking;
  int omega_offset;  // position of omega[0] in the parameter buffer
  bool single_precision_sincos;
};

/// sin and cos of x, evaluated in float when `single` (EquivariantFlowConfig::single_precision_sincos).
KOKKOS_INLINE_FUNCTION void sin_cos(double x, bool single, double& s, double& c) {
  if (single) {
    const float xf = static_cast<float>(x);
    s = kmath::sin(xf);
    c = kmath::cos(xf);
  } else {
    s = kmath::sin(x);
    c = kmath::cos(x);
  }
}

using IntView = Kokkos::View<int*, MemSpace>;
using RealView = Kokkos::View<real_t*, MemSpace>;
using ConstRealView = Kokkos::View<const real_t*, MemSpace>;
using ReductionRows = Kokkos::View<real_t**, Kokkos::LayoutRight, MemSpace>;

/// \brief Number of entries in which a and b differ.
int count_differences(const ConstRealView& a, const ConstRealView& b);
/// \brief kernel_fields(a * nf + j, r) = theta[row_of(r)][a][j].
void scatter_theta(const ConstRealView& params, const IntView& row_of, int time_basis, int features,
                   const FieldBatch& kernel_fields);
/// \brief spectra = conj(spectra) * scale: turns W^ into the factor the forward convolution multiplies with.
void conjugate_scale(const SpectrumBatch& spectra, double scale);
/// \brief stage_kernel(j, k) = sum_a K_a(t) kernel_spectra(a * nf + j, k); stage_w0(j) = W_j(t, 0).
void stage_kernel(const SpectrumBatch& kernel_spectra, const ConstRealView& params, const TimeWeights& tw, int features,
                  const SpectrumBatch& stage_kernel, const RealView& stage_w0);

/// \brief features(b * nf + j, x) = h_j(y(b, x)) and div(b) = sum_x sum_j w0_j h_j'(y(b, x)).
void compute_features(const ConstFieldBatch& y, const ConstRealView& params, const ConstRealView& w0,
                      const FeatureSet& fs, const FieldBatch& features, const BatchScalars& div);
/// \brief out(b, k) = sum_j stage_kernel(j, k) spectra(b * nf + j, k): the spectrum of g.
void combine_spectra(const SpectrumBatch& spectra, const SpectrumBatch& stage_kernel, int features,
                     const SpectrumBatch& out);

/// \brief One RK4 stage: acc = (first ? 0 : acc) + weight k, ell_acc likewise with div, stage = y + coeff k.
void rk4_stage(const ConstFieldBatch& y, const ConstFieldBatch& k, const BatchScalars& div, bool first, double weight,
               double coeff, const FieldBatch& acc, const BatchScalars& ell_acc, const FieldBatch& stage);
/// \brief Last RK4 stage: y_out = y + h/6 (acc + k), ell -= h/6 (ell_acc + div). y_out may alias y.
void rk4_finish(const ConstFieldBatch& y, const ConstFieldBatch& k, const BatchScalars& div, const FieldBatch& acc,
                const BatchScalars& ell_acc, double h, const FieldBatch& y_out, const BatchScalars& ell);
/// \brief out = y + coeff k.
void shift(const ConstFieldBatch& y, const ConstFieldBatch& k, double coeff, const FieldBatch& out);
/// \brief out = coeff y.
void scale(const ConstFieldBatch& y, double coeff, const FieldBatch& out);

/// \brief Adjoint in Fourier space. With V the spectra of the cotangents v_b and S those of the features:
/// theta_spectra(a * nf + j, k) += K_a(t) sum_b conj(V_b(k)) S_{b,j}(k) (the batch-summed correlations
/// C_j(r) = sum_x v(x) h_j(x + r)), then S_{b,j}(k) is overwritten with the spectrum of W_j * v_b. Without
/// `correlate`, only the latter (the VJP for phi alone).
void correlate_and_convolve(const SpectrumBatch& field_spectra, const SpectrumBatch& stage_kernel,
                            const TimeWeights& tw, int features, bool correlate, const SpectrumBatch& spectra,
                            const SpectrumBatch& theta_spectra);
/// \brief Pointwise part of the VJP at every site: phi_bar from u_j = (W_j * v) (held in conv) and the
/// divergence cotangent c; then conv(b * nf + f, x) becomes the site's term of d/domega_f and
/// site_terms(b * nf + j, x) its term of d/dW_j(t, 0).
void vjp_pointwise(const ConstFieldBatch& y, const ConstRealView& params, const ConstRealView& w0, double c,
                   const FeatureSet& fs, const FieldBatch& conv, const FieldBatch& site_terms,
                   const FieldBatch& phi_bar);
/// \brief Sums the site terms over sites and batch and adds them to the omega and theta[0][a][j] entries of grad.
void accumulate_site_terms(const FieldBatch& conv, const FieldBatch& site_terms, const FeatureSet& fs,
                           const TimeWeights& tw, const ReductionRows& partial, const RealView& grad);
/// \brief adjoint_next = (first ? adjoint : adjoint_next) + phi_bar; v = alpha adjoint + beta phi_bar.
void adjoint_combine(const ConstFieldBatch& adjoint, const ConstFieldBatch& phi_bar, bool first, double alpha,
                     double beta, const FieldBatch& adjoint_next, const FieldBatch& v);
/// \brief grad[(p * A + a) * nf + j] += scale * sum_{r in row p} correlations(a * nf + j, r).
void gather_theta_gradient(const FieldBatch& correlations, const IntView& row_start, const IntView& row_sites,
                           int time_basis, int features, double scale, const RealView& grad);

}  // namespace phi4flow::flow::detail
