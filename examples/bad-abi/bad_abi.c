/* examples/bad-abi/bad_abi.c — a module built for a future module ABI (MYNA_ABI_VERSION + 1).
 * The server must refuse to load it with a log line naming both versions, and keep running
 * (tests/moddev/test_bad_abi.py). The descriptor is written out by hand because
 * MYNA_MODULE_DEFINE always stamps the current ABI. Config name: "bad_abi".
 */
#include <myna.h>

static int bad_abi_load(struct myna_module *m)
{
    /* Never reached: the ABI check comes first. */
    myna_log(m, MYNA_LOG_ERROR, "a module with the wrong ABI was loaded");
    return 0;
}

__attribute__((visibility("default"))) const struct myna_module_desc myna_module_desc = {
    .abi = MYNA_ABI_VERSION + 1,
    .name = "bad_abi",
    .description = "refused on purpose: built for the next module ABI",
    .load = bad_abi_load,
};
