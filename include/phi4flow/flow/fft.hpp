// The project's FFT adapter: batched real 2D transforms of L x L fields (r2c forward, c2r inverse), so that the
// model can do periodic convolutions in Fourier space (RealFft2d<double or float>: FFTW on the host, threaded over
// the batch with Kokkos' OpenMP backend, cuFFT when Kokkos runs on CUDA) and host code such as the ensemble
// analysis can compute correlators (HostRealFft2d: FFTW in every build).
// The backend headers (FFTW's, cuFFT's) stay in src/flow/fft.cpp: nothing else includes them.
#pragma once

#include <Kokkos_Complex.hpp>
#include <Kokkos_Core.hpp>
#include <memory>

#include "phi4flow/types.hpp"

namespace phi4flow::flow {

using Complex = Kokkos::complex<real_t>;

/// A batch of half spectra of real L x L fields: transform i, mode k = k1 * (L/2 + 1) + k2 with
/// 0 <= k1 < L, 0 <= k2 <= L/2 (the other half follows from Hermitian symmetry).
template <class Real>
using SpectrumBatchOf = Kokkos::View<Kokkos::complex<Real>**, Kokkos::LayoutRight, MemSpace>;
using SpectrumBatch = SpectrumBatchOf<real_t>;
using HostSpectrumBatch = SpectrumBatch::HostMirror;

/// How hard FFTW searches for a fast plan (cuFFT ignores it). measure takes seconds per new size but may
/// run faster; estimate plans instantly (tests).
enum class FftPlanning { estimate, measure };

/// \brief Number of modes in the half spectrum of an L x L real field: L * (L/2 + 1).
KOKKOS_INLINE_FUNCTION int half_spectrum_size(int L) {
  return L * (L / 2 + 1);
}

/// Forward and inverse transforms of a fixed number of L x L fields at once, in double or float (Real). Plans are
/// made once, at construction (FFTW: one plan_many per direction for each host thread's share of the batch; cuFFT:
/// one per direction for the whole batch), and released by the destructor; executing them allocates nothing.
template <class Real>
class RealFft2d {
 public:
  using Fields = FieldBatchOf<Real>;
  using Spectra = SpectrumBatchOf<Real>;

  /// \brief Plans both directions for real.extent(0) transforms of L x L fields stored in `real`
  /// (transforms x L*L) and `spectrum` (transforms x L*(L/2+1)). FftPlanning::measure overwrites both
  /// buffers while planning. Later calls may use other buffers of the same shape and alignment.
  RealFft2d(int L, const Fields& real, const Spectra& spectrum, FftPlanning planning);
  ~RealFft2d();
  RealFft2d(RealFft2d&&) noexcept;
  RealFft2d& operator=(RealFft2d&&) noexcept;
  RealFft2d(const RealFft2d&) = delete;
  RealFft2d& operator=(const RealFft2d&) = delete;

  int extent() const { return L_; }
  int transforms() const { return transforms_; }

  /// \brief spectrum(i, k) = sum_x real(i, x) exp(-i k.x) for every transform i; `real` is left unchanged.
  void forward(const Fields& real, const Spectra& spectrum) const;
  /// \brief real(i, x) = sum_k spectrum(i, k) exp(+i k.x) over the full spectrum, unnormalised (so
  /// inverse(forward(f)) = L^2 f). Overwrites `spectrum` (c2r transforms work in place).
  void inverse(const Spectra& spectrum, const Fields& real) const;

 private:
  void check_shape(const Fields& real, const Spectra& spectrum) const;

  struct Plans;
  int L_ = 0;
  int transforms_ = 0;
  std::unique_ptr<Plans> plans_;
};

/// The same transforms as RealFft2d on host memory, for host code (the analysis of ensembles read from files),
/// with FFTW in every build. It owns its buffers: fill real(), call forward(), read or change spectrum(), call
/// inverse(). Planned with FFTW's estimate, so construction is instant; executing allocates nothing.
class HostRealFft2d {
 public:
  /// \brief Buffers and plans for `transforms` (>= 1) transforms of L x L fields.
  HostRealFft2d(int L, int transforms);
  ~HostRealFft2d();
  HostRealFft2d(HostRealFft2d&&) noexcept;
  HostRealFft2d& operator=(HostRealFft2d&&) noexcept;
  HostRealFft2d(const HostRealFft2d&) = delete;
  HostRealFft2d& operator=(const HostRealFft2d&) = delete;

  int extent() const { return L_; }
  int transforms() const { return transforms_; }
  /// Fields: real()(i, s) is site s = x1 * L + x2 of transform i; the input of forward(), the output of inverse().
  const HostFieldBatch& real() const { return real_; }
  /// Half spectra, laid out as SpectrumBatch: the output of forward(), the input of inverse().
  const HostSpectrumBatch& spectrum() const { return spectrum_; }

  /// \brief spectrum()(i, k) = sum_x real()(i, x) exp(-i k.x) for every transform i; real() is left unchanged.
  void forward() const;
  /// \brief real()(i, x) = sum_k spectrum()(i, k) exp(+i k.x) over the full spectrum, unnormalised (L^2 times
  /// the inverse transform). Overwrites spectrum().
  void inverse() const;

 private:
  struct Plans;
  int L_ = 0;
  int transforms_ = 0;
  HostFieldBatch real_;
  HostSpectrumBatch spectrum_;
  std::unique_ptr<Plans> plans_;
};

}  // namespace phi4flow::flow
