#include "common/header.h"

#include "common/ascii.h"

namespace cn {

std::vector<std::pair<std::string_view, std::string>> MergeRepeatedHeaders(const Headers& headers,
                                                                           bool* repeated) {
  std::vector<std::pair<std::string_view, std::string>> merged;
  if (repeated != nullptr) *repeated = false;
  for (const Header& h : headers) {
    auto it = merged.begin();
    while (it != merged.end() && !EqualsIgnoreCase(it->first, h.name)) ++it;
    if (it == merged.end()) {
      merged.emplace_back(h.name, h.value);
    } else {
      if (repeated != nullptr) *repeated = true;
      it->second += ", ";
      it->second += h.value;
    }
  }
  return merged;
}

}  // namespace cn
