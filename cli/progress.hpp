#pragma once

#include <chrono>
#include <cstddef>
#include <iostream>
#include <string>

namespace tessera::cli {

// A one-line progress bar on stderr, redrawn at most ten times a second.
// Counts items (with a rate) by default; with a `unit` ("%"), a quantity and
// a note on the current step instead.
class ProgressBar {
 public:
  ProgressBar(std::string label, std::size_t total, bool enabled, std::string unit = {})
      : label_(std::move(label)),
        total_(total),
        enabled_(enabled),
        unit_(std::move(unit)),
        start_(std::chrono::steady_clock::now()) {}

  void update(std::size_t done, std::string note = {}) {
    done_ = done;
    note_ = std::move(note);
    const auto now = std::chrono::steady_clock::now();
    if (!enabled_ || now - last_draw_ < std::chrono::milliseconds(100)) {
      return;
    }
    last_draw_ = now;
    draw();
  }

  void finish() {
    if (enabled_) {
      draw();
      std::cerr << "\n";
    }
  }

 private:
  void draw() const {
    constexpr int kWidth = 30;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0.0;
    std::cerr << "\r" << label_ << " [";
    const double fraction = total_ > 0 ? std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_)) : 0.0;
    const int filled = static_cast<int>(fraction * kWidth);
    for (int n = 0; n < kWidth; ++n) {
      std::cerr << (n < filled ? '#' : '.');
    }
    std::cerr << "] " << done_;
    if (total_ > 0 && unit_.empty()) {
      std::cerr << "/" << total_;
    }
    if (unit_.empty()) {
      std::cerr << " items, " << static_cast<long>(rate) << "/s";
    } else {
      // Padded so a shorter note overwrites a longer one.
      std::cerr << unit_ << " " << note_ << std::string(note_.size() < 40 ? 40 - note_.size() : 0, ' ');
    }
    std::cerr << std::flush;
  }

  std::string label_;
  std::size_t total_;
  bool enabled_;
  std::string unit_;
  std::string note_;
  std::size_t done_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace tessera::cli
