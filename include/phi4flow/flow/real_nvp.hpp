// The RealNVP baseline of the paper (paper Eqs. 2-5; docs/comparison.md): a stack of affine coupling layers
// with checkerboard masks of alternating parity,
//   phi_active = z_active * exp(s(z_frozen)) + t(z_frozen),   phi_frozen = z_frozen,
// where (s, t) come from a small periodic CNN on the frozen half (hidden 3x3 convolutions with LeakyReLU, then
// a convolution to 2 channels, tanh on s). log|det J| = sum over layers and active sites of s, exact; so is the
// inverse. Forward and backward passes of the convolutions are hand-written Kokkos kernels.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "phi4flow/flow/model.hpp"
#include "phi4flow/lattice/lattice.hpp"

namespace phi4flow::flow {

struct RealNvpConfig {
  int coupling_layers = 16;  ///< affine coupling layers; layer l keeps the sites of parity l % 2 frozen
  int hidden_layers = 2;     ///< hidden convolutions of each coupling network
  int hidden_channels = 8;   ///< channels of each hidden convolution
  int kernel_size = 3;       ///< odd side of every convolution kernel (periodic padding)
  double leaky_slope = 0.01;  ///< LeakyReLU slope for negative inputs (PyTorch's default)
};

/// Geometry of one convolution inside the parameter buffer: weights w[out][in][ky][kx] from weight_offset,
/// then bias[out] from bias_offset.
struct ConvShape {
  int in_channels;
  int out_channels;
  int kernel_size;
  int weight_offset;
  int bias_offset;
  int parameter_count() const { return out_channels * (in_channels * kernel_size * kernel_size + 1); }
};

/// Parameters, in one flat buffer: for each coupling layer, for each convolution (input 1 channel, hidden
/// layers of hidden_channels, output 2 channels: s then t), its weights then its biases. They start as
/// PyTorch's default for Conv2d, uniform in +-1/sqrt(fan_in), drawn with rng::Purpose::flow_init.
///
/// Scratch memory is allocated once per batch size. loss_and_gradient() keeps the input of every coupling
/// layer (coupling_layers x batch x sites numbers) and recomputes each network's activations in the backward
/// pass, so memory stays at a few fields per channel whatever the depth.
class RealNvp final : public Model {
 public:
  /// \brief RealNVP on `lattice`; throws InputError naming the flow.* key of an invalid setting.
  RealNvp(const Lattice& lattice, const RealNvpConfig& config, std::uint32_t seed);
  ~RealNvp() override;
  RealNvp(const RealNvp&) = delete;
  RealNvp& operator=(const RealNvp&) = delete;

  std::string kind() const override { return "realnvp"; }
  ParameterView parameters() override { return params_; }
  void sample(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q) override;
  void log_density(const ConstFieldBatch& phi, const BatchScalars& log_q) override;
  /// \brief The exact inverse of sample(): the latent z_b that phi_b comes from, and log q(phi_b).
  void invert(const ConstFieldBatch& phi, const FieldBatch& z, const BatchScalars& log_q);
  std::vector<std::pair<std::string, double>> hyperparameters() const override;

  const RealNvpConfig& config() const { return config_; }
  /// \brief Convolution c (0 .. hidden_layers) of coupling layer l.
  const ConvShape& conv(int layer, int c) const { return convs_[layer * (config_.hidden_layers + 1) + c]; }

 private:
  /// The total gradient only (GradientEstimator::path would need grad_phi log q through the couplings).
  double do_loss_and_gradient(const ConstFieldBatch& z, const Phi4Action& action, const ParameterView& grad,
                              GradientEstimator estimator) override;
  struct Workspace;

  Workspace& workspace(int batch);
  /// Runs layer l's network on the frozen half of x: leaves the pre-activations and the (s, t) output in ws.
  void network(Workspace& ws, int layer, const ConstFieldBatch& x);
  /// Adds the network's parameter gradient to grad and its input gradient to x_bar (frozen sites), given the
  /// output cotangent in ws.
  void network_vjp(Workspace& ws, int layer, const ConstFieldBatch& x, const ParameterView& grad,
                   const FieldBatch& x_bar);
  static int frozen_parity(int layer) { return layer % 2; }

  Lattice lattice_;
  RealNvpConfig config_;
  int sites_ = 0;
  std::vector<ConvShape> convs_;
  Kokkos::View<int**, Kokkos::LayoutRight, MemSpace> shift_;  // periodic neighbours x + d of every kernel offset d
  ParameterView params_;
  std::unique_ptr<Workspace> ws_;
  Kokkos::View<real_t***, Kokkos::LayoutRight, MemSpace> layer_outputs_;  // every layer's output, for the backward pass
};

}  // namespace phi4flow::flow
