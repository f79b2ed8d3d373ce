#include <ferry/core/uuid.hpp>

namespace ferry::core {

// shard_id only needs to be unique per (shard_id, nid) key, not unpredictable: a 64-bit
// Mersenne Twister seeded from the OS gives 122 random bits per UUID at a few ns each,
// where reading /dev/urandom per tuple would dominate the copy.
uuid_generator::uuid_generator() {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    engine_.seed(seq);
}

void uuid_generator::next(std::array<char, 36>& out) {
    static constexpr char hex[] = "0123456789abcdef";
    std::uint64_t hi = engine_(), lo = engine_();
    hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
    lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
    std::size_t pos = 0;
    auto put = [&](std::uint64_t word, int nibbles_from, int nibbles_to) {
        for (int n = nibbles_from; n < nibbles_to; ++n) out[pos++] = hex[(word >> (60 - 4 * n)) & 0xf];
    };
    put(hi, 0, 8);
    out[pos++] = '-';
    put(hi, 8, 12);
    out[pos++] = '-';
    put(hi, 12, 16);
    out[pos++] = '-';
    put(lo, 0, 4);
    out[pos++] = '-';
    put(lo, 4, 16);
}

std::string uuid_generator::next_string() {
    std::array<char, 36> buf;
    next(buf);
    return {buf.begin(), buf.end()};
}

}  // namespace ferry::core
