// Joining ensembles of independent chains (the tasks of a job array) into one file that analyses as one run.
#pragma once

#include <string>
#include <vector>

namespace phi4flow::io {

/// \brief Write to `output` one ensemble holding every chain of `inputs`, in order of global chain id, with their
/// records and committed state, so that analysing it equals analysing one run of all those chains. InputError,
/// naming the files and the quantity, unless the inputs are ensembles of the same theory and algorithm (lattice,
/// action, random streams, every /algorithm attribute but those that do not change the chains: the checkpoint's
/// path, chains_per_rank, batch_size; so for flow MH the same model by SHA-256), with the same records per chain,
/// the same next step, and disjoint chain ids; or if `output` exists and !overwrite. One process, no MPI.
void merge_ensembles(const std::vector<std::string>& inputs, const std::string& output, bool overwrite);

}  // namespace phi4flow::io
