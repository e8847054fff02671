#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "core/child_process.hpp"
#include "tessera/error.hpp"

namespace {

using tessera::core::ChildProcess;
using tessera::core::ChildProcessRequest;
using tessera::core::run_child_process;

ChildProcessRequest shell(const std::string& script) {
  ChildProcessRequest request;
  request.argv = {"/bin/sh", "-c", script};
  return request;
}

// Whether process `pid` is gone (or a zombie no one has reaped yet: dead all
// the same), waiting up to two seconds for SIGKILL to land.
bool gone(pid_t pid) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
      return true;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const std::size_t state = text.rfind(") ");
    if (state != std::string::npos && text.compare(state + 2, 1, "Z") == 0) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(ChildProcess, RunsWithInputAndCapturesOutputErrorAndExitCode) {
  ChildProcessRequest request = shell("cat; echo oops >&2; exit 3");
  request.input = "hello";
  const auto result = run_child_process(request);
  EXPECT_EQ(result.start_error, "");
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.output, "hello");
  EXPECT_EQ(result.error, "oops\n");
  EXPECT_FALSE(result.output_truncated);

  request = shell("echo out; echo err >&2");
  request.merge_stderr = true;
  EXPECT_EQ(run_child_process(request).output, "out\nerr\n");
}

TEST(ChildProcess, ASignalIsReportedAsShellsDo) {
  EXPECT_EQ(run_child_process(shell("kill -9 $$")).exit_code, 128 + SIGKILL);
}

TEST(ChildProcess, OutputIsBoundedAndUnreadInputDoesNotKillTheCaller) {
  ChildProcessRequest request = shell("head -c 100000 /dev/zero; head -c 100000 /dev/zero >&2");
  request.max_output_bytes = 1000;
  request.max_error_bytes = 10;
  const auto bounded = run_child_process(request);
  EXPECT_EQ(bounded.exit_code, 0);
  EXPECT_EQ(bounded.output.size(), 1000U);
  EXPECT_TRUE(bounded.output_truncated);
  EXPECT_EQ(bounded.error.size(), 10U);

  // The child exits without reading its stdin: the write fails, no SIGPIPE.
  request = shell("exit 0");
  request.input.assign(std::size_t{4} << 20, 'x');
  EXPECT_EQ(run_child_process(request).exit_code, 0);
}

TEST(ChildProcess, ATimeoutKillsTheWholeProcessGroup) {
  ChildProcessRequest request = shell("sleep 30 & echo $!; wait");
  request.timeout_seconds = 0.5;
  const auto result = run_child_process(request);
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.exit_code, -1);
  EXPECT_LT(result.seconds, 10);
  ASSERT_FALSE(result.output.empty());
  EXPECT_TRUE(gone(static_cast<pid_t>(std::stol(result.output))));
}

TEST(ChildProcess, StartErrorsNameTheProgramAndThePathIsTheChildsOwn) {
  EXPECT_EQ(run_child_process(ChildProcessRequest{}).start_error, "no command");
  ChildProcessRequest request;
  request.argv = {"no-such-program-tessera"};
  EXPECT_NE(run_child_process(request).start_error.find("cannot start 'no-such-program-tessera'"), std::string::npos);
  // sh is on the host's PATH, not on the one the child is given.
  request.argv = {"sh", "-c", "exit 0"};
  request.environment = std::vector<std::string>{"PATH=/nonexistent"};
  EXPECT_NE(run_child_process(request).start_error.find("cannot start 'sh'"), std::string::npos);
  request.environment = std::vector<std::string>{"PATH=/bin:/usr/bin", "ONLY=this"};
  request.argv = {"sh", "-c", "env"};
  const auto result = run_child_process(request);
  EXPECT_NE(result.output.find("ONLY=this"), std::string::npos);
  EXPECT_EQ(result.output.find("HOME="), std::string::npos);
  try {
    const ChildProcess child(ChildProcessRequest{});
    ADD_FAILURE() << "an empty argv started";
  } catch (const tessera::Error& error) {
    EXPECT_EQ(error.code(), tessera::ErrorCode::kInvalidInput);
  }
}

TEST(ChildProcess, IsPolledWithoutBlockingAndEndsItsGroupWhenDestroyed) {
  ChildProcessRequest request = shell("echo first; sleep 0.3; echo second >&2");
  request.merge_stderr = true;
  request.max_output_bytes = 64;
  ChildProcess child(request);
  std::string output;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!child.exited() && std::chrono::steady_clock::now() < until) {
    child.transfer(0);  // returns at once
    output += child.take_output();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(child.end(), 0);
  EXPECT_EQ(child.end(), 0);  // once only
  output += child.take_output();
  EXPECT_EQ(output, "first\nsecond\n");

  pid_t grandchild = 0;
  {
    ChildProcess sleeper(shell("sleep 30 & echo $!; wait"));
    std::string pid;
    while (pid.find('\n') == std::string::npos && std::chrono::steady_clock::now() < until) {
      sleeper.transfer(50);
      pid += sleeper.take_output();
    }
    ASSERT_FALSE(pid.empty());
    grandchild = static_cast<pid_t>(std::stol(pid));
    EXPECT_FALSE(sleeper.exited());
  }
  EXPECT_TRUE(gone(grandchild));
}

TEST(ChildProcess, ChildrenStartWithNoBlockedSignalsAndReportCpuTimeAndStreamStderr) {
  // A server's threads block SIGINT/SIGTERM; what they start must not inherit that.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  sigset_t previous;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &blocked, &previous), 0);
  ChildProcessRequest request = shell(
      "grep SigBlk /proc/self/status; echo first >&2; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; "
      "echo second >&2");
  ChildProcess child(request);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  std::string streamed;
  while (!child.exited()) {
    child.transfer(50);
    streamed += child.take_error();
  }
  EXPECT_EQ(child.end(), 0);
  streamed += child.take_error();
  EXPECT_EQ(streamed, "first\nsecond\n");
  EXPECT_TRUE(child.error().empty());  // taken
  EXPECT_EQ(child.take_output(), "SigBlk:\t0000000000000000\n");
  EXPECT_GT(child.cpu_seconds(), 0.0);
}

}  // namespace
