// The Kokkos kernels of RealNvp: periodic convolutions forward and backward, the affine coupling and its
// cotangents. Every kernel runs one thread per (field, site) or per parameter; convolutions keep one
// accumulator per output channel in registers.
#include "real_nvp_kernels.hpp"

#include "phi4flow/row_sums.hpp"

namespace phi4flow::flow::detail {

// Not an unnamed namespace: nvcc refuses device lambdas in functions with internal linkage.
namespace real_nvp_impl {

using Team = Kokkos::TeamPolicy<ExecSpace>::member_type;

KOKKOS_INLINE_FUNCTION int wrap(int v, int L) {
  v %= L;
  return v < 0 ? v + L : v;
}

KOKKOS_INLINE_FUNCTION bool is_frozen(int s, int L, int frozen_parity) {
  return (s / L + s % L) % 2 == frozen_parity;
}

/// Input of the first convolution: the frozen half of the field.
struct FrozenField {
  ConstFieldBatch x;
  int frozen_parity;
  int L;
  KOKKOS_INLINE_FUNCTION double operator()(int b, int /*channel*/, int s) const {
    return is_frozen(s, L, frozen_parity) ? x(b, s) : 0.0;
  }
};

/// Input of later convolutions: the previous hidden layer's activations.
struct Hidden {
  ConstActivations act;
  KOKKOS_INLINE_FUNCTION double operator()(int b, int i, int s) const { return act(b, i, s); }
};

/// What a convolution stores: its output, or LeakyReLU of it (hidden layers).
struct Activation {
  bool leaky;
  double slope;
  KOKKOS_INLINE_FUNCTION double operator()(double a) const {
    // min(a, 0) compiles to one instruction; a branch on the sign would be mispredicted half the time.
    const double negative_part = a < 0.0 ? a : 0.0;
    return leaky ? a - (1.0 - slope) * negative_part : a;
  }
};

template <class Input>
void conv_forward(const char* label, const Input& input, int batch, const ConstRealView& params,
                  const ConvShape& shape, const NeighbourTable& shift, const Activation& activation,
                  const Activations& out) {
  const int N = static_cast<int>(shift.extent(0)), KK = shape.kernel_size * shape.kernel_size;
  const int cin = shape.in_channels, cout = shape.out_channels, w0 = shape.weight_offset, b0 = shape.bias_offset;
  // One thread per output (field, channel, site), sites fastest: one accumulator in a register, none per channel.
  Kokkos::parallel_for(
      label,
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<3, Kokkos::Iterate::Right, Kokkos::Iterate::Right>>(
          {0, 0, 0}, {batch, cout, N}),
      KOKKOS_LAMBDA(const int b, const int o, const int x) {
        double acc = params(b0 + o);
        for (int i = 0; i < cin; ++i) {
          const int w = w0 + (o * cin + i) * KK;  // w[o][i][0]
          for (int k = 0; k < KK; ++k) acc += params(w + k) * input(b, i, shift(x, k));
        }
        out(b, o, x) = activation(acc);
      });
}

template <class Input>
void weight_gradient(const char* label, const Input& input, const ConstActivations& out_bar, const ConvShape& shape,
                     const NeighbourTable& shift, const RealView& grad) {
  const int N = static_cast<int>(shift.extent(0)), KK = shape.kernel_size * shape.kernel_size;
  const int batch = static_cast<int>(out_bar.extent(0));
  const int cin = shape.in_channels, w0 = shape.weight_offset, b0 = shape.bias_offset;
  const int n_weights = shape.out_channels * cin * KK;
  // One team per weight or bias, reducing over fields (threads) and sites (vector lanes).
  Kokkos::parallel_for(
      label, Kokkos::TeamPolicy<ExecSpace>(n_weights + shape.out_channels, Kokkos::AUTO),
      KOKKOS_LAMBDA(const Team& team) {
        const int p = team.league_rank();
        const bool is_weight = p < n_weights;
        const int k = p % KK, i = (p / KK) % cin, o = is_weight ? p / (KK * cin) : p - n_weights;
        double sum = 0.0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, batch),
            [&](const int b, double& field_sum) {
              double site_sum = 0.0;
              if (is_weight) {
                Kokkos::parallel_reduce(
                    Kokkos::ThreadVectorRange(team, N),
                    [&](const int x, double& partial) { partial += out_bar(b, o, x) * input(b, i, shift(x, k)); },
                    site_sum);
              } else {
                Kokkos::parallel_reduce(
                    Kokkos::ThreadVectorRange(team, N), [&](const int x, double& partial) { partial += out_bar(b, o, x); },
                    site_sum);
              }
              field_sum += site_sum;
            },
            sum);
        Kokkos::single(Kokkos::PerTeam(team), [&]() { grad(is_weight ? w0 + p : b0 + o) += sum; });
      });
}

/// (W^T out_bar)(b, i, y) = sum_o sum_d w[o][i][d] out_bar(b, o, y - d), for every input channel i, handed to
/// `store(b, i, y, value)`.
template <class Store>
void transposed_conv(const char* label, const ConstActivations& out_bar, const ConstRealView& params,
                     const ConvShape& shape, const NeighbourTable& shift, const Store& store) {
  const int N = static_cast<int>(shift.extent(0)), KK = shape.kernel_size * shape.kernel_size;
  const int batch = static_cast<int>(out_bar.extent(0));
  const int cin = shape.in_channels, cout = shape.out_channels, w0 = shape.weight_offset;
  // One thread per input-channel output (field, channel, site), sites fastest, as in conv_forward.
  Kokkos::parallel_for(
      label,
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<3, Kokkos::Iterate::Right, Kokkos::Iterate::Right>>(
          {0, 0, 0}, {batch, cin, N}),
      KOKKOS_LAMBDA(const int b, const int i, const int y) {
        double acc = 0.0;
        for (int o = 0; o < cout; ++o) {
          const int w = w0 + (o * cin + i) * KK;  // w[o][i][0]
          for (int k = 0; k < KK; ++k) acc += params(w + k) * out_bar(b, o, shift(y, KK - 1 - k));  // at y - d_k
        }
        store(b, i, y, acc);
      });
}

// LeakyReLU' from the activation itself: with slope >= 0 it is positive exactly where its input is.
struct StoreHiddenBar {
  ConstActivations act;
  double slope;
  Activations pre_bar;
  KOKKOS_INLINE_FUNCTION void operator()(int b, int i, int y, double value) const {
    pre_bar(b, i, y) = act(b, i, y) > 0.0 ? value : slope * value;
  }
};

struct AddFrozenFieldBar {
  int frozen_parity;
  int L;
  FieldBatch x_bar;
  KOKKOS_INLINE_FUNCTION void operator()(int b, int /*channel*/, int y, double value) const {
    if (is_frozen(y, L, frozen_parity)) x_bar(b, y) += value;
  }
};

}  // namespace real_nvp_impl

using namespace real_nvp_impl;

Kokkos::View<int**, Kokkos::LayoutRight, MemSpace> neighbour_table(int L, int kernel_size) {
  const int K = kernel_size, half = K / 2;
  Kokkos::View<int**, Kokkos::LayoutRight, MemSpace> table("phi4flow::RealNvp::neighbours", L * L, K * K);
  auto host = Kokkos::create_mirror_view(table);
  for (int x = 0; x < L * L; ++x)
    for (int ky = 0; ky < K; ++ky)
      for (int kx = 0; kx < K; ++kx) host(x, ky * K + kx) = wrap(x / L + ky - half, L) * L + wrap(x % L + kx - half, L);
  Kokkos::deep_copy(table, host);
  return table;
}

void conv_from_field(const ConstFieldBatch& x, int frozen_parity, const ConstRealView& params, const ConvShape& shape,
                     const NeighbourTable& shift, int L, bool leaky, double slope, const Activations& out) {
  conv_forward("phi4flow::RealNvp::conv_from_field", FrozenField{x, frozen_parity, L}, static_cast<int>(x.extent(0)),
               params, shape, shift, Activation{leaky, slope}, out);
}

void conv_from_hidden(const ConstActivations& act, const ConstRealView& params, const ConvShape& shape,
                      const NeighbourTable& shift, bool leaky, double slope, const Activations& out) {
  conv_forward("phi4flow::RealNvp::conv_from_hidden", Hidden{act}, static_cast<int>(act.extent(0)), params, shape,
               shift, Activation{leaky, slope}, out);
}

void couple(const ConstFieldBatch& x, const ConstActivations& st, int frozen_parity, int L, bool inverse,
            const FieldBatch& y, const BatchScalars& log_det) {
  const int N = L * L;
  for_each_row_sum(
      "phi4flow::RealNvp::couple", static_cast<int>(x.extent(0)), N,
      KOKKOS_LAMBDA(const int b, const int s, double& partial) {
        if (is_frozen(s, L, frozen_parity)) {
          y(b, s) = x(b, s);
          return;
        }
        const double scale = kmath::tanh(st(b, 0, s)), shift = st(b, 1, s);
        y(b, s) = inverse ? (x(b, s) - shift) * kmath::exp(-scale) : x(b, s) * kmath::exp(scale) + shift;
        partial += scale;
      },
      KOKKOS_LAMBDA(const int b, const double sum) { log_det(b) += sum; });
}

void couple_vjp(const ConstFieldBatch& x, const ConstActivations& st, int frozen_parity, int L,
                const FieldBatch& adjoint, const Activations& st_bar) {
  const int N = L * L;
  Kokkos::parallel_for(
      "phi4flow::RealNvp::couple_vjp", Kokkos::RangePolicy<ExecSpace>(0, static_cast<int>(x.extent(0)) * N),
      KOKKOS_LAMBDA(const int idx) {
        const int b = idx / N, s = idx % N;
        if (is_frozen(s, L, frozen_parity)) {
          st_bar(b, 0, s) = 0.0;
          st_bar(b, 1, s) = 0.0;
          return;
        }
        // y = x e^S + t with S = tanh(raw s); the loss also holds -S (its -log det).
        const double scale = kmath::tanh(st(b, 0, s)), growth = kmath::exp(scale), y_bar = adjoint(b, s);
        st_bar(b, 0, s) = (y_bar * x(b, s) * growth - 1.0) * (1.0 - scale * scale);
        st_bar(b, 1, s) = y_bar;
        adjoint(b, s) = y_bar * growth;
      });
}

void weight_gradient_from_field(const ConstFieldBatch& x, int frozen_parity, const ConstActivations& out_bar,
                                const ConvShape& shape, const NeighbourTable& shift, int L, const RealView& grad) {
  weight_gradient("phi4flow::RealNvp::weight_gradient_from_field", FrozenField{x, frozen_parity, L}, out_bar, shape,
                  shift, grad);
}

void weight_gradient_from_hidden(const ConstActivations& act, const ConstActivations& out_bar, const ConvShape& shape,
                                 const NeighbourTable& shift, const RealView& grad) {
  weight_gradient("phi4flow::RealNvp::weight_gradient_from_hidden", Hidden{act}, out_bar, shape, shift, grad);
}

void hidden_input_gradient(const ConstActivations& out_bar, const ConstRealView& params, const ConvShape& shape,
                           const NeighbourTable& shift, const ConstActivations& act, double slope,
                           const Activations& pre_bar) {
  transposed_conv("phi4flow::RealNvp::hidden_input_gradient", out_bar, params, shape, shift,
                  StoreHiddenBar{act, slope, pre_bar});
}

void field_input_gradient(const ConstActivations& out_bar, const ConstRealView& params, const ConvShape& shape,
                          const NeighbourTable& shift, int L, int frozen_parity, const FieldBatch& x_bar) {
  transposed_conv("phi4flow::RealNvp::field_input_gradient", out_bar, params, shape, shift,
                  AddFrozenFieldBar{frozen_parity, L, x_bar});
}

}  // namespace phi4flow::flow::detail
