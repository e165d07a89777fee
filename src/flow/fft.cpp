// Backends of the FFT adapter: RealFft2d with cuFFT when Kokkos runs on CUDA (device buffers), FFTW otherwise;
// HostRealFft2d with FFTW always.
#include "phi4flow/flow/fft.hpp"

#include <fftw3.h>

#include <string>

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
}  // namespace

struct RealFft2d::Plans {
  cufftHandle forward = 0;
  cufftHandle inverse = 0;
  ~Plans() {
    cufftDestroy(forward);
    cufftDestroy(inverse);
  }
};

RealFft2d::RealFft2d(int L, const FieldBatch& real, const SpectrumBatch& spectrum, FftPlanning)
    : L_(L), transforms_(static_cast<int>(real.extent(0))), plans_(std::make_unique<Plans>()) {
  check_shape(real, spectrum);
  int n[2] = {L, L};
  const int n_sites = L * L, n_modes = half_spectrum_size(L);
  check_cufft(cufftPlanMany(&plans_->forward, 2, n, nullptr, 1, n_sites, nullptr, 1, n_modes, CUFFT_D2Z, transforms_),
              "planning D2Z");
  check_cufft(cufftPlanMany(&plans_->inverse, 2, n, nullptr, 1, n_modes, nullptr, 1, n_sites, CUFFT_Z2D, transforms_),
              "planning Z2D");
  // Same stream as Kokkos' default instance, so transforms and kernels are ordered without fences.
  check_cufft(cufftSetStream(plans_->forward, ExecSpace().cuda_stream()), "setting the stream");
  check_cufft(cufftSetStream(plans_->inverse, ExecSpace().cuda_stream()), "setting the stream");
}

void RealFft2d::forward(const FieldBatch& real, const SpectrumBatch& spectrum) const {
  check_shape(real, spectrum);
  check_cufft(cufftExecD2Z(plans_->forward, real.data(), reinterpret_cast<cufftDoubleComplex*>(spectrum.data())),
              "executing D2Z");
}

void RealFft2d::inverse(const SpectrumBatch& spectrum, const FieldBatch& real) const {
  check_shape(real, spectrum);
  check_cufft(cufftExecZ2D(plans_->inverse, reinterpret_cast<cufftDoubleComplex*>(spectrum.data()), real.data()),
              "executing Z2D");
}

#else

struct RealFft2d::Plans {
  fftw_plan forward = nullptr;
  fftw_plan inverse = nullptr;
  // FFTW's new-array execute functions need buffers aligned like the ones the plan was made for.
  int real_alignment = 0;
  int spectrum_alignment = 0;
  ~Plans() {
    if (forward) fftw_destroy_plan(forward);
    if (inverse) fftw_destroy_plan(inverse);
  }
};

RealFft2d::RealFft2d(int L, const FieldBatch& real, const SpectrumBatch& spectrum, FftPlanning planning)
    : L_(L), transforms_(static_cast<int>(real.extent(0))), plans_(std::make_unique<Plans>()) {
  check_shape(real, spectrum);
  const int n[2] = {L, L};
  const int n_sites = L * L, n_modes = half_spectrum_size(L);
  const unsigned flags = planning == FftPlanning::measure ? FFTW_MEASURE : FFTW_ESTIMATE;
  auto* re = real.data();
  auto* co = reinterpret_cast<fftw_complex*>(spectrum.data());
  plans_->forward = fftw_plan_many_dft_r2c(2, n, transforms_, re, nullptr, 1, n_sites, co, nullptr, 1, n_modes, flags);
  plans_->inverse = fftw_plan_many_dft_c2r(2, n, transforms_, co, nullptr, 1, n_modes, re, nullptr, 1, n_sites, flags);
  if (!plans_->forward || !plans_->inverse) {
    throw RuntimeError("FFTW could not plan " + std::to_string(transforms_) + " transforms of " + std::to_string(L) +
                       " x " + std::to_string(L));
  }
  plans_->real_alignment = fftw_alignment_of(re);
  plans_->spectrum_alignment = fftw_alignment_of(reinterpret_cast<double*>(co));
}

void RealFft2d::forward(const FieldBatch& real, const SpectrumBatch& spectrum) const {
  check_shape(real, spectrum);
  auto* co = reinterpret_cast<fftw_complex*>(spectrum.data());
  PHI4FLOW_CHECK(fftw_alignment_of(real.data()) == plans_->real_alignment &&
                     fftw_alignment_of(reinterpret_cast<double*>(co)) == plans_->spectrum_alignment,
                 "FFT buffers aligned differently from the planned ones");
  ExecSpace().fence();  // the kernels that filled `real` must have finished
  fftw_execute_dft_r2c(plans_->forward, real.data(), co);
}

void RealFft2d::inverse(const SpectrumBatch& spectrum, const FieldBatch& real) const {
  check_shape(real, spectrum);
  auto* co = reinterpret_cast<fftw_complex*>(spectrum.data());
  PHI4FLOW_CHECK(fftw_alignment_of(real.data()) == plans_->real_alignment &&
                     fftw_alignment_of(reinterpret_cast<double*>(co)) == plans_->spectrum_alignment,
                 "FFT buffers aligned differently from the planned ones");
  ExecSpace().fence();
  fftw_execute_dft_c2r(plans_->inverse, co, real.data());
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

RealFft2d::~RealFft2d() = default;
RealFft2d::RealFft2d(RealFft2d&&) noexcept = default;
RealFft2d& RealFft2d::operator=(RealFft2d&&) noexcept = default;

void RealFft2d::check_shape(const FieldBatch& real, const SpectrumBatch& spectrum) const {
  PHI4FLOW_CHECK(transforms_ > 0, "an FFT batch needs at least one transform");
  PHI4FLOW_CHECK(static_cast<int>(real.extent(0)) == transforms_ && static_cast<int>(spectrum.extent(0)) == transforms_,
                 "FFT buffers hold " + std::to_string(real.extent(0)) + " and " + std::to_string(spectrum.extent(0)) +
                     " transforms, the plan " + std::to_string(transforms_));
  PHI4FLOW_CHECK(
      static_cast<int>(real.extent(1)) == L_ * L_ && static_cast<int>(spectrum.extent(1)) == half_spectrum_size(L_),
      "FFT buffers do not hold L x L fields and their half spectra");
  PHI4FLOW_CHECK(real.span_is_contiguous() && spectrum.span_is_contiguous(), "FFT buffers must be contiguous");
}

}  // namespace phi4flow::flow
