// The equivariant flow's gradients: vector-Jacobian products of g and div g (phi, theta, omega) and the
// discrete-adjoint reverse-KL gradient, all against central finite differences, for the model and its ablations.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "model_checks.hpp"
#include "phi4flow/flow/equivariant_flow.hpp"
#include "phi4flow/lattice/lattice.hpp"
#include "phi4flow/physics/action.hpp"
#include "phi4flow/rng/philox.hpp"

using namespace phi4flow;
using flow::EquivariantFlow;
using flow::EquivariantFlowConfig;

namespace {

HostFieldBatch random_fields(int batch, int n_sites, std::uint32_t seed) {
  FieldBatch phi("phi", batch, n_sites);
  rng::fill_normal(rng::Philox(seed, rng::Purpose::test), 0, 0, phi);
  return Kokkos::create_mirror_view_and_copy(HostSpace(), phi);
}

void randomize_theta(EquivariantFlow& flow, std::uint32_t seed, double scale) {
  auto params = Kokkos::create_mirror_view_and_copy(HostSpace(), flow.parameters());
  const rng::Philox gen(seed, rng::Purpose::test);
  // Everything before omega: theta, or with bond matrices their core C at `scale` and the matrices T and V at 0.7,
  // so that theta = C T V of two-channel bonds is of the order of `scale` too; the Fourier time functions are of
  // order 1 at every node, where the hat functions sum to 1, so their core gets half of `scale`.
  const double core_scale = flow.config().fourier_time > 0 ? scale / 2 : scale;
  for (int i = 0; i < flow.omega_index(0); ++i)
    params(i) = (i < flow.core_size() ? core_scale : 0.7) * gen.normal(1, 0, static_cast<std::uint32_t>(i));
  Kokkos::deep_copy(flow.parameters(), params);
}

// Small models, one per variant, so that every parameter can be checked.
EquivariantFlowConfig small_config(int variant) {
  EquivariantFlowConfig cfg;
  cfg.time_basis = 3;
  cfg.frequencies = 2;
  cfg.steps = 4;
  cfg.translation_only = variant == 1;
  cfg.sign_breaking = variant == 2 || variant == 4;
  cfg.linear_term = variant >= 3;
  if (variant == 5) {  // 3 hat functions mixed to 2 channels, 3 features to 2
    cfg.time_bond = 2;
    cfg.feature_bond = 2;
  }
  if (variant == 6) cfg.fourier_time = 3;  // 1, sin(pi t), cos(pi t) at the 3 nodes
  return cfg;
}
constexpr int kVariants = 7;

const char* variant_name(int variant) {
  const char* names[kVariants] = {"equivariant", "translation_only", "sign_breaking", "linear_term",
                                  "linear_term + sign_breaking", "linear_term + bonds", "linear_term + Fourier time"};
  return names[variant];
}

// J = sum_b [ v_b . g(phi_b) + c div g(phi_b) ] per field b.
HostBatchScalars vjp_objective(EquivariantFlow& flow, const HostFieldBatch& phi, const HostFieldBatch& v, double t,
                               double c) {
  auto dev = Kokkos::create_mirror_view_and_copy(MemSpace(), phi);
  FieldBatch g("g", phi.extent(0), phi.extent(1));
  BatchScalars div("div", phi.extent(0));
  flow.vector_field(dev, t, g, div);
  const auto host_g = Kokkos::create_mirror_view_and_copy(HostSpace(), g);
  const auto host_div = Kokkos::create_mirror_view_and_copy(HostSpace(), div);
  HostBatchScalars out("J", phi.extent(0));
  for (std::size_t b = 0; b < phi.extent(0); ++b) {
    out(b) = c * host_div(b);
    for (std::size_t s = 0; s < phi.extent(1); ++s) out(b) += v(b % v.extent(0), s) * host_g(b, s);
  }
  return out;
}

double sum(const HostBatchScalars& x) {
  double s = 0.0;
  for (std::size_t i = 0; i < x.extent(0); ++i) s += x(i);
  return s;
}

}  // namespace

TEST(FlowGradient, VectorFieldVjpMatchesFiniteDifferences) {
  for (int variant = 0; variant < kVariants; ++variant) {
    const Lattice lat(4);
    const int n = lat.volume(), batch = 2;
    EquivariantFlow flow(lat, small_config(variant), 30);
    randomize_theta(flow, 31, 0.4);
    const auto phi = random_fields(batch, n, 32);
    const auto v = random_fields(batch, n, 33);
    const double t = 0.37, c = 0.7, h = 1e-5;

    auto dev_phi = Kokkos::create_mirror_view_and_copy(MemSpace(), phi);
    auto dev_v = Kokkos::create_mirror_view_and_copy(MemSpace(), v);
    FieldBatch phi_bar("phi_bar", batch, n);
    flow::ParameterView grad("grad", flow.parameters().extent(0));
    flow.vector_field_vjp(dev_phi, t, dev_v, c, phi_bar, grad);
    const auto host_phi_bar = Kokkos::create_mirror_view_and_copy(HostSpace(), phi_bar);
    const auto host_grad = Kokkos::create_mirror_view_and_copy(HostSpace(), grad);

    // d/dphi: every (field, site) shifted both ways, all in one batch (row 2 (b n + x) + {0, 1}).
    HostFieldBatch shifted("shifted", 2 * batch * n, n), v_rows("v_rows", 2 * batch * n, n);
    for (int b = 0; b < batch; ++b)
      for (int x = 0; x < n; ++x)
        for (int side = 0; side < 2; ++side) {
          const int row = 2 * (b * n + x) + side;
          for (int s = 0; s < n; ++s) {
            shifted(row, s) = phi(b, s) + (s == x ? (side == 0 ? h : -h) : 0.0);
            v_rows(row, s) = v(b, s);
          }
        }
    const auto J = vjp_objective(flow, shifted, v_rows, t, c);
    for (int b = 0; b < batch; ++b)
      for (int x = 0; x < n; ++x) {
        const double fd = (J(2 * (b * n + x)) - J(2 * (b * n + x) + 1)) / (2 * h);
        EXPECT_NEAR(host_phi_bar(b, x), fd, 1e-7 * (1.0 + std::abs(fd)))
            << variant_name(variant) << " phi " << b << "," << x;
      }

    // d/dtheta and d/domega: perturb the parameter buffer in place (the model must notice the change).
    auto params = Kokkos::create_mirror_view_and_copy(HostSpace(), flow.parameters());
    const int n_params = static_cast<int>(params.extent(0));
    double largest = 0.0;
    for (int i = 0; i < n_params; ++i) {
      const double saved = params(i);
      params(i) = saved + h;
      Kokkos::deep_copy(flow.parameters(), params);
      const double plus = sum(vjp_objective(flow, phi, v, t, c));
      params(i) = saved - h;
      Kokkos::deep_copy(flow.parameters(), params);
      const double minus = sum(vjp_objective(flow, phi, v, t, c));
      params(i) = saved;
      const double fd = (plus - minus) / (2 * h);
      largest = std::max(largest, std::abs(fd));
      const std::string what = i < flow.omega_index(0) ? "theta " : "omega ";
      EXPECT_NEAR(host_grad(i), fd, 1e-7 * (1.0 + std::abs(fd))) << variant_name(variant) << " " << what << i;
    }
    Kokkos::deep_copy(flow.parameters(), params);
    EXPECT_GT(largest, 0.1);
  }
}

TEST(FlowGradient, LossGradientMatchesFiniteDifferences) {
  for (int variant = 0; variant < kVariants; ++variant) {
    const Lattice lat(4);
    const Phi4Action action(lat, Couplings{-4.0, 6.975});
    const int n = lat.volume(), batch = 2;
    EquivariantFlow flow(lat, small_config(variant), 40);
    randomize_theta(flow, 41, 0.3);
    const auto z = random_fields(batch, n, 42);
    auto dev_z = Kokkos::create_mirror_view_and_copy(MemSpace(), z);
    test::expect_loss_gradient_matches_finite_differences(flow, action, dev_z, 1, [&](int i) {
      return std::string(variant_name(variant)) + (i < flow.omega_index(0) ? " theta " : " omega ") + std::to_string(i);
    });
  }
}

// flow.precision = single: every operation of the float solver equals the double solver's (which the tests above
// and in test_flow.cpp check against finite differences and exact results) to float rounding, for the model and
// both ablations. The tolerance is 40 float epsilons relative to each result's scale (seen: at most 2.6e-7): an error
// of the float solver (a wrong index, a missing term, a double constant lost) moves results by far more, and the
// results must also differ from double's, or the float path would not be running at all.
TEST(FlowGradient, SinglePrecisionMatchesDoubleToFloatRounding) {
  const Lattice lat(6);
  const Phi4Action action(lat, Couplings{-4.0, 6.975});
  const int n = lat.volume(), batch = 3;
  const auto z = random_fields(batch, n, 43);
  const auto v = random_fields(batch, n, 46);
  const auto dev_z = Kokkos::create_mirror_view_and_copy(MemSpace(), z);
  const auto dev_v = Kokkos::create_mirror_view_and_copy(MemSpace(), v);
  const auto host = [](const auto& view) { return Kokkos::create_mirror_view_and_copy(HostSpace(), view); };
  // max |a - b| / max |b| over all entries; a.size() == b.size().
  const auto relative_difference = [](const std::vector<double>& a, const std::vector<double>& b) {
    double scale = 0.0, diff = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      scale = std::max(scale, std::abs(b[i]));
      diff = std::max(diff, std::abs(a[i] - b[i]));
    }
    return diff / scale;
  };
  const auto flat = [](const auto& h) { return std::vector<double>(h.data(), h.data() + h.size()); };

  for (int variant = 0; variant < kVariants; ++variant) {
    // Every result of one solver, flattened per operation.
    auto results = [&](bool single) {
      EquivariantFlowConfig cfg = small_config(variant);
      cfg.steps = 9;
      cfg.single_precision = single;
      EquivariantFlow flow(lat, cfg, 44);
      randomize_theta(flow, 45, 0.3);
      std::vector<std::vector<double>> out;
      FieldBatch phi("phi", batch, n), back("back", batch, n), score("score", batch, n), g("g", batch, n);
      BatchScalars log_q("log_q", batch), log_q_back("log_q_back", batch), div("div", batch);
      flow.sample(dev_z, phi, log_q);
      out.push_back(flat(host(phi)));
      out.push_back(flat(host(log_q)));
      flow.invert(phi, back, log_q_back);
      out.push_back(flat(host(back)));
      out.push_back(flat(host(log_q_back)));
      flow.sample_with_score(dev_z, phi, log_q, score);
      out.push_back(flat(host(score)));
      flow.vector_field(dev_z, 0.4, g, div);
      out.push_back(flat(host(g)));
      out.push_back(flat(host(div)));
      flow::ParameterView grad("grad", flow.parameters().extent(0));
      flow.vector_field_vjp(dev_z, 0.4, dev_v, 0.7, g, grad);
      out.push_back(flat(host(g)));
      out.push_back(flat(host(grad)));
      for (auto estimator : {flow::GradientEstimator::total, flow::GradientEstimator::path}) {
        const double loss = flow.loss_and_gradient(dev_z, action, grad, estimator);
        out.push_back({loss});
        out.push_back(flat(host(grad)));
      }
      return out;
    };
    const auto in_double = results(false);
    const auto in_single = results(true);
    const char* what[] = {
        "sample phi", "sample log q", "invert z",         "invert log q", "score",          "g", "div g", "vjp phi_bar",
        "vjp grad",   "loss (total)", "gradient (total)", "loss (path)",  "gradient (path)"};
    for (std::size_t i = 0; i < in_double.size(); ++i) {
      const double d = relative_difference(in_single[i], in_double[i]);
      EXPECT_LT(d, 5e-6) << variant_name(variant) << ": " << what[i];
      EXPECT_GT(d, 0.0) << variant_name(variant) << ": " << what[i] << " is bit-identical: float path not taken?";
    }
  }
}

// sample_with_score: the same phi and log q as sample(), and a score that is the gradient of log q along any
// direction: d log q(phi(z + e dz)) / de = score . d phi(z + e dz) / de (central differences).
TEST(FlowGradient, ScoreIsTheGradientOfLogQ) {
  for (int variant = 0; variant < kVariants; ++variant) {
    const Lattice lat(4);
    const int n = lat.volume(), batch = 3;
    EquivariantFlowConfig cfg = small_config(variant);
    cfg.steps = 64;
    EquivariantFlow flow(lat, cfg, 50);
    randomize_theta(flow, 51, 0.4);
    const auto z = random_fields(batch, n, 52);
    const auto dz = random_fields(batch, n, 53);

    auto push = [&](double e) {
      FieldBatch dev_z("z", batch, n), phi("phi", batch, n);
      BatchScalars log_q("log_q", batch);
      auto host = Kokkos::create_mirror_view(dev_z);
      for (int b = 0; b < batch; ++b)
        for (int s = 0; s < n; ++s) host(b, s) = z(b, s) + e * dz(b, s);
      Kokkos::deep_copy(dev_z, host);
      flow.sample(dev_z, phi, log_q);
      return std::make_pair(Kokkos::create_mirror_view_and_copy(HostSpace(), phi),
                            Kokkos::create_mirror_view_and_copy(HostSpace(), log_q));
    };
    const auto [phi, log_q] = push(0.0);
    FieldBatch dev_phi("phi", batch, n), dev_score("score", batch, n);
    BatchScalars dev_log_q("log_q", batch);
    flow.sample_with_score(Kokkos::create_mirror_view_and_copy(MemSpace(), z), dev_phi, dev_log_q, dev_score);
    const auto phi_s = Kokkos::create_mirror_view_and_copy(HostSpace(), dev_phi);
    const auto log_q_s = Kokkos::create_mirror_view_and_copy(HostSpace(), dev_log_q);
    const auto score = Kokkos::create_mirror_view_and_copy(HostSpace(), dev_score);

    const double e = 1e-5;
    const auto [phi_plus, log_q_plus] = push(e);
    const auto [phi_minus, log_q_minus] = push(-e);
    for (int b = 0; b < batch; ++b) {
      EXPECT_DOUBLE_EQ(log_q_s(b), log_q(b)) << variant_name(variant);
      for (int s = 0; s < n; ++s) EXPECT_DOUBLE_EQ(phi_s(b, s), phi(b, s)) << variant_name(variant);
      const double fd = (log_q_plus(b) - log_q_minus(b)) / (2 * e);
      double along = 0.0, prior_along = 0.0;
      for (int s = 0; s < n; ++s) {
        along += score(b, s) * (phi_plus(b, s) - phi_minus(b, s)) / (2 * e);
        prior_along -= z(b, s) * dz(b, s);
      }
      EXPECT_NEAR(along, fd, 1e-6 * (1.0 + std::abs(fd))) << variant_name(variant) << " field " << b;
      EXPECT_GT(std::abs(fd - prior_along), 1e-2) << "the flow must change the score, or the check is void";
    }
  }
}

// The path gradient is the derivative of sum_b [s_b . phi_b + S(phi_b)] with the score s_b = grad log q(phi_b)
// held at its value for the current parameters: only the samples move.
TEST(FlowGradient, PathGradientMatchesFiniteDifferences) {
  for (int variant = 0; variant < kVariants; ++variant) {
    const Lattice lat(4);
    const Phi4Action action(lat, Couplings{-4.0, 6.975});
    const int n = lat.volume(), batch = 2;
    EquivariantFlow flow(lat, small_config(variant), 60);
    randomize_theta(flow, 61, 0.3);
    const auto z = random_fields(batch, n, 62);
    const auto dev_z = Kokkos::create_mirror_view_and_copy(MemSpace(), z);
    const int n_params = static_cast<int>(flow.parameters().extent(0));
    flow::ParameterView grad("grad", n_params);
    flow.loss_and_gradient(dev_z, action, grad, flow::GradientEstimator::path);
    const auto host_grad = Kokkos::create_mirror_view_and_copy(HostSpace(), grad);

    FieldBatch phi("phi", batch, n), dev_score("score", batch, n);
    BatchScalars log_q("log_q", batch), S("S", batch);
    flow.sample_with_score(dev_z, phi, log_q, dev_score);
    const auto score = Kokkos::create_mirror_view_and_copy(HostSpace(), dev_score);
    auto objective = [&] {
      flow.sample(dev_z, phi, log_q);
      action.action(phi, S);
      const auto host_phi = Kokkos::create_mirror_view_and_copy(HostSpace(), phi);
      const auto host_S = Kokkos::create_mirror_view_and_copy(HostSpace(), S);
      double J = 0.0;
      for (int b = 0; b < batch; ++b) {
        J += host_S(b);
        for (int s = 0; s < n; ++s) J += score(b, s) * host_phi(b, s);
      }
      return J;
    };
    auto params = Kokkos::create_mirror_view_and_copy(HostSpace(), flow.parameters());
    const double h = 1e-5;
    double largest = 0.0;
    for (int i = 0; i < n_params; ++i) {
      const double saved = params(i);
      params(i) = saved + h;
      Kokkos::deep_copy(flow.parameters(), params);
      const double plus = objective();
      params(i) = saved - h;
      Kokkos::deep_copy(flow.parameters(), params);
      const double minus = objective();
      params(i) = saved;
      const double fd = (plus - minus) / (2 * h);
      largest = std::max(largest, std::abs(fd));
      EXPECT_NEAR(host_grad(i), fd, 1e-6 * (1.0 + std::abs(fd)))
          << variant_name(variant) << (i < flow.omega_index(0) ? " theta " : " omega ") << i;
    }
    Kokkos::deep_copy(flow.parameters(), params);
    EXPECT_GT(largest, 0.1);
  }
}

// Path and total estimators have the same mean (the dropped score term averages to zero), here over 2000
// single-sample gradients at an untrained point, to 5 standard errors of the mean difference per parameter.
TEST(FlowGradient, PathAndTotalGradientsHaveTheSameMean) {
  const Lattice lat(4);
  const Phi4Action action(lat, Couplings{-4.0, 6.975});
  const int n = lat.volume(), samples = 2000;
  EquivariantFlowConfig cfg = small_config(0);
  cfg.steps = 8;
  EquivariantFlow flow(lat, cfg, 70);
  randomize_theta(flow, 71, 0.3);
  const int n_params = static_cast<int>(flow.parameters().extent(0));
  flow::ParameterView grad("grad", n_params);
  std::vector<double> sum(n_params, 0.0), sum2(n_params, 0.0);
  FieldBatch z("z", 1, n);
  auto total = Kokkos::create_mirror(grad), path = Kokkos::create_mirror(grad);  // copies even on the host
  for (int k = 0; k < samples; ++k) {
    rng::fill_normal(rng::Philox(72, rng::Purpose::test), 0, static_cast<std::uint64_t>(k), z);
    flow.loss_and_gradient(z, action, grad, flow::GradientEstimator::total);
    Kokkos::deep_copy(total, grad);
    flow.loss_and_gradient(z, action, grad, flow::GradientEstimator::path);
    Kokkos::deep_copy(path, grad);
    for (int i = 0; i < n_params; ++i) {
      const double d = path(i) - total(i);
      sum[i] += d;
      sum2[i] += d * d;
    }
  }
  int differing = 0;
  for (int i = 0; i < n_params; ++i) {
    const double mean = sum[i] / samples;
    const double error = std::sqrt((sum2[i] / samples - mean * mean) / (samples - 1));
    if (error > 1e-3) ++differing;
    EXPECT_LT(std::abs(mean), 5.0 * error + 1e-12) << "parameter " << i;
  }
  EXPECT_GT(differing, n_params / 2) << "the two estimators must differ sample by sample";
}
