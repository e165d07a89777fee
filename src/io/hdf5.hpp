// A thin, checked layer over the HDF5 C API: an owning handle for identifiers, the error helper that turns
// a failed call into a RuntimeError carrying HDF5's own message, and the few file, group, dataset and
// attribute operations that the ensemble and checkpoint files need. Works with one process (default
// file driver) and with MPI-IO (pass a communicator; every rank then makes the same calls).
#pragma once

#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "phi4flow/io/attributes.hpp"

namespace phi4flow::io {

/// Owns one HDF5 identifier and closes it with the H5?close that fits its kind. Move-only.
class Handle {
 public:
  Handle() = default;
  /// \brief Take ownership of `id` (which must come from an open or create call, not a predefined type).
  explicit Handle(hid_t id) noexcept : id_(id) {}
  ~Handle();
  Handle(Handle&& other) noexcept : id_(other.id_) { other.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  /// \brief The identifier, for calls into the HDF5 C API; ownership stays here.
  hid_t get() const { return id_; }
  /// \brief False once closed or moved from.
  bool valid() const { return id_ >= 0; }
  /// \brief Close now and check the result: closing a file is where buffered data reaches the disk.
  void close();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

namespace detail {

/// Turns off HDF5's printing of its error stack to stderr for the life of the object: our exceptions carry
/// the message instead, and a probe that is expected to fail must not alarm the user.
class ErrorPrintingOff {
 public:
  ErrorPrintingOff();
  ~ErrorPrintingOff();
  ErrorPrintingOff(const ErrorPrintingOff&) = delete;
  ErrorPrintingOff& operator=(const ErrorPrintingOff&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

/// \brief Throw RuntimeError: `operation` failed on `loc` (file and object named when loc is valid), plus
/// HDF5's error stack.
[[noreturn]] void throw_hdf5_error(hid_t loc, std::string_view operation);

}  // namespace detail

/// \brief Run one HDF5 call with error printing off; a negative result throws RuntimeError naming the file,
/// the object `loc` (H5I_INVALID_HID if none yet), the operation and HDF5's message.
template <class Call>
auto checked(hid_t loc, std::string_view operation, Call&& call) {
  const detail::ErrorPrintingOff quiet;
  const auto status = call();
  if (status < 0) detail::throw_hdf5_error(loc, operation);
  return status;
}

/// \brief "object '/x' in file 'f.h5'" for an open identifier; used in error messages.
std::string describe(hid_t loc);

/// \brief True if `path` exists and starts with an HDF5 signature (does not prove the file is intact).
bool is_hdf5_file(const std::string& path);

/// \brief Create `path` (replacing an existing file if `truncate`, failing otherwise). With a communicator
/// other than MPI_COMM_NULL the file is opened through MPI-IO and the call is collective.
Handle create_file(const std::string& path, bool truncate, MPI_Comm comm = MPI_COMM_NULL);

/// \brief Open an existing file read-only or for writing; collective through MPI-IO if `comm` is given.
Handle open_file(const std::string& path, bool writable, MPI_Comm comm = MPI_COMM_NULL);

/// \brief Write every buffered piece of the file to disk (collective for MPI-IO files).
void flush(hid_t file);

/// \brief Create group `name` under `loc`; it keeps its attributes in creation order.
Handle create_group(hid_t loc, const std::string& name);

/// \brief Open group `name` (a path relative to `loc`).
Handle open_group(hid_t loc, const std::string& name);

/// \brief True if `loc` has a link called `name` (one path component).
bool link_exists(hid_t loc, const std::string& name);

/// \brief Names of the links in group `group`, in name order.
std::vector<std::string> link_names(hid_t group);

/// Shape and storage of a new dataset. Empty max_dims means fixed size; empty chunk means contiguous.
struct DatasetSpec {
  std::vector<hsize_t> dims;
  std::vector<hsize_t> max_dims;
  std::vector<hsize_t> chunk;
  bool fletcher32 = false;
};

/// \brief Create dataset `name` of element type T (double or std::int64_t, stored little-endian).
template <class T>
Handle create_dataset(hid_t loc, const std::string& name, const DatasetSpec& spec);

/// \brief Open dataset `name` (a path relative to `loc`).
Handle open_dataset(hid_t loc, const std::string& name);

/// \brief Current dimensions of a dataset.
std::vector<hsize_t> extent(hid_t dataset);

/// \brief Grow or shrink a chunked dataset (collective for MPI-IO files).
void set_extent(hid_t dataset, const std::vector<hsize_t>& dims);

/// \brief A transfer property list for collective MPI-IO transfers (needed when datasets have filters).
Handle collective_transfer();

/// \brief Write the contiguous row-major block `data` into the hyperslab [start, start + count) of `dataset`.
/// A count with a zero entry writes nothing but still takes part in a collective transfer.
void write_slab(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count, const double* data,
                hid_t transfer = H5P_DEFAULT);
/// \brief As above, for 64-bit integers.
void write_slab(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count,
                const std::int64_t* data, hid_t transfer = H5P_DEFAULT);

/// \brief Read the hyperslab [start, start + count) of `dataset` into the contiguous row-major block `data`.
void read_slab(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count, double* data,
               hid_t transfer = H5P_DEFAULT);
/// \brief As above, for 64-bit integers.
void read_slab(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count, std::int64_t* data,
               hid_t transfer = H5P_DEFAULT);

/// \brief Write a scalar attribute of `obj` (a file means its root group), replacing one of the same name.
/// Strings are stored as variable-length UTF-8, which h5py reads as str.
void write_attr(hid_t obj, const std::string& name, const AttrValue& value);

/// \brief Write every attribute of `attrs`, in order.
void write_attrs(hid_t obj, const AttrList& attrs);

/// \brief Read one scalar attribute: integers of any width, reals, fixed- or variable-length strings.
/// Any other type throws InputError naming the attribute and the object.
AttrValue read_attr(hid_t obj, const std::string& name);

/// \brief Read every attribute of `obj`, in creation order where the object tracks it, else by name.
AttrList read_attrs(hid_t obj);

/// \brief Read the root attributes of `file` and check that they name `format` at `version`; InputError
/// naming `path` if the file is not of that format or of another version. Returns the other root attributes.
AttrList read_checked_format(hid_t file, const std::string& path, const std::string& format, std::int64_t version);

}  // namespace phi4flow::io
