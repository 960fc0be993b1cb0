/* Shared by the fuzz targets: reading the input as a stream of numbers,
 * and reporting a broken invariant (which ends the run as a crash, so
 * libFuzzer saves the input). */
#ifndef TESTS_FUZZ_FUZZ_UTIL_H
#define TESTS_FUZZ_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ringlight/types.h>

/* libFuzzer's entry points, declared for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Prints "fuzz invariant broken at FILE:LINE: COND: message" to stderr
 * and aborts. */
RL_NORETURN void fuzz_fail(const char *file, int line, const char *cond,
                           const char *fmt, ...) RL_PRINTF(4, 5);

#define FUZZ_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                       \
    }                                                                          \
  } while (0)

/* Log lines the code under test wrote (klog, kprintf), counted. */
unsigned long fuzz_log_lines(void);
/* Whether FUZZ_VERBOSE is set: log lines then go to stderr. */
bool fuzz_verbose(void);

/* The input as a stream; reads past the end give zeros. */
struct fuzz_in {
  const uint8_t *p;
  size_t n;
};

static inline bool fin_empty(const struct fuzz_in *in) { return in->n == 0; }

static inline uint8_t fin_u8(struct fuzz_in *in) {
  if (in->n == 0) {
    return 0;
  }
  in->n--;
  return *in->p++;
}

static inline uint16_t fin_u16(struct fuzz_in *in) {
  uint16_t lo = fin_u8(in);
  return (uint16_t)(lo | (uint16_t)fin_u8(in) << 8);
}

static inline uint32_t fin_u32(struct fuzz_in *in) {
  uint32_t lo = fin_u16(in);
  return lo | (uint32_t)fin_u16(in) << 16;
}

static inline uint64_t fin_u64(struct fuzz_in *in) {
  uint64_t lo = fin_u32(in);
  return lo | (uint64_t)fin_u32(in) << 32;
}

/* The next `len` bytes (fewer at the end): *got says how many. */
static inline const uint8_t *fin_bytes(struct fuzz_in *in, size_t len,
                                       size_t *got) {
  const uint8_t *p = in->p;
  *got = len < in->n ? len : in->n;
  in->p += *got;
  in->n -= *got;
  return p;
}

/* Splits off the first `len` bytes (fewer at the end) as a stream. */
static inline struct fuzz_in fin_split(struct fuzz_in *in, size_t len) {
  size_t got;
  const uint8_t *p = fin_bytes(in, len, &got);
  return (struct fuzz_in){p, got};
}

#endif
