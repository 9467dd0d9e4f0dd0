/* tests/unit/test_config.c — configuration loading and validation (server/base/config.c).
 * The full and minimal configs in tests/unit/data parse with the right values and defaults;
 * contrib/myna.conf is accepted up to its (absent) certificate; each broken config gives
 * the right "FILE:LINE: message"; module sections are checked against option tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/base/config.h"

static char tmpdir[64];

static int setup(void **state)
{
    char p[128];
    strcpy(tmpdir, "/tmp/myna-config-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(p, sizeof(p), "%s/c.crt", tmpdir);
    FILE *f = fopen(p, "w");
    fputs("x\n", f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/c.key", tmpdir);
    f = fopen(p, "w");
    fputs("x\n", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    char p[128];
    const char *files[] = {"c.crt", "c.key", "t.conf", "inc.conf", "bot.so"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", tmpdir, files[i]);
        unlink(p);
    }
    rmdir(tmpdir);
    return 0;
}

static void test_good(void **state)
{
    struct config c;
    char err[512];
    int rc = config_load(BASE_TEST_DATA "/good.conf", &c, err, sizeof(err));
    if (rc != 0)
        fail_msg("good.conf: %s", err);
    char *dir = realpath(BASE_TEST_DATA, NULL);
    char want[1024];

    snprintf(want, sizeof(want), "%s/var/data", dir);
    assert_string_equal(c.data_dir, want);
    snprintf(want, sizeof(want), "%s/good.conf", dir);
    assert_string_equal(c.path, want);
    assert_int_equal(c.store_map_mb, 64);
    assert_int_equal(c.log_level, MYNA_LOG_DEBUG);
    assert_false(c.log_syslog);

    assert_int_equal(c.nhosts, 2);
    assert_string_equal(c.hosts[0].domain, "example.com");
    snprintf(want, sizeof(want), "%s/certs/dummy.crt", dir);
    assert_string_equal(c.hosts[0].certificate, want);
    assert_string_equal(c.hosts[0].modules[0], "disco");
    assert_string_equal(c.hosts[0].modules[2], "version");
    assert_null(c.hosts[0].modules[3]);
    assert_string_equal(c.hosts[1].certificate, "/dev/null");
    assert_string_equal(c.hosts[1].modules[1], "muc");
    assert_null(c.hosts[1].modules[2]);
    assert_ptr_equal(config_find_host(&c, "muc-host.example"), &c.hosts[1]);
    assert_null(config_find_host(&c, "other.example"));

    assert_int_equal(c.nlistens, 4);
    assert_int_equal(c.listens[1].type, LISTEN_C2S);
    assert_int_equal(c.listens[1].tls, TLS_DIRECT);
    assert_string_equal(c.listens[1].address, "::1");
    assert_int_equal(c.listens[2].type, LISTEN_S2S);
    assert_int_equal(c.listens[2].tls, TLS_STARTTLS); /* default for s2s */
    assert_string_equal(c.listens[2].address, "0.0.0.0");
    assert_int_equal(c.listens[3].type, LISTEN_COMPONENT);
    assert_int_equal(c.listens[3].tls, TLS_NONE);
    assert_int_equal(c.listens[3].port, 5347);
    assert_string_equal(c.listens[3].address, "127.0.0.1"); /* components: local by default */
    /* The top-level tls_record_layer is every listener's default; a listener may differ. */
    assert_int_equal(c.tls_record_layer, TLS_RECORDS_OPENSSL);
    assert_int_equal(c.listens[0].record_layer, TLS_RECORDS_COMPACT);
    assert_int_equal(c.listens[1].record_layer, TLS_RECORDS_OPENSSL);
    assert_int_equal(c.listens[3].record_layer, TLS_RECORDS_OPENSSL);

    snprintf(want, sizeof(want), "%s/mods", dir);
    assert_string_equal(c.module_path, want);
    assert_int_equal(c.c2s_stanza_size, 65536);
    assert_int_equal(c.c2s_max_depth, 32);
    assert_int_equal(c.c2s_max_attrs, 16);
    assert_int_equal(c.auth_timeout, 10);
    assert_int_equal(c.max_sessions, 500);
    assert_true(c.allow_registration);
    config_free(&c);
    free(dir);
}

static void test_minimal_defaults(void **state)
{
    struct config c;
    char err[512];
    if (config_load(BASE_TEST_DATA "/minimal.conf", &c, err, sizeof(err)) != 0)
        fail_msg("minimal.conf: %s", err);
    char *dir = realpath(BASE_TEST_DATA, NULL);
    char want[1024];
    snprintf(want, sizeof(want), "%s/data", dir);
    assert_string_equal(c.data_dir, want);
    assert_int_equal(c.store_map_mb, 1024);
    assert_int_equal(c.log_level, MYNA_LOG_INFO);
    assert_int_equal(c.nhosts, 1);
    assert_string_equal(c.hosts[0].modules[0], "disco");
    assert_int_equal(c.nlistens, 1);
    assert_int_equal(c.listens[0].port, 5222);
    assert_int_equal(c.listens[0].tls, TLS_STARTTLS);
    assert_int_equal(c.listens[0].record_layer, TLS_RECORDS_COMPACT);
    assert_string_equal(c.module_path, MYNA_MODULE_DIR);
    assert_int_equal(c.c2s_stanza_size, 262144);
    assert_int_equal(c.c2s_max_depth, 64);
    assert_int_equal(c.c2s_max_attrs, 64);
    assert_int_equal(c.auth_timeout, 30);
    assert_int_equal(c.max_sessions, 19000);
    assert_int_equal(c.sm_resume_timeout, 300);
    assert_int_equal(c.sm_max_unacked, 5000);
    assert_int_equal(c.sm_max_unacked_bytes, 4 << 20);
    assert_null(c.hosts[0].sm_location);
    assert_null(c.listens[0].sm_location);
    assert_false(c.allow_registration);
    /* The HTTP limits' defaults are the values that were fixed before they were settings;
     * the per-address ones are off (behind a proxy every peer is the proxy). */
    assert_int_equal(c.http.max_header_size, 8192);
    assert_int_equal(c.http.max_body_size, 1 << 20);
    assert_int_equal(c.http.request_timeout, 10);
    assert_int_equal(c.http.idle_timeout, 60);
    assert_int_equal(c.http.rate_per_connection, 20);
    assert_int_equal(c.http.rate_per_address, 0);
    assert_int_equal(c.http.connections_per_address, 0);
    assert_int_equal(c.http.bosh_max_pause, 120);
    assert_null(c.http.websocket_origins);
    /* X-Forwarded-For is believed from a proxy on the same machine only. */
    assert_int_equal(c.http.ntrusted_proxies, 2);
    assert_int_equal(c.http.trusted_proxies[0].family, 4);
    assert_int_equal(c.http.trusted_proxies[0].bits, 8);
    assert_int_equal(c.http.trusted_proxies[1].family, 6);
    assert_int_equal(c.http.trusted_proxies[1].bits, 128);
    config_free(&c);
    free(dir);
}

static void test_contrib_example(void **state)
{
    /* The shipped example is valid except that its certificate is not there. */
    struct config c;
    char err[1024];
    assert_int_equal(config_load(BASE_TEST_DATA "/../../../contrib/myna.conf", &c, err,
                                 sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "myna.conf:28: cannot read certificate "));
    assert_non_null(strstr(err, "contrib/certs/localhost.crt"));
}

static void write_conf(const char *name, const char *text)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

#define HOST "hosts = ( { domain = \"example.com\"; certificate = \"c.crt\"; key = \"c.key\"; } );\n"

struct bad_case {
    const char *text;
    int line; /* 0: the message names the file only */
    const char *msg;
};

static const struct bad_case bad[] = {
    {HOST "data_dir = \"x\";\nstore_map_mb = ;\n", 3, "syntax error"},
    {HOST "\nfoo = 1;\n", 3, "unknown setting 'foo'"},
    {HOST "ping2 = { a = 1; };\n", 2, "unknown setting 'ping2'"},
    {HOST "ping = 5;\n", 2, "module section 'ping' must be a group"},
    {"data_dir = \"d\";\n", 0, "at least one host is required"},
    {"hosts = ();\n", 1, "'hosts' is empty"},
    {HOST "store_map_mb = \"big\";\n", 2, "'store_map_mb' must be an integer"},
    {HOST "store_map_mb = 0;\n", 2, "'store_map_mb' must be between 1 and"},
    {HOST "data_dir = \"\";\n", 2, "'data_dir' is empty"},
    {HOST "user = \"\";\n", 2, "'user' is empty"},
    {HOST "user = 0;\n", 2, "'user' must be a string"},
    {HOST "allow_registration = 1;\n", 2, "'allow_registration' must be true or false"},
    {HOST "log = { level = \"loud\"; };\n", 2, "unknown log level 'loud'"},
    {HOST "log = { colour = true; };\n", 2, "unknown setting 'colour' in log"},
    {HOST "log = 3;\n", 2, "'log' must be a group"},
    {"hosts = (\n { domain = \"exa mple.com\"; certificate = \"c.crt\"; key = \"c.key\"; }\n);\n",
     2, "invalid domain name 'exa mple.com'"},
    {"hosts = (\n { domain = \"a..b\"; certificate = \"c.crt\"; key = \"c.key\"; }\n);\n", 2,
     "invalid domain name"},
    {"hosts = (\n { certificate = \"c.crt\"; key = \"c.key\"; }\n);\n", 2,
     "host without 'domain'"},
    {"hosts = (\n { domain = \"example.com\";\n  certificate = \"missing.crt\"; key = \"c.key\"; }\n);\n",
     3, "cannot read certificate /"},
    {"hosts = (\n { domain = \"example.com\"; certificate = \"c.crt\";\n key = \"nokey.pem\"; }\n);\n",
     3, "cannot read key /"},
    {"hosts = (\n { domain = \"example.com\"; key = \"c.key\"; }\n);\n", 2,
     "host example.com has no 'certificate'"},
    {"hosts = (\n { domain = \"example.com\"; certificate = \"c.crt\"; key = \"c.key\"; },\n"
     " { domain = \"EXAMPLE.com\"; certificate = \"c.crt\"; key = \"c.key\"; }\n);\n",
     3, "host example.com defined twice"},
    {"hosts = (\n { domain = \"example.com\"; certificate = \"c.crt\"; key = \"c.key\"; cert = 1; }\n);\n",
     2, "unknown setting 'cert' in host"},
    {"hosts = (\n { domain = \"example.com\"; certificate = \"c.crt\"; key = \"c.key\";\n"
     "   modules = [ \"Ping\" ]; }\n);\n",
     3, "invalid module name 'Ping'"},
    {HOST "modules = { enabled = [ \"ping\", \"ping\" ]; };\n", 2, "module 'ping' listed twice"},
    {HOST "modules = { enabled = [ \"limits\" ]; };\n", 2, "invalid module name 'limits'"},
    {HOST "modules = { dir = \"x\"; };\n", 2, "unknown setting 'dir' in modules"},
    {HOST "listen = (\n { type = \"c2s\"; port = 70000; }\n);\n", 3,
     "'port' must be between 1 and 65535"},
    {HOST "listen = (\n { type = \"c2s\"; port = 0; }\n);\n", 3, "'port' must be between"},
    {HOST "listen = (\n { type = \"xmpp\"; port = 5222; }\n);\n", 3,
     "unknown listener type 'xmpp'"},
    {HOST "listen = (\n { type = \"c2s\"; port = 5222; tls = \"ssl\"; }\n);\n", 3,
     "unknown tls mode 'ssl'"},
    {HOST "listen = (\n { type = \"component\"; port = 5347; tls = \"starttls\"; }\n);\n", 3,
     "only for c2s and s2s"},
    {HOST "listen = (\n { type = \"c2s\"; port = 5222; address = \"localhost\"; }\n);\n", 3,
     "'address' must be an IPv4 or IPv6 address"},
    {HOST "listen = (\n { type = \"c2s\"; }\n);\n", 3, "listener without 'port'"},
    {HOST "tls_record_layer = \"fast\";\n", 2, "unknown tls_record_layer 'fast'"},
    {HOST "listen = (\n { type = \"c2s\"; port = 5222; tls_record_layer = 1; }\n);\n", 3,
     "'tls_record_layer' must be a string"},
    {HOST "listen = (\n { port = 5222; }\n);\n", 3, "listener without 'type'"},
    /* registration_allow: IP ranges and configured hosts only. */
    {HOST "registration_allow = [ \"other.example\" ];\n", 2,
     "'other.example' in registration_allow is neither an IP range"},
    {HOST "registration_allow = [ \"192.0.2.0/33\" ];\n", 2, "neither an IP range"},
    /* Plaintext c2s: only on loopback, only with insecure = true. */
    {HOST "listen = (\n { type = \"c2s\"; port = 5222; tls = \"none\"; }\n);\n", 3,
     "a c2s listener without TLS is only allowed on a loopback address"},
    {HOST "listen = (\n { type = \"c2s\"; port = 5222; address = \"127.0.0.1\";\n"
          "   tls = \"none\"; }\n);\n", 4, "with insecure = true"},
    {HOST "listen = (\n { type = \"c2s\"; port = 5222; address = \"192.0.2.1\";\n"
          "   tls = \"none\"; insecure = true; }\n);\n", 4, "only allowed on a loopback"},
    /* Plaintext web listeners (WebSocket, BOSH): the same rule; metrics alone are exempt. */
    {HOST "listen = (\n { type = \"http\"; port = 5280; tls = \"none\"; }\n);\n", 3,
     "an http listener without TLS serving clients (web = true) is only allowed"},
    {HOST "listen = (\n { type = \"http\"; port = 5280; address = \"127.0.0.1\";\n"
          "   tls = \"none\"; }\n);\n", 4, "with insecure = true"},
    {HOST "listen = (\n { type = \"http\"; port = 5280; tls = \"none\"; insecure = true; "
          "}\n);\n", 3, "only allowed on a loopback"},
    {HOST "listen = (\n { type = \"c2s\"; port = 5222; metrics = true; }\n);\n", 3,
     "'web' and 'metrics' are for http listeners"},
    {HOST "http = {\n external_url = \"ftp://x\";\n};\n", 3,
     "'external_url' must start with http:// or https://"},
    {HOST "http = {\n bosh_max_hold = 9;\n};\n", 3, "'bosh_max_hold' must be between"},
    {HOST "http = {\n max_header_size = 100;\n};\n", 3, "'max_header_size' must be between"},
    {HOST "http = {\n rate_per_address = -1;\n};\n", 3, "'rate_per_address' must be between"},
    {HOST "http = {\n websocket_origins = \"*\";\n};\n", 3,
     "'websocket_origins' must be an array of origins"},
    {HOST "http = {\n websocket_origins = [ \"https://a.example/chat\" ];\n};\n", 3,
     "an origin is \"*\" or scheme://host[:port] without a path"},
    {HOST "http = {\n websocket_origins = [ \"a.example\" ];\n};\n", 3,
     "an origin is \"*\" or scheme://host[:port] without a path"},
    {HOST "http = {\n trusted_proxies = \"127.0.0.1\";\n};\n", 3,
     "'trusted_proxies' must be an array of IP ranges"},
    {HOST "http = {\n trusted_proxies = [ \"10.0.0.0/33\" ];\n};\n", 3,
     "a trusted proxy is an address or ADDRESS/BITS (got '10.0.0.0/33')"},
    {HOST "http = {\n trusted_proxies = [ \"proxy.example\" ];\n};\n", 3,
     "a trusted proxy is an address or ADDRESS/BITS"},
    {HOST "listen = (\n { type = \"c2s\"; port = 5222; },\n { type = \"s2s\"; port = 5222; }\n);\n",
     4, "two listeners on 0.0.0.0 port 5222"},
    {HOST "limits = {\n c2s_max_depth = 0;\n};\n", 3, "'c2s_max_depth' must be between"},
    {HOST "limits = {\n max_session = 10;\n};\n", 3, "unknown setting 'max_session' in limits"},
    {HOST "limits = {\n auth_timeout = true;\n};\n", 3, "'auth_timeout' must be an integer"},
    {HOST "limits = {\n sm_resume_timeout = 86401;\n};\n", 3,
     "'sm_resume_timeout' must be between 0 and 86400"},
    {HOST "limits = {\n sm_max_unacked = 5;\n};\n", 3, "'sm_max_unacked' must be between"},
    {HOST "limits = {\n sm_max_unacked_bytes = 1000;\n};\n", 3,
     "'sm_max_unacked_bytes' must be between"},
    {HOST "listen = (\n { type = \"c2s\"; port = 5222; sm_location = 5; }\n);\n", 3,
     "'sm_location' must be a string"},
    {HOST "s2s = {\n dns_servers = [ \"ns.example\" ];\n};\n", 3,
     "dns_servers: 'ns.example' is not an address"},
    {HOST "s2s = {\n dns_servers = [ \"192.0.2.1:0\" ];\n};\n", 3, "is not an address"},
    {HOST "s2s = {\n dns_servers = [ \"[2001:db8::1]\" ];\n};\n", 3, "is not an address"},
    {HOST "s2s = {\n dns_servers = \"192.0.2.1\";\n};\n", 3,
     "'dns_servers' must be an array"},
    {HOST "s2s = {\n flood_grace = -1;\n};\n", 3, "'flood_grace' must be between 0"},
};

/* XEP-0198 settings: the resumption limits and 'location' per host and per listener. */
static void test_stream_management(void **state)
{
    char path[128], err[1024];
    snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
    write_conf("t.conf",
               "hosts = ( { domain = \"example.com\"; certificate = \"c.crt\"; key = \"c.key\";\n"
               "            sm_location = \"xmpp.example.com:5222\"; } );\n"
               "listen = ( { type = \"c2s\"; port = 5222; },\n"
               "           { type = \"c2s\"; port = 5223; tls = \"direct\";\n"
               "             sm_location = \"[2001:db8::1]:5223\"; } );\n"
               "limits = { sm_resume_timeout = 0; sm_max_unacked = 10;\n"
               "           sm_max_unacked_bytes = 65536; };\n");
    struct config c;
    if (config_load(path, &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_string_equal(c.hosts[0].sm_location, "xmpp.example.com:5222");
    assert_null(c.listens[0].sm_location);
    assert_string_equal(c.listens[1].sm_location, "[2001:db8::1]:5223");
    assert_int_equal(c.sm_resume_timeout, 0);
    assert_int_equal(c.sm_max_unacked, 10);
    assert_int_equal(c.sm_max_unacked_bytes, 65536);
    config_free(&c);
}

/* s2s.dns_servers becomes c-ares' "ip:port,..." list; absent: NULL (resolv.conf). */
static void test_s2s_dns_servers(void **state)
{
    char path[128], err[1024];
    snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
    write_conf("t.conf", HOST "s2s = { dns_servers = [ \"192.0.2.53\", \"192.0.2.54:5353\",\n"
                              "  \"2001:db8::53\", \"[2001:db8::54]:54\" ]; flood_grace = 0; };\n");
    struct config c;
    if (config_load(path, &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_string_equal(c.s2s.dns_servers,
                        "192.0.2.53:53,192.0.2.54:5353,[2001:db8::53]:53,[2001:db8::54]:54");
    assert_int_equal(c.s2s.flood_grace, 0);
    config_free(&c);
    write_conf("t.conf", HOST);
    if (config_load(path, &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_null(c.s2s.dns_servers);
    assert_int_equal(c.s2s.flood_grace, 30);
    config_free(&c);
}

static void test_bad(void **state)
{
    char path[128], err[1024], want[1200];
    snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
    char *abs_dir = realpath(tmpdir, NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct config c;
        write_conf("t.conf", bad[i].text);
        if (config_load(path, &c, err, sizeof(err)) != -1)
            fail_msg("case %zu accepted", i);
        if (bad[i].line > 0)
            snprintf(want, sizeof(want), "%s/t.conf:%d: ", abs_dir, bad[i].line);
        else
            snprintf(want, sizeof(want), "%s/t.conf: ", abs_dir);
        if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, bad[i].msg))
            fail_msg("case %zu: got \"%s\", want \"%s...%s\"", i, err, want, bad[i].msg);
    }
    free(abs_dir);

    /* A missing file names the path as given. */
    struct config c;
    assert_int_equal(config_load("/nonexistent/myna.conf", &c, err, sizeof(err)), -1);
    assert_string_equal(err, "/nonexistent/myna.conf: cannot read: No such file or directory");
}

static void test_include(void **state)
{
    /* Errors in an included file name that file and its line. */
    char path[128], err[1024];
    snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
    write_conf("inc.conf", "limits = {\n  c2s_max_attrs = 5000;\n};\n");
    write_conf("t.conf", HOST "@include \"inc.conf\"\n");
    struct config c;
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/inc.conf:2: 'c2s_max_attrs' must be between"));
}

/* Disabling a module is taking it off the list: its section may stay (the tutorial of
 * docs/modules.md), as long as the module is installed; other unknown groups are errors. */
static void test_disabled_module_section(void **state)
{
    char path[128], err[1024];
    struct config c;
    snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
    write_conf("bot.so", "not really a module: only its presence counts here\n");
    write_conf("t.conf", HOST "modules = { path = \".\"; enabled = [ \"ping\" ]; };\n"
                              "bot = { prefix = \"> \"; };\n");
    if (config_load(path, &c, err, sizeof(err)) != 0)
        fail_msg("section of an installed, disabled module refused: %s", err);
    config_free(&c);
    write_conf("t.conf", HOST "modules = { path = \".\"; enabled = [ \"ping\" ]; };\n"
                              "bto = { prefix = \"> \"; };\n");
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "t.conf:3: unknown setting 'bto'"));
    write_conf("t.conf", HOST "modules = { path = \".\"; enabled = [ \"ping\" ]; };\n"
                              "bot = 5;\n");
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "t.conf:3: unknown setting 'bot'"));
}

static const struct myna_option opts[] = {
    {"hide_os", MYNA_OPT_BOOL, "false", 0, 0, "hide the OS"},
    {"name", MYNA_OPT_STRING, NULL, 0, 0, "software name"},
    {"max_rooms", MYNA_OPT_INT, "10", 1, 1000, "room limit"},
    {"free", MYNA_OPT_INT, NULL, 0, 0, "unbounded"},
    {NULL, MYNA_OPT_END, NULL, 0, 0, NULL},
};

static void test_module_options(void **state)
{
    char path[128], err[1024];
    struct config c;
    long long iv;
    const char *sv;
    snprintf(path, sizeof(path), "%s/t.conf", tmpdir);

    write_conf("t.conf", HOST "version = {\n hide_os = true;\n max_rooms = 5;\n free = -7;\n};\n");
    assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
    assert_int_equal(config_module_check(&c, "version", opts, err, sizeof(err)), 0);
    assert_int_equal(config_module_check(&c, "ping", opts, err, sizeof(err)), 0); /* absent */
    assert_int_equal(config_module_get(&c, "version", &opts[0], &iv, &sv), 0);
    assert_int_equal(iv, 1);
    assert_string_equal(sv, "true");
    assert_int_equal(config_module_get(&c, "version", &opts[1], &iv, &sv), -1);
    assert_null(sv);
    assert_int_equal(config_module_get(&c, "version", &opts[2], &iv, &sv), 0);
    assert_int_equal(iv, 5);
    assert_string_equal(sv, "5");
    assert_int_equal(config_module_get(&c, "version", &opts[3], &iv, &sv), 0);
    assert_int_equal(iv, -7);
    /* Defaults when the section or the key is absent. */
    assert_int_equal(config_module_get(&c, "ping", &opts[2], &iv, &sv), 0);
    assert_int_equal(iv, 10);
    assert_string_equal(sv, "10");
    assert_int_equal(config_module_get(&c, "ping", &opts[0], &iv, &sv), 0);
    assert_int_equal(iv, 0);
    config_free(&c);

    static const struct {
        const char *section;
        int line;
        const char *msg;
    } badopt[] = {
        {"version = {\n hidden = true;\n};\n", 3, "unknown option 'hidden' for module version"},
        {"version = {\n hide_os = \"yes\";\n};\n", 3, "'hide_os' must be true or false"},
        {"version = {\n max_rooms = 0;\n};\n", 3, "'max_rooms' must be between 1 and 1000"},
        {"version = {\n name = 3;\n};\n", 3, "'name' must be a string"},
    };
    for (size_t i = 0; i < sizeof(badopt) / sizeof(badopt[0]); i++) {
        char text[512], want[256];
        snprintf(text, sizeof(text), "%s%s", HOST, badopt[i].section);
        write_conf("t.conf", text);
        assert_int_equal(config_load(path, &c, err, sizeof(err)), 0);
        assert_int_equal(config_module_check(&c, "version", opts, err, sizeof(err)), -1);
        snprintf(want, sizeof(want), "t.conf:%d: %s", badopt[i].line, badopt[i].msg);
        if (!strstr(err, want))
            fail_msg("option case %zu: got \"%s\", want \"%s\"", i, err, want);
        config_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),          cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_contrib_example), cmocka_unit_test(test_bad),
        cmocka_unit_test(test_include),       cmocka_unit_test(test_module_options),
        cmocka_unit_test(test_disabled_module_section),
        cmocka_unit_test(test_stream_management),
        cmocka_unit_test(test_s2s_dns_servers),
    };
    return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
