// Look-ups in attribute lists.
#include "phi4flow/io/attributes.hpp"

#include <cstring>
#include <iomanip>
#include <sstream>

#include "phi4flow/error.hpp"

namespace phi4flow::io {

namespace {

const char* type_name(const AttrValue& value) {
  switch (value.index()) {
    case 0:
      return "an integer";
    case 1:
      return "a real number";
    default:
      return "a string";
  }
}

[[noreturn]] void throw_wrong_type(const std::string& name, const std::string& where, const AttrValue& value,
                                   const char* expected) {
  throw InputError("attribute '" + name + "' of " + where + " is " + type_name(value) + " (" + to_string(value) +
                   "), expected " + expected);
}

}  // namespace

const AttrValue& find_attr(const AttrList& attrs, const std::string& name, const std::string& where) {
  for (const auto& [key, value] : attrs)
    if (key == name) return value;
  throw InputError("attribute '" + name + "' is missing from " + where);
}

bool has_attr(const AttrList& attrs, const std::string& name) {
  for (const auto& entry : attrs)
    if (entry.first == name) return true;
  return false;
}

std::int64_t attr_int(const AttrList& attrs, const std::string& name, const std::string& where) {
  const AttrValue& value = find_attr(attrs, name, where);
  if (const auto* i = std::get_if<std::int64_t>(&value)) return *i;
  throw_wrong_type(name, where, value, "an integer");
}

double attr_real(const AttrList& attrs, const std::string& name, const std::string& where) {
  const AttrValue& value = find_attr(attrs, name, where);
  if (const auto* x = std::get_if<double>(&value)) return *x;
  if (const auto* i = std::get_if<std::int64_t>(&value)) return static_cast<double>(*i);
  throw_wrong_type(name, where, value, "a real number");
}

const std::string& attr_string(const AttrList& attrs, const std::string& name, const std::string& where) {
  const AttrValue& value = find_attr(attrs, name, where);
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  throw_wrong_type(name, where, value, "a string");
}

std::string to_string(const AttrValue& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* s = std::get_if<std::string>(&value)) return "'" + *s + "'";
  std::ostringstream out;
  out << std::setprecision(17) << std::get<double>(value);
  return out.str();
}

void require_match(const AttrList& expected, const AttrList& found, const std::string& source) {
  for (const auto& [name, value] : expected) {
    if (!has_attr(found, name)) {
      throw InputError(source + " does not record '" + name + "': it was written by another kind of run");
    }
    const AttrValue& stored = find_attr(found, name, source);
    const bool numeric = !std::holds_alternative<std::string>(stored) && !std::holds_alternative<std::string>(value);
    const bool same = numeric ? attr_real(found, name, source) == attr_real(expected, name, source) : stored == value;
    if (!same) {
      throw InputError(source + " has " + name + " = " + to_string(stored) + ", the input asks for " +
                       to_string(value) + ": use the input it was made with, or start a new run");
    }
  }
}

namespace {
// Each attribute: name length, name, kind (the variant index), then 8 bytes, or a length and the text.
template <class T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

template <class T>
T take(const std::string& in, std::size_t& pos) {
  PHI4FLOW_CHECK(pos + sizeof(T) <= in.size(), "deserialize: truncated attribute list");
  T value;
  std::memcpy(&value, in.data() + pos, sizeof value);
  pos += sizeof value;
  return value;
}

std::string take_text(const std::string& in, std::size_t& pos) {
  const auto size = take<std::uint64_t>(in, pos);
  PHI4FLOW_CHECK(pos + size <= in.size(), "deserialize: truncated attribute list");
  std::string text = in.substr(pos, size);
  pos += size;
  return text;
}
}  // namespace

std::string serialize(const AttrList& attrs) {
  std::string bytes;
  for (const auto& [name, value] : attrs) {
    put(bytes, std::uint64_t{name.size()});
    bytes += name;
    put(bytes, static_cast<std::uint8_t>(value.index()));
    if (const auto* i = std::get_if<std::int64_t>(&value)) put(bytes, *i);
    if (const auto* x = std::get_if<double>(&value)) put(bytes, *x);
    if (const auto* text = std::get_if<std::string>(&value)) {
      put(bytes, std::uint64_t{text->size()});
      bytes += *text;
    }
  }
  return bytes;
}

AttrList deserialize(const std::string& bytes) {
  AttrList attrs;
  for (std::size_t pos = 0; pos < bytes.size();) {
    std::string name = take_text(bytes, pos);
    const auto kind = take<std::uint8_t>(bytes, pos);
    if (kind == 0)
      attrs.emplace_back(std::move(name), take<std::int64_t>(bytes, pos));
    else if (kind == 1)
      attrs.emplace_back(std::move(name), take<double>(bytes, pos));
    else
      attrs.emplace_back(std::move(name), take_text(bytes, pos));
  }
  return attrs;
}

}  // namespace phi4flow::io
