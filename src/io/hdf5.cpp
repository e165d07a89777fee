// The checked HDF5 layer: handles, error messages, files, groups, datasets, attributes.
#include "hdf5.hpp"

#include <algorithm>
#include <utility>

#include "phi4flow/error.hpp"

namespace phi4flow::io {

namespace {

herr_t close_by_kind(hid_t id) {
  switch (H5Iget_type(id)) {
    case H5I_FILE:
      return H5Fclose(id);
    case H5I_GROUP:
      return H5Gclose(id);
    case H5I_DATASET:
      return H5Dclose(id);
    case H5I_ATTR:
      return H5Aclose(id);
    case H5I_DATATYPE:
      return H5Tclose(id);
    case H5I_DATASPACE:
      return H5Sclose(id);
    case H5I_GENPROP_LST:
      return H5Pclose(id);
    case H5I_ERROR_STACK:
      return H5Eclose_stack(id);
    default:
      return H5Idec_ref(id) < 0 ? -1 : 0;
  }
}

herr_t collect_error(unsigned, const H5E_error2_t* err, void* client) {
  auto& text = *static_cast<std::string*>(client);
  if (!text.empty()) text += "; ";
  text += std::string(err->func_name ? err->func_name : "?") + ": " + (err->desc ? err->desc : "");
  char minor[256] = "";
  if (H5Eget_msg(err->min_num, nullptr, minor, sizeof minor) > 0) text += std::string(" (") + minor + ")";
  return 0;
}

// HDF5's error stack as one line, outermost call first; the stack is cleared.
std::string take_error_stack() {
  const hid_t stack = H5Eget_current_stack();
  if (stack < 0) return "no message from HDF5";
  std::string text;
  H5Ewalk2(stack, H5E_WALK_DOWNWARD, collect_error, &text);
  H5Eclose_stack(stack);
  return text.empty() ? "no message from HDF5" : text;
}

Handle file_access(MPI_Comm comm) {
  Handle fapl(checked(H5I_INVALID_HID, "create file access property list", [] { return H5Pcreate(H5P_FILE_ACCESS); }));
  if (comm != MPI_COMM_NULL)
    checked(H5I_INVALID_HID, "select the MPI-IO file driver",
            [&] { return H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL); });
  return fapl;
}

// Objects keep attributes in creation order so that a read gives back the order the writer chose.
void track_attr_order(hid_t plist) {
  checked(H5I_INVALID_HID, "set attribute creation order tracking",
          [&] { return H5Pset_attr_creation_order(plist, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED); });
}

template <class T>
hid_t memory_type();
template <>
hid_t memory_type<double>() {
  return H5T_NATIVE_DOUBLE;
}
template <>
hid_t memory_type<std::int64_t>() {
  return H5T_NATIVE_INT64;
}

template <class T>
hid_t file_type();
template <>
hid_t file_type<double>() {
  return H5T_IEEE_F64LE;
}
template <>
hid_t file_type<std::int64_t>() {
  return H5T_STD_I64LE;
}

// File and memory dataspaces selecting [start, start + count); with an empty count both select nothing,
// so that a rank without data still joins a collective transfer.
std::pair<Handle, Handle> slab_spaces(hid_t dataset, const std::vector<hsize_t>& start,
                                      const std::vector<hsize_t>& count) {
  Handle file_space(checked(dataset, "get dataspace", [&] { return H5Dget_space(dataset); }));
  const int rank = checked(dataset, "get rank", [&] { return H5Sget_simple_extent_ndims(file_space.get()); });
  PHI4FLOW_CHECK(static_cast<int>(start.size()) == rank && static_cast<int>(count.size()) == rank,
                 "hyperslab rank does not match dataset rank in " + describe(dataset));
  const bool empty = std::any_of(count.begin(), count.end(), [](hsize_t c) { return c == 0; });
  if (empty) {
    const hsize_t one = 1;
    Handle mem_space(checked(dataset, "create memory dataspace", [&] { return H5Screate_simple(1, &one, nullptr); }));
    checked(dataset, "select nothing", [&] { return H5Sselect_none(file_space.get()); });
    checked(dataset, "select nothing", [&] { return H5Sselect_none(mem_space.get()); });
    return {std::move(file_space), std::move(mem_space)};
  }
  checked(dataset, "select hyperslab", [&] {
    return H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  });
  Handle mem_space(
      checked(dataset, "create memory dataspace", [&] { return H5Screate_simple(rank, count.data(), nullptr); }));
  return {std::move(file_space), std::move(mem_space)};
}

template <class T>
void write_slab_impl(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count, const T* data,
                     hid_t transfer) {
  // Plain handles, not structured bindings: a lambda may not capture those before C++20 (nvcc warns).
  const auto spaces = slab_spaces(dataset, start, count);
  const hid_t file_space = spaces.first.get(), mem_space = spaces.second.get();
  const T dummy{};
  const T* buffer = data ? data : &dummy;
  checked(dataset, "write data",
          [&] { return H5Dwrite(dataset, memory_type<T>(), mem_space, file_space, transfer, buffer); });
}

template <class T>
void read_slab_impl(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count, T* data,
                    hid_t transfer) {
  const auto spaces = slab_spaces(dataset, start, count);
  const hid_t file_space = spaces.first.get(), mem_space = spaces.second.get();
  T dummy{};
  T* buffer = data ? data : &dummy;
  checked(dataset, "read data", [&] { return H5Dread(dataset, memory_type<T>(), mem_space, file_space, transfer, buffer); });
}

Handle string_type() {
  Handle type(checked(H5I_INVALID_HID, "copy string type", [] { return H5Tcopy(H5T_C_S1); }));
  checked(H5I_INVALID_HID, "make string type variable-length", [&] { return H5Tset_size(type.get(), H5T_VARIABLE); });
  checked(H5I_INVALID_HID, "set string encoding", [&] { return H5Tset_cset(type.get(), H5T_CSET_UTF8); });
  return type;
}

H5T_class_t class_of(const AttrValue& value) {
  switch (value.index()) {
    case 0:
      return H5T_INTEGER;
    case 1:
      return H5T_FLOAT;
    default:
      return H5T_STRING;
  }
}

// Strings are written and read through a char* (variable-length); numbers through their own storage.
void write_attr_value(hid_t attr, const std::string& name, const AttrValue& value) {
  const std::string what = "write attribute '" + name + "'";
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    checked(attr, what, [&] { return H5Awrite(attr, H5T_NATIVE_INT64, i); });
  } else if (const auto* x = std::get_if<double>(&value)) {
    checked(attr, what, [&] { return H5Awrite(attr, H5T_NATIVE_DOUBLE, x); });
  } else {
    const char* text = std::get<std::string>(value).c_str();
    const Handle type = string_type();
    checked(attr, what, [&] { return H5Awrite(attr, type.get(), &text); });
  }
}

bool tracks_attr_order(hid_t obj) {
  if (H5Iget_type(obj) == H5I_FILE) {
    // The file creation list does not report the root group's tracking; the root group's own list does.
    const Handle root = open_group(obj, "/");
    return tracks_attr_order(root.get());
  }
  hid_t plist = H5I_INVALID_HID;
  {
    const detail::ErrorPrintingOff quiet;
    switch (H5Iget_type(obj)) {
      case H5I_GROUP:
        plist = H5Gget_create_plist(obj);
        break;
      case H5I_DATASET:
        plist = H5Dget_create_plist(obj);
        break;
      default:
        return false;
    }
  }
  if (plist < 0) detail::throw_hdf5_error(obj, "get creation property list");
  const Handle owned(plist);
  unsigned flags = 0;
  checked(obj, "get attribute creation order flags", [&] { return H5Pget_attr_creation_order(plist, &flags); });
  return (flags & H5P_CRT_ORDER_TRACKED) != 0;
}

herr_t collect_attr_name(hid_t, const char* name, const H5A_info_t*, void* client) {
  static_cast<std::vector<std::string>*>(client)->emplace_back(name);
  return 0;
}

}  // namespace

Handle::~Handle() {
  if (id_ >= 0) {
    const detail::ErrorPrintingOff quiet;
    close_by_kind(id_);  // a destructor cannot report; close() is the checked path
  }
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    Handle discard(id_);
    id_ = std::exchange(other.id_, H5I_INVALID_HID);
  }
  return *this;
}

void Handle::close() {
  if (id_ < 0) return;
  const hid_t id = std::exchange(id_, H5I_INVALID_HID);
  const std::string what = describe(id);
  const detail::ErrorPrintingOff quiet;
  if (close_by_kind(id) < 0) throw RuntimeError("HDF5: cannot close " + what + ": " + take_error_stack());
}

namespace detail {

ErrorPrintingOff::ErrorPrintingOff() {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

ErrorPrintingOff::~ErrorPrintingOff() {
  H5Eset_auto2(H5E_DEFAULT, func_, data_);
}

void throw_hdf5_error(hid_t loc, std::string_view operation) {
  // Take the stack first: every later API call (describe) clears it.
  const std::string stack = take_error_stack();
  const std::string where = loc >= 0 ? " (" + describe(loc) + ")" : "";
  throw RuntimeError("HDF5: cannot " + std::string(operation) + where + ": " + stack);
}

}  // namespace detail

std::string describe(hid_t loc) {
  const detail::ErrorPrintingOff quiet;
  std::string object = "?", file = "?";
  if (const ssize_t n = H5Iget_name(loc, nullptr, 0); n > 0) {
    object.assign(static_cast<std::size_t>(n) + 1, '\0');
    H5Iget_name(loc, object.data(), object.size());
    object.resize(static_cast<std::size_t>(n));
  }
  if (const ssize_t n = H5Fget_name(loc, nullptr, 0); n > 0) {
    file.assign(static_cast<std::size_t>(n) + 1, '\0');
    H5Fget_name(loc, file.data(), file.size());
    file.resize(static_cast<std::size_t>(n));
  }
  H5Eclear2(H5E_DEFAULT);
  return "object '" + object + "' in file '" + file + "'";
}

bool is_hdf5_file(const std::string& path) {
  const detail::ErrorPrintingOff quiet;
  const htri_t result = H5Fis_hdf5(path.c_str());  // negative for a missing or unreadable file
  H5Eclear2(H5E_DEFAULT);
  return result > 0;
}

Handle create_file(const std::string& path, bool truncate, MPI_Comm comm) {
  Handle fcpl(
      checked(H5I_INVALID_HID, "create file creation property list", [] { return H5Pcreate(H5P_FILE_CREATE); }));
  track_attr_order(fcpl.get());
  const Handle fapl = file_access(comm);
  const unsigned flags = truncate ? H5F_ACC_TRUNC : H5F_ACC_EXCL;
  return Handle(checked(H5I_INVALID_HID, "create file '" + path + "'",
                        [&] { return H5Fcreate(path.c_str(), flags, fcpl.get(), fapl.get()); }));
}

Handle open_file(const std::string& path, bool writable, MPI_Comm comm) {
  const Handle fapl = file_access(comm);
  const unsigned flags = writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY;
  return Handle(
      checked(H5I_INVALID_HID, "open file '" + path + "'", [&] { return H5Fopen(path.c_str(), flags, fapl.get()); }));
}

void flush(hid_t file) {
  checked(file, "flush", [&] { return H5Fflush(file, H5F_SCOPE_GLOBAL); });
}

Handle create_group(hid_t loc, const std::string& name) {
  Handle gcpl(checked(loc, "create group creation property list", [] { return H5Pcreate(H5P_GROUP_CREATE); }));
  track_attr_order(gcpl.get());
  return Handle(checked(loc, "create group '" + name + "'",
                        [&] { return H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT); }));
}

Handle open_group(hid_t loc, const std::string& name) {
  return Handle(checked(loc, "open group '" + name + "'", [&] { return H5Gopen2(loc, name.c_str(), H5P_DEFAULT); }));
}

bool link_exists(hid_t loc, const std::string& name) {
  return checked(loc, "look up link '" + name + "'", [&] { return H5Lexists(loc, name.c_str(), H5P_DEFAULT); }) > 0;
}

std::vector<std::string> link_names(hid_t group) {
  H5G_info_t info;
  checked(group, "get group info", [&] { return H5Gget_info(group, &info); });
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n = checked(group, "get link name", [&] {
      return H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    });
    std::string name(static_cast<std::size_t>(n) + 1, '\0');
    checked(group, "get link name", [&] {
      return H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
    });
    name.resize(static_cast<std::size_t>(n));
    names.push_back(std::move(name));
  }
  return names;
}

template <class T>
Handle create_dataset(hid_t loc, const std::string& name, const DatasetSpec& spec) {
  const int rank = static_cast<int>(spec.dims.size());
  PHI4FLOW_CHECK(spec.max_dims.empty() || spec.max_dims.size() == spec.dims.size(), "max_dims rank for " + name);
  PHI4FLOW_CHECK(spec.chunk.empty() || spec.chunk.size() == spec.dims.size(), "chunk rank for " + name);
  PHI4FLOW_CHECK(!spec.fletcher32 || !spec.chunk.empty(), "fletcher32 needs chunked storage for " + name);
  const std::string what = "create dataset '" + name + "'";
  Handle space(checked(loc, what, [&] {
    return H5Screate_simple(rank, spec.dims.data(), spec.max_dims.empty() ? nullptr : spec.max_dims.data());
  }));
  Handle dcpl(checked(loc, what, [] { return H5Pcreate(H5P_DATASET_CREATE); }));
  track_attr_order(dcpl.get());
  if (!spec.chunk.empty()) checked(loc, what, [&] { return H5Pset_chunk(dcpl.get(), rank, spec.chunk.data()); });
  if (spec.fletcher32) checked(loc, what, [&] { return H5Pset_fletcher32(dcpl.get()); });
  // Storage is allocated when it is created (parallel HDF5 does so anyway); writing fill values into it would
  // double the I/O of a preallocated ensemble, and nothing reads storage before writing it.
  checked(loc, what, [&] { return H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER); });
  return Handle(checked(loc, what, [&] {
    return H5Dcreate2(loc, name.c_str(), file_type<T>(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT);
  }));
}

template Handle create_dataset<double>(hid_t, const std::string&, const DatasetSpec&);
template Handle create_dataset<std::int64_t>(hid_t, const std::string&, const DatasetSpec&);

Handle open_dataset(hid_t loc, const std::string& name) {
  return Handle(checked(loc, "open dataset '" + name + "'", [&] { return H5Dopen2(loc, name.c_str(), H5P_DEFAULT); }));
}

std::vector<hsize_t> extent(hid_t dataset) {
  const Handle space(checked(dataset, "get dataspace", [&] { return H5Dget_space(dataset); }));
  const int rank = checked(dataset, "get rank", [&] { return H5Sget_simple_extent_ndims(space.get()); });
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  checked(dataset, "get dimensions", [&] { return H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr); });
  return dims;
}

void set_extent(hid_t dataset, const std::vector<hsize_t>& dims) {
  checked(dataset, "change extent", [&] { return H5Dset_extent(dataset, dims.data()); });
}

Handle collective_transfer() {
  Handle dxpl(checked(H5I_INVALID_HID, "create transfer property list", [] { return H5Pcreate(H5P_DATASET_XFER); }));
  checked(H5I_INVALID_HID, "select collective MPI-IO transfers",
          [&] { return H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE); });
  return dxpl;
}

void write_slab(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count, const double* data,
                hid_t transfer) {
  write_slab_impl(dataset, start, count, data, transfer);
}

void write_slab(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count,
                const std::int64_t* data, hid_t transfer) {
  write_slab_impl(dataset, start, count, data, transfer);
}

void read_slab(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count, double* data,
               hid_t transfer) {
  read_slab_impl(dataset, start, count, data, transfer);
}

void read_slab(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count, std::int64_t* data,
               hid_t transfer) {
  read_slab_impl(dataset, start, count, data, transfer);
}

void write_attr(hid_t obj, const std::string& name, const AttrValue& value) {
  const std::string what = "write attribute '" + name + "'";
  if (checked(obj, what, [&] { return H5Aexists(obj, name.c_str()); }) > 0) {
    // Same kind: overwrite in place, which keeps the object header the same size (the ensemble's commit
    // record is rewritten every block). Other kind: replace.
    const Handle attr(checked(obj, what, [&] { return H5Aopen(obj, name.c_str(), H5P_DEFAULT); }));
    const Handle type(checked(obj, what, [&] { return H5Aget_type(attr.get()); }));
    const H5T_class_t kind = checked(obj, what, [&] { return H5Tget_class(type.get()); });
    const bool variable = kind == H5T_STRING && checked(obj, what, [&] { return H5Tis_variable_str(type.get()); });
    if (kind == class_of(value) && (kind != H5T_STRING || variable)) {
      write_attr_value(attr.get(), name, value);
      return;
    }
    checked(obj, what, [&] { return H5Adelete(obj, name.c_str()); });
  }
  const Handle space(checked(obj, what, [] { return H5Screate(H5S_SCALAR); }));
  Handle text_type;  // owns the string type; the numeric types are predefined
  hid_t type = H5I_INVALID_HID;
  switch (value.index()) {
    case 0:
      type = H5T_STD_I64LE;
      break;
    case 1:
      type = H5T_IEEE_F64LE;
      break;
    default:
      text_type = string_type();
      type = text_type.get();
  }
  const Handle attr(
      checked(obj, what, [&] { return H5Acreate2(obj, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT); }));
  write_attr_value(attr.get(), name, value);
}

void write_attrs(hid_t obj, const AttrList& attrs) {
  for (const auto& [name, value] : attrs) write_attr(obj, name, value);
}

AttrValue read_attr(hid_t obj, const std::string& name) {
  const std::string what = "read attribute '" + name + "'";
  const Handle attr(checked(obj, what, [&] { return H5Aopen(obj, name.c_str(), H5P_DEFAULT); }));
  const Handle space(checked(obj, what, [&] { return H5Aget_space(attr.get()); }));
  const Handle type(checked(obj, what, [&] { return H5Aget_type(attr.get()); }));
  const H5T_class_t kind = checked(obj, what, [&] { return H5Tget_class(type.get()); });
  const hssize_t n = checked(obj, what, [&] { return H5Sget_simple_extent_npoints(space.get()); });
  if (n == 1) {
    if (kind == H5T_INTEGER) {
      std::int64_t value = 0;
      checked(obj, what, [&] { return H5Aread(attr.get(), H5T_NATIVE_INT64, &value); });
      return value;
    }
    if (kind == H5T_FLOAT) {
      double value = 0;
      checked(obj, what, [&] { return H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value); });
      return value;
    }
    if (kind == H5T_STRING && checked(obj, what, [&] { return H5Tis_variable_str(type.get()); }) > 0) {
      char* text = nullptr;
      checked(obj, what, [&] { return H5Aread(attr.get(), type.get(), &text); });
      std::string value = text ? text : "";
      H5free_memory(text);
      return value;
    }
    if (kind == H5T_STRING) {
      const auto size = static_cast<std::size_t>(checked(obj, what, [&] {
        const std::size_t bytes = H5Tget_size(type.get());
        return bytes == 0 ? -1LL : static_cast<long long>(bytes);  // H5Tget_size reports failure as 0
      }));
      std::string value(size, '\0');
      checked(obj, what, [&] { return H5Aread(attr.get(), type.get(), value.data()); });
      value.resize(std::min(value.find('\0'), value.size()));
      if (H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD) value.erase(value.find_last_not_of(' ') + 1);
      return value;
    }
  }
  throw InputError("attribute '" + name + "' of " + describe(obj) +
                   " is not a single integer, real number or string, which is all phi4flow reads");
}

AttrList read_attrs(hid_t obj) {
  const H5_index_t order = tracks_attr_order(obj) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  std::vector<std::string> names;
  hsize_t position = 0;
  checked(obj, "list attributes",
          [&] { return H5Aiterate2(obj, order, H5_ITER_INC, &position, collect_attr_name, &names); });
  AttrList attrs;
  for (const auto& name : names) attrs.emplace_back(name, read_attr(obj, name));
  return attrs;
}

AttrList read_checked_format(hid_t file, const std::string& path, const std::string& format, std::int64_t version) {
  AttrList root = read_attrs(file);
  const auto* found = has_attr(root, "format") ? std::get_if<std::string>(&find_attr(root, "format", "")) : nullptr;
  if (!found) throw InputError("'" + path + "' is an HDF5 file but not a " + format + " file (no format attribute)");
  if (*found != format) throw InputError("'" + path + "' is a '" + *found + "' file, not a " + format + " file");
  const std::int64_t stored = attr_int(root, "format_version", "/ of '" + path + "'");
  if (stored != version)
    throw InputError("'" + path + "' has " + format + " format_version " + std::to_string(stored) +
                     "; this phi4flow reads version " + std::to_string(version));
  // Callers get back what their writer was given: the format attributes are the file's own business.
  root.erase(std::remove_if(root.begin(), root.end(),
                            [](const auto& a) { return a.first == "format" || a.first == "format_version"; }),
             root.end());
  return root;
}

}  // namespace phi4flow::io
