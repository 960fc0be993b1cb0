/* Host tests for arch/aarch64/gicv3_dt.c: the GICv3 node of QEMU's
 * -machine virt,gic-version=3 tree (one redistributor region, and two with
 * -smp 130), and hand-written nodes that get the binding wrong
 * (tests/fixtures/gicv3_nodes.dts). Blobs sit in exactly-sized heap
 * buffers so ASan reports any overread. */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arch/aarch64/gicv3_dt.h>
#include <devicetree/fdt.h>
#include <tests/unit/support/fixture.h>

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must name tests/fixtures (set by BUILD.gn)"
#endif

struct blob {
  uint8_t *data;
  size_t len;
};

static struct blob load(const char *name) {
  struct blob b;
  b.data = fixture_load(name, 0, &b.len);
  return b;
}

/* Opens `name` and parses its (first) node compatible with arm,gic-v3,
 * or the node at `path` when given. */
static rl_status parse(const char *name, const char *path,
                       struct gicv3_dt *out) {
  struct blob b = load(name);
  struct fdt fdt;
  int node;
  assert_int_equal(fdt_open(&fdt, b.data, b.len), RL_OK);
  if (path != NULL) {
    assert_int_equal(fdt_path(&fdt, path, &node), RL_OK);
  } else {
    assert_int_equal(fdt_find_compatible(&fdt, -1, "arm,gic-v3", &node), RL_OK);
  }
  memset(out, 0xa5, sizeof(*out));
  rl_status st = gicv3_dt_parse(&fdt, node, out);
  free(b.data);
  return st;
}

static void test_qemu_gicv3(void **state) {
  (void)state;
  struct gicv3_dt dt;
  assert_int_equal(parse("qemu_virt_aarch64_gicv3.dtb", NULL, &dt), RL_OK);
  assert_int_equal(dt.dist.pa, 0x08000000);
  assert_int_equal(dt.dist.size, 0x10000);
  assert_int_equal(dt.nredist, 1);
  /* QEMU 7.2 virt: the redistributors right after the ITS. */
  assert_int_equal(dt.redist[0].pa, 0x080a0000);
  assert_int_equal(dt.redist[0].size, 0xf60000);
  assert_int_equal(dt.stride, 0);
}

static void test_qemu_gicv3_two_regions(void **state) {
  (void)state;
  struct gicv3_dt dt;
  assert_int_equal(parse("qemu_virt_aarch64_gicv3_smp130.dtb", NULL, &dt),
                   RL_OK);
  assert_int_equal(dt.nredist, 2);
  assert_int_equal(dt.redist[0].pa, 0x080a0000);
  assert_int_equal(dt.redist[0].size, 0xf60000);
  /* The second region, for CPUs 123 and up, above 256 GiB. */
  assert_int_equal(dt.redist[1].pa, 0x4000000000ull);
  assert_int_equal(dt.redist[1].size, 0x4000000);
}

static void test_qemu_gicv2_tree_has_no_gicv3(void **state) {
  (void)state;
  struct blob b = load("qemu_virt_aarch64.dtb");
  struct fdt fdt;
  int node;
  assert_int_equal(fdt_open(&fdt, b.data, b.len), RL_OK);
  assert_int_equal(fdt_find_compatible(&fdt, -1, "arm,gic-v3", &node),
                   RL_ERR_NOT_FOUND);
  assert_int_equal(fdt_find_compatible(&fdt, -1, "arm,cortex-a15-gic", &node),
                   RL_OK);
  free(b.data);
}

static void test_stride_and_default_regions(void **state) {
  (void)state;
  struct gicv3_dt dt;
  assert_int_equal(parse("gicv3_nodes.dtb", "/ok-stride", &dt), RL_OK);
  assert_int_equal(dt.nredist, 1);
  assert_int_equal(dt.redist[0].pa, 0x2f100000);
  assert_int_equal(dt.stride, 0x40000);
  /* Extra reg entries (GICC, GICH, GICV) are not redistributors. */
  assert_int_equal(parse("gicv3_nodes.dtb", "/ok-default-regions", &dt), RL_OK);
  assert_int_equal(dt.nredist, 1);
  assert_int_equal(dt.redist[0].pa, 0x080a0000);
  assert_int_equal(dt.redist[0].size, 0x20000);
}

static void test_malformed_nodes(void **state) {
  (void)state;
  static const struct {
    const char *path;
    rl_status want;
  } cases[] = {
      {"/no-reg", RL_ERR_BAD_FORMAT},
      {"/too-few-regions", RL_ERR_BAD_FORMAT},
      {"/zero-regions", RL_ERR_BAD_FORMAT},
      {"/nine-regions", RL_ERR_OUT_OF_RANGE},
      {"/small-distributor", RL_ERR_BAD_FORMAT},
      {"/small-redistributor", RL_ERR_BAD_FORMAT},
      {"/wrapping-redistributor", RL_ERR_BAD_FORMAT},
      {"/bad-stride", RL_ERR_BAD_FORMAT},
      {"/short-stride", RL_ERR_BAD_FORMAT},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct gicv3_dt dt, untouched;
    memset(&untouched, 0xa5, sizeof(untouched));
    rl_status st = parse("gicv3_nodes.dtb", cases[i].path, &dt);
    if (st != cases[i].want) {
      fail_msg("%s: %s, expected %s", cases[i].path, rl_status_str(st),
               rl_status_str(cases[i].want));
    }
    /* A failed parse leaves the caller's structure alone. */
    assert_memory_equal(&dt, &untouched, sizeof(dt));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_qemu_gicv3),
      cmocka_unit_test(test_qemu_gicv3_two_regions),
      cmocka_unit_test(test_qemu_gicv2_tree_has_no_gicv3),
      cmocka_unit_test(test_stride_and_default_regions),
      cmocka_unit_test(test_malformed_nodes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
