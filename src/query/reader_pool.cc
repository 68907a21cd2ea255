#include "query/reader_pool.h"

#include "common/thread.h"

namespace cn::query {

ReaderPool::ReaderPool(Opener open, int threads, std::size_t max_queued)
    : open_(std::move(open)), max_queued_(max_queued) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Run(); });
}

ReaderPool::~ReaderPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool ReaderPool::Submit(Job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ || jobs_.size() >= max_queued_) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

std::size_t ReaderPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.size();
}

void ReaderPool::Run() {
  SetThreadName("cn-reader");
  std::unique_ptr<SqlReader> reader;
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping and drained
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Status status;
    if (!reader) {
      auto opened = open_();
      if (opened.ok()) {
        reader = std::move(*opened);
      } else {
        status = opened.status();
      }
    }
    job(reader.get(), status);
  }
}

}  // namespace cn::query
