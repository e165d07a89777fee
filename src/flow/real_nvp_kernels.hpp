// Internal: the Kokkos kernels of RealNvp, as free functions (CUDA forbids device lambdas inside private member
// functions). Activations are (batch, channel, site) with site = x1 * L + x2; a convolution reads its input at
// x + d for the displacements d = (ky - K/2, kx - K/2), periodically (PyTorch's cross-correlation with
// circular padding), and weight w[o][i][ky][kx] sits at weight_offset + ((o * in + i) * K + ky) * K + kx.
#pragma once

#include "phi4flow/flow/real_nvp.hpp"

namespace phi4flow::flow::detail {

using Activations = Kokkos::View<real_t***, Kokkos::LayoutRight, MemSpace>;
using ConstActivations = Kokkos::View<const real_t***, Kokkos::LayoutRight, MemSpace>;
using RealView = Kokkos::View<real_t*, MemSpace>;
using ConstRealView = Kokkos::View<const real_t*, MemSpace>;

/// \brief First convolution of a coupling network: its one input channel is x on the sites of parity
/// `frozen_parity` ((x1 + x2) % 2) and zero elsewhere.
void conv_from_field(const ConstFieldBatch& x, int frozen_parity, const ConstRealView& params, const ConvShape& shape,
                     int L, const Activations& out);
/// \brief Later convolutions: input channel i is LeakyReLU(pre(b, i, .)) with the given negative slope.
void conv_from_hidden(const ConstActivations& pre, double slope, const ConstRealView& params, const ConvShape& shape,
                      int L, const Activations& out);

/// \brief Affine coupling of every field: active sites (parity != frozen_parity) become x e^s + t (forward) or
/// (x - t) e^-s (inverse), with s = tanh(st(b, 0, .)), t = st(b, 1, .); log_det(b) += sum of s over them.
/// y may alias x.
void couple(const ConstFieldBatch& x, const ConstActivations& st, int frozen_parity, int L, bool inverse,
            const FieldBatch& y, const BatchScalars& log_det);
/// \brief Cotangents of the forward coupling for the loss sum_b [... - log_det(b)]: on entry adjoint holds
/// dLoss/dy, on exit dLoss/dx through the direct path (the network's share is added by field_input_gradient);
/// st_bar receives dLoss/d(raw s, t).
void couple_vjp(const ConstFieldBatch& x, const ConstActivations& st, int frozen_parity, int L,
                const FieldBatch& adjoint, const Activations& st_bar);

/// \brief grad(weights and biases of shape) += dLoss/d(them), given out_bar = dLoss/d(output), for the first
/// convolution (input: the frozen half of x) ...
void weight_gradient_from_field(const ConstFieldBatch& x, int frozen_parity, const ConstActivations& out_bar,
                                const ConvShape& shape, int L, const RealView& grad);
/// \brief ... and for later ones (input: LeakyReLU(pre)).
void weight_gradient_from_hidden(const ConstActivations& pre, double slope, const ConstActivations& out_bar,
                                 const ConvShape& shape, int L, const RealView& grad);

/// \brief pre_bar = LeakyReLU'(pre) * (W^T out_bar): the cotangent of the previous pre-activations.
void hidden_input_gradient(const ConstActivations& out_bar, const ConstRealView& params, const ConvShape& shape,
                           int L, const ConstActivations& pre, double slope, const Activations& pre_bar);
/// \brief x_bar += W^T out_bar on the frozen sites (the first convolution sees x only there).
void field_input_gradient(const ConstActivations& out_bar, const ConstRealView& params, const ConvShape& shape,
                          int L, int frozen_parity, const FieldBatch& x_bar);

}  // namespace phi4flow::flow::detail
