// Structured log lines on stderr: text for people, one JSON object per line for machines.
// Results meant for the operator (tables, summaries, prompts) go to stdout instead.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ferry::core {

enum class log_format { text, json };
enum class log_level { debug, info, warn, error };

using log_fields = std::vector<std::pair<std::string, nlohmann::json>>;

class logger {
public:
    static logger& instance();

    void configure(log_format format, log_level min_level) {
        format_ = format;
        min_level_ = min_level;
    }
    log_format format() const { return format_; }
    bool enabled(log_level level) const { return level >= min_level_; }

    void log(log_level level, std::string_view message, const log_fields& fields = {});
    void debug(std::string_view m, const log_fields& f = {}) { log(log_level::debug, m, f); }
    void info(std::string_view m, const log_fields& f = {}) { log(log_level::info, m, f); }
    void warn(std::string_view m, const log_fields& f = {}) { log(log_level::warn, m, f); }
    void error(std::string_view m, const log_fields& f = {}) { log(log_level::error, m, f); }

private:
    log_format format_ = log_format::text;
    log_level min_level_ = log_level::info;
};

inline logger& log() { return logger::instance(); }

// A UTC timestamp, RFC 3339 with milliseconds.
std::string utc_now_rfc3339();

}  // namespace ferry::core
