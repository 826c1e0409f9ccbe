// Cross-origin decisions (cross_origin.h): the spec grammar, the CORS
// headers per mode and request origin, and the policy files.
#include <glib.h>

#include <string>

#include "cross_origin.h"
#include "test_util.h"

using namespace piff;

namespace {

// The value of header `name` in `h`, or "(none)".
std::string Get(const HeaderList& h, const char* name) {
  for (const auto& kv : h)
    if (kv.first == name) return kv.second;
  return "(none)";
}

}  // namespace

static void test_parse() {
  CrossOrigin c;
  g_assert_true(c.mode() == CrossOrigin::Mode::kAny);
  std::string why;
  g_assert_true(c.Parse("none", &why) && c.mode() == CrossOrigin::Mode::kOff);
  g_assert_true(c.Parse(" * ", &why) && c.mode() == CrossOrigin::Mode::kAny);
  g_assert_true(c.Parse("HTTP://Player.Example:8000/, https://b.example:443,http://[::1]:80,http://a.example:8000",
                        &why));
  g_assert_true(c.mode() == CrossOrigin::Mode::kList);
  g_assert_cmpuint(c.origins().size(), ==, 4);
  EXPECT_STR(c.origins()[0], "http://player.example:8000");
  EXPECT_STR(c.origins()[1], "https://b.example");  // default port dropped
  EXPECT_STR(c.origins()[2], "http://[::1]");
  for (const char* bad : {"", "ftp://x", "http://", "http://x/path", "http://x:0", "http://x:65536", "http://x:8a",
                          "http://u@x", "x.example", "http://a,", "null", "http://[zz]"}) {
    why.clear();
    g_assert_false(c.Parse(bad, &why));
    g_assert_false(why.empty());
    g_assert_true(c.mode() == CrossOrigin::Mode::kList);  // unchanged
  }
}

static void test_headers() {
  CrossOrigin c;
  std::string why;
  // Any origin: the same headers with or without an Origin, no Vary.
  for (const char* o : {static_cast<const char*>(nullptr), "http://x.example"}) {
    const HeaderList& h = c.ResponseHeaders(o);
    EXPECT_STR(Get(h, "Access-Control-Allow-Origin"), "*");
    g_assert_nonnull(strstr(Get(h, "Access-Control-Expose-Headers").c_str(), "Content-Range"));
    EXPECT_STR(Get(h, "Vary"), "(none)");
    const HeaderList& p = c.PreflightHeaders(o);
    EXPECT_STR(Get(p, "Access-Control-Allow-Origin"), "*");
    EXPECT_STR(Get(p, "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
    g_assert_nonnull(strstr(Get(p, "Access-Control-Allow-Headers").c_str(), "Range"));
    EXPECT_STR(Get(p, "Access-Control-Max-Age"), "86400");
  }
  // A list: the request's origin echoed when listed (compared normalised),
  // Vary: Origin always.
  g_assert_true(c.Parse("http://a.example:8000,https://b.example", &why));
  EXPECT_STR(Get(c.ResponseHeaders("http://a.example:8000"), "Access-Control-Allow-Origin"),
             "http://a.example:8000");
  EXPECT_STR(Get(c.ResponseHeaders("HTTPS://B.example:443"), "Access-Control-Allow-Origin"), "https://b.example");
  EXPECT_STR(Get(c.ResponseHeaders("http://a.example:8000"), "Vary"), "Origin");
  for (const char* o : {static_cast<const char*>(nullptr), "http://a.example", "http://a.example:8001",
                        "https://a.example:8000", "null", "http://evil.example"}) {
    EXPECT_STR(Get(c.ResponseHeaders(o), "Access-Control-Allow-Origin"), "(none)");
    EXPECT_STR(Get(c.ResponseHeaders(o), "Vary"), "Origin");
    EXPECT_STR(Get(c.PreflightHeaders(o), "Access-Control-Allow-Methods"), "(none)");
  }
  EXPECT_STR(Get(c.PreflightHeaders("https://b.example"), "Access-Control-Allow-Origin"), "https://b.example");
  // Off: nothing at all.
  g_assert_true(c.Parse("none", &why));
  g_assert_cmpuint(c.ResponseHeaders("http://a.example:8000").size(), ==, 0);
  g_assert_cmpuint(c.PreflightHeaders("http://a.example:8000").size(), ==, 0);
}

static void test_policy_files() {
  CrossOrigin c;
  std::string why;
  std::string cap = c.ClientAccessPolicy(), xd = c.CrossDomainPolicy();
  g_assert_nonnull(strstr(cap.c_str(), "<domain uri=\"*\"/>"));
  g_assert_nonnull(strstr(cap.c_str(), "<resource path=\"/\" include-subpaths=\"true\"/>"));
  g_assert_nonnull(strstr(xd.c_str(), "<allow-access-from domain=\"*\"/>"));
  g_assert_true(c.Parse("http://a.example:8000,https://a.example,http://[::1]:9", &why));
  cap = c.ClientAccessPolicy();
  xd = c.CrossDomainPolicy();
  g_assert_nonnull(strstr(cap.c_str(), "<domain uri=\"http://a.example:8000\"/>"));
  g_assert_nonnull(strstr(cap.c_str(), "<domain uri=\"https://a.example\"/>"));
  g_assert_null(strstr(cap.c_str(), "uri=\"*\""));
  // Flash names hosts: one entry for a.example, one for [::1].
  g_assert_nonnull(strstr(xd.c_str(), "<allow-access-from domain=\"a.example\"/>"));
  g_assert_nonnull(strstr(xd.c_str(), "<allow-access-from domain=\"[::1]\"/>"));
  g_assert_null(strstr(strstr(xd.c_str(), "domain=\"a.example\"") + 1, "<allow-access-from domain=\"a.example\""));
  g_assert_true(c.Parse("none", &why));
  g_assert_true(c.ClientAccessPolicy().empty() && c.CrossDomainPolicy().empty());
}

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/cross_origin/parse", test_parse);
  g_test_add_func("/cross_origin/headers", test_headers);
  g_test_add_func("/cross_origin/policy_files", test_policy_files);
  return g_test_run();
}
