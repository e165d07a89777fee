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
pkg_check_modules(FFTW3 REQUIRED IMPORTED_TARGET fftw3)

# The results files of `analyze` (JSON) and the SHA-256 of checkpoints (libcrypto's EVP interface).
find_package(nlohmann_json 3 REQUIRED)
find_package(OpenSSL REQUIRED)

find_path(RANDOM123_INCLUDE_DIR Random123/philox.h REQUIRED)
add_library(phi4flow_random123 INTERFACE)
target_include_directories(phi4flow_random123 SYSTEM INTERFACE ${RANDOM123_INCLUDE_DIR})

if(PHI4FLOW_ENABLE_TESTS)
  find_package(GTest REQUIRED)
endif()

if(PHI4FLOW_ENABLE_CUDA)
  find_package(CUDAToolkit REQUIRED)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} REQUIRED)
  find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} REQUIRED)
endif()
