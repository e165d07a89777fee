// Metadata values as stored in HDF5 attributes (integer, real or string), lists of them, and look-ups
// with errors that name what is missing. Free of HDF5 headers, so that code which only builds metadata
// (the app, the samplers) does not depend on HDF5.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace phi4flow::io {

/// One attribute value: every piece of metadata is an integer, a real number or a string.
using AttrValue = std::variant<std::int64_t, double, std::string>;
/// Attributes of one object, in the order they were written.
using AttrList = std::vector<std::pair<std::string, AttrValue>>;

/// \brief The value of attribute `name` in `attrs`; throws InputError naming `name` and `where` if missing.
const AttrValue& find_attr(const AttrList& attrs, const std::string& name, const std::string& where);

/// \brief True if `attrs` holds an attribute called `name`.
bool has_attr(const AttrList& attrs, const std::string& name);

/// \brief Integer attribute `name`; InputError naming `name` and `where` if missing or not an integer.
std::int64_t attr_int(const AttrList& attrs, const std::string& name, const std::string& where);

/// \brief Real attribute `name` (an integer one is converted); InputError if missing or a string.
double attr_real(const AttrList& attrs, const std::string& name, const std::string& where);

/// \brief String attribute `name`; InputError naming `name` and `where` if missing or not a string.
const std::string& attr_string(const AttrList& attrs, const std::string& name, const std::string& where);

/// \brief The value as text, as a user would write it in an input file (reals with all 17 digits).
std::string to_string(const AttrValue& value);

/// \brief InputError unless every attribute of `expected` is in `found` with the same value (numbers compared as
/// numbers); the message names `source` (e.g. "checkpoint 'x.h5'"), the attribute and both values.
void require_match(const AttrList& expected, const AttrList& found, const std::string& source);

/// \brief The list as bytes (names, kinds and values exactly; reals bit for bit) and back: how metadata travels
/// between ranks.
std::string serialize(const AttrList& attrs);
AttrList deserialize(const std::string& bytes);

}  // namespace phi4flow::io
