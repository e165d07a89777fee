// The flow's FFT adapter: batched real 2D transforms of L x L fields (r2c forward, c2r inverse), so that the
// model can do periodic convolutions in Fourier space. FFTW on the host; cuFFT when Kokkos runs on CUDA.
// The backend headers stay in src/flow/fft.cpp, so nothing else sees fftw3.h or cufft.h.
#pragma once

#include <Kokkos_Complex.hpp>
#include <Kokkos_Core.hpp>
#include <memory>

#include "phi4flow/types.hpp"

namespace phi4flow::flow {

using Complex = Kokkos::complex<real_t>;

/// A batch of half spectra of real L x L fields: transform i, mode k = k1 * (L/2 + 1) + k2 with
/// 0 <= k1 < L, 0 <= k2 <= L/2 (the other half follows from Hermitian symmetry).
using SpectrumBatch = Kokkos::View<Complex**, Kokkos::LayoutRight, MemSpace>;

/// How hard FFTW searches for a fast plan (cuFFT ignores it). measure takes seconds per new size but may
/// run faster; estimate plans instantly (tests).
enum class FftPlanning { estimate, measure };

/// \brief Number of modes in the half spectrum of an L x L real field: L * (L/2 + 1).
KOKKOS_INLINE_FUNCTION int half_spectrum_size(int L) {
  return L * (L / 2 + 1);
}

/// Forward and inverse transforms of a fixed number of L x L fields at once. Plans are made once, at
/// construction, and released by the destructor; executing them allocates nothing.
class RealFft2d {
 public:
  /// \brief Plans both directions for real.extent(0) transforms of L x L fields stored in `real`
  /// (transforms x L*L) and `spectrum` (transforms x L*(L/2+1)). FftPlanning::measure overwrites both
  /// buffers while planning. Later calls may use other buffers of the same shape and alignment.
  RealFft2d(int L, const FieldBatch& real, const SpectrumBatch& spectrum, FftPlanning planning);
  ~RealFft2d();
  RealFft2d(RealFft2d&&) noexcept;
  RealFft2d& operator=(RealFft2d&&) noexcept;
  RealFft2d(const RealFft2d&) = delete;
  RealFft2d& operator=(const RealFft2d&) = delete;

  int extent() const { return L_; }
  int transforms() const { return transforms_; }

  /// \brief spectrum(i, k) = sum_x real(i, x) exp(-i k.x) for every transform i; `real` is left unchanged.
  void forward(const FieldBatch& real, const SpectrumBatch& spectrum) const;
  /// \brief real(i, x) = sum_k spectrum(i, k) exp(+i k.x) over the full spectrum, unnormalised (so
  /// inverse(forward(f)) = L^2 f). Overwrites `spectrum` (c2r transforms work in place).
  void inverse(const SpectrumBatch& spectrum, const FieldBatch& real) const;

 private:
  void check_shape(const FieldBatch& real, const SpectrumBatch& spectrum) const;

  struct Plans;
  int L_ = 0;
  int transforms_ = 0;
  std::unique_ptr<Plans> plans_;
};

}  // namespace phi4flow::flow
