/* pci/: the host bridge from QEMU's own device trees (tests/fixtures, some
 * edited with libfdt), and bus 0 enumeration and BAR assignment on the PCI
 * model (tests/unit/devices/pci_model.c). */
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
#include <pci/pci.h>
#include <pci/pci_regs.h>
#include <tests/unit/support/fixture.h>

#include "../devices/pci_model.h"

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must name tests/fixtures (set by BUILD.gn)"
#endif

/* The model of the test that runs. */
static struct pci_model *current;

rl_status arch_ioremap(paddr_t pa, uint64_t size, volatile void **out) {
  return pci_model_ioremap(current, pa, size, out);
}

static void *load(const char *name, size_t *len) {
  size_t n;
  uint8_t *blob = fixture_load(name, 4096, &n); /* room for libfdt's edits */
  assert_int_equal(fdt_open_into(blob, blob, (int)(n + 4096)), 0);
  *len = n + 4096;
  return blob;
}

struct world {
  void *blob;
  size_t len;
  struct fdt fdt;
  int node;
  struct pci_host host;
  struct pci_model model;
};

static int libfdt_host(const void *blob) {
  int node = fdt_node_offset_by_compatible(blob, -1, "pci-host-ecam-generic");
  assert_true(node >= 0);
  return node;
}

static struct world *world_new(const char *fixture) {
  struct world *w = calloc(1, sizeof(*w));
  assert_non_null(w);
  w->blob = load(fixture, &w->len);
  assert_int_equal(pci_model_init(&w->model), RL_OK);
  current = &w->model;
  return w;
}

static rl_status world_init_host(struct world *w) {
  assert_int_equal(fdt_open(&w->fdt, w->blob, w->len), RL_OK);
  assert_int_equal(pci_host_find(&w->fdt, -1, &w->node), RL_OK);
  return pci_host_init(&w->fdt, w->node, &w->host);
}

static void world_start(struct world *w) {
  assert_int_equal(world_init_host(w), RL_OK);
}

static void world_free(struct world *w) {
  pci_model_free(&w->model);
  free(w->blob);
  free(w);
}

static const struct pci_window *window(const struct pci_host *h,
                                       enum pci_space s) {
  for (unsigned i = 0; i < h->window_count; i++) {
    if (h->windows[i].space == s) {
      return &h->windows[i];
    }
  }
  return NULL;
}

static void test_aarch64_bridge(void **state) {
  (void)state;
  struct world *w = world_new("qemu_virt_aarch64.dtb");
  assert_int_equal(world_init_host(w), RL_OK);
  const struct pci_host *h = &w->host;
  assert_int_equal(h->ecam_pa, 0x4010000000ull);
  assert_int_equal(h->ecam_size, 0x10000000ull);
  assert_int_equal(h->bus_start, 0);
  assert_int_equal(h->bus_end, 255);
  assert_true(h->dma_coherent);
  assert_int_equal(w->model.ecam_pa, 0x4010000000ull);
  assert_int_equal(w->model.ecam_size, 0x100000ull); /* bus 0 only */
  assert_int_equal(h->window_count, 3);
  const struct pci_window *io = window(h, PCI_SPACE_IO);
  const struct pci_window *m32 = window(h, PCI_SPACE_MEM32);
  const struct pci_window *m64 = window(h, PCI_SPACE_MEM64);
  assert_non_null(io);
  assert_non_null(m32);
  assert_non_null(m64);
  assert_int_equal(io->cpu_base, 0x3eff0000ull);
  assert_int_equal(io->size, 0x10000ull);
  assert_int_equal(m32->pci_base, 0x10000000ull);
  assert_int_equal(m32->cpu_base, 0x10000000ull);
  assert_int_equal(m32->size, 0x2eff0000ull);
  assert_int_equal(m64->pci_base, 0x8000000000ull);
  assert_int_equal(m64->cpu_base, 0x8000000000ull);
  assert_int_equal(m64->size, 0x8000000000ull);
  world_free(w);
}

static void test_riscv64_bridge(void **state) {
  (void)state;
  struct world *w = world_new("qemu_virt_riscv64.dtb");
  assert_int_equal(world_init_host(w), RL_OK);
  const struct pci_host *h = &w->host;
  assert_int_equal(h->ecam_pa, 0x30000000ull);
  const struct pci_window *m32 = window(h, PCI_SPACE_MEM32);
  const struct pci_window *m64 = window(h, PCI_SPACE_MEM64);
  assert_non_null(m32);
  assert_non_null(m64);
  assert_int_equal(m32->cpu_base, 0x40000000ull);
  assert_int_equal(m32->size, 0x40000000ull);
  assert_int_equal(m64->cpu_base, 0x400000000ull);
  assert_int_equal(window(h, PCI_SPACE_IO)->cpu_base, 0x3000000ull);
  world_free(w);
}

/* highmem=off: a 16 MiB ECAM window at 0x3f000000 holds buses 0-15. */
static void test_small_ecam_limits_buses(void **state) {
  (void)state;
  struct world *w = world_new("qemu_virt_aarch64.dtb");
  int node = libfdt_host(w->blob);
  const fdt32_t reg[] = {cpu_to_fdt32(0), cpu_to_fdt32(0x3f000000),
                         cpu_to_fdt32(0), cpu_to_fdt32(0x1000000)};
  assert_int_equal(fdt_setprop(w->blob, node, "reg", reg, sizeof(reg)), 0);
  assert_int_equal(world_init_host(w), RL_OK);
  assert_int_equal(w->host.ecam_pa, 0x3f000000ull);
  assert_int_equal(w->host.bus_end, 15);
  assert_int_equal(w->model.ecam_size, 0x100000ull);
  world_free(w);
}

static void expect_bad(const char *prop, const void *val, int len) {
  struct world *w = world_new("qemu_virt_riscv64.dtb");
  int node = libfdt_host(w->blob);
  if (val == NULL) {
    assert_int_equal(fdt_delprop(w->blob, node, prop), 0);
  } else {
    assert_int_equal(fdt_setprop(w->blob, node, prop, val, len), 0);
  }
  assert_int_equal(world_init_host(w), RL_ERR_BAD_FORMAT);
  world_free(w);
}

static void test_malformed_nodes(void **state) {
  (void)state;
  expect_bad("reg", NULL, 0);
  expect_bad("ranges", NULL, 0);
  const fdt32_t short_ranges[] = {cpu_to_fdt32(0x2000000), 0, 0};
  expect_bad("ranges", short_ranges, sizeof(short_ranges));
  /* A configuration-space entry is not a window. */
  const fdt32_t cfg_range[] = {
      0, 0, 0, 0, cpu_to_fdt32(0x40000000), 0, cpu_to_fdt32(0x1000)};
  expect_bad("ranges", cfg_range, sizeof(cfg_range));
  const fdt32_t backwards[] = {cpu_to_fdt32(5), cpu_to_fdt32(2)};
  expect_bad("bus-range", backwards, sizeof(backwards));
  const fdt32_t one = cpu_to_fdt32(1);
  expect_bad("bus-range", &one, sizeof(one));
}

/* The layout of `pci_model_add` calls the next tests share: a virtio-gpu
 * like function (I/O BAR0, mem32 BAR1, 64-bit prefetchable BAR4), a
 * virtio-rng like one, and a multi-function device at 3 with functions
 * 0 and 2. */
static void populate(struct pci_model *m) {
  struct pci_model_fn *gpu = pci_model_add(m, 1, 0, 0x1af4, 0x1050, 0x0380, 0);
  pci_model_bar(gpu, 0, 32, PCI_BAR_IO);
  pci_model_bar(gpu, 1, 4096, 0);
  pci_model_bar(gpu, 4, 16384, PCI_BAR_MEM_64 | PCI_BAR_PREFETCH);
  struct pci_model_fn *rng = pci_model_add(m, 2, 0, 0x1af4, 0x1044, 0x00ff, 0);
  pci_model_bar(rng, 1, 4096, 0);
  pci_model_bar(rng, 4, 16384, PCI_BAR_MEM_64 | PCI_BAR_PREFETCH);
  struct pci_model_fn *f0 =
      pci_model_add(m, 3, 0, 0x8086, 0x1234, 0x0200, 0x80);
  pci_model_bar(f0, 0, 1u << 20, 0);
  struct pci_model_fn *f2 = pci_model_add(m, 3, 2, 0x8086, 0x1235, 0x0200, 0);
  pci_model_bar(f2, 2, 1u << 16, 0);
}

static const struct pci_function *find(const struct pci_host *h, unsigned dev,
                                       unsigned fn) {
  for (unsigned i = 0; i < h->function_count; i++) {
    if (h->functions[i].dev == dev && h->functions[i].fn == fn) {
      return &h->functions[i];
    }
  }
  return NULL;
}

static bool inside(const struct pci_host *h, const struct pci_bar *b) {
  for (unsigned i = 0; i < h->window_count; i++) {
    const struct pci_window *w = &h->windows[i];
    if (b->pci_addr >= w->pci_base &&
        b->pci_addr - w->pci_base <= w->size - b->size &&
        b->cpu_addr == w->cpu_base + (b->pci_addr - w->pci_base)) {
      return true;
    }
  }
  return false;
}

static void check_assignment(const struct world *w, const char *fixture) {
  const struct pci_host *h = &w->host;
  assert_int_equal(h->function_count, 4);
  const struct pci_bar *all[16];
  unsigned n = 0;
  for (unsigned i = 0; i < h->function_count; i++) {
    const struct pci_function *f = &h->functions[i];
    assert_true(f->usable);
    const struct pci_model_fn *mf = &w->model.fns[f->dev * 8 + f->fn];
    uint16_t cmd = (uint16_t)(mf->cfg[4] | (mf->cfg[5] << 8));
    assert_true(cmd & PCI_COMMAND_MEMORY);
    assert_true(cmd & PCI_COMMAND_MASTER);
    assert_false(cmd & PCI_COMMAND_IO);
    for (unsigned b = 0; b < PCI_BARS; b++) {
      const struct pci_bar *bar = &f->bars[b];
      if (bar->size == 0 || bar->space == PCI_SPACE_IO) {
        continue;
      }
      assert_int_equal(bar->size, mf->bar_size[b]);
      assert_true(inside(h, bar));
      assert_int_equal(bar->pci_addr % bar->size, 0);
      /* The device holds the address the kernel chose. */
      uint64_t reg = pci_model_get32(mf, 0x10 + 4 * b) & ~0xfu;
      if (bar->space == PCI_SPACE_MEM64) {
        reg |= (uint64_t)pci_model_get32(mf, 0x14 + 4 * b) << 32;
      }
      assert_int_equal(reg, bar->pci_addr);
      all[n++] = bar;
    }
  }
  assert_int_equal(n, 6);
  for (unsigned i = 0; i < n; i++) {
    for (unsigned j = i + 1; j < n; j++) {
      bool apart = all[i]->pci_addr + all[i]->size <= all[j]->pci_addr ||
                   all[j]->pci_addr + all[j]->size <= all[i]->pci_addr;
      if (!apart) {
        fail_msg("%s: BARs overlap", fixture);
      }
    }
  }
  const struct pci_function *gpu = find(h, 1, 0);
  assert_non_null(gpu);
  assert_int_equal(gpu->bars[4].space, PCI_SPACE_MEM64);
  assert_int_equal(gpu->bars[4].pci_addr >> 32 != 0,
                   window(h, PCI_SPACE_MEM64)->pci_base >> 32 != 0);
  assert_int_equal(gpu->bars[0].space, PCI_SPACE_IO);
  assert_int_equal(gpu->bars[0].size, 32);
  assert_int_equal(w->model.sizing_while_decoding, 0);
}

static void test_enumerate_assigns(void **state) {
  (void)state;
  static const char *const fixtures[] = {"qemu_virt_aarch64.dtb",
                                         "qemu_virt_riscv64.dtb"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(fixtures); i++) {
    struct world *w = world_new(fixtures[i]);
    world_start(w);
    populate(&w->model);
    /* Decoding on at entry, as a device left by a previous owner. */
    w->model.fns[8].cfg[4] = PCI_COMMAND_MEMORY;
    assert_int_equal(pci_enumerate(&w->host), RL_OK);
    check_assignment(w, fixtures[i]);
    world_free(w);
  }
}

/* A BAR larger than every window: that function stays off, the others
 * work. riscv64's 32-bit window is 1 GiB. */
static void test_bar_too_large(void **state) {
  (void)state;
  struct world *w = world_new("qemu_virt_riscv64.dtb");
  world_start(w);
  populate(&w->model);
  struct pci_model_fn *big =
      pci_model_add(&w->model, 5, 0, 0x1234, 0x1, 0x0300, 0);
  pci_model_bar(big, 0, 2ull << 30, 0);
  assert_int_equal(pci_enumerate(&w->host), RL_OK);
  const struct pci_function *f = find(&w->host, 5, 0);
  assert_non_null(f);
  assert_false(f->usable);
  assert_int_equal(big->cfg[4] & PCI_COMMAND_MEMORY, 0);
  assert_int_equal(pci_model_get32(big, 0x10), 0);
  assert_true(find(&w->host, 1, 0)->usable);
  assert_true(find(&w->host, 2, 0)->usable);
  world_free(w);
}

/* A BAR whose writable bits are not contiguous, and a 64-bit BAR in the
 * last slot: malformed, the function stays off. */
static void test_malformed_bars(void **state) {
  (void)state;
  struct world *w = world_new("qemu_virt_aarch64.dtb");
  world_start(w);
  populate(&w->model);
  struct pci_model_fn *holey = pci_model_add(&w->model, 6, 0, 0x1234, 2, 0, 0);
  pci_model_bar(holey, 0, 4096, 0);
  holey->bar_raw_mask[0] = 0xff0ff000u;
  struct pci_model_fn *last = pci_model_add(&w->model, 7, 0, 0x1234, 3, 0, 0);
  pci_model_bar(last, 5, 4096, PCI_BAR_MEM_64);
  assert_int_equal(pci_enumerate(&w->host), RL_OK);
  assert_false(find(&w->host, 6, 0)->usable);
  assert_false(find(&w->host, 7, 0)->usable);
  assert_true(find(&w->host, 1, 0)->usable);
  world_free(w);
}

/* A prefetchable window takes prefetchable BARs first and never a
 * non-prefetchable one. riscv64's ranges plus a prefetchable 32-bit
 * window at 0x20000000. */
static void test_prefetchable_window(void **state) {
  (void)state;
  struct world *w = world_new("qemu_virt_riscv64.dtb");
  int node = libfdt_host(w->blob);
  const fdt32_t pref[] = {
      cpu_to_fdt32(0x42000000), 0, cpu_to_fdt32(0x20000000), 0,
      cpu_to_fdt32(0x20000000), 0, cpu_to_fdt32(0x1000000)};
  assert_int_equal(fdt_appendprop(w->blob, node, "ranges", pref, sizeof(pref)),
                   0);
  world_start(w);
  struct pci_model_fn *mf = pci_model_add(&w->model, 1, 0, 0x1af4, 1, 0, 0);
  pci_model_bar(mf, 0, 4096, 0);
  pci_model_bar(mf, 1, 8192, PCI_BAR_PREFETCH);
  assert_int_equal(pci_enumerate(&w->host), RL_OK);
  const struct pci_function *f = find(&w->host, 1, 0);
  assert_true(f->usable);
  assert_int_equal(f->bars[1].pci_addr, 0x20000000);
  assert_int_equal(f->bars[0].pci_addr, 0x40000000);
  world_free(w);
}

/* Bridges are reported, not configured. */
static void test_bridge_left_alone(void **state) {
  (void)state;
  struct world *w = world_new("qemu_virt_aarch64.dtb");
  world_start(w);
  populate(&w->model);
  (void)pci_model_add(&w->model, 4, 0, 0x1b36, 0x000c, 0x0604, 1);
  assert_int_equal(pci_enumerate(&w->host), RL_OK);
  const struct pci_function *br = find(&w->host, 4, 0);
  assert_non_null(br);
  assert_false(br->usable);
  assert_int_equal(w->model.fns[4 * 8].cfg[4], 0);
  world_free(w);
}

static void test_capabilities(void **state) {
  (void)state;
  struct world *w = world_new("qemu_virt_aarch64.dtb");
  world_start(w);
  struct pci_model_fn *mf =
      pci_model_add(&w->model, 1, 0, 0x1af4, 0x1050, 0, 0);
  pci_model_cap(mf, 0x98, PCI_CAP_ID_MSIX, NULL, 0);
  pci_model_cap(mf, 0x84, PCI_CAP_ID_VENDOR, NULL, 0);
  pci_model_cap(mf, 0x70, PCI_CAP_ID_VENDOR, NULL, 0);
  assert_int_equal(pci_enumerate(&w->host), RL_OK);
  const struct pci_function *f = find(&w->host, 1, 0);
  unsigned at;
  assert_int_equal(pci_cap_find(f, PCI_CAP_ID_VENDOR, 0, &at), RL_OK);
  assert_int_equal(at, 0x84);
  assert_int_equal(pci_cap_find(f, PCI_CAP_ID_VENDOR, at, &at), RL_OK);
  assert_int_equal(at, 0x70);
  assert_int_equal(pci_cap_find(f, PCI_CAP_ID_VENDOR, at, &at),
                   RL_ERR_NOT_FOUND);
  assert_int_equal(pci_cap_find(f, PCI_CAP_ID_MSIX, 0, &at), RL_OK);
  assert_int_equal(at, 0x98);
  /* A loop: the last entry points back at the first. */
  mf->cfg[0x71] = 0x98;
  assert_int_equal(pci_cap_find(f, 0x42, 0, &at), RL_ERR_BAD_FORMAT);
  /* A pointer into the header. */
  mf->cfg[0x71] = 0x20;
  assert_int_equal(pci_cap_find(f, 0x42, 0, &at), RL_ERR_BAD_FORMAT);
  /* No capability list bit: nothing, whatever the pointer says. */
  mf->cfg[0x06] = 0;
  assert_int_equal(pci_cap_find(f, PCI_CAP_ID_MSIX, 0, &at), RL_ERR_NOT_FOUND);
  world_free(w);
}

/* INTx through QEMU's interrupt-map: device d, pin p (1..4) goes to
 * swizzled line (d + p - 1) % 4 of the four the bridge has. */
static void test_intx_routing(void **state) {
  (void)state;
  struct {
    const char *fixture;
    uint32_t lines[4]; /* the last specifier cell of lines A..D */
    size_t ncells;
  } cases[] = {
      {"qemu_virt_aarch64.dtb", {3, 4, 5, 6}, 3},
      {"qemu_virt_riscv64.dtb", {0x20, 0x21, 0x22, 0x23}, 1},
  };
  for (size_t c = 0; c < RL_ARRAY_SIZE(cases); c++) {
    struct world *w = world_new(cases[c].fixture);
    world_start(w);
    for (unsigned dev = 0; dev < 8; dev++) {
      struct pci_model_fn *mf =
          pci_model_add(&w->model, dev, 0, 0x1af4, 1, 0, 0);
      mf->cfg[0x3d] = (uint8_t)(1 + dev % 4);
    }
    assert_int_equal(pci_enumerate(&w->host), RL_OK);
    for (unsigned dev = 0; dev < 8; dev++) {
      const struct pci_function *f = find(&w->host, dev, 0);
      uint32_t cells[4];
      size_t n;
      assert_int_equal(pci_intx_spec(f, cells, 4, &n), RL_OK);
      assert_int_equal(n, cases[c].ncells);
      unsigned pin = 1 + dev % 4;
      uint32_t want = cases[c].lines[(dev + pin - 1) % 4];
      if (n == 3) {
        assert_int_equal(cells[0], 0); /* SPI */
        assert_int_equal(cells[1], want);
      } else {
        assert_int_equal(cells[0], want);
      }
    }
    world_free(w);
  }
}

static void set_cells(struct world *w, const char *prop, const uint32_t *v,
                      size_t n) {
  uint32_t be[8];
  for (size_t i = 0; i < n; i++) {
    be[i] = cpu_to_fdt32(v[i]);
  }
  assert_int_equal(
      fdt_setprop(w->blob, libfdt_host(w->blob), prop, be, (int)(n * 4)), 0);
}

/* Enumerates function 00:01.3 (behind 00:01.0) on the bridge as edited
 * and asks for its MSI controller and device id. */
static rl_status msi_of_01_3(struct world *w, int *ctrl, uint32_t *devid) {
  pci_model_free(&w->model);
  assert_int_equal(pci_model_init(&w->model), RL_OK);
  world_start(w);
  (void)pci_model_add(&w->model, 1, 0, 0x1af4, 0x1050, 0, 0x80);
  (void)pci_model_add(&w->model, 1, 3, 0x1af4, 0x1050, 0, 0);
  assert_int_equal(pci_enumerate(&w->host), RL_OK);
  return pci_msi_controller(find(&w->host, 1, 3), ctrl, devid);
}

/* The MSI controller and the id a function's MSIs carry (PCI MSI
 * binding): QEMU's aarch64 msi-map <0 &ctrl 0 0x10000> is the requester
 * id itself (bus << 8 | dev << 3 | fn); an msi-map with an msi-base and
 * a mask translates it; a requester id outside every entry has none;
 * msi-parent gives the requester id. */
static void test_msi_controller_and_devid(void **state) {
  (void)state;
  struct world *w = world_new("qemu_virt_aarch64.dtb");
  uint32_t phandle = 0;
  int ctrl_off =
      fdt_node_offset_by_compatible(w->blob, -1, "arm,gic-v2m-frame");
  assert_true(ctrl_off >= 0);
  phandle = fdt_get_phandle(w->blob, ctrl_off);
  assert_true(phandle != 0);
  struct {
    uint32_t map[8];
    size_t n;
    uint32_t mask; /* 0: no msi-map-mask */
    rl_status st;
    uint32_t devid;
  } cases[] = {
      {{0, phandle, 0, 0x10000}, 4, 0, RL_OK, 0x0b}, /* 00:01.3 */
      {{0, phandle, 0x100, 0x10000}, 4, 0, RL_OK, 0x10b},
      {{0x8, phandle, 0x40, 0x8}, 4, 0, RL_OK, 0x43},
      {{0x0, phandle, 0x0, 0x8, 0x8, phandle, 0x2000, 0x8},
       8,
       0,
       RL_OK,
       0x2003},
      {{0x0, phandle, 0x0, 0x8}, 4, 0, RL_ERR_NOT_FOUND, 0},
      {{0x3, phandle, 0x70, 0x1}, 4, 0x7, RL_OK, 0x70},
  };
  for (size_t c = 0; c < RL_ARRAY_SIZE(cases); c++) {
    set_cells(w, "msi-map", cases[c].map, cases[c].n);
    int host = libfdt_host(w->blob);
    (void)fdt_delprop(w->blob, host, "msi-map-mask");
    if (cases[c].mask != 0) {
      set_cells(w, "msi-map-mask", &cases[c].mask, 1);
    }
    int ctrl = -1;
    uint32_t devid = 0xdead;
    assert_int_equal(msi_of_01_3(w, &ctrl, &devid), cases[c].st);
    if (cases[c].st == RL_OK) {
      assert_int_equal(fdt_get_phandle(w->blob, ctrl), phandle);
      assert_int_equal(devid, cases[c].devid);
    }
  }
  /* msi-parent alone: the requester id. */
  int host = libfdt_host(w->blob);
  assert_int_equal(fdt_delprop(w->blob, host, "msi-map"), 0);
  (void)fdt_delprop(w->blob, host, "msi-map-mask");
  set_cells(w, "msi-parent", &phandle, 1);
  int ctrl = -1;
  uint32_t devid = 0;
  assert_int_equal(msi_of_01_3(w, &ctrl, &devid), RL_OK);
  assert_int_equal(fdt_get_phandle(w->blob, ctrl), phandle);
  assert_int_equal(devid, 0x0b);
  world_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_aarch64_bridge),
      cmocka_unit_test(test_riscv64_bridge),
      cmocka_unit_test(test_small_ecam_limits_buses),
      cmocka_unit_test(test_malformed_nodes),
      cmocka_unit_test(test_enumerate_assigns),
      cmocka_unit_test(test_bar_too_large),
      cmocka_unit_test(test_malformed_bars),
      cmocka_unit_test(test_prefetchable_window),
      cmocka_unit_test(test_bridge_left_alone),
      cmocka_unit_test(test_capabilities),
      cmocka_unit_test(test_intx_routing),
      cmocka_unit_test(test_msi_controller_and_devid),
  };
  return cmocka_run_group_tests_name("pci", tests, NULL, NULL);
}
