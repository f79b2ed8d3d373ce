// DSN parsing (spec 5.2) and password redaction.
#include <ferry/dsn.hpp>
#include <ferry/errors.hpp>

#include <doctest/doctest.h>

#include <string>
#include "../support/text.hpp"

using ferry::test::contains;

namespace {

using ferry::config_error;
using ferry::dsn;
using ferry::parse_dsn;
using ferry::redact_password;

// The message of the config_error that parsing `text` throws; fails the test if none is thrown.
std::string parse_error(const std::string& text) {
    try {
        parse_dsn(text);
    } catch (const config_error& e) {
        return e.what();
    }
    FAIL("no config_error for a malformed DSN");
    return {};
}

using param_list = std::vector<std::pair<std::string, std::string>>;

}  // namespace

TEST_SUITE("dsn") {

TEST_CASE("memory expands to the shared in-memory sqlite DSN") {
    const dsn d = parse_dsn("memory");
    CHECK(d.scheme == "sqlite");
    CHECK(d.database == "file::memory:");
    CHECK(d.params == param_list{{"_fk", "true"}, {"cache", "shared"}});
    CHECK_FALSE(d.password);
    CHECK(d.redacted() == "sqlite://file::memory:?_fk=true&cache=shared");
    CHECK(parse_dsn("  memory\n").database == "file::memory:");
}

TEST_CASE("sqlite file forms") {
    SUBCASE("relative path with options") {
        const dsn d = parse_dsn("sqlite://./data/keto.db?_fk=true&mode=rwc");
        CHECK(d.scheme == "sqlite");
        CHECK(d.database == "./data/keto.db");
        CHECK(d.host.empty());
        CHECK_FALSE(d.port);
        CHECK(d.param("_fk") == "true");
        CHECK(d.param("mode") == "rwc");
        CHECK_FALSE(d.param("missing"));
        CHECK(d.redacted() == "sqlite://./data/keto.db?_fk=true&mode=rwc");
    }
    SUBCASE("bare relative file") {
        CHECK(parse_dsn("sqlite://keto.sqlite").database == "keto.sqlite");
    }
    SUBCASE("absolute path") {
        const dsn d = parse_dsn("sqlite:///var/lib/keto/db.sqlite?_fk=true");
        CHECK(d.database == "/var/lib/keto/db.sqlite");
        CHECK(d.redacted() == "sqlite:///var/lib/keto/db.sqlite?_fk=true");
    }
    SUBCASE("in-memory forms") {
        CHECK(parse_dsn("sqlite://:memory:").database == ":memory:");
        const dsn d = parse_dsn("sqlite://file::memory:?cache=shared");
        CHECK(d.database == "file::memory:");
        CHECK(d.param("cache") == "shared");
        const dsn uri = parse_dsn("sqlite://file:keto?mode=memory&cache=shared");
        CHECK(uri.database == "file:keto");
        CHECK(uri.param("mode") == "memory");
    }
    SUBCASE("percent-encoded path") {
        const dsn d = parse_dsn("sqlite:///tmp/my%20dir/k%3Fx.db");
        CHECK(d.database == "/tmp/my dir/k?x.db");
        CHECK(parse_dsn(d.redacted()).database == d.database);
    }
    SUBCASE("scheme is lower-cased") {
        CHECK(parse_dsn("SQLite://x.db").scheme == "sqlite");
    }
}

TEST_CASE("postgres and postgresql URLs") {
    const dsn d = parse_dsn("postgres://keto:secret@db.example.com:5432/keto?sslmode=disable");
    CHECK(d.scheme == "postgres");
    CHECK(d.user == "keto");
    CHECK(d.password == "secret");
    CHECK(d.host == "db.example.com");
    CHECK(d.port == 5432u);
    CHECK(d.database == "keto");
    CHECK(d.params == param_list{{"sslmode", "disable"}});
    CHECK(d.redacted() == "postgres://keto:xxxxx@db.example.com:5432/keto?sslmode=disable");

    const dsn long_form = parse_dsn("PostgreSQL://keto@localhost/keto");
    CHECK(long_form.scheme == "postgresql");
    CHECK(long_form.user == "keto");
    CHECK_FALSE(long_form.password);
    CHECK_FALSE(long_form.port);
    CHECK(long_form.redacted() == "postgresql://keto@localhost/keto");

    const dsn no_user = parse_dsn("postgres://localhost:5433");
    CHECK(no_user.user.empty());
    CHECK(no_user.host == "localhost");
    CHECK(no_user.port == 5433u);
    CHECK(no_user.database.empty());
    CHECK(no_user.params.empty());

    const dsn empty_password = parse_dsn("postgres://keto:@h/db");
    CHECK(empty_password.password == "");
    CHECK(empty_password.redacted() == "postgres://keto:@h/db");
}

TEST_CASE("cockroach URL") {
    const dsn d = parse_dsn("cockroach://root@crdb:26257/defaultdb?sslmode=disable");
    CHECK(d.scheme == "cockroach");
    CHECK(d.user == "root");
    CHECK_FALSE(d.password);
    CHECK(d.host == "crdb");
    CHECK(d.port == 26257u);
    CHECK(d.database == "defaultdb");
    CHECK(d.param("sslmode") == "disable");
    CHECK(d.redacted() == "cockroach://root@crdb:26257/defaultdb?sslmode=disable");
}

TEST_CASE("mysql in go-sql-driver form") {
    const dsn d =
        parse_dsn("mysql://keto:secret@tcp(mysql:3306)/keto?parseTime=true&multiStatements=true");
    CHECK(d.scheme == "mysql");
    CHECK(d.user == "keto");
    CHECK(d.password == "secret");
    CHECK(d.host == "mysql");
    CHECK(d.port == 3306u);
    CHECK(d.database == "keto");
    CHECK(d.params == param_list{{"parseTime", "true"}, {"multiStatements", "true"}});
    CHECK(d.redacted() ==
          "mysql://keto:xxxxx@tcp(mysql:3306)/keto?parseTime=true&multiStatements=true");

    SUBCASE("a raw '@' in the password stays in the password") {
        const dsn at = parse_dsn("mysql://root:p@ss@word@tcp(127.0.0.1:3306)/keto");
        CHECK(at.user == "root");
        CHECK(at.password == "p@ss@word");
        CHECK(at.host == "127.0.0.1");
        CHECK_FALSE(contains(at.redacted(), "ss@word"));
    }
    SUBCASE("no user info, no port") {
        const dsn bare = parse_dsn("mysql://tcp(localhost)/keto");
        CHECK(bare.user.empty());
        CHECK_FALSE(bare.password);
        CHECK(bare.host == "localhost");
        CHECK_FALSE(bare.port);
        CHECK(bare.redacted() == "mysql://tcp(localhost)/keto");
    }
    SUBCASE("IPv6 inside tcp()") {
        const dsn v6 = parse_dsn("mysql://u:p@tcp([::1]:3307)/keto");
        CHECK(v6.host == "::1");
        CHECK(v6.port == 3307u);
        CHECK(v6.redacted() == "mysql://u:xxxxx@tcp([::1]:3307)/keto");
    }
    SUBCASE("unix socket") {
        const dsn sock = parse_dsn("mysql://keto:secret@unix(/run/mysqld/mysqld.sock)/keto");
        CHECK(sock.host == "/run/mysqld/mysqld.sock");
        CHECK_FALSE(sock.port);
        CHECK(sock.database == "keto");
        CHECK(sock.redacted() == "mysql://keto:xxxxx@unix(/run/mysqld/mysqld.sock)/keto");
    }
    SUBCASE("default address") {
        const dsn none = parse_dsn("mysql://keto:secret@/keto");
        CHECK(none.host.empty());
        CHECK(none.database == "keto");
        CHECK(none.redacted() == "mysql://keto:xxxxx@/keto");
    }
}

TEST_CASE("mysql in URL form is rendered in go-sql-driver form") {
    const dsn d = parse_dsn("mysql://keto:secret@mysql.local:3306/keto?parseTime=true");
    CHECK(d.user == "keto");
    CHECK(d.password == "secret");
    CHECK(d.host == "mysql.local");
    CHECK(d.port == 3306u);
    CHECK(d.database == "keto");
    CHECK(d.redacted() == "mysql://keto:xxxxx@tcp(mysql.local:3306)/keto?parseTime=true");
}

TEST_CASE("unknown schemes parse as URLs") {
    const dsn d = parse_dsn("oracle://scott:tiger@ora:1521/orcl");
    CHECK(d.scheme == "oracle");
    CHECK(d.host == "ora");
    CHECK(d.port == 1521u);
    CHECK(d.database == "orcl");
}

TEST_CASE("pool options are stripped, other parameters keep their order") {
    const dsn d = parse_dsn(
        "postgres://u:p@h/db?max_conns=20&sslmode=require&max_idle_conns=4&"
        "max_conn_lifetime=10s&application_name=keto&max_conn_idle_time=1m");
    CHECK(d.params == param_list{{"sslmode", "require"}, {"application_name", "keto"}});
    CHECK_FALSE(contains(d.redacted(), "max_"));

    const dsn only_pool = parse_dsn("sqlite://k.db?max_conns=1");
    CHECK(only_pool.params.empty());
    CHECK(only_pool.redacted() == "sqlite://k.db");

    const dsn mysql = parse_dsn("mysql://u:p@tcp(h:3306)/db?max_conns=5&parseTime=true");
    CHECK(mysql.params == param_list{{"parseTime", "true"}});
}

TEST_CASE("percent-decoding of user, password, database and query values") {
    const dsn d = parse_dsn(
        "postgres://us%40er:p%40ss%3Aw%2Fo%25rd@h:5432/my%2Fdb?options=-c%20search_path%3Dx&"
        "application_name=a+b");
    CHECK(d.user == "us@er");
    CHECK(d.password == "p@ss:w/o%rd");
    CHECK(d.database == "my/db");
    CHECK(d.param("options") == "-c search_path=x");
    CHECK(d.param("application_name") == "a b");

    SUBCASE("lower-case hex escapes") {
        CHECK(parse_dsn("postgres://u:p%2fq@h/db").password == "p/q");
    }
    SUBCASE("'+' is literal outside the query") {
        CHECK(parse_dsn("postgres://u:a+b@h/db").password == "a+b");
    }
    SUBCASE("the redacted form parses back to the same fields") {
        const dsn again = parse_dsn(d.redacted());
        CHECK(again.user == d.user);
        CHECK(again.database == d.database);
        CHECK(again.params == d.params);
        CHECK(again.password == "xxxxx");
    }
    SUBCASE("raw '@' and '/' in a URL password") {
        const dsn raw = parse_dsn("postgres://u:p@s/s@h:5432/db");
        CHECK(raw.password == "p@s/s");
        CHECK(raw.host == "h");
        CHECK(raw.database == "db");
    }
}

TEST_CASE("IPv6 hosts in brackets") {
    const dsn d = parse_dsn("postgres://u:p@[::1]:5432/keto");
    CHECK(d.host == "::1");
    CHECK(d.port == 5432u);
    CHECK(d.redacted() == "postgres://u:xxxxx@[::1]:5432/keto");

    const dsn no_port = parse_dsn("cockroach://root@[2001:db8::7]/defaultdb");
    CHECK(no_port.host == "2001:db8::7");
    CHECK_FALSE(no_port.port);
    CHECK(no_port.redacted() == "cockroach://root@[2001:db8::7]/defaultdb");
}

TEST_CASE("redacted() masks secrets and only secrets") {
    CHECK(parse_dsn("postgres://u@h/db").redacted() == "postgres://u@h/db");
    CHECK(parse_dsn("postgres://:pw@h/db").redacted() == "postgres://:xxxxx@h/db");

    const dsn secret_param = parse_dsn("postgres://u@h/db?password=hunter2&sslpassword=k3y");
    CHECK(secret_param.param("password") == "hunter2");
    const auto shown = secret_param.redacted();
    CHECK_FALSE(contains(shown, "hunter2"));
    CHECK_FALSE(contains(shown, "k3y"));
    CHECK(shown == "postgres://u@h/db?password=xxxxx&sslpassword=xxxxx");

    const dsn encoded = parse_dsn("postgres://u:s%40cr%2Fet@h/db");
    CHECK_FALSE(contains(encoded.redacted(), "s@cr/et"));
    CHECK_FALSE(contains(encoded.redacted(), "s%40cr%2Fet"));
}

TEST_CASE("malformed DSNs are config errors that never show the password") {
    struct bad_case {
        std::string text;
        std::string expected;  // part of the message
        std::string secret;    // must not appear in the message
    };
    const bad_case cases[] = {
        {"", "the DSN is empty", ""},
        {"   ", "the DSN is empty", ""},
        {"bob:topsecret@host/db", "no scheme", "topsecret"},
        {"host=h user=u password=topsecret dbname=keto", "no scheme", "topsecret"},
        {"://bob:topsecret@h/db", "not a scheme", "topsecret"},
        {"bob:topsecret@host://db", "not a scheme", "topsecret"},
        {"postgres://bob:topsecret@host:99999/db", "port 99999 is out of range; expected 1-65535",
         "topsecret"},
        {"postgres://bob:topsecret@host:0/db", "port 0 is out of range", "topsecret"},
        {"postgres://bob:topsecret@host:123456789012345678901234/db", "out of range",
         "topsecret"},
        {"postgres://bob:topsecret@host:abc/db", "port is not a number", "topsecret"},
        {"postgres://bob:topsecret@host:/db", "port after ':' is empty", "topsecret"},
        {"postgres://bob:top?secret@host:5432/db", "port is not a number", "secret@host"},
        {"postgres://bob:topsecret@::1:5432/db", "IPv6 address in brackets", "topsecret"},
        {"postgres://bob:topsecret@[::1:5432/db", "no closing ']'", "topsecret"},
        {"postgres://bob:topsecret@[::1]5432/db", "after the IPv6 address", "topsecret"},
        {"postgres://bob:top%zzsecret@host/db", "the password contains a '%'", "top%zzsecret"},
        {"postgres://bob:topsecret@host/d%4", "the database name contains a '%'", "topsecret"},
        {"postgres://bob:topsecret@host/db?x=%G1", "query parameter \"x\"", "topsecret"},
        {"mysql://bob:topsecret@tcp(host:3306/db", "'tcp(' has no closing ')'", "topsecret"},
        {"mysql://bob:top@secret@tcp(host:3306/db", "'tcp(' has no closing ')'", "secret"},
        {"mysql://bob:topsecret@tcp(host:99999)/db", "port 99999 is out of range", "topsecret"},
        {"mysql://bob:topsecret@tcp(host:3306)db", "expected '/' after the closing ')'",
         "topsecret"},
        {"mysql://bob:topsecret@unix()/db", "names no socket path", "topsecret"},
        {"sqlite://?_fk=true", "names no database file", ""},
        {"sqlite://x.db?_auth_pass=topsecret&y=%", "query parameter \"y\"", "topsecret"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.text);
        const auto message = parse_error(c.text);
        CAPTURE(message);
        CHECK(message.rfind("invalid DSN \"", 0) == 0);
        CHECK(contains(message, c.expected));
        CHECK(message.find('\n') == std::string::npos);
        if (!c.secret.empty()) CHECK_FALSE(contains(message, c.secret));
    }
}

TEST_CASE("the port error quotes the redacted DSN") {
    CHECK(parse_error("postgres://bob:hunter2@host:99999/db") ==
          "invalid DSN \"postgres://bob:xxxxx@host:99999/db\": port 99999 is out of range; "
          "expected 1-65535");
}

TEST_CASE("redact_password replaces raw and encoded forms") {
    const dsn d = parse_dsn("postgres://keto:p%40ss%2Fw%20rd@h/db");
    REQUIRE(d.password == "p@ss/w rd");
    const std::string message =
        "auth failed for p@ss/w rd; url postgres://keto:p%40ss%2Fw%20rd@h/db, lower "
        "p%40ss%2fw%20rd, query p%40ss%2Fw+rd";
    const auto cleaned = redact_password(message, d);
    CHECK(cleaned ==
          "auth failed for xxxxx; url postgres://keto:xxxxx@h/db, lower xxxxx, query xxxxx");

    SUBCASE("every occurrence") {
        const dsn simple = parse_dsn("mysql://u:hunter2@tcp(h:3306)/db");
        CHECK(redact_password("hunter2 hunter2hunter2", simple) == "xxxxx xxxxxxxxxx");
    }
    SUBCASE("no password: unchanged") {
        const dsn none = parse_dsn("postgres://u@h/db");
        CHECK(redact_password("u@h said no", none) == "u@h said no");
        const dsn empty = parse_dsn("postgres://u:@h/db");
        CHECK(redact_password("u@h said no", empty) == "u@h said no");
    }
    SUBCASE("secret query parameters too") {
        const dsn param = parse_dsn("sqlite://k.db?_auth_user=a&_auth_pass=s3cr3t");
        CHECK(redact_password("bad pass s3cr3t", param) == "bad pass xxxxx");
    }
}

}  // TEST_SUITE
