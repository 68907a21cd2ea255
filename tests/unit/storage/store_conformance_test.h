// StoreConformanceTest: the parameterised fixture of the shared Store suite. An implementation
// joins the suite with
//   INSTANTIATE_TEST_SUITE_P(Name, StoreConformanceTest, ::testing::Values(MyFactory()),
//                            [](const auto& param_info) { return param_info.param.name; });
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "store_test_target.h"

namespace cn::storage::testing {

class StoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  Store& store() { return target_->store(); }

  std::unique_ptr<StoreTestTarget> target_;
};

}  // namespace cn::storage::testing
