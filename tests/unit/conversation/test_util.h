// Helpers shared by the conversation tests: fixture loading and small JSON builders.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <string>

namespace cn::conversation::testing {

inline boost::json::value ParseJson(std::string_view text) {
  return boost::json::parse(text);  // tests only: a bad literal should fail loudly
}

inline boost::json::value LoadFixture(const std::string& relative) {
  std::ifstream in(std::string(CN_FIXTURES_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << relative;
  std::stringstream ss;
  ss << in.rdbuf();
  return boost::json::parse(ss.str());
}

inline std::string Str(const boost::json::value& v, std::string_view key) {
  const boost::json::value* f = v.as_object().if_contains(key);
  return f != nullptr && f->is_string() ? std::string(f->get_string()) : std::string();
}

}  // namespace cn::conversation::testing
