// Atomic checkpoint files: write a temporary file, force it to disk, rename it over the old checkpoint.
#include "phi4flow/io/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "phi4flow/error.hpp"
#include "hdf5.hpp"

namespace phi4flow::io {

namespace {

constexpr const char* kFormat = "phi4flow-checkpoint";
constexpr std::int64_t kFormatVersion = 1;
constexpr hsize_t kArrayChunk = 65536;  // 512 KiB chunks, each with its own checksum
constexpr const char* kMetaGroups[] = {"model", "training", "rng"};

bool valid_name(const std::string& name) {
  return !name.empty() && name != "." && name.find('/') == std::string::npos;
}

// The rename is only atomic with respect to a crash if the data it points to is already on disk.
void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw RuntimeError("cannot open '" + path + "' to sync it: " + std::strerror(errno));
  const int status = ::fsync(fd);
  const int sync_errno = errno;
  ::close(fd);
  if (status != 0) throw RuntimeError("cannot sync '" + path + "' to disk: " + std::strerror(sync_errno));
}

// Makes the rename itself durable. Best effort: some file systems refuse fsync on directories, and the
// checkpoint is complete either way.
void sync_directory(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_contents(const std::string& tmp, const Checkpoint& ckpt) {
  Handle file = create_file(tmp, true);
  write_attr(file.get(), "format", std::string(kFormat));
  write_attr(file.get(), "format_version", kFormatVersion);
  write_attrs(file.get(), ckpt.root);
  const AttrList* meta[] = {&ckpt.model, &ckpt.training, &ckpt.rng};
  for (int g = 0; g < 3; ++g) write_attrs(create_group(file.get(), kMetaGroups[g]).get(), *meta[g]);
  {
    const Handle counters = create_group(file.get(), "counters");
    for (const auto& [name, value] : ckpt.counters) write_attr(counters.get(), name, value);
    const Handle arrays = create_group(file.get(), "arrays");
    for (const auto& [name, values] : ckpt.arrays) {
      DatasetSpec spec;
      spec.dims = {values.size()};
      if (!values.empty()) {  // a chunk may not be empty, so an empty array stays contiguous and unchecked
        spec.chunk = {std::min<hsize_t>(values.size(), kArrayChunk)};
        spec.fletcher32 = true;
      }
      const Handle dataset = create_dataset<double>(arrays.get(), name, spec);
      write_slab(dataset.get(), {0}, {values.size()}, values.data());
    }
  }
  flush(file.get());
  file.close();
}

}  // namespace

void write_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  for (const auto& entry : ckpt.arrays)
    PHI4FLOW_CHECK(valid_name(entry.first), "checkpoint array '" + entry.first + "'");
  for (const auto& entry : ckpt.counters)
    PHI4FLOW_CHECK(valid_name(entry.first), "checkpoint counter '" + entry.first + "'");
  PHI4FLOW_CHECK(!has_attr(ckpt.root, "format") && !has_attr(ckpt.root, "format_version"),
                 "checkpoint root attributes may not set format or format_version");
  const std::string tmp = path + ".tmp";
  try {
    write_contents(tmp, ckpt);
    sync_file(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    throw RuntimeError("cannot rename checkpoint '" + tmp + "' to '" + path + "': " + reason);
  }
  sync_directory(path);
}

Checkpoint read_checkpoint(const std::string& path) {
  std::error_code ignored;
  if (!std::filesystem::exists(path, ignored)) throw InputError("checkpoint '" + path + "' does not exist");
  if (!is_hdf5_file(path)) throw InputError("checkpoint '" + path + "' is not an HDF5 file");
  Checkpoint ckpt;
  try {
    const Handle file = open_file(path, false);
    ckpt.root = read_checked_format(file.get(), path, kFormat, kFormatVersion);
    AttrList* meta[] = {&ckpt.model, &ckpt.training, &ckpt.rng};
    for (int g = 0; g < 3; ++g) *meta[g] = read_attrs(open_group(file.get(), kMetaGroups[g]).get());
    const Handle counters = open_group(file.get(), "counters");
    for (const auto& [name, value] : read_attrs(counters.get())) {
      const auto* count = std::get_if<std::int64_t>(&value);
      if (!count) throw InputError("checkpoint '" + path + "': counter '" + name + "' is not an integer");
      ckpt.counters[name] = *count;
    }
    const Handle arrays = open_group(file.get(), "arrays");
    for (const auto& name : link_names(arrays.get())) {
      const Handle dataset = open_dataset(arrays.get(), name);
      const auto dims = extent(dataset.get());
      if (dims.size() != 1) throw InputError("checkpoint '" + path + "': array '" + name + "' is not one-dimensional");
      std::vector<double> values(dims[0]);
      read_slab(dataset.get(), {0}, {dims[0]}, values.data());
      ckpt.arrays[name] = std::move(values);
    }
  } catch (const RuntimeError& e) {
    throw InputError("checkpoint '" + path + "' is truncated or corrupt: " + e.what());
  }
  return ckpt;
}

}  // namespace phi4flow::io
