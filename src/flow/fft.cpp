// Backends of the FFT adapter: RealFft2d with cuFFT when Kokkos runs on CUDA (device buffers), FFTW otherwise
// (fftw3 or fftw3f by precision, the batch split over the threads of Kokkos' host backend); HostRealFft2d with FFTW
// always.
#include "phi4flow/flow/fft.hpp"

#include <fftw3.h>

#include <algorithm>
#include <string>
#include <vector>

#include "phi4flow/error.hpp"
#if defined(KOKKOS_ENABLE_CUDA)
#include <cufft.h>
#endif

namespace phi4flow::flow {

#if defined(KOKKOS_ENABLE_CUDA)

namespace {
void check_cufft(cufftResult rc, const char* what) {
  if (rc != CUFFT_SUCCESS)
    throw RuntimeError(std::string("cuFFT: ") + what + " failed with code " + std::to_string(rc));
}

// cuFFT's transform types and entry points in each precision.
template <class Real>
struct Cufft;
template <>
struct Cufft<double> {
  using Spectrum = cufftDoubleComplex;
  static constexpr cufftType r2c = CUFFT_D2Z, c2r = CUFFT_Z2D;
  static cufftResult forward(cufftHandle p, double* in, Spectrum* out) { return cufftExecD2Z(p, in, out); }
  static cufftResult inverse(cufftHandle p, Spectrum* in, double* out) { return cufftExecZ2D(p, in, out); }
};
template <>
struct Cufft<float> {
  using Spectrum = cufftComplex;
  static constexpr cufftType r2c = CUFFT_R2C, c2r = CUFFT_C2R;
  static cufftResult forward(cufftHandle p, float* in, Spectrum* out) { return cufftExecR2C(p, in, out); }
  static cufftResult inverse(cufftHandle p, Spectrum* in, float* out) { return cufftExecC2R(p, in, out); }
};
}  // namespace

template <class Real>
struct RealFft2d<Real>::Plans {
  cufftHandle forward = 0;
  cufftHandle inverse = 0;
  ~Plans() {
    cufftDestroy(forward);
    cufftDestroy(inverse);
  }
};

template <class Real>
RealFft2d<Real>::RealFft2d(int L, const Fields& real, const Spectra& spectrum, FftPlanning)
    : L_(L), transforms_(static_cast<int>(real.extent(0))), plans_(std::make_unique<Plans>()) {
  check_shape(real, spectrum);
  int n[2] = {L, L};
  const int n_sites = L * L, n_modes = half_spectrum_size(L);
  check_cufft(
      cufftPlanMany(&plans_->forward, 2, n, nullptr, 1, n_sites, nullptr, 1, n_modes, Cufft<Real>::r2c, transforms_),
      "planning the forward transforms");
  check_cufft(
      cufftPlanMany(&plans_->inverse, 2, n, nullptr, 1, n_modes, nullptr, 1, n_sites, Cufft<Real>::c2r, transforms_),
      "planning the inverse transforms");
  // Same stream as Kokkos' default instance, so transforms and kernels are ordered without fences.
  check_cufft(cufftSetStream(plans_->forward, ExecSpace().cuda_stream()), "setting the stream");
  check_cufft(cufftSetStream(plans_->inverse, ExecSpace().cuda_stream()), "setting the stream");
}

template <class Real>
void RealFft2d<Real>::forward(const Fields& real, const Spectra& spectrum) const {
  check_shape(real, spectrum);
  using Spectrum = typename Cufft<Real>::Spectrum;
  check_cufft(Cufft<Real>::forward(plans_->forward, real.data(), reinterpret_cast<Spectrum*>(spectrum.data())),
              "executing the forward transforms");
}

template <class Real>
void RealFft2d<Real>::inverse(const Spectra& spectrum, const Fields& real) const {
  check_shape(real, spectrum);
  using Spectrum = typename Cufft<Real>::Spectrum;
  check_cufft(Cufft<Real>::inverse(plans_->inverse, reinterpret_cast<Spectrum*>(spectrum.data()), real.data()),
              "executing the inverse transforms");
}

#else

namespace {
// FFTW's plan type and functions in each precision (fftw3 and fftw3f).
template <class Real>
struct Fftw;
template <>
struct Fftw<double> {
  using Plan = fftw_plan;
  using Spectrum = fftw_complex;
  static constexpr auto plan_r2c = fftw_plan_many_dft_r2c;
  static constexpr auto plan_c2r = fftw_plan_many_dft_c2r;
  static constexpr auto execute_r2c = fftw_execute_dft_r2c;
  static constexpr auto execute_c2r = fftw_execute_dft_c2r;
  static constexpr auto destroy = fftw_destroy_plan;
  static constexpr auto alignment_of = fftw_alignment_of;
};
template <>
struct Fftw<float> {
  using Plan = fftwf_plan;
  using Spectrum = fftwf_complex;
  static constexpr auto plan_r2c = fftwf_plan_many_dft_r2c;
  static constexpr auto plan_c2r = fftwf_plan_many_dft_c2r;
  static constexpr auto execute_r2c = fftwf_execute_dft_r2c;
  static constexpr auto execute_c2r = fftwf_execute_dft_c2r;
  static constexpr auto destroy = fftwf_destroy_plan;
  static constexpr auto alignment_of = fftwf_alignment_of;
};

}  // namespace

// The transforms are split into one contiguous chunk per thread of Kokkos' host backend (one chunk on Serial),
// each with plans of its own: every thread does whole transforms, with no synchronisation inside FFTW.
template <class Real>
struct RealFft2d<Real>::Plans {
  std::vector<typename Fftw<Real>::Plan> forward, inverse;
  std::vector<int> first;  // chunk c holds transforms first[c] .. first[c + 1] - 1
  // FFTW's new-array execute functions need buffers aligned like the ones the plans were made for.
  int real_alignment = 0;
  int spectrum_alignment = 0;
  ~Plans() {
    for (auto plan : forward) Fftw<Real>::destroy(plan);
    for (auto plan : inverse) Fftw<Real>::destroy(plan);
  }
};

template <class Real>
RealFft2d<Real>::RealFft2d(int L, const Fields& real, const Spectra& spectrum, FftPlanning planning)
    : L_(L), transforms_(static_cast<int>(real.extent(0))), plans_(std::make_unique<Plans>()) {
  check_shape(real, spectrum);
  const int n[2] = {L, L};
  const int n_sites = L * L, n_modes = half_spectrum_size(L);
  const unsigned flags = planning == FftPlanning::measure ? FFTW_MEASURE : FFTW_ESTIMATE;
  const int chunks = std::min(ExecSpace().concurrency(), transforms_);
  for (int c = 0; c <= chunks; ++c)
    plans_->first.push_back(static_cast<int>(static_cast<long long>(c) * transforms_ / chunks));
  for (int c = 0; c < chunks; ++c) {
    const int first = plans_->first[c], count = plans_->first[c + 1] - first;
    auto* re = real.data() + static_cast<std::size_t>(first) * n_sites;
    auto* co = reinterpret_cast<typename Fftw<Real>::Spectrum*>(spectrum.data()) + static_cast<std::size_t>(first) * n_modes;
    plans_->forward.push_back(
        Fftw<Real>::plan_r2c(2, n, count, re, nullptr, 1, n_sites, co, nullptr, 1, n_modes, flags));
    plans_->inverse.push_back(
        Fftw<Real>::plan_c2r(2, n, count, co, nullptr, 1, n_modes, re, nullptr, 1, n_sites, flags));
    if (!plans_->forward.back() || !plans_->inverse.back()) {
      throw RuntimeError("FFTW could not plan " + std::to_string(count) + " transforms of " + std::to_string(L) +
                         " x " + std::to_string(L));
    }
  }
  plans_->real_alignment = Fftw<Real>::alignment_of(real.data());
  plans_->spectrum_alignment = Fftw<Real>::alignment_of(reinterpret_cast<Real*>(spectrum.data()));
}

namespace {
// Runs execute(chunk) for every chunk, one per thread of the host backend.
template <class Execute>
void for_each_chunk(int chunks, const Execute& execute) {
  ExecSpace().fence();  // the kernels that filled the input must have finished
  if (chunks == 1) {
    execute(0);
    return;
  }
  Kokkos::parallel_for("phi4flow::RealFft2d", Kokkos::RangePolicy<ExecSpace>(0, chunks), execute);
  ExecSpace().fence();
}
}  // namespace

template <class Real>
void RealFft2d<Real>::forward(const Fields& real, const Spectra& spectrum) const {
  check_shape(real, spectrum);
  auto* co = reinterpret_cast<typename Fftw<Real>::Spectrum*>(spectrum.data());
  PHI4FLOW_CHECK(Fftw<Real>::alignment_of(real.data()) == plans_->real_alignment &&
                     Fftw<Real>::alignment_of(reinterpret_cast<Real*>(co)) == plans_->spectrum_alignment,
                 "FFT buffers aligned differently from the planned ones");
  const Plans& plans = *plans_;
  const std::size_t n_sites = static_cast<std::size_t>(L_) * L_, n_modes = half_spectrum_size(L_);
  Real* re = real.data();
  for_each_chunk(static_cast<int>(plans.forward.size()), [&plans, re, co, n_sites, n_modes](const int c) {
    Fftw<Real>::execute_r2c(plans.forward[c], re + plans.first[c] * n_sites, co + plans.first[c] * n_modes);
  });
}

template <class Real>
void RealFft2d<Real>::inverse(const Spectra& spectrum, const Fields& real) const {
  check_shape(real, spectrum);
  auto* co = reinterpret_cast<typename Fftw<Real>::Spectrum*>(spectrum.data());
  PHI4FLOW_CHECK(Fftw<Real>::alignment_of(real.data()) == plans_->real_alignment &&
                     Fftw<Real>::alignment_of(reinterpret_cast<Real*>(co)) == plans_->spectrum_alignment,
                 "FFT buffers aligned differently from the planned ones");
  const Plans& plans = *plans_;
  const std::size_t n_sites = static_cast<std::size_t>(L_) * L_, n_modes = half_spectrum_size(L_);
  Real* re = real.data();
  for_each_chunk(static_cast<int>(plans.inverse.size()), [&plans, re, co, n_sites, n_modes](const int c) {
    Fftw<Real>::execute_c2r(plans.inverse[c], co + plans.first[c] * n_modes, re + plans.first[c] * n_sites);
  });
}

#endif

namespace {
int checked_batch(int L, int transforms) {
  PHI4FLOW_CHECK(L > 0 && transforms > 0, "an FFT batch needs L > 0 and at least one transform");
  return transforms;
}
}  // namespace

struct HostRealFft2d::Plans {
  fftw_plan forward = nullptr;
  fftw_plan inverse = nullptr;
  ~Plans() {
    if (forward) fftw_destroy_plan(forward);
    if (inverse) fftw_destroy_plan(inverse);
  }
};

HostRealFft2d::HostRealFft2d(int L, int transforms)
    : L_(L),
      transforms_(checked_batch(L, transforms)),
      real_("fft_real", transforms, L * L),
      spectrum_("fft_spectrum", transforms, half_spectrum_size(L)),
      plans_(std::make_unique<Plans>()) {
  const int n[2] = {L, L};
  const int n_sites = L * L, n_modes = half_spectrum_size(L);
  auto* re = real_.data();
  auto* co = reinterpret_cast<fftw_complex*>(spectrum_.data());
  // FFTW_ESTIMATE leaves the buffers alone while planning (FFTW_MEASURE would overwrite them).
  plans_->forward =
      fftw_plan_many_dft_r2c(2, n, transforms, re, nullptr, 1, n_sites, co, nullptr, 1, n_modes, FFTW_ESTIMATE);
  plans_->inverse =
      fftw_plan_many_dft_c2r(2, n, transforms, co, nullptr, 1, n_modes, re, nullptr, 1, n_sites, FFTW_ESTIMATE);
  if (!plans_->forward || !plans_->inverse) {
    throw RuntimeError("FFTW could not plan " + std::to_string(transforms) + " host transforms of " +
                       std::to_string(L) + " x " + std::to_string(L));
  }
}

void HostRealFft2d::forward() const {
  fftw_execute(plans_->forward);
}

void HostRealFft2d::inverse() const {
  fftw_execute(plans_->inverse);
}

HostRealFft2d::~HostRealFft2d() = default;
HostRealFft2d::HostRealFft2d(HostRealFft2d&&) noexcept = default;
HostRealFft2d& HostRealFft2d::operator=(HostRealFft2d&&) noexcept = default;

template <class Real>
RealFft2d<Real>::~RealFft2d() = default;
template <class Real>
RealFft2d<Real>::RealFft2d(RealFft2d&&) noexcept = default;
template <class Real>
RealFft2d<Real>& RealFft2d<Real>::operator=(RealFft2d&&) noexcept = default;

template <class Real>
void RealFft2d<Real>::check_shape(const Fields& real, const Spectra& spectrum) const {
  PHI4FLOW_CHECK(transforms_ > 0, "an FFT batch needs at least one transform");
  PHI4FLOW_CHECK(static_cast<int>(real.extent(0)) == transforms_ && static_cast<int>(spectrum.extent(0)) == transforms_,
                 "FFT buffers hold " + std::to_string(real.extent(0)) + " and " + std::to_string(spectrum.extent(0)) +
                     " transforms, the plan " + std::to_string(transforms_));
  PHI4FLOW_CHECK(
      static_cast<int>(real.extent(1)) == L_ * L_ && static_cast<int>(spectrum.extent(1)) == half_spectrum_size(L_),
      "FFT buffers do not hold L x L fields and their half spectra");
  PHI4FLOW_CHECK(real.span_is_contiguous() && spectrum.span_is_contiguous(), "FFT buffers must be contiguous");
}

template class RealFft2d<double>;
template class RealFft2d<float>;

}  // namespace phi4flow::flow
