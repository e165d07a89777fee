// Counter-based random numbers (Philox4x32-10 from Random123). Every number is a pure function of
// (seed, purpose, stream, step, element): a stream is a global chain or sample index, so results do not
// depend on how many ranks or threads did the work, and resuming needs only the step counter.
#pragma once

#include <Random123/philox.h>

#include <Kokkos_Core.hpp>
#include <cstdint>

#include "phi4flow/types.hpp"

namespace phi4flow::rng {

/// What the numbers are for; part of the key, so that different uses never share numbers.
enum class Purpose : std::uint32_t {
  hmc_start = 1,     ///< initial field of an HMC chain
  hmc_momentum = 2,  ///< momentum refresh, per chain and trajectory
  hmc_accept = 3,    ///< Metropolis test, per chain and trajectory
  flow_latent = 4,   ///< latent z ~ N(0,1) of a flow sample
  mh_accept = 5,     ///< Metropolis-Hastings test of a flow chain
  flow_init = 6,     ///< initial model parameters
  flow_eval = 7,     ///< latent z of the fresh samples that estimate the ESS during training
  mh_proposal = 8,   ///< latent z of the flow proposal of a Metropolis-Hastings chain, per chain and MH step
  test = 99,         ///< reserved for tests
};

/// A keyed generator: cheap to copy into kernels.
class Philox {
 public:
  Philox() = default;
  KOKKOS_INLINE_FUNCTION Philox(std::uint32_t seed, Purpose purpose)
      : key_{{seed, static_cast<std::uint32_t>(purpose)}} {}

  /// \brief Four independent 32-bit words for counter (stream, step, element).
  KOKKOS_INLINE_FUNCTION r123::Philox4x32::ctr_type words(std::uint32_t stream, std::uint64_t step,
                                                          std::uint32_t element) const {
    r123::Philox4x32 gen;
    const r123::Philox4x32::ctr_type ctr = {
        {stream, static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(step >> 32), element}};
    return gen(ctr, key_);
  }

  /// \brief Uniform number in (0, 1) with 53 random bits.
  KOKKOS_INLINE_FUNCTION double uniform(std::uint32_t stream, std::uint64_t step, std::uint32_t element) const {
    const auto w = words(stream, step, element);
    return to_unit(w[0], w[1]);
  }

  /// \brief Two independent standard normal numbers (Box-Muller).
  KOKKOS_INLINE_FUNCTION void normal_pair(std::uint32_t stream, std::uint64_t step, std::uint32_t element, double& z0,
                                          double& z1) const {
    const auto w = words(stream, step, element);
    const double u1 = to_unit(w[0], w[1]);
    const double u2 = to_unit(w[2], w[3]);
    const double radius = kmath::sqrt(-2.0 * kmath::log(u1));
    const double angle = 6.283185307179586 * u2;
    z0 = radius * kmath::cos(angle);
    z1 = radius * kmath::sin(angle);
  }

  /// \brief Standard normal number for element i of a stream: element pairs share one Philox call.
  KOKKOS_INLINE_FUNCTION double normal(std::uint32_t stream, std::uint64_t step, std::uint32_t i) const {
    double z0, z1;
    normal_pair(stream, step, i / 2, z0, z1);
    return (i % 2 == 0) ? z0 : z1;
  }

 private:
  KOKKOS_INLINE_FUNCTION static double to_unit(std::uint32_t hi, std::uint32_t lo) {
    // 53 bits, offset by half a unit so that 0 and 1 never occur.
    const std::uint64_t bits = (static_cast<std::uint64_t>(hi >> 5) << 26) | (lo >> 6);
    return (static_cast<double>(bits) + 0.5) * (1.0 / 9007199254740992.0);
  }

  r123::Philox4x32::key_type key_ = {{0, 0}};
};

/// \brief Fill batch(b, s) with N(0,1) numbers of stream first_stream + b at the given step.
void fill_normal(const Philox& gen, std::uint32_t first_stream, std::uint64_t step, const FieldBatch& batch);

/// \brief Fill batch(b, s) with N(0,1) numbers of stream streams(b) at step steps(b): each row is keyed by its own
/// (stream, step), so a row's numbers do not depend on which other rows share the batch.
void fill_normal(const Philox& gen, const Kokkos::View<const std::uint32_t*, MemSpace>& streams,
                 const Kokkos::View<const std::uint64_t*, MemSpace>& steps, const FieldBatch& batch);

}  // namespace phi4flow::rng
