#include <ferry/core/log.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace ferry::core {

logger& logger::instance() {
    static logger the_logger;
    return the_logger;
}

std::string utc_now_rfc3339() {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto secs = system_clock::to_time_t(now);
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}

namespace {

const char* level_name(log_level level) {
    switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warning";
    case log_level::error: return "error";
    }
    return "info";
}

}  // namespace

void logger::log(log_level level, std::string_view message, const log_fields& fields) {
    if (!enabled(level)) return;
    std::string line;
    if (format_ == log_format::json) {
        nlohmann::json j;
        j["time"] = utc_now_rfc3339();
        j["level"] = level_name(level);
        j["msg"] = message;
        for (const auto& [k, v] : fields) j[k] = v;
        // Invalid UTF-8 from legacy rows must not abort logging: replace, don't throw.
        line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
        line = std::string(level_name(level)) + ": " + std::string(message);
        for (const auto& [k, v] : fields)
            line += " " + k + "=" + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    line += '\n';
    std::cerr << line << std::flush;
}

}  // namespace ferry::core
