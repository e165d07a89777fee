// The symmetry file (docs/file-format.md, "Symmetry files"): one serial HDF5 file, built under a temporary name.
#include "phi4flow/io/symmetry_file.hpp"

#include <cstdio>

#include "hdf5.hpp"
#include "phi4flow/error.hpp"

namespace phi4flow::io {

void write_symmetry_file(const std::string& path, const AttrList& root, const AttrList& model,
                         const std::vector<LatticeSymmetry>& group, const SymmetryRecords& r) {
  // Written under a temporary name and renamed: an interrupted write leaves no partial file.
  const std::string tmp = path + ".tmp";
  {
    Handle file = create_file(tmp, true);
    write_attr(file.get(), "format", std::string("phi4flow-symmetry"));
    write_attr(file.get(), "format_version", std::int64_t{1});
    write_attrs(file.get(), root);
    write_attrs(create_group(file.get(), "model").get(), model);
    const hsize_t n = r.action.size(), images = group.size();
    auto reals = [&](const std::string& name, const std::vector<hsize_t>& dims, const std::vector<double>& data) {
      DatasetSpec spec;
      spec.dims = dims;
      write_slab(create_dataset<double>(file.get(), name, spec).get(), std::vector<hsize_t>(dims.size(), 0),
                     dims, data.data());
    };
    auto integers = [&](const std::string& name, const std::vector<hsize_t>& dims,
                        const std::vector<std::int64_t>& data) {
      DatasetSpec spec;
      spec.dims = dims;
      write_slab(create_dataset<std::int64_t>(file.get(), name, spec).get(),
                     std::vector<hsize_t>(dims.size(), 0), dims, data.data());
    };
    std::vector<std::int64_t> elements;
    for (const LatticeSymmetry& g : group) elements.insert(elements.end(), {g.d, g.t1, g.t2});
    integers("symmetry", {images, 3}, elements);
    integers("chain", {n}, r.chain);
    integers("record", {n}, r.record);
    reals("action", {n}, r.action);
    reals("log_q", {n, 2, images}, r.log_q);
    reals("spread", {n}, r.spread);
    reals("sign_spread", {n}, r.sign_spread);
    flush(file.get());
    file.close();
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw RuntimeError("cannot rename '" + tmp + "' to '" + path + "'");
  }
}

}  // namespace phi4flow::io
