// ReaderPool: the threads the read side's queries run on, each with its own SqlReader
// (Store::OpenReader), so a slow query never runs on a proxy I/O thread and never holds the
// writer up. Jobs queue in FIFO order; a full queue refuses new jobs (the API answers 503)
// rather than letting a burst of dashboard clients pile up unbounded work.
//
// Thread-safety: Submit() from any thread. Jobs run on pool threads; a job's callback must
// hand results back to its own thread (net posts to the session's executor).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"
#include "storage/reader.h"

namespace cn::query {

class ReaderPool {
 public:
  using Opener = std::function<StatusOr<std::unique_ptr<SqlReader>>()>;
  // A job gets the thread's reader, or nullptr with the reason when none could be opened (each
  // job retries opening: the database may be back).
  using Job = std::function<void(SqlReader* reader, const Status& reader_status)>;

  ReaderPool(Opener open, int threads, std::size_t max_queued);
  ~ReaderPool();  // finishes queued jobs, then joins
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  // False when the queue is full or the pool is stopping; the job is then not run.
  bool Submit(Job job);
  std::size_t queued() const;

 private:
  void Run();

  Opener open_;
  const std::size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cn::query
