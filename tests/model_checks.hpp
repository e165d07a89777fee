// Checks that every flow model must pass, written once against the Model interface.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "phi4flow/flow/model.hpp"
#include "phi4flow/physics/action.hpp"

namespace phi4flow::test {

/// \brief loss_and_gradient(z) returns sum_b [log q + S] of the fields sample() draws from z; its gradient agrees
/// with central finite differences of the loss for every `stride`-th parameter (`name(i)` labels parameter i in
/// failures); grad is overwritten, not accumulated.
template <class Name>
void expect_loss_gradient_matches_finite_differences(flow::Model& model, const Phi4Action& action,
                                                     const ConstFieldBatch& z, int stride, const Name& name) {
  const int batch = static_cast<int>(z.extent(0)), n_params = static_cast<int>(model.parameters().extent(0));
  flow::ParameterView grad("grad", n_params), scratch("scratch", n_params);
  const double loss = model.loss_and_gradient(z, action, grad);
  const auto host_grad = Kokkos::create_mirror_view_and_copy(HostSpace(), grad);

  FieldBatch phi("phi", batch, z.extent(1));
  BatchScalars log_q("log_q", batch), S("S", batch);
  model.sample(z, phi, log_q);
  action.action(phi, S);
  const auto host_log_q = Kokkos::create_mirror_view_and_copy(HostSpace(), log_q);
  const auto host_S = Kokkos::create_mirror_view_and_copy(HostSpace(), S);
  double expected = 0.0;
  for (int b = 0; b < batch; ++b) expected += host_log_q(b) + host_S(b);
  EXPECT_NEAR(loss, expected, 1e-11 * std::abs(loss));

  auto params = Kokkos::create_mirror_view_and_copy(HostSpace(), model.parameters());
  const double h = 1e-5;
  for (int i = 0; i < n_params; i += stride) {
    const double saved = params(i);
    params(i) = saved + h;
    Kokkos::deep_copy(model.parameters(), params);
    const double plus = model.loss_and_gradient(z, action, scratch);
    params(i) = saved - h;
    Kokkos::deep_copy(model.parameters(), params);
    const double minus = model.loss_and_gradient(z, action, scratch);
    params(i) = saved;
    const double fd = (plus - minus) / (2 * h);
    EXPECT_NEAR(host_grad(i), fd, 1e-6 * (1.0 + std::abs(fd))) << name(i);
  }
  Kokkos::deep_copy(model.parameters(), params);

  model.loss_and_gradient(z, action, grad);
  const auto again = Kokkos::create_mirror_view_and_copy(HostSpace(), grad);
  for (int i = 0; i < n_params; ++i) EXPECT_EQ(again(i), host_grad(i)) << "grad accumulated at " << i;
}

}  // namespace phi4flow::test
