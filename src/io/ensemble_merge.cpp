// phi4flow merge: reads every input whole (fields and state), checks that they are chains of one ensemble, and
// writes them through the EnsembleWriter in one block, so the result is an ordinary, resumable ensemble file.
#include "phi4flow/io/ensemble_merge.hpp"

#include <algorithm>
#include <tuple>

#include "phi4flow/error.hpp"
#include "phi4flow/io/ensemble.hpp"
#include "phi4flow/io/provenance.hpp"
#include "phi4flow/parallel/communicator.hpp"

namespace phi4flow::io {

namespace {

// /algorithm attributes that do not change a chain: where the model file lay, how chains were spread over ranks,
// how many proposals one flow call drew.
const std::vector<std::string> kFreeAlgorithmAttrs = {"checkpoint", "chains_per_rank", "batch_size"};

AttrList without_free(AttrList attrs) {
  attrs.erase(std::remove_if(attrs.begin(), attrs.end(),
                             [](const auto& a) {
                               return std::find(kFreeAlgorithmAttrs.begin(), kFreeAlgorithmAttrs.end(), a.first) !=
                                      kFreeAlgorithmAttrs.end();
                             }),
              attrs.end());
  return attrs;
}

// The first attribute in which `b` differs from `a` (a missing one included), as a message; empty if none does.
std::string first_difference(const AttrList& a, const AttrList& b, const std::string& group, const std::string& a_name,
                             const std::string& b_name) {
  const auto differs = [&](const std::string& name) {
    if (!has_attr(a, name) || !has_attr(b, name)) return true;
    return !(find_attr(a, name, group) == find_attr(b, name, group));
  };
  const auto shown = [&](const AttrList& attrs, const std::string& name) {
    return has_attr(attrs, name) ? to_string(find_attr(attrs, name, group)) : std::string("missing");
  };
  for (const AttrList* list : {&a, &b})
    for (const auto& entry : *list)
      if (differs(entry.first))
        return "/" + group + " attribute '" + entry.first + "' is " + shown(b, entry.first) + " in '" + b_name +
               "' but " + shown(a, entry.first) + " in '" + a_name + "'";
  return {};
}

template <class Map>
std::vector<std::string> keys(const Map& map) {
  std::vector<std::string> names;
  for (const auto& entry : map) names.push_back(entry.first);
  return names;
}

void require_compatible(const Ensemble& first, const std::string& first_path, const Ensemble& e,
                        const std::string& path) {
  const std::string prefix = "cannot merge '" + path + "' with '" + first_path + "': ";
  const auto refuse = [&](const std::string& why) { throw InputError(prefix + why); };
  if (e.L != first.L) refuse("L = " + std::to_string(e.L) + " and " + std::to_string(first.L));
  for (const auto& [group, a, b] : {std::make_tuple("lattice", &first.lattice, &e.lattice),
                                    std::make_tuple("action", &first.action, &e.action),
                                    std::make_tuple("rng", &first.rng, &e.rng)})
    if (const std::string why = first_difference(*a, *b, group, first_path, path); !why.empty()) refuse(why);
  if (const std::string why =
          first_difference(without_free(first.algorithm), without_free(e.algorithm), "algorithm", first_path, path);
      !why.empty())
    refuse(why + " (of /algorithm only checkpoint, chains_per_rank and batch_size may differ)");
  if (e.has_fields != first.has_fields) refuse("one stores the fields and the other does not");
  if (keys(e.scalars) != keys(first.scalars) || keys(e.vectors) != keys(first.vectors) ||
      keys(e.state_values) != keys(first.state_values))
    refuse("they record different series (written by different versions or samplers?)");
  if (e.n_records != first.n_records)
    refuse(std::to_string(e.n_records) + " and " + std::to_string(first.n_records) +
           " complete records per chain: finish (--resume) the shorter run first");
  if (e.next_step != first.next_step)
    refuse("their chains stand at steps " + std::to_string(e.next_step) + " and " + std::to_string(first.next_step));
}

}  // namespace

void merge_ensembles(const std::vector<std::string>& inputs, const std::string& output, bool overwrite) {
  if (inputs.size() < 2) throw InputError("phi4flow merge needs at least two input ensembles");
  std::vector<Ensemble> ensembles;
  for (const auto& path : inputs) {
    if (path == output) throw InputError("the output '" + output + "' is also an input: name a new file");
    ensembles.push_back(read_ensemble(path, true));
    const Ensemble& e = ensembles.back();
    if (e.n_records == 0 || e.state_phi.size() == 0)
      throw InputError("cannot merge '" + path + "': it holds no complete block of records yet");
    require_compatible(ensembles.front(), inputs.front(), e, path);
  }

  // (input, chain) of every chain, in order of global id; a repeated id means two runs sampled the same chain.
  std::vector<std::pair<std::size_t, int>> order;
  for (std::size_t i = 0; i < ensembles.size(); ++i)
    for (int c = 0; c < ensembles[i].n_chains; ++c) order.emplace_back(i, c);
  const auto id = [&](const std::pair<std::size_t, int>& chain) {
    return ensembles[chain.first].chain_ids[static_cast<std::size_t>(chain.second)];
  };
  std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) { return id(a) < id(b); });
  for (std::size_t k = 1; k < order.size(); ++k)
    if (id(order[k]) == id(order[k - 1]))
      throw InputError("cannot merge: chain " + std::to_string(id(order[k])) + " is in both '" +
                       inputs[order[k - 1].first] + "' and '" + inputs[order[k].first] +
                       "': each task of an array needs its own run.first_chain");

  const Ensemble& first = ensembles.front();
  EnsembleLayout layout;
  layout.L = first.L;
  layout.n_chains = static_cast<int>(order.size());
  layout.local_chains = layout.n_chains;
  layout.store_fields = first.has_fields;
  layout.capacity = first.n_records;
  layout.record_scalars = keys(first.scalars);
  layout.record_vectors = keys(first.vectors);
  layout.state_values = keys(first.state_values);
  for (const auto& chain : order) layout.chain_ids.push_back(id(chain));
  layout.root = first.root;
  layout.root.erase(std::remove_if(layout.root.begin(), layout.root.end(),
                                   [](const auto& a) { return a.first == "merged_from" || a.first == "merged_at"; }),
                    layout.root.end());
  std::string sources;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    sources += inputs[i] + " (" + std::to_string(ensembles[i].n_chains) + " chains)\n";
  layout.root.emplace_back("merged_from", sources);
  layout.root.emplace_back("merged_at", utc_now());
  layout.lattice = first.lattice;
  layout.action = first.action;
  layout.algorithm = first.algorithm;
  layout.rng = first.rng;

  RecordBlock block = make_record_block(layout, static_cast<int>(first.n_records));
  block.n = static_cast<int>(first.n_records);
  block.next_step = first.next_step;
  const auto records = static_cast<std::size_t>(first.n_records);
  const auto sites = static_cast<std::size_t>(first.L) * static_cast<std::size_t>(first.L);
  const auto l = static_cast<std::size_t>(first.L);
  for (std::size_t k = 0; k < order.size(); ++k) {
    const Ensemble& e = ensembles[order[k].first];
    const auto c = static_cast<std::size_t>(order[k].second);
    for (std::size_t r = 0; r < records; ++r) {
      block.step(k, r) = e.step(c, r);
      for (std::size_t t = 0; t < l; ++t) block.gc(k, r, t) = e.gc(c, r, t);
      for (const auto& [name, series] : e.vectors)
        for (std::size_t t = 0; t < l; ++t) block.vectors.at(name)(k, r, t) = series(c, r, t);
      for (const auto& [name, series] : e.scalars) block.scalars.at(name)(k, r) = series(c, r);
      if (layout.store_fields)
        for (std::size_t s = 0; s < sites; ++s) block.phi(k, r, s) = e.phi(c, r, s);
    }
    for (std::size_t s = 0; s < sites; ++s) block.state_phi(k, s) = e.state_phi(c, s);
    for (std::size_t v = 0; v < layout.state_values.size(); ++v)
      block.state_values(k, v) = e.state_values.at(layout.state_values[v])[c];
  }
  EnsembleWriter writer = EnsembleWriter::create(Communicator::self(), output, layout, overwrite);
  writer.append(block);
  writer.close();
}

}  // namespace phi4flow::io
