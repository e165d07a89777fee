// The RealNVP baseline: exact inverse, log-determinant against the finite-difference Jacobian, and the
// backpropagated reverse-KL gradient against central finite differences, for the paper's network and for
// variants that exercise the kernels' other paths (no hidden layer, 5x5 kernels, odd L).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "phi4flow/error.hpp"
#include "phi4flow/flow/real_nvp.hpp"
#include "phi4flow/lattice/lattice.hpp"
#include "phi4flow/rng/philox.hpp"
#include "phi4flow/physics/action.hpp"
#include "model_checks.hpp"

using namespace phi4flow;
using flow::RealNvp;
using flow::RealNvpConfig;

namespace {

struct Variant {
  const char* name;
  int L;
  RealNvpConfig config;
};

std::vector<Variant> variants() {
  RealNvpConfig small;
  small.coupling_layers = 4;
  small.hidden_channels = 3;
  RealNvpConfig shallow = small;
  shallow.hidden_layers = 0;
  RealNvpConfig wide_kernel = small;
  wide_kernel.kernel_size = 5;
  wide_kernel.hidden_layers = 1;
  return {{"paper", 4, RealNvpConfig{}},
          {"small", 4, small},
          {"no_hidden_layer", 4, shallow},
          {"kernel5_odd_L", 5, wide_kernel}};
}

FieldBatch random_fields(int batch, int n_sites, std::uint32_t seed) {
  FieldBatch phi("phi", batch, n_sites);
  rng::fill_normal(rng::Philox(seed, rng::Purpose::test), 0, 0, phi);
  return phi;
}

// log|det A| by Gaussian elimination with partial pivoting.
double log_abs_det(std::vector<std::vector<double>> a) {
  const int n = static_cast<int>(a.size());
  double result = 0.0;
  for (int c = 0; c < n; ++c) {
    int pivot = c;
    for (int r = c + 1; r < n; ++r)
      if (std::abs(a[r][c]) > std::abs(a[pivot][c])) pivot = r;
    std::swap(a[c], a[pivot]);
    result += std::log(std::abs(a[c][c]));
    for (int r = c + 1; r < n; ++r) {
      const double f = a[r][c] / a[c][c];
      for (int k = c; k < n; ++k) a[r][k] -= f * a[c][k];
    }
  }
  return result;
}

}  // namespace

TEST(RealNvp, InverseReturnsTheLatentFieldAndTheSameDensity) {
  for (const Variant& v : variants()) {
    const Lattice lat(v.L);
    const int n = lat.volume(), batch = 3;
    RealNvp model(lat, v.config, 11);
    const FieldBatch z = random_fields(batch, n, 12);
    FieldBatch phi("phi", batch, n), z_back("z_back", batch, n);
    BatchScalars log_q("log_q", batch), log_q_back("log_q_back", batch), log_q_density("log_q_density", batch);
    model.sample(z, phi, log_q);
    model.invert(phi, z_back, log_q_back);
    model.log_density(phi, log_q_density);
    const auto hz = Kokkos::create_mirror_view_and_copy(HostSpace(), z);
    const auto hphi = Kokkos::create_mirror_view_and_copy(HostSpace(), phi);
    const auto hback = Kokkos::create_mirror_view_and_copy(HostSpace(), z_back);
    const auto a = Kokkos::create_mirror_view_and_copy(HostSpace(), log_q);
    const auto b = Kokkos::create_mirror_view_and_copy(HostSpace(), log_q_back);
    const auto c = Kokkos::create_mirror_view_and_copy(HostSpace(), log_q_density);
    double moved = 0.0;
    for (int i = 0; i < batch; ++i) {
      for (int s = 0; s < n; ++s) {
        EXPECT_NEAR(hback(i, s), hz(i, s), 1e-12) << v.name;
        moved = std::max(moved, std::abs(hphi(i, s) - hz(i, s)));
      }
      EXPECT_NEAR(b(i), a(i), 1e-11) << v.name;
      EXPECT_NEAR(c(i), a(i), 1e-11) << v.name;
    }
    EXPECT_GT(moved, 1e-2) << v.name << ": the randomly initialised flow should not be the identity";
  }
}

TEST(RealNvp, LogDeterminantIsThatOfTheFiniteDifferenceJacobian) {
  for (const Variant& v : variants()) {
    const Lattice lat(v.L);
    const int n = lat.volume();
    RealNvp model(lat, v.config, 21);
    const FieldBatch z = random_fields(1, n, 22);
    FieldBatch phi("phi", 1, n), shifted("shifted", 1, n), out("out", 1, n);
    BatchScalars log_q("log_q", 1), scratch("scratch", 1);
    model.sample(z, phi, log_q);
    const auto hz = Kokkos::create_mirror_view_and_copy(HostSpace(), z);
    const auto hshift = Kokkos::create_mirror_view(shifted);
    const double h = 1e-6;
    std::vector<std::vector<double>> jacobian(n, std::vector<double>(n));
    for (int j = 0; j < n; ++j) {
      std::vector<double> columns[2];
      for (int sign = 0; sign < 2; ++sign) {
        Kokkos::deep_copy(hshift, hz);
        hshift(0, j) += sign == 0 ? h : -h;
        Kokkos::deep_copy(shifted, hshift);
        model.sample(shifted, out, scratch);
        const auto hout = Kokkos::create_mirror_view_and_copy(HostSpace(), out);
        for (int i = 0; i < n; ++i) columns[sign].push_back(hout(0, i));
      }
      for (int i = 0; i < n; ++i) jacobian[i][j] = (columns[0][i] - columns[1][i]) / (2 * h);
    }
    // log q(phi) = log r(z) - log|det J|.
    double log_r = -0.5 * n * std::log(2 * M_PI);
    for (int s = 0; s < n; ++s) log_r -= 0.5 * hz(0, s) * hz(0, s);
    const auto hq = Kokkos::create_mirror_view_and_copy(HostSpace(), log_q);
    const double log_det = log_r - hq(0);
    EXPECT_GT(std::abs(log_det), 1e-3) << v.name << ": a trivial log-determinant would prove nothing";
    EXPECT_NEAR(log_det, log_abs_det(jacobian), 1e-7) << v.name;
  }
}

TEST(RealNvp, LossGradientMatchesFiniteDifferences) {
  for (const Variant& v : variants()) {
    const Lattice lat(v.L);
    const Phi4Action action(lat, Couplings{-4.0, 6.975});
    const int n = lat.volume(), batch = 2;
    RealNvp model(lat, v.config, 31);
    const FieldBatch z = random_fields(batch, n, 32);
    // Every parameter of the small variants; for the paper's 12960, a stride that visits every convolution's
    // weights and biases of every layer.
    const int stride = model.parameters().extent(0) > 2000 ? 17 : 1;
    test::expect_loss_gradient_matches_finite_differences(
        model, action, z, stride, [&](int i) { return std::string(v.name) + " parameter " + std::to_string(i); });
  }
}

TEST(RealNvp, InvalidSettingsNameTheirKey) {
  const Lattice lat(4);
  RealNvpConfig even_kernel;
  even_kernel.kernel_size = 4;
  try {
    RealNvp model(lat, even_kernel, 1);
    FAIL() << "an even kernel size was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("flow.kernel_size"), std::string::npos) << e.what();
  }
  RealNvpConfig no_channels;
  no_channels.hidden_channels = 0;
  EXPECT_THROW(RealNvp(lat, no_channels, 1), InputError);
  RealNvpConfig no_layers;
  no_layers.coupling_layers = 0;
  EXPECT_THROW(RealNvp(lat, no_layers, 1), InputError);
}
