#include "app.hpp"

#include <algorithm>
#include <cctype>
#include <iostream>

namespace ferry::cli {

bool confirm(const std::string& question) {
    for (;;) {
        std::cout << question << " [y/n]: " << std::flush;
        std::string answer;
        if (!std::getline(std::cin, answer)) {
            std::cout << '\n';
            throw end_of_input{};
        }
        auto first = answer.find_first_not_of(" \t\r");
        auto last = answer.find_last_not_of(" \t\r");
        answer = first == std::string::npos ? "" : answer.substr(first, last - first + 1);
        std::transform(answer.begin(), answer.end(), answer.begin(), [](unsigned char c) { return std::tolower(c); });
        if (answer == "y" || answer == "yes") return true;
        if (answer == "n" || answer == "no") return false;
    }
}

}  // namespace ferry::cli
