// RealNvp: parameter layout and initialisation, scratch memory, the coupling stack forwards and backwards, and
// the reverse-KL gradient by backpropagation. The kernels it launches live in real_nvp_kernels.cpp.
#include "phi4flow/flow/real_nvp.hpp"

#include <cmath>
#include <string>
#include <utility>

#include "batch_kernels.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/rng/philox.hpp"
#include "real_nvp_kernels.hpp"

namespace phi4flow::flow {

namespace {

void check_input(bool ok, const std::string& key, const std::string& what) {
  if (!ok) throw InputError("flow." + key + ": " + what);
}

detail::Activations activations(const std::string& name, int batch, int channels, int sites) {
  return detail::Activations(uninitialized("phi4flow::RealNvp::" + name), batch,
                             channels, sites);
}

}  // namespace

/// Scratch for one batch size: the activations of one network's hidden convolutions, its (s, t) output, and
/// the cotangents in the backward pass.
struct RealNvp::Workspace {
  Workspace(int batch_size, const RealNvpConfig& config, int sites)
      : batch(batch_size),
        st(activations("st", batch_size, 2, sites)),
        st_bar(activations("st_bar", batch_size, 2, sites)),
        adjoint(uninitialized("phi4flow::RealNvp::adjoint"), batch_size, sites),
        state(uninitialized("phi4flow::RealNvp::state"), batch_size, sites),
        log_det("phi4flow::RealNvp::log_det", batch_size),
        ell("phi4flow::RealNvp::ell", batch_size),
        action("phi4flow::RealNvp::action", batch_size) {
    for (int c = 0; c < config.hidden_layers; ++c)
      hidden.push_back(activations("hidden", batch_size, config.hidden_channels, sites));
    for (int c = 0; c < 2 && config.hidden_layers > 0; ++c)
      hidden_bar.push_back(activations("hidden_bar", batch_size, config.hidden_channels, sites));
  }

  int batch;
  std::vector<detail::Activations> hidden;      // activations (after LeakyReLU) of hidden convolution c
  std::vector<detail::Activations> hidden_bar;  // ping-pong cotangents of the hidden pre-activations
  detail::Activations st, st_bar;               // network output (raw s, t) and its cotangent
  FieldBatch adjoint;                           // cotangent of the field between coupling layers
  FieldBatch state;                             // log_density: the latent field it inverts to
  BatchScalars log_det, ell, action;
};

RealNvp::RealNvp(const Lattice& lattice, const RealNvpConfig& config, std::uint32_t seed)
    : lattice_(lattice), config_(config), sites_(lattice.volume()) {
  check_input(config.coupling_layers >= 1, "coupling_layers",
              "must be at least 1, got " + std::to_string(config.coupling_layers));
  check_input(config.hidden_layers >= 0, "hidden_layers",
              "must be 0 or more, got " + std::to_string(config.hidden_layers));
  check_input(config.hidden_channels >= 1, "hidden_channels",
              "must be at least 1, got " + std::to_string(config.hidden_channels));
  check_input(config.kernel_size >= 1 && config.kernel_size % 2 == 1, "kernel_size",
              "must be odd and positive (the kernel is centred on its site), got " +
                  std::to_string(config.kernel_size));
  check_input(std::isfinite(config.leaky_slope) && config.leaky_slope >= 0.0, "leaky_slope",
              "must be a finite number >= 0");

  shift_ = detail::neighbour_table(lattice.extent(), config.kernel_size);
  const int K = config.kernel_size, convs_per_layer = config.hidden_layers + 1;
  int offset = 0;
  for (int l = 0; l < config.coupling_layers; ++l) {
    for (int c = 0; c < convs_per_layer; ++c) {
      ConvShape shape{c == 0 ? 1 : config.hidden_channels, c == config.hidden_layers ? 2 : config.hidden_channels, K,
                      0, 0};
      shape.weight_offset = offset;
      shape.bias_offset = offset + shape.out_channels * shape.in_channels * K * K;
      offset += shape.parameter_count();
      convs_.push_back(shape);
    }
  }

  params_ = ParameterView("phi4flow::RealNvp::parameters", offset);
  auto host = Kokkos::create_mirror_view(params_);
  const rng::Philox gen(seed, rng::Purpose::flow_init);
  for (const ConvShape& shape : convs_) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(shape.in_channels * K * K));
    for (int p = shape.weight_offset; p < shape.weight_offset + shape.parameter_count(); ++p)
      host(p) = bound * (2.0 * gen.uniform(0, 0, static_cast<std::uint32_t>(p)) - 1.0);
  }
  Kokkos::deep_copy(params_, host);
}

RealNvp::~RealNvp() = default;

std::vector<std::pair<std::string, double>> RealNvp::hyperparameters() const {
  return {{"L", lattice_.extent()},
          {"coupling_layers", config_.coupling_layers},
          {"hidden_layers", config_.hidden_layers},
          {"hidden_channels", config_.hidden_channels},
          {"kernel_size", config_.kernel_size},
          {"leaky_slope", config_.leaky_slope},
          {"parameters", static_cast<double>(params_.extent(0))}};
}

RealNvp::Workspace& RealNvp::workspace(int batch) {
  PHI4FLOW_CHECK(batch > 0, "a batch needs at least one field");
  if (!ws_ || ws_->batch != batch) {
    ws_.reset();  // free the old scratch before allocating the new
    ws_ = std::make_unique<Workspace>(batch, config_, sites_);
  }
  return *ws_;
}

void RealNvp::network(Workspace& ws, int layer, const ConstFieldBatch& x) {
  const int L = lattice_.extent(), H = config_.hidden_layers;
  for (int c = 0; c <= H; ++c) {
    const bool hidden = c < H;
    const detail::Activations& out = hidden ? ws.hidden[c] : ws.st;
    if (c == 0) {
      detail::conv_from_field(x, frozen_parity(layer), params_, conv(layer, c), shift_, L, hidden, config_.leaky_slope,
                              out);
    } else {
      detail::conv_from_hidden(ws.hidden[c - 1], params_, conv(layer, c), shift_, hidden, config_.leaky_slope, out);
    }
  }
}

void RealNvp::network_vjp(Workspace& ws, int layer, const ConstFieldBatch& x, const ParameterView& grad,
                          const FieldBatch& x_bar) {
  const int L = lattice_.extent(), H = config_.hidden_layers;
  const double slope = config_.leaky_slope;
  for (int c = H; c >= 0; --c) {
    const detail::Activations& out_bar = c == H ? ws.st_bar : ws.hidden_bar[c % 2];
    if (c == 0) {
      detail::weight_gradient_from_field(x, frozen_parity(layer), out_bar, conv(layer, c), shift_, L, grad);
      detail::field_input_gradient(out_bar, params_, conv(layer, c), shift_, L, frozen_parity(layer), x_bar);
    } else {
      detail::weight_gradient_from_hidden(ws.hidden[c - 1], out_bar, conv(layer, c), shift_, grad);
      detail::hidden_input_gradient(out_bar, params_, conv(layer, c), shift_, ws.hidden[c - 1], slope,
                                    ws.hidden_bar[(c - 1) % 2]);
    }
  }
}

void RealNvp::sample(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q) {
  detail::require_same_batch("RealNvp::sample", sites_, z, phi, log_q);
  Workspace& ws = workspace(static_cast<int>(z.extent(0)));
  Kokkos::deep_copy(phi, z);
  Kokkos::deep_copy(ws.log_det, 0.0);
  for (int l = 0; l < config_.coupling_layers; ++l) {
    network(ws, l, phi);
    detail::couple(phi, ws.st, frozen_parity(l), lattice_.extent(), false, phi, ws.log_det);
  }
  detail::log_prior(z, log_q);
  detail::subtract(ws.log_det, log_q);
}

void RealNvp::log_density(const ConstFieldBatch& phi, const BatchScalars& log_q) {
  invert(phi, workspace(static_cast<int>(phi.extent(0))).state, log_q);
}

void RealNvp::invert(const ConstFieldBatch& phi, const FieldBatch& z, const BatchScalars& log_q) {
  detail::require_same_batch("RealNvp::invert", sites_, phi, z, log_q);
  Workspace& ws = workspace(static_cast<int>(phi.extent(0)));
  Kokkos::deep_copy(z, phi);
  Kokkos::deep_copy(ws.log_det, 0.0);
  // A layer leaves its frozen half unchanged, so its network sees the same input on the way back.
  for (int l = config_.coupling_layers - 1; l >= 0; --l) {
    network(ws, l, z);
    detail::couple(z, ws.st, frozen_parity(l), lattice_.extent(), true, z, ws.log_det);
  }
  detail::log_prior(z, log_q);
  detail::subtract(ws.log_det, log_q);
}

double RealNvp::do_loss_and_gradient(const ConstFieldBatch& z, const Phi4Action& action, const ParameterView& grad,
                                     GradientEstimator estimator) {
  PHI4FLOW_CHECK(estimator == GradientEstimator::total, "RealNvp: only the total gradient is implemented");
  const int batch = static_cast<int>(z.extent(0)), layers = config_.coupling_layers, L = lattice_.extent();
  PHI4FLOW_CHECK(static_cast<int>(z.extent(1)) == sites_ && action.lattice().extent() == L,
                 "RealNvp::loss_and_gradient: z and the action must live on the model's lattice");
  PHI4FLOW_CHECK(grad.extent(0) == params_.extent(0), "RealNvp::loss_and_gradient: grad has " +
                                                          std::to_string(grad.extent(0)) + " entries, the model " +
                                                          std::to_string(params_.extent(0)));
  Workspace& ws = workspace(batch);
  if (layer_outputs_.extent(0) != static_cast<std::size_t>(layers) ||
      layer_outputs_.extent(1) != static_cast<std::size_t>(batch)) {
    layer_outputs_ = decltype(layer_outputs_)();
    layer_outputs_ = decltype(layer_outputs_)(
        uninitialized("phi4flow::RealNvp::layer_outputs"), layers, batch, sites_);
  }
  // The output of layer l is layer_outputs_(l), the input of layer l + 1; layer 0 reads z.
  auto output_of = [&](int l) -> FieldBatch { return Kokkos::subview(layer_outputs_, l, Kokkos::ALL, Kokkos::ALL); };
  auto input_of = [&](int l) -> ConstFieldBatch { return l == 0 ? z : ConstFieldBatch(output_of(l - 1)); };

  Kokkos::deep_copy(ws.log_det, 0.0);
  for (int l = 0; l < layers; ++l) {
    network(ws, l, input_of(l));
    detail::couple(input_of(l), ws.st, frozen_parity(l), L, false, output_of(l), ws.log_det);
  }
  const ConstFieldBatch phi = output_of(layers - 1);
  detail::log_prior(z, ws.ell);
  detail::subtract(ws.log_det, ws.ell);
  action.action(phi, ws.action);
  const double loss = detail::sum_of_sums(ws.ell, ws.action);

  // Backpropagation: the cotangent of phi is dS/dphi; each layer's network is recomputed from its stored input.
  action.force(phi, ws.adjoint);
  Kokkos::deep_copy(grad, 0.0);
  for (int l = layers - 1; l >= 0; --l) {
    network(ws, l, input_of(l));
    detail::couple_vjp(input_of(l), ws.st, frozen_parity(l), L, ws.adjoint, ws.st_bar);
    network_vjp(ws, l, input_of(l), grad, ws.adjoint);
  }
  return loss;
}

}  // namespace phi4flow::flow
