# Finds every external dependency and exposes it as an imported target.
# Debian 12's Kokkos (Trilinos 13.2, Kokkos 3.4) exports a target whose include directory points at
# /usr/lib/include; we repair it here so that the rest of the build sees one clean Kokkos::kokkos.

find_package(Kokkos REQUIRED)
if(TARGET Kokkos::kokkos)
  get_target_property(_kokkos_inc Kokkos::kokkos INTERFACE_INCLUDE_DIRECTORIES)
else()
  # Trilinos-flavoured config: no namespaced target, only variables and kokkoscore etc.
  add_library(Kokkos::kokkos INTERFACE IMPORTED)
  target_link_libraries(Kokkos::kokkos INTERFACE ${Kokkos_LIBRARIES} ${Kokkos_TPL_LIBRARIES})
  set(_kokkos_inc "${Kokkos_INCLUDE_DIRS}")
endif()
set(_kokkos_inc_ok "")
foreach(_dir IN LISTS _kokkos_inc)
  if(EXISTS "${_dir}/Kokkos_Core.hpp")
    list(APPEND _kokkos_inc_ok "${_dir}")
  endif()
endforeach()
if(NOT _kokkos_inc_ok)
  find_path(PHI4FLOW_KOKKOS_INCLUDE_DIR Kokkos_Core.hpp PATHS /usr/include/trilinos REQUIRED)
  set(_kokkos_inc_ok "${PHI4FLOW_KOKKOS_INCLUDE_DIR}")
  set_target_properties(Kokkos::kokkos PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_kokkos_inc_ok}")
endif()
message(STATUS "Kokkos ${Kokkos_VERSION}: include ${_kokkos_inc_ok}")

find_package(MPI REQUIRED COMPONENTS C CXX)
# MPI under a project name, like HDF5 below: only src/parallel and src/io call it (docs/architecture.md).
add_library(phi4flow_mpi INTERFACE)
target_link_libraries(phi4flow_mpi INTERFACE MPI::MPI_CXX)

set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR "phi4flow needs a parallel (MPI-IO) HDF5; on Debian install libhdf5-openmpi-dev")
endif()
add_library(phi4flow_hdf5 INTERFACE)
target_include_directories(phi4flow_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
target_link_libraries(phi4flow_hdf5 INTERFACE ${HDF5_C_LIBRARIES} ${HDF5_LIBRARIES})
target_compile_definitions(phi4flow_hdf5 INTERFACE ${HDF5_C_DEFINITIONS} ${HDF5_DEFINITIONS})

find_package(Boost 1.74 REQUIRED COMPONENTS program_options)

find_package(PkgConfig REQUIRED)
# FFTW in double (the analysis, flow.precision = double) and float (flow.precision = single). With Kokkos' OpenMP
# backend each thread runs whole transforms of its share of the batch (flow/fft.cpp), so FFTW's own threads are
# not needed.
pkg_check_modules(FFTW3 REQUIRED IMPORTED_TARGET fftw3)
pkg_check_modules(FFTW3F REQUIRED IMPORTED_TARGET fftw3f)
add_library(phi4flow_fftw INTERFACE)
target_link_libraries(phi4flow_fftw INTERFACE PkgConfig::FFTW3 PkgConfig::FFTW3F)
# SLEEF: vectorised sin and cos for the flow on CPUs (a CUDA build uses the device's own).
pkg_check_modules(SLEEF REQUIRED IMPORTED_TARGET sleef)

# The results files of `analyze` (JSON) and the SHA-256 of checkpoints (libcrypto's EVP interface).
find_package(nlohmann_json 3 REQUIRED)
find_package(OpenSSL REQUIRED)

find_path(RANDOM123_INCLUDE_DIR Random123/philox.h REQUIRED)
add_library(phi4flow_random123 INTERFACE)
target_include_directories(phi4flow_random123 SYSTEM INTERFACE ${RANDOM123_INCLUDE_DIR})

if(PHI4FLOW_ENABLE_TESTS)
  find_package(GTest REQUIRED)
endif()

# The backend comes from Kokkos. A CUDA Kokkos needs cuFFT (flow/fft.cpp) and, unless PHI4FLOW_ENABLE_NCCL is OFF,
# NCCL (parallel/nccl_reducer.cpp). CUDA is recognised by the config's variables (Kokkos_ENABLE_CUDA, Kokkos_DEVICES:
# Kokkos 4.x and Debian's 3.4 set both) or by the define the compiler will see (KOKKOS_ENABLE_CUDA in
# KokkosCore_config.h), so that a config file that exports neither variable is still recognised.
set(PHI4FLOW_KOKKOS_CUDA OFF)
if(Kokkos_ENABLE_CUDA OR "CUDA" IN_LIST Kokkos_DEVICES)
  set(PHI4FLOW_KOKKOS_CUDA ON)
endif()
foreach(_dir IN LISTS _kokkos_inc_ok)
  if(EXISTS "${_dir}/KokkosCore_config.h")
    file(STRINGS "${_dir}/KokkosCore_config.h" _kokkos_cuda_define REGEX "^#define[ \t]+KOKKOS_ENABLE_CUDA([ \t]|$)")
    if(_kokkos_cuda_define)
      set(PHI4FLOW_KOKKOS_CUDA ON)
    endif()
  endif()
endforeach()

set(PHI4FLOW_HAVE_NCCL OFF)
if(PHI4FLOW_KOKKOS_CUDA)
  find_package(CUDAToolkit REQUIRED)
  if(PHI4FLOW_ENABLE_NCCL)
    # NCCL ships no CMake config: look beside the CUDA toolkit, then under NCCL_ROOT / NCCL_HOME.
    find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} ${NCCL_ROOT} $ENV{NCCL_ROOT} $ENV{NCCL_HOME}
              PATH_SUFFIXES include)
    find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} ${NCCL_ROOT} $ENV{NCCL_ROOT} $ENV{NCCL_HOME}
                 PATH_SUFFIXES lib lib64)
    if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
      message(FATAL_ERROR "Kokkos has the CUDA backend, so phi4flow needs NCCL (nccl.h, libnccl): set NCCL_ROOT, or "
                          "NCCL_INCLUDE_DIR and NCCL_LIBRARY, or configure with -DPHI4FLOW_ENABLE_NCCL=OFF (training "
                          "then reduces through MPI)")
    endif()
    add_library(phi4flow_nccl INTERFACE)
    target_include_directories(phi4flow_nccl SYSTEM INTERFACE ${NCCL_INCLUDE_DIR})
    target_link_libraries(phi4flow_nccl INTERFACE ${NCCL_LIBRARY} CUDA::cudart)
    set(PHI4FLOW_HAVE_NCCL ON)
  endif()
endif()
message(STATUS "phi4flow: Kokkos CUDA backend (and cuFFT): ${PHI4FLOW_KOKKOS_CUDA}; NCCL reducer: ${PHI4FLOW_HAVE_NCCL}")
