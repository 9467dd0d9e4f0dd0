/* server/base/asan.h — MYNA_ASAN is defined when the build has AddressSanitizer: GCC says so
 * with __SANITIZE_ADDRESS__, clang (the fuzz targets' compiler) only through
 * __has_feature(address_sanitizer). Code that changes under ASan tests MYNA_ASAN. */
#ifndef MYNA_ASAN_H
#define MYNA_ASAN_H

#if defined(__SANITIZE_ADDRESS__)
#define MYNA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MYNA_ASAN 1
#endif
#endif

#endif
