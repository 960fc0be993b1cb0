/* Host tests for arch/riscv64/irq_dt.c: which interrupt controller the
 * riscv64 kernel picks on QEMU's trees (PLIC; APLIC direct with
 * aia=aplic; APLIC MSI + IMSIC with aia=aplic-imsic, as OpenSBI hands
 * them to S-mode with the M-level nodes disabled), trees edited with
 * libfdt so that only M-level controllers are left, and the APLIC
 * interrupt specifier. */
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

#include <libfdt.h>

#include <arch/riscv64/irq_dt.h>
#include <devicetree/fdt.h>
#include <tests/unit/support/fixture.h>

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must name tests/fixtures (set by BUILD.gn)"
#endif

struct blob {
  uint8_t *data;
  size_t len;
};

/* The fixture with `extra` bytes of room for libfdt edits. */
static struct blob load(const char *name, size_t extra) {
  struct blob b;
  b.data = fixture_load(name, extra, &b.len);
  if (extra) {
    assert_int_equal(fdt_open_into(b.data, b.data, (int)(b.len + extra)), 0);
    b.len += extra;
  }
  return b;
}

static void open_blob(struct fdt *f, const struct blob *b) {
  assert_int_equal(fdt_open(f, b->data, b->len), RL_OK);
}

static void find(const char *fixture, unsigned long hart,
                 struct riscv_irqchip_dt *out, struct blob *keep) {
  struct fdt f;
  *keep = load(fixture, 0);
  open_blob(&f, keep);
  assert_int_equal(riscv_irqchip_find(&f, hart, out), RL_OK);
}

static const char *name_of(const struct blob *b, int node) {
  struct fdt f;
  open_blob(&f, b);
  return fdt_node_name(&f, node);
}

static void test_plic(void **state) {
  (void)state;
  struct riscv_irqchip_dt dt;
  struct blob b;
  find("qemu_virt_riscv64.dtb", 0, &dt, &b);
  assert_int_equal(dt.kind, RISCV_IRQCHIP_PLIC);
  assert_string_equal(name_of(&b, dt.node), "plic@c000000");
  assert_int_equal(dt.index, 1); /* context 0 is hart 0's M-mode */
  assert_int_equal(dt.nsources, 96);
  assert_int_equal(dt.imsic, -1);
  free(b.data);
}

static void test_aplic_direct(void **state) {
  (void)state;
  struct riscv_irqchip_dt dt;
  struct blob b;
  find("qemu_virt_riscv64_aplic_opensbi.dtb", 0, &dt, &b);
  assert_int_equal(dt.kind, RISCV_IRQCHIP_APLIC_DIRECT);
  /* The S-level child domain, not OpenSBI's (disabled) root at c000000. */
  assert_string_equal(name_of(&b, dt.node), "aplic@d000000");
  assert_int_equal(dt.index, 0);
  assert_int_equal(dt.nsources, 96);
  assert_int_equal(dt.imsic, -1);
  free(b.data);
}

static void test_aplic_msi(void **state) {
  (void)state;
  struct riscv_irqchip_dt dt;
  struct blob b;
  find("qemu_virt_riscv64_aplic_imsic_opensbi.dtb", 0, &dt, &b);
  assert_int_equal(dt.kind, RISCV_IRQCHIP_APLIC_MSI);
  assert_string_equal(name_of(&b, dt.node), "aplic@d000000");
  assert_string_equal(name_of(&b, dt.imsic), "imsics@28000000");
  assert_int_equal(dt.index, 0);
  assert_int_equal(dt.nsources, 96);
  assert_int_equal(dt.nids, 255);
  free(b.data);
}

static void test_no_such_hart(void **state) {
  (void)state;
  static const char *const trees[] = {
      "qemu_virt_riscv64.dtb", "qemu_virt_riscv64_aplic_opensbi.dtb",
      "qemu_virt_riscv64_aplic_imsic_opensbi.dtb"};
  for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
    struct blob b = load(trees[i], 0);
    struct fdt f;
    struct riscv_irqchip_dt dt;
    open_blob(&f, &b);
    assert_int_equal(riscv_irqchip_find(&f, 1, &dt), RL_ERR_NOT_FOUND);
    assert_int_equal(riscv_irqchip_find(&f, 0, NULL), RL_ERR_INVALID);
    free(b.data);
  }
}

static void set_status(struct blob *b, const char *path, const char *status) {
  int node = fdt_path_offset(b->data, path);
  assert_true(node >= 0);
  assert_int_equal(fdt_setprop_string(b->data, node, "status", status), 0);
  assert_int_equal(fdt_pack(b->data), 0);
  b->len = fdt_totalsize(b->data);
}

/* Only the M-level domain (its interrupts-extended names cause 11, its
 * msi-parent the M-level IMSIC) left enabled: nothing for S-mode. */
static void test_only_m_level_left(void **state) {
  (void)state;
  static const char *const trees[] = {
      "qemu_virt_riscv64_aplic_opensbi.dtb",
      "qemu_virt_riscv64_aplic_imsic_opensbi.dtb"};
  for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
    struct blob b = load(trees[i], 256);
    struct fdt f;
    struct riscv_irqchip_dt dt;
    set_status(&b, "/soc/aplic@d000000", "disabled");
    set_status(&b, "/soc/aplic@c000000", "okay");
    if (i == 1) {
      set_status(&b, "/soc/imsics@24000000", "okay");
    }
    open_blob(&f, &b);
    assert_int_equal(riscv_irqchip_find(&f, 0, &dt), RL_ERR_NOT_FOUND);
    free(b.data);
  }
}

/* The S-level IMSIC disabled: the MSI-mode domain has nowhere to send. */
static void test_msi_parent_disabled(void **state) {
  (void)state;
  struct blob b = load("qemu_virt_riscv64_aplic_imsic_opensbi.dtb", 256);
  struct fdt f;
  struct riscv_irqchip_dt dt;
  set_status(&b, "/soc/imsics@28000000", "disabled");
  open_blob(&f, &b);
  assert_int_equal(riscv_irqchip_find(&f, 0, &dt), RL_ERR_NOT_FOUND);
  free(b.data);
}

static void test_aplic_spec(void **state) {
  (void)state;
  static const struct {
    uint32_t cells[2];
    size_t n;
    rl_status st;
    unsigned source;
    uint32_t mode;
  } cases[] = {
      {{8, 4}, 2, RL_OK, 8, APLIC_SM_LEVEL_HIGH}, /* QEMU's virtio-mmio */
      {{1, 1}, 2, RL_OK, 1, APLIC_SM_EDGE_RISE},
      {{96, 2}, 2, RL_OK, 96, APLIC_SM_EDGE_FALL},
      {{5, 8}, 2, RL_OK, 5, APLIC_SM_LEVEL_LOW},
      {{5, 3}, 2, RL_ERR_BAD_FORMAT, 0, 0},
      {{5, 0}, 2, RL_ERR_BAD_FORMAT, 0, 0},
      {{0, 4}, 2, RL_ERR_OUT_OF_RANGE, 0, 0},
      {{97, 4}, 2, RL_ERR_OUT_OF_RANGE, 0, 0},
      {{8, 4}, 1, RL_ERR_BAD_FORMAT, 0, 0}, /* a PLIC specifier */
      {{8, 4}, 3, RL_ERR_BAD_FORMAT, 0, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    unsigned source = 0;
    uint32_t mode = 0;
    assert_int_equal(
        riscv_aplic_spec(cases[i].cells, cases[i].n, 96, &source, &mode),
        cases[i].st);
    if (cases[i].st == RL_OK) {
      assert_int_equal(source, cases[i].source);
      assert_int_equal(mode, cases[i].mode);
    }
  }
  unsigned source;
  uint32_t mode;
  static const uint32_t ok[2] = {8, 4};
  assert_int_equal(riscv_aplic_spec(NULL, 2, 96, &source, &mode),
                   RL_ERR_INVALID);
  assert_int_equal(riscv_aplic_spec(ok, 2, 96, NULL, &mode), RL_ERR_INVALID);
  assert_int_equal(riscv_aplic_spec(ok, 2, 96, &source, NULL), RL_ERR_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plic),
      cmocka_unit_test(test_aplic_direct),
      cmocka_unit_test(test_aplic_msi),
      cmocka_unit_test(test_no_such_hart),
      cmocka_unit_test(test_only_m_level_left),
      cmocka_unit_test(test_msi_parent_disabled),
      cmocka_unit_test(test_aplic_spec),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
