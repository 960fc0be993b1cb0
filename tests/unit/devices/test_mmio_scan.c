/* virtio-mmio discovery (virtio/transport-mmio/mmio_scan.c) on QEMU's own
 * device trees (tests/fixtures), one virtio node broken with libfdt: a
 * node without reg or interrupts is reported as one bad slot, and every
 * slot after it is still found (issue 13 item 15). */
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

#include <arch/vm.h>
#include <devicetree/fdt.h>
#include <lib/log.h>
#include <mm/heap.h>
#include <tests/unit/support/fixture.h>
#include <tests/unit/support/log_capture.h>
#include <virtio/core/virtio.h>
#include <virtio/transport-mmio/mmio.h>

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must name tests/fixtures (set by BUILD.gn)"
#endif

/* Every slot maps to one register file that says "virt", version 2, no
 * device: discovery reads only the identification registers. */
static uint32_t regs[0x200 / 4] = {0x74726976u, 2, 0, 0x554d4551u};

/* With `per_slot`, each of aarch64 virt's 32 slots has its own register
 * file (the filtered passes). */
#define AARCH64_SLOTS 0xa000000u
static uint32_t slot_regs[32][0x200 / 4];
static bool per_slot;

/* The slots mapped so far (per_slot), in order: one mapping per slot
 * read. */
static unsigned mapped[64];
static unsigned mapped_count;

rl_status arch_ioremap(paddr_t pa, uint64_t size, volatile void **out) {
  (void)size;
  if (per_slot && pa >= AARCH64_SLOTS && pa < AARCH64_SLOTS + 32 * 0x200) {
    unsigned index = (unsigned)((pa - AARCH64_SLOTS) / 0x200);
    *out = slot_regs[index];
    if (mapped_count < RL_ARRAY_SIZE(mapped)) {
      mapped[mapped_count++] = index;
    }
  } else {
    *out = regs;
  }
  return RL_OK;
}

/* Fake drivers for the probe passes: each probe records its slot and how
 * many slots had been read by then, and refuses the device (nothing to
 * drive: the register files are plain memory). */
struct probed {
  unsigned slot, read_before;
  struct virtio_mmio_device *m; /* kept by the probe: freed by the test */
};
static struct probed probed[8];
static unsigned probed_count;

static rl_status fake_probe(struct virtio_device *dev) {
  struct virtio_mmio_device *m = (struct virtio_mmio_device *)dev;
  assert_true(probed_count < RL_ARRAY_SIZE(probed));
  probed[probed_count++] = (struct probed){
      (unsigned)((m->slot.pa - AARCH64_SLOTS) / 0x200), mapped_count, m};
  return RL_ERR_NOT_SUPPORTED;
}

static const struct virtio_driver fake_gpu = {
    .name = "virtio-gpu", .device_id = 16, .probe = fake_probe};
static const struct virtio_driver fake_rng = {
    .name = "virtio-rng", .device_id = 4, .probe = fake_probe};
const struct virtio_driver *const virtio_drivers[] = {&fake_gpu, &fake_rng};
const size_t virtio_driver_count = 2;

static void *load(const char *name, size_t *len) {
  size_t n;
  uint8_t *blob = fixture_load(name, 4096, &n); /* room for libfdt's edits */
  assert_int_equal(fdt_open_into(blob, blob, (int)(n + 4096)), 0);
  *len = n + 4096;
  return blob;
}

/* The `index`-th virtio,mmio node of the blob, by libfdt. */
static int nth_virtio(const void *blob, unsigned index) {
  int node = -1;
  for (unsigned i = 0; i <= index; i++) {
    node = fdt_node_offset_by_compatible(blob, node, "virtio,mmio");
    assert_true(node >= 0);
  }
  return node;
}

static void scan_with_broken(const char *fixture, unsigned broken,
                             const char *prop) {
  size_t len;
  void *blob = load(fixture, &len);
  unsigned total = 0;
  for (int n = fdt_node_offset_by_compatible(blob, -1, "virtio,mmio"); n >= 0;
       n = fdt_node_offset_by_compatible(blob, n, "virtio,mmio")) {
    total++;
  }
  assert_true(total > broken + 1);
  assert_int_equal(fdt_delprop(blob, nth_virtio(blob, broken), prop), 0);
  struct fdt fdt;
  assert_int_equal(fdt_open(&fdt, blob, len), RL_OK);
  for (unsigned i = 0; i < total; i++) {
    struct virtio_mmio_slot slot;
    rl_status st = virtio_mmio_slot_at(&fdt, i, &slot);
    if (i == broken) {
      assert_int_equal(st, RL_ERR_BAD_FORMAT);
    } else {
      assert_int_equal(st, RL_OK);
      assert_int_equal(slot.version, 2);
    }
  }
  struct virtio_mmio_slot slot;
  assert_int_equal(virtio_mmio_slot_at(&fdt, total, &slot), RL_ERR_NOT_FOUND);
  /* The boot log's slot list: one warning naming the node and what it
   * lacks, and every slot counted. */
  char want[160];
  (void)snprintf(want, sizeof(want),
                 "virtio-mmio: slot %u, node %s (no %s) unusable: "
                 "RL_ERR_BAD_FORMAT; skipped, the scan goes on",
                 broken, fdt_get_name(blob, nth_virtio(blob, broken), NULL),
                 prop);
  log_capture_start(); /* only what the scan logs */
  (void)virtio_mmio_log_slots(&fdt);
  const char *captured = log_capture_text();
#if CONFIG_LOG_LEVEL >= 1
  if (strstr(captured, want) == NULL) {
    fail_msg("no \"%s\" in the scan's log:\n%s", want, captured);
  }
#else
  /* Errors only: the warning is not printed, the count still is. */
  assert_null(strstr(captured, "warning"));
#endif
  char count[64];
  (void)snprintf(count, sizeof(count), "virtio-mmio: %u slots", total);
  assert_non_null(strstr(captured, count));
  free(blob);
}

static void test_node_without_reg(void **state) {
  (void)state;
  scan_with_broken("qemu_virt_aarch64.dtb", 1, "reg");
  scan_with_broken("qemu_virt_riscv64.dtb", 0, "reg");
}

static void test_node_without_interrupts(void **state) {
  (void)state;
  scan_with_broken("qemu_virt_aarch64.dtb", 5, "interrupts");
  scan_with_broken("qemu_virt_riscv64.dtb", 3, "interrupts");
}

/* The slots (index by address) a filtered pass gives with a device, in
 * tree order; each with its interrupt and registers read. */
static unsigned pass(const struct fdt *fdt,
                     const struct virtio_mmio_filter *filter,
                     unsigned found[4]) {
  unsigned n = 0;
  for (int node = -1;;) {
    struct virtio_mmio_slot slot;
    rl_status st = virtio_mmio_device_next_filtered(fdt, &node, &slot, filter);
    if (st == RL_ERR_NOT_FOUND) {
      break;
    }
    if (filter == NULL && st == RL_ERR_BAD_FORMAT) {
      continue; /* the unfiltered scan reports the bad magic value */
    }
    assert_int_equal(st, RL_OK);
    if (slot.device_id == 0) {
      continue;
    }
    assert_true(n < 4);
    unsigned index = (unsigned)((slot.pa - AARCH64_SLOTS) / 0x200);
    assert_int_equal(slot.device_id, slot_regs[index][2]);
    assert_int_equal(slot.version, 2);
    assert_int_equal(slot.vendor_id, 0x554d4551u);
    assert_int_equal(slot.irq, 48 + index); /* GIC SPI 16 + n */
    found[n++] = index;
  }
  return n;
}

/* aarch64 virt's 32 slots: the first -device (a GPU) in the top one, a
 * second device below it, another GPU in slot 5, and slot 7 with a GPU's
 * id but no magic value. */
static void fill_slots(void) {
  for (unsigned i = 0; i < 32; i++) {
    slot_regs[i][0] = 0x74726976u;
    slot_regs[i][1] = 2;
    slot_regs[i][2] = 0;
    slot_regs[i][3] = 0x554d4551u;
  }
  slot_regs[31][2] = 16; /* the first -device */
  slot_regs[30][2] = 4;
  slot_regs[5][2] = 16;
  slot_regs[7][0] = 0; /* no magic: not a device, whatever its id */
  slot_regs[7][2] = 16;
  per_slot = true;
}

static const struct virtio_mmio_filter gpus = {.only = 16},
                                       others = {.except = 16};

/* aarch64 virt's tree opened and its slots filled; returns the blob. */
static void *open_slots(struct fdt *fdt) {
  size_t len;
  void *blob = load("qemu_virt_aarch64.dtb", &len);
  assert_int_equal(fdt_open(fdt, blob, len), RL_OK);
  fill_slots();
  return blob;
}

/* The boot's two passes: the GPUs (DeviceID 16) first, then every other
 * device; an empty slot, a bad magic value and the other pass's devices
 * are left out of each. */
static void test_filtered_passes(void **state) {
  (void)state;
  struct fdt fdt;
  void *blob = open_slots(&fdt);
  unsigned found[4];
  assert_int_equal(pass(&fdt, &gpus, found), 2);
  assert_int_equal(found[0], 5);
  assert_int_equal(found[1], 31);
  assert_int_equal(pass(&fdt, &others, found), 1);
  assert_int_equal(found[0], 30);
  assert_int_equal(pass(&fdt, NULL, found), 3);
  per_slot = false;
  free(blob);
}

/* The devices a pass left bound to no driver (virtio_bind keeps a failed
 * probe's record), freed. */
static void free_probed(void) {
  for (unsigned i = 0; i < probed_count; i++) {
    rl_free(probed[i].m);
  }
  probed_count = 0;
}

/* virtio_mmio_probe: the GPU pass reads the slots from the last node
 * back, so the GPU in the top slot (QEMU's first -device) is probed
 * before any other slot is read, and the one in slot 5 after the slots
 * above it; every slot is still read once. The other pass keeps tree
 * order. */
static void test_probe_order(void **state) {
  (void)state;
  struct fdt fdt;
  void *blob = open_slots(&fdt);
  mapped_count = 0;
  probed_count = 0;
  assert_int_equal(virtio_mmio_probe(&fdt, &gpus), 0); /* refused */
  assert_int_equal(probed_count, 2);
  assert_int_equal(probed[0].slot, 31);
  assert_int_equal(probed[0].read_before, 1); /* its own slot only */
  assert_int_equal(mapped[0], 31);
  assert_int_equal(probed[1].slot, 5);
  assert_int_equal(probed[1].read_before, 27); /* slots 31 down to 5 */
  assert_int_equal(mapped_count, 32);
  for (unsigned i = 0; i < 32; i++) {
    assert_int_equal(mapped[i], 31 - i);
  }
  free_probed();
  mapped_count = 0;
  assert_int_equal(virtio_mmio_probe(&fdt, &others), 0);
  assert_int_equal(probed_count, 1);
  assert_int_equal(probed[0].slot, 30);
  assert_int_equal(probed[0].read_before, 31); /* tree order: 0 to 30 */
  assert_int_equal(mapped_count, 32);
  free_probed();
  per_slot = false;
  free(blob);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_filtered_passes),
      cmocka_unit_test(test_probe_order),
      cmocka_unit_test(test_node_without_reg),
      cmocka_unit_test(test_node_without_interrupts),
  };
  return cmocka_run_group_tests_name("mmio_scan", tests, NULL, NULL);
}
