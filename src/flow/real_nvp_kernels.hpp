// Internal: the Kokkos kernels of RealNvp, as free functions (CUDA forbids device lambdas inside private member
// functions). Activations are (batch, channel, site) with site = x1 * L + x2; a convolution reads its input at
// x + d for the displacements d = (ky - K/2, kx - K/2), periodically (PyTorch's cross-correlation with
// circular padding), and weight w[o][i][ky][kx] sits at weight_offset + ((o * in + i) * K + ky) * K + kx.
// Kernels take the periodic neighbour table shift(x, ky * K + kx) = site of x + d, so that no kernel does
// index arithmetic modulo L in its inner loops; x - d is shift(x, K^2 - 1 - (ky * K + kx)).
#pragma once

#include "phi4flow/flow/real_nvp.hpp"

namespace phi4flow::flow::detail {

using Activations = Kokkos::View<real_t***, Kokkos::LayoutRight, MemSpace>;
using ConstActivations = Kokkos::View<const real_t***, Kokkos::LayoutRight, MemSpace>;
using RealView = Kokkos::View<real_t*, MemSpace>;
using ConstRealView = Kokkos::View<const real_t*, MemSpace>;
using NeighbourTable = Kokkos::View<const int**, Kokkos::LayoutRight, MemSpace>;

/// \brief The table shift(x, ky * K + kx) for a K x K kernel on the periodic L x L lattice.
Kokkos::View<int**, Kokkos::LayoutRight, MemSpace> neighbour_table(int L, int kernel_size);

/// \brief First convolution of a coupling network: its one input channel is x on the sites of parity
/// `frozen_parity` ((x1 + x2) % 2) and zero elsewhere. Stores LeakyReLU(output) with the given negative slope if
/// `leaky` (a hidden layer; its activations are all later kernels need), else the output.
void conv_from_field(const ConstFieldBatch& x, int frozen_parity, const ConstRealView& params, const ConvShape& shape,
                     const NeighbourTable& shift, int L, bool leaky, double slope, const Activations& out);
/// \brief Later convolutions: the input is the previous hidden layer's activations.
void conv_from_hidden(const ConstActivations& act, const ConstRealView& params, const ConvShape& shape,
                      const NeighbourTable& shift, bool leaky, double slope, const Activations& out);

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
                                const ConvShape& shape, const NeighbourTable& shift, int L, const RealView& grad);
/// \brief ... and for later ones (input: the previous hidden layer's activations).
void weight_gradient_from_hidden(const ConstActivations& act, const ConstActivations& out_bar, const ConvShape& shape,
                                 const NeighbourTable& shift, const RealView& grad);

/// \brief pre_bar = LeakyReLU'(pre) * (W^T out_bar): the cotangent of the previous layer's pre-activations,
/// with LeakyReLU' read off its activations act (slope >= 0: act > 0 exactly where pre > 0).
void hidden_input_gradient(const ConstActivations& out_bar, const ConstRealView& params, const ConvShape& shape,
                           const NeighbourTable& shift, const ConstActivations& act, double slope,
                           const Activations& pre_bar);
/// \brief x_bar += W^T out_bar on the frozen sites (the first convolution sees x only there).
void field_input_gradient(const ConstActivations& out_bar, const ConstRealView& params, const ConvShape& shape,
                          const NeighbourTable& shift, int L, int frozen_parity, const FieldBatch& x_bar);

}  // namespace phi4flow::flow::detail
