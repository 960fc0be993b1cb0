/* The cache variants the queue suites run every case in, and how a case
 * listed as an expected failure is run. Include after <cmocka.h>.
 *
 * coherent: the host cache model off and dma_coherent (one view of
 * memory). nc64 / nc128: dma_coherent = false on the host write-back
 * cache model (arch_host.h, host_cache_model) with 64- or 128-byte lines,
 * so the device models see only what the driver's cache maintenance wrote
 * back, and the driver only what it invalidated.
 *
 * An expected failure is a known driver bug: the case runs in a fork()ed
 * child (with cmocka aborting at the first failed check) and the test
 * passes only if the child fails. Once the bug is fixed the child passes,
 * the test fails, and the entry must be removed. */
#ifndef TESTS_UNIT_VIRTIO_CACHE_VARIANTS_H
#define TESTS_UNIT_VIRTIO_CACHE_VARIANTS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ringlight/config.h>

#include "arch_host.h"

struct cache_variant {
  const char *name;
  size_t line; /* 0: coherent, model off */
};

static const struct cache_variant cache_variants[] = {
    {"coherent", 0},
#ifdef CONFIG_DMA_NONCOHERENT /* without it only coherent devices are driven   \
                               */
    {"nc64", 64},
    {"nc128", 128},
#endif
};

/* Model on or off for a case of `v`. */
static inline void cache_variant_enter(const struct cache_variant *v) {
  assert_int_equal(host_cache_model(v->line != 0, v->line), RL_OK);
}

static inline void cache_variant_leave(void) {
  host_cache_line_hook(NULL, NULL, false);
  assert_int_equal(host_cache_model(false, 0), RL_OK);
}

struct expected_failure {
  const char *test; /* full name, e.g. "packed/nc64/wrap" */
  const char *reason;
};

/* The reason `test` is listed with, or NULL. */
static inline const char *
expected_failure_of(const struct expected_failure *table, size_t n,
                    const char *test) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(table[i].test, test) == 0) {
      return table[i].reason;
    }
  }
  return NULL;
}

/* Runs the variant-named tests of a suite: first checks that every entry
 * of `table` names a test that exists (`listed` of them matched a name,
 * no stale or misspelt ones), then honours TEST_FILTER=<glob> (cmocka's
 * filter) and runs the group. Returns main's exit status. */
static inline int run_variant_suite(const char *group,
                                    const struct CMUnitTest *tests, size_t n,
                                    const struct expected_failure *table,
                                    size_t ntable, size_t listed) {
  size_t entries = 0;
  for (size_t i = 0; i < ntable; i++) {
    entries += table[i].test[0] != '\0' ? 1 : 0;
  }
  if (listed != entries) {
    (void)fprintf(stderr, "expected_failures names %zu tests, %zu exist\n",
                  entries, listed);
    return 1;
  }
  const char *filter = getenv("TEST_FILTER");
  if (filter != NULL) {
    cmocka_set_test_filter(filter);
  }
  return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}

/* A case of a suite: its name and body. */
struct matrix_case {
  const char *name;
  CMUnitTestFunction fn;
};

/* An axis of a test matrix: an array of structs whose first member is
 * the name (a pointer to a struct, converted, points to its first member:
 * C11 6.7.2.1). */
struct matrix_axis {
  const void *items;
  size_t count;
  size_t size;
};

#define MATRIX_AXIS(a)                                                         \
  ((struct matrix_axis){(a), sizeof(a) / sizeof((a)[0]), sizeof((a)[0])})

static inline const char *matrix_axis_name(struct matrix_axis a, size_t i) {
  return *(const char *const *)(const void *)((const char *)a.items +
                                              i * a.size);
}

/* What a suite's matrix runs: every case for every transport and
 * variant, named "TRANSPORT/VARIANT/CASE" in that order. state() gives
 * test `n`'s initial state (the suite keeps it); a name listed in
 * `xfail` (may be NULL) runs through `expect_fail`, with the reason
 * passed to state(). */
struct variant_matrix {
  const char *group;
  struct matrix_axis transports;
  struct matrix_axis variants;
  const struct matrix_case *cases;
  size_t ncases;
  CMFixtureFunction setup;
  CMFixtureFunction teardown;
  const struct expected_failure *xfail;
  size_t nxfail;
  CMUnitTestFunction expect_fail;
  void *(*state)(size_t n, size_t t, size_t v, size_t c, const char *name,
                 const char *why);
};

/* Builds the tests of `m` and runs them (run_variant_suite). Returns
 * main's exit status. */
static inline int run_variant_matrix(const struct variant_matrix *m) {
  size_t total = m->transports.count * m->variants.count * m->ncases;
  struct CMUnitTest *tests = calloc(total, sizeof(*tests));
  char(*names)[80] = calloc(total, sizeof(*names));
  if (tests == NULL || names == NULL) {
    free(names);
    free(tests);
    (void)fprintf(stderr, "%s: out of memory\n", m->group);
    return 1;
  }
  size_t n = 0, listed = 0;
  for (size_t t = 0; t < m->transports.count; t++) {
    for (size_t v = 0; v < m->variants.count; v++) {
      for (size_t c = 0; c < m->ncases; c++) {
        (void)snprintf(names[n], sizeof(names[n]), "%s/%s/%s",
                       matrix_axis_name(m->transports, t),
                       matrix_axis_name(m->variants, v), m->cases[c].name);
        const char *why =
            m->xfail != NULL
                ? expected_failure_of(m->xfail, m->nxfail, names[n])
                : NULL;
        listed += why != NULL ? 1 : 0;
        tests[n] = (struct CMUnitTest){
            .name = names[n],
            .test_func = why != NULL ? m->expect_fail : m->cases[c].fn,
            .setup_func = m->setup,
            .teardown_func = m->teardown,
            .initial_state = m->state(n, t, v, c, names[n], why),
        };
        n++;
      }
    }
  }
  int status =
      run_variant_suite(m->group, tests, n, m->xfail, m->nxfail, listed);
  free(names);
  free(tests);
  return status;
}

/* Runs body(state) in a child process that must fail. Prints the reason
 * and the first lines the child printed, indented (they never start a
 * line with cmocka's "[  FAILED  ]"). */
static inline void run_expected_failure(const char *test, const char *reason,
                                        void (*body)(void **), void **state) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  (void)fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    (void)close(fds[0]);
    if (dup2(fds[1], STDOUT_FILENO) < 0 || dup2(fds[1], STDERR_FILENO) < 0) {
      _exit(100);
    }
    /* cmocka: a failed check aborts instead of jumping back into the
     * parent's test runner (copied into this process). */
    (void)setenv("CMOCKA_TEST_ABORT", "1", 1);
    body(state);
    (void)fflush(NULL);
    _exit(0);
  }
  (void)close(fds[1]);
  char out[2048];
  size_t got = 0;
  for (;;) {
    char chunk[4096];
    ssize_t r = read(fds[0], chunk, sizeof(chunk));
    if (r <= 0) {
      break;
    }
    size_t take = RL_MIN((size_t)r, sizeof(out) - 1 - got);
    memcpy(out + got, chunk, take);
    got += take;
  }
  out[got] = '\0';
  (void)close(fds[0]);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  bool passed = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (passed) {
    fail_msg("%s passed, but is listed as an expected failure (%s): the bug "
             "is fixed, remove the entry",
             test, reason);
  }
  printf("    expected failure: %s\n", reason);
  /* The child's first lines: its failed check. */
  char *line = out;
  for (int n = 0; n < 3 && line != NULL && *line != '\0'; n++) {
    char *nl = strchr(line, '\n');
    if (nl != NULL) {
      *nl = '\0';
    }
    printf("      child: %s\n", line);
    line = nl != NULL ? nl + 1 : NULL;
  }
  if (WIFSIGNALED(status)) {
    printf("      child: killed by signal %d\n", WTERMSIG(status));
  } else {
    printf("      child: exit status %d\n", WEXITSTATUS(status));
  }
  (void)fflush(stdout);
}

#endif
