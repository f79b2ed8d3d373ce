// Random (version 4) UUIDs in canonical text form, cheap enough for one per copied tuple.
#pragma once

#include <array>
#include <random>
#include <string>

namespace ferry::core {

class uuid_generator {
public:
    uuid_generator();
    // Writes 36 characters (8-4-4-4-12 lowercase hex) into `out`.
    void next(std::array<char, 36>& out);
    std::string next_string();

private:
    std::mt19937_64 engine_;
};

}  // namespace ferry::core
