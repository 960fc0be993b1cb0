/* The virtio-pci transport (virtio/transport-pci) on the PCI bus model
 * with a virtio-pci function in front of the rng and GPU models: the same
 * drivers work over PCI as over MMIO (the device holds the pixels the
 * driver drew), and a function that lies about its capabilities or its
 * notify offsets is refused with a message, never used. */
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

#include <arch/dma.h>
#include <arch/irq.h>
#include <arch/vm.h>
#include <arch_host.h>
#include <drivers/gpu/gpu.h>
#include <drivers/gpu/virtio_gpu.h>
#include <drivers/rng/rng.h>
#include <lib/gfx/fb.h>
#include <lib/log.h>
#include <pci/pci.h>
#include <pci/pci_regs.h>
#include <tests/unit/support/fixture.h>
#include <tests/unit/support/log_capture.h>
#include <virtio/transport-pci/pci.h>
#include <virtio/transport-pci/virtio_pci.h>

#include "gpu_model.h"
#include "rng_model.h"
#include "vpci_model.h"

extern const struct virtio_driver virtio_rng_driver;
extern const struct virtio_driver virtio_gpu_driver;

static struct pci_model *current;

/* Devices are bound by hand here: no driver table. */
const struct virtio_driver *const virtio_drivers[] = {NULL};
const size_t virtio_driver_count = 0;

/* The log since the last clear (tests/unit/support/log_capture.h). */
static void host_log_clear(void) { log_capture_clear(); }
static const char *host_log_tail(void) { return log_capture_text(); }

rl_status arch_ioremap(paddr_t pa, uint64_t size, volatile void **out) {
  return pci_model_ioremap(current, pa, size, out);
}

struct world {
  void *blob;
  struct fdt fdt;
  struct pci_model model;
  struct pci_host host;
};

/* QEMU's aarch64 tree: INTA of device d reaches GIC SPI 3 + d % 4. */
static unsigned intx_irq(unsigned dev) { return 32 + 3 + dev % 4; }

static struct world *world_new(void) {
  struct world *w = calloc(1, sizeof(*w));
  assert_non_null(w);
  size_t len;
  w->blob = fixture_load("qemu_virt_aarch64.dtb", 0, &len);
  assert_int_equal(fdt_open(&w->fdt, w->blob, len), RL_OK);
  assert_int_equal(pci_model_init(&w->model), RL_OK);
  current = &w->model;
  host_msi_reset();
  host_irq_reset();
  return w;
}

static const struct pci_function *enumerate(struct world *w, unsigned dev) {
  int node;
  assert_int_equal(pci_host_find(&w->fdt, -1, &node), RL_OK);
  assert_int_equal(pci_host_init(&w->fdt, node, &w->host), RL_OK);
  assert_int_equal(pci_enumerate(&w->host), RL_OK);
  for (unsigned i = 0; i < w->host.function_count; i++) {
    if (w->host.functions[i].dev == dev) {
      return &w->host.functions[i];
    }
  }
  fail_msg("no function at device %u", dev);
  return NULL;
}

static void world_free(struct world *w) {
  pci_model_free(&w->model);
  free(w->blob);
  free(w);
}

/* ---- MSI-X ---------------------------------------------------------- */

static uint16_t command_of(const struct vpci *v) {
  return (uint16_t)(v->fn->cfg[PCI_COMMAND] | v->fn->cfg[PCI_COMMAND + 1] << 8);
}

static void msix_log_has(const char *what) {
  if (strstr(host_log_tail(), what) == NULL) {
    fail_msg("log lacks \"%s\":\n%s", what, host_log_tail());
  }
}

/* The rng at 00:01.0 with `entries` MSI-X entries (0: no capability),
 * `edit` run on the model before enumeration; probed, one read done. */
struct rng_world {
  struct world *w;
  struct rng_model *rm;
  struct vpci *v;
  struct virtio_pci_device p;
};

static void rng_start(struct rng_world *r, unsigned entries,
                      void (*edit)(struct vpci *v)) {
  r->w = world_new();
  struct rng_model_config rc = {.version = 2, .irq = intx_irq(1), .pa = 0x1};
  r->rm = rng_model_create(&rc);
  r->v = vpci_add(&r->w->model, 1, rng_model_vm(r->rm), 4, 1);
  if (entries != 0) {
    vpci_msix(r->v, entries);
  }
  if (edit != NULL) {
    edit(r->v);
  }
  const struct pci_function *fn = enumerate(r->w, 1);
  host_log_clear();
  assert_int_equal(virtio_pci_device_init(&r->p, fn), RL_OK);
  r->p.dev.driver = &virtio_rng_driver;
  rl_status st = virtio_rng_driver.probe(&r->p.dev);
  if (st != RL_OK) {
    fail_msg("probe: %s; log:\n%s", rl_status_str(st), host_log_tail());
  }
  uint8_t buf[16];
  size_t got;
  assert_int_equal(rng_read(rng_get(0), buf, sizeof(buf), &got), RL_OK);
  assert_int_equal(got, sizeof(buf));
}

static void rng_stop(struct rng_world *r) {
  (void)virtio_device_reset(&r->p.dev);
  rng_remove(&r->p.dev);
  virtio_device_release(&r->p.dev);
  /* Every vector back, MSI-X off, INTx allowed again. */
  assert_int_equal(host_msi_allocated(), 0);
  assert_int_equal(r->v->msix_entries == 0
                       ? 0
                       : vpci_msix_control(r->v) & PCI_MSIX_CTRL_ENABLE,
                   0);
  assert_int_equal(command_of(r->v) & PCI_COMMAND_INTX_DISABLE, 0);
  assert_int_equal(r->v->bad_accesses, 0);
  vpci_free(r->v);
  rng_model_destroy(r->rm);
  world_free(r->w);
}

/* MSI-X on: the table programmed from the fake controller's vectors,
 * MSI-X enabled with the function unmasked, INTx disabled; the probe's
 * read and the test's completed through the queue's vector (messages,
 * never INTx), and a configuration change through vector 0 reaches the
 * core as one, without the queue's handler. */
static void test_rng_msix(void **state) {
  (void)state;
  struct rng_world r;
  rng_start(&r, 2, NULL);
  msix_log_has("virtio-rng@pci-00:01.0: interrupts: MSI-X (2 vectors: config + "
               "1 queue, irqs 960-961)");
  struct vpci *v = r.v;
  assert_int_equal(vpci_msix_control(v) &
                       (PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL),
                   PCI_MSIX_CTRL_ENABLE);
  assert_int_equal(command_of(v) & PCI_COMMAND_INTX_DISABLE,
                   PCI_COMMAND_INTX_DISABLE);
  for (unsigned i = 0; i < 2; i++) {
    assert_int_equal(v->msix_table[i][0], (uint32_t)HOST_MSI_DOORBELL);
    assert_int_equal(v->msix_table[i][1], 0);
    assert_int_equal(v->msix_table[i][2], HOST_MSI_IRQ_BASE + i);
    assert_int_equal(v->msix_table[i][3], 0); /* unmasked */
  }
  assert_int_equal(v->config_msix, 0);
  assert_int_equal(v->queue_msix[0], 1);
  assert_int_equal(v->msix_messages, 2);
  assert_int_equal(v->intx_raised, 0);
  assert_int_equal(v->lost, 0);
  assert_int_equal(host_msi_stray(), 0);
  /* QEMU's msi-map is the identity: 00:01.0's requester id. */
  assert_int_equal(host_msi_last_devid(), 0x08);
  assert_int_equal(arch_irq_count(HOST_MSI_IRQ_BASE + 1), 2);
  assert_int_equal(arch_irq_count(HOST_MSI_IRQ_BASE), 0);
  assert_int_equal(arch_irq_count(intx_irq(1)), 0);
  assert_false(host_irq_is_enabled(intx_irq(1)));
  vm_config_changed(rng_model_vm(r.rm));
  assert_int_equal(arch_irq_count(HOST_MSI_IRQ_BASE), 1);
  assert_int_equal(r.p.dev.config_changes, 1);
  assert_int_equal(arch_irq_count(HOST_MSI_IRQ_BASE + 1), 2);
  rng_stop(&r);
}

/* A GPU function at 00:02.0 (320x200, EDID), probed: `transport`
 * features offered, `msix` table entries (0: none), queue_reset read back
 * busy twice when RING_RESET is offered. */
struct gpu_pci {
  struct world *w;
  struct gpu_model *gm;
  struct vm_dev *vm;
  struct vpci *v;
  struct virtio_pci_device p;
  struct gpu *g;
};

static struct gpu_pci *gpu_pci_new(uint64_t transport, unsigned msix) {
  struct gpu_pci *t = calloc(1, sizeof(*t));
  assert_non_null(t);
  t->w = world_new();
  struct gpu_model_config gc = {
      .version = 2,
      .transport = transport,
      .edid = true,
      .num_scanouts = 1,
      .scanout = {{.enabled = true, .width = 320, .height = 200}},
      .irq = intx_irq(2),
      .pa = 0x2,
  };
  t->gm = gpu_model_create(&gc);
  t->vm = gpu_model_vm(t->gm);
  t->v = vpci_add(&t->w->model, 2, t->vm, 16, 2);
  t->v->queue_reset_reads = 2;
  if (msix != 0) {
    vpci_msix(t->v, msix);
  }
  const struct pci_function *fn = enumerate(t->w, 2);
  host_log_clear();
  assert_int_equal(virtio_pci_device_init(&t->p, fn), RL_OK);
  t->p.dev.driver = &virtio_gpu_driver;
  rl_status st = virtio_gpu_driver.probe(&t->p.dev);
  if (st != RL_OK) {
    fail_msg("probe: %s; log:\n%s", rl_status_str(st), host_log_tail());
  }
  t->g = gpu_get(0);
  return t;
}

/* A frame presented: scanout 0 shows the framebuffer, pixel for pixel. */
static void gpu_pci_shows_frame(struct gpu_pci *t) {
  assert_int_equal(gpu_present(t->g), RL_OK);
  const struct fb_surface *s = gpu_surface(t->g, 0);
  assert_non_null(s);
  struct gm_rect r;
  uint32_t id = gpu_model_scanout(t->gm, 0, &r);
  assert_int_not_equal(id, 0);
  assert_int_equal(r.w, 320);
  assert_int_equal(r.h, 200);
  const struct gm_resource *res = gpu_model_resource(t->gm, id);
  assert_non_null(res);
  for (uint32_t y = 0; y < s->height; y++) {
    assert_memory_equal(res->pixels + (size_t)y * res->width, fb_row(s, y),
                        (size_t)s->width * 4);
  }
}

static void gpu_pci_free(struct gpu_pci *t) {
  assert_int_equal(t->v->bad_accesses, 0);
  assert_int_equal(t->v->bad_notifies, 0);
  (void)virtio_device_reset(&t->p.dev);
  gpu_remove(&t->p.dev);
  virtio_device_release(&t->p.dev);
  assert_int_equal(host_msi_allocated(), 0);
  vpci_free(t->v);
  gpu_model_destroy(t->gm);
  world_free(t->w);
  free(t);
}

/* The GPU: config + 2 queues, each queue's completions on its own
 * vector; the picture as over INTx. */
static void test_gpu_msix(void **state) {
  (void)state;
  struct gpu_pci *t = gpu_pci_new(0, 3);
  msix_log_has("virtio-gpu@pci-00:02.0: interrupts: MSI-X (3 vectors: config + "
               "2 queues");
  gpu_pci_shows_frame(t);
  assert_int_equal(t->v->queue_msix[0], 1);
  assert_int_equal(t->v->queue_msix[1], 2);
  assert_true(arch_irq_count(HOST_MSI_IRQ_BASE + 1) > 0); /* controlq */
  assert_int_equal(t->v->intx_raised, 0);
  assert_int_equal(t->v->lost, 0);
  assert_int_equal(host_msi_stray(), 0);
  gpu_pci_free(t);
}

/* INTx when MSI-X cannot be had, with the reason in the log; the rng
 * works through INTx and the ISR, no message is sent. */
static void expect_intx(unsigned entries, void (*edit)(struct vpci *v),
                        const char *reason) {
  struct rng_world r;
  rng_start(&r, entries, edit);
  char want[160];
  (void)snprintf(want, sizeof(want),
                 "virtio-rng@pci-00:01.0: interrupts: INTx pin A, irq %u "
                 "(MSI-X unavailable: %s)",
                 intx_irq(1), reason);
  msix_log_has(want);
  assert_int_equal(r.v->msix_messages, 0);
  assert_int_equal(r.v->intx_raised, 2);
  assert_int_equal(arch_irq_count(intx_irq(1)), 2);
  if (entries != 0) {
    assert_int_equal(vpci_msix_control(r.v) & PCI_MSIX_CTRL_ENABLE, 0);
  }
  assert_int_equal(command_of(r.v) & PCI_COMMAND_INTX_DISABLE, 0);
  rng_stop(&r);
  host_irq_reset();
}

static void refuse_queue_vector(struct vpci *v) { v->refuse_vector = 1; }
static void refuse_config_vector(struct vpci *v) { v->refuse_vector = 0; }
static void msis_off(struct vpci *v) {
  (void)v;
  host_msi_set_available(false);
}
static void table_outside_bar(struct vpci *v) {
  pci_model_set32(v->fn, VPCI_MSIX_CAP + PCI_MSIX_TABLE,
                  0xff8u | VPCI_MSIX_BAR);
}

static void test_msix_fallbacks(void **state) {
  (void)state;
  host_irq_reset();
  expect_intx(0, NULL, "no MSI-X capability");
  expect_intx(2, refuse_queue_vector,
              "the device refused vector 1 for queue 0");
  expect_intx(2, refuse_config_vector,
              "the device refused vector 0 for configuration changes");
  expect_intx(2, msis_off, "host: MSIs off");
  expect_intx(1, NULL, "MSI-X table has 1 entries, 2 needed");
  expect_intx(2, table_outside_bar,
              "MSI-X table (BAR 1 offset 0xff8) is outside its BAR");
}

static void test_rng_over_pci(void **state) {
  (void)state;
  struct world *w = world_new();
  struct rng_model_config rc = {.version = 2, .irq = intx_irq(1), .pa = 0x1};
  struct rng_model *rm = rng_model_create(&rc);
  struct vpci *v = vpci_add(&w->model, 1, rng_model_vm(rm), 4, 1);
  const struct pci_function *fn = enumerate(w, 1);
  assert_int_equal(virtio_pci_device_id(fn), 4);
  struct virtio_pci_device p;
  assert_int_equal(virtio_pci_device_init(&p, fn), RL_OK);
  assert_int_equal(p.dev.irq, intx_irq(1));
  assert_string_equal(p.dev.name, "virtio-rng@pci-00:01.0");
  p.dev.driver = &virtio_rng_driver;
  assert_int_equal(virtio_rng_driver.probe(&p.dev), RL_OK);
  uint8_t buf[32];
  size_t got;
  assert_int_equal(rng_read(rng_get(0), buf, sizeof(buf), &got), RL_OK);
  uint32_t len;
  uint32_t offered;
  const uint8_t *want = rng_model_last(rm, &len, &offered);
  assert_int_equal(got, len);
  assert_memory_equal(buf, want, got);
  /* The probe's read and this one completed through INTx and the ISR,
   * one notify each. */
  assert_int_equal(vm_interrupts(rng_model_vm(rm)), 2);
  assert_int_equal(vm_notifies(rng_model_vm(rm), 0), 2);
  assert_int_equal(v->bad_accesses, 0);
  assert_int_equal(v->bad_notifies, 0);
  (void)virtio_device_reset(&p.dev);
  rng_remove(&p.dev);
  virtio_device_release(&p.dev);
  vpci_free(v);
  rng_model_destroy(rm);
  world_free(w);
}

static void test_gpu_over_pci(void **state) {
  (void)state;
  struct gpu_pci *t = gpu_pci_new(0, 0);
  gpu_pci_shows_frame(t);
  /* Configuration fields through the device structure (0x1000 bytes in
   * the model, §4.1.4.6): num_scanouts at 8; a field that ends past the
   * structure, or past 4 GiB, never reaches the device. */
  uint64_t val = 0;
  assert_int_equal(virtio_config_read(&t->p.dev, 8, 4, &val), RL_OK);
  assert_int_equal(val, 1);
  assert_int_equal(virtio_config_read(&t->p.dev, 0xffe, 4, &val),
                   RL_ERR_INVALID);
  assert_int_equal(virtio_config_read(&t->p.dev, 0x1000, 1, &val),
                   RL_ERR_INVALID);
  assert_int_equal(virtio_config_read(&t->p.dev, 0xfffffffcu, 4, &val),
                   RL_ERR_INVALID);
  assert_int_equal(virtio_config_read(&t->p.dev, 0xffc, 8, &val),
                   RL_ERR_INVALID);
  assert_int_equal(virtio_config_write32(&t->p.dev, 0x1000, 0), RL_ERR_INVALID);
  gpu_pci_free(t);
}

/* A function whose capabilities lie is refused at init, with what is
 * wrong in the log. `edit` breaks the function after it is set up. */
static void expect_refused(void (*edit)(struct pci_model_fn *f), rl_status want,
                           const char *message) {
  struct world *w = world_new();
  struct rng_model_config rc = {.version = 2, .irq = intx_irq(1), .pa = 0x1};
  struct rng_model *rm = rng_model_create(&rc);
  struct vpci *v = vpci_add(&w->model, 1, rng_model_vm(rm), 4, 1);
  edit(v->fn);
  const struct pci_function *fn = enumerate(w, 1);
  struct virtio_pci_device p;
  host_log_clear();
  assert_int_equal(virtio_pci_device_init(&p, fn), want);
  if (strstr(host_log_tail(), message) == NULL) {
    fail_msg("log lacks \"%s\":\n%s", message, host_log_tail());
  }
  vpci_free(v);
  rng_model_destroy(rm);
  world_free(w);
}

static void drop_common(struct pci_model_fn *f) {
  f->cfg[0x43] = 0x7f; /* the common capability's cfg_type: unknown */
}
static void common_outside_bar(struct pci_model_fn *f) {
  pci_model_set32(f, 0x48, VPCI_BAR_SIZE - 0x10); /* offset; length 4 KiB */
}
static void notify_in_io_bar(struct pci_model_fn *f) {
  f->cfg[0x74] = 0; /* the notify capability names BAR 0 (none) */
}
static void short_notify_cap(struct pci_model_fn *f) {
  f->cfg[0x72] = 16; /* cap_len without notify_off_multiplier */
}
static void cap_loop(struct pci_model_fn *f) {
  f->cfg[0x71] = 0x40; /* the last capability points at the first */
}

static void test_refusals(void **state) {
  (void)state;
  expect_refused(drop_common, RL_ERR_NOT_SUPPORTED,
                 "no common capability: not a modern virtio-pci device");
  expect_refused(common_outside_bar, RL_ERR_BAD_FORMAT,
                 "common capability at 0x40 points outside its BAR");
  expect_refused(notify_in_io_bar, RL_ERR_BAD_FORMAT,
                 "notify capability at 0x70 points outside its BAR");
  expect_refused(short_notify_cap, RL_ERR_BAD_FORMAT,
                 "notify capability at 0x70 is 16 bytes");
  expect_refused(cap_loop, RL_ERR_BAD_FORMAT, "capability list is malformed");
}

/* queue_notify_off beyond the notify structure: the queue is refused,
 * the probe fails with the reason, nothing is written out of bounds. */
static void test_notify_offset_out_of_range(void **state) {
  (void)state;
  struct world *w = world_new();
  struct rng_model_config rc = {.version = 2, .irq = intx_irq(1), .pa = 0x1};
  struct rng_model *rm = rng_model_create(&rc);
  struct vpci *v = vpci_add(&w->model, 1, rng_model_vm(rm), 4, 1);
  v->notify_off_override = 0x400; /* * 4 = 4 KiB: one past the end */
  const struct pci_function *fn = enumerate(w, 1);
  struct virtio_pci_device p;
  assert_int_equal(virtio_pci_device_init(&p, fn), RL_OK);
  p.dev.driver = &virtio_rng_driver;
  host_log_clear();
  assert_int_not_equal(virtio_rng_driver.probe(&p.dev), RL_OK);
  if (strstr(host_log_tail(), "notify offset 0x1000 is outside") == NULL) {
    fail_msg("log:\n%s", host_log_tail());
  }
  assert_int_equal(v->bad_accesses, 0);
  (void)virtio_device_reset(&p.dev);
  rng_remove(&p.dev);
  virtio_device_release(&p.dev);
  vpci_free(v);
  rng_model_destroy(rm);
  world_free(w);
}

/* A transitional device (0x1000 + n) names its virtio id in the
 * subsystem id; other vendors and ids are not virtio. */
static void test_device_ids(void **state) {
  (void)state;
  struct pci_host h = {0};
  struct pci_function f = {
      .host = &h, .vendor_id = 0x1af4, .device_id = 0x1005, .subsystem_id = 4};
  assert_int_equal(virtio_pci_device_id(&f), 4);
  f.device_id = 0x1050;
  assert_int_equal(virtio_pci_device_id(&f), 16);
  f.device_id = 0x1080;
  assert_int_equal(virtio_pci_device_id(&f), 0);
  f.vendor_id = 0x8086;
  f.device_id = 0x1050;
  assert_int_equal(virtio_pci_device_id(&f), 0);
}

/* ---- per-queue reset (virtio 1.2 §2.6.1, VIRTIO_F_RING_RESET) ---------- */

#define RING_RESET VIRTIO_BIT(VIRTIO_F_RING_RESET)

/* An rng over PCI, probed: its model, function and core device. */
struct rng_pci {
  struct world *w;
  struct rng_model *rm;
  struct vm_dev *vm;
  struct vpci *v;
  struct virtio_pci_device p;
};

static struct rng_pci *rng_pci_new(uint64_t transport,
                                   void (*edit)(struct pci_model_fn *f)) {
  struct rng_pci *t = calloc(1, sizeof(*t));
  assert_non_null(t);
  t->w = world_new();
  struct rng_model_config rc = {
      .version = 2, .transport = transport, .irq = intx_irq(1), .pa = 0x1};
  t->rm = rng_model_create(&rc);
  t->vm = rng_model_vm(t->rm);
  t->v = vpci_add(&t->w->model, 1, t->vm, 4, 1);
  t->v->queue_reset_reads = 2; /* the driver must wait for it */
  if (edit != NULL) {
    edit(t->v->fn);
  }
  const struct pci_function *fn = enumerate(t->w, 1);
  assert_int_equal(virtio_pci_device_init(&t->p, fn), RL_OK);
  t->p.dev.driver = &virtio_rng_driver;
  host_log_clear();
  rl_status st = virtio_rng_driver.probe(&t->p.dev);
  if (st != RL_OK) {
    fail_msg("probe: %s; log:\n%s", rl_status_str(st), host_log_tail());
  }
  return t;
}

static void rng_pci_free(struct rng_pci *t) {
  (void)virtio_device_reset(&t->p.dev);
  rng_remove(&t->p.dev);
  virtio_device_release(&t->p.dev);
  vpci_free(t->v);
  rng_model_destroy(t->rm);
  world_free(t->w);
  free(t);
}

static void expect_log(const char *text) {
  if (strstr(host_log_tail(), text) == NULL) {
    fail_msg("log lacks \"%s\":\n%s", text, host_log_tail());
  }
}

/* A read gives the bytes the device wrote last. */
static void read_ok(struct rng_pci *t) {
  uint8_t buf[32];
  size_t got = 0;
  rl_status st = rng_read(rng_get(0), buf, sizeof(buf), &got);
  if (st != RL_OK) {
    fail_msg("read: %s; log:\n%s", rl_status_str(st), host_log_tail());
  }
  uint32_t len, offered;
  const uint8_t *want = rng_model_last(t->rm, &len, &offered);
  assert_int_equal(got, len);
  assert_memory_equal(buf, want, got);
}

/* The queue was reset alone, once, and is running again: the device was
 * not reset (DRIVER_OK stays, nothing failed) and the driver waited for
 * queue_reset to read 0 (done) before touching the queue. */
static void expect_queue_reset_alone(struct rng_pci *t) {
  assert_int_equal(t->v->queue_reset_writes, 1);
  assert_int_equal(vm_queue_resets(t->vm), 1);
  assert_int_equal(t->v->writes_during_reset, 0);
  assert_true(vm_status(t->vm) & VIRTIO_STATUS_DRIVER_OK);
  assert_false(t->p.dev.failed);
  assert_true(vm_queue_ready(t->vm, 0));
  assert_int_equal(vm_held(t->vm), 0);
  expect_log("queue 0 (requestq): resetting the queue alone (RING_RESET)");
  expect_log("queue 0 (requestq): reset and re-enabled");
  assert_null(strstr(host_log_tail(), "FAILED"));
}

/* RING_RESET offered over PCI with a common structure that has
 * queue_reset: accepted. A request that times out resets its queue
 * alone: it fails, the next one succeeds on fresh rings. */
static void test_queue_reset_on_timeout(void **state) {
  (void)state;
  struct rng_pci *t = rng_pci_new(RING_RESET, NULL);
  assert_true(vm_driver_features(t->vm) & RING_RESET);
  vm_set_answer(t->vm, VM_ANSWER_NEVER);
  uint8_t buf[32];
  size_t got = 0;
  host_log_clear();
  assert_int_equal(rng_read(rng_get(0), buf, sizeof(buf), &got),
                   RL_ERR_TIMEOUT);
  expect_queue_reset_alone(t);
  vm_set_answer(t->vm, VM_ANSWER_AT_NOTIFY);
  read_ok(t);
  read_ok(t);
  assert_int_equal(t->v->bad_accesses, 0);
  assert_int_equal(t->v->bad_notifies, 0);
  rng_pci_free(t);
}

/* A used length beyond the buffer breaks the queue; it is reset alone,
 * the request fails, the next one succeeds. */
static void test_queue_reset_on_broken(void **state) {
  (void)state;
  struct rng_pci *t = rng_pci_new(RING_RESET, NULL);
  rng_model_overrun_once(t->rm);
  uint8_t buf[32];
  size_t got = 0;
  host_log_clear();
  assert_int_equal(rng_read(rng_get(0), buf, sizeof(buf), &got), RL_ERR_BROKEN);
  expect_log("invalid used entry; queue broken");
  expect_queue_reset_alone(t);
  read_ok(t);
  assert_int_equal(t->v->bad_accesses, 0);
  rng_pci_free(t);
}

/* The probe's own read broken by the device: the queue is reset and the
 * probe's retry succeeds (the QEMU test's path, on the host). */
static void test_probe_retries_after_queue_reset(void **state) {
  (void)state;
  struct world *w = world_new();
  struct rng_model_config rc = {
      .version = 2, .transport = RING_RESET, .irq = intx_irq(1), .pa = 0x1};
  struct rng_model *rm = rng_model_create(&rc);
  struct vpci *v = vpci_add(&w->model, 1, rng_model_vm(rm), 4, 1);
  rng_model_overrun_once(rm);
  const struct pci_function *fn = enumerate(w, 1);
  struct virtio_pci_device *p = calloc(1, sizeof(*p));
  assert_non_null(p);
  assert_int_equal(virtio_pci_device_init(p, fn), RL_OK);
  p->dev.driver = &virtio_rng_driver;
  host_log_clear();
  rl_status st = virtio_rng_driver.probe(&p->dev);
  if (st != RL_OK) {
    fail_msg("probe: %s; log:\n%s", rl_status_str(st), host_log_tail());
  }
  expect_log("retrying on the reset queue");
  expect_log("16 bytes of entropy");
  assert_int_equal(vm_queue_resets(rng_model_vm(rm)), 1);
  (void)virtio_device_reset(&p->dev);
  rng_remove(&p->dev);
  virtio_device_release(&p->dev);
  free(p);
  vpci_free(v);
  rng_model_destroy(rm);
  world_free(w);
}

/* A queue reset that never reads done: the device is marked FAILED, the
 * rings and the request stay the device's (it writes them later, into
 * memory still allocated), nothing is reset or freed behind its back. */
static void test_queue_reset_stuck(void **state) {
  (void)state;
  struct rng_pci *t = rng_pci_new(RING_RESET, NULL);
  t->v->stuck_queue_reset = true;
  vm_set_answer(t->vm, VM_ANSWER_NEVER);
  uint8_t buf[32];
  size_t got = 0;
  host_log_clear();
  assert_int_equal(rng_read(rng_get(0), buf, sizeof(buf), &got),
                   RL_ERR_TIMEOUT);
  expect_log("queue 0: queue_reset 1, queue_enable 1 after 100 ms: the reset "
             "did not complete");
  expect_log("the queue reset did not complete: its rings and the buffers it "
             "holds are left to it (leaked)");
  expect_log("queue reset: RL_ERR_TIMEOUT; device marked FAILED");
  assert_true(t->p.dev.failed);
  assert_true(vm_status(t->vm) & VIRTIO_STATUS_FAILED);
  assert_int_equal(vm_queue_resets(t->vm), 0);
  assert_int_equal(t->v->writes_during_reset, 0);
  /* The device still holds the request on its old rings: a late answer
   * lands in live memory (the models check every address). */
  assert_int_equal(vm_held(t->vm), 1);
  assert_non_null(vm_queue_layout(t->vm, 0));
  vm_answer_held(t->vm);
  /* Failed: no more requests. */
  assert_int_not_equal(rng_read(rng_get(0), buf, sizeof(buf), &got), RL_OK);
  t->v->stuck_queue_reset = false;
  rng_pci_free(t);
}

static void short_common(struct pci_model_fn *f) {
  pci_model_set32(f, 0x4c, 0x38); /* common length: no queue_reset */
}

/* A common structure without queue_reset (0x38 bytes): RING_RESET is
 * refused, a timeout stays a timeout (no queue reset), as over MMIO. */
static void test_ring_reset_refused_without_register(void **state) {
  (void)state;
  struct rng_pci *t = rng_pci_new(RING_RESET, short_common);
  assert_false(vm_driver_features(t->vm) & RING_RESET);
  expect_log("features refused: RING_RESET");
  vm_set_answer(t->vm, VM_ANSWER_NEVER);
  uint8_t buf[32];
  size_t got = 0;
  assert_int_equal(rng_read(rng_get(0), buf, sizeof(buf), &got),
                   RL_ERR_TIMEOUT);
  assert_int_equal(t->v->queue_reset_writes, 0);
  assert_int_equal(vm_queue_resets(t->vm), 0);
  assert_int_equal(t->v->bad_accesses, 0);
  vm_set_answer(t->vm, VM_ANSWER_AT_NOTIFY);
  rng_pci_free(t);
}

/* virtio-mmio has no queue reset register (QEMU 7.2): RING_RESET
 * offered there is refused. */
static void test_ring_reset_refused_over_mmio(void **state) {
  (void)state;
  struct rng_model_config rc = {
      .version = 2, .transport = RING_RESET, .irq = 48, .pa = 0x0a003c00};
  struct rng_model *rm = rng_model_create(&rc);
  struct virtio_device *dev =
      vm_core_device(rng_model_vm(rm), true, &virtio_rng_driver);
  host_log_clear();
  assert_int_equal(virtio_rng_driver.probe(dev), RL_OK);
  assert_false(vm_driver_features(rng_model_vm(rm)) & RING_RESET);
  assert_false(virtio_has_feature(dev, VIRTIO_F_RING_RESET));
  expect_log("features refused: RING_RESET");
  vm_core_device_stop(dev);
  rng_remove(dev);
  vm_core_device_free(dev);
  rng_model_destroy(rm);
}

/* The GPU's cursor queue breaks (a MOVE_CURSOR answered with a used
 * length on a chain with nothing writable): it is reset alone; the
 * controlq never stops (still enabled, frames still presented), the next
 * cursor move works. */
static void test_gpu_cursorq_reset_alone(void **state) {
  (void)state;
  struct gpu_pci *t = gpu_pci_new(RING_RESET, 0);
  assert_true(vm_driver_features(t->vm) & RING_RESET);
  struct gpu *g = t->g;
  unsigned long ctrl_notifies = vm_notifies(t->vm, 0);
  gpu_model_misbehave(t->gm, VIRTIO_GPU_CMD_MOVE_CURSOR, GM_FAULT_USED_LEN, 24);
  host_log_clear();
  assert_int_equal(gpu_move_cursor(g, 10, 20), RL_ERR_BROKEN);
  expect_log("queue 1 (cursorq): resetting the queue alone (RING_RESET)");
  expect_log("queue 1 (cursorq): reset and re-enabled");
  assert_int_equal(t->v->queue_reset_writes, 1);
  assert_int_equal(vm_queue_resets(t->vm), 1);
  assert_int_equal(t->v->writes_during_reset, 0);
  assert_true(vm_queue_ready(t->vm, 0)); /* the controlq never stopped */
  assert_true(vm_queue_ready(t->vm, 1));
  assert_true(vm_status(t->vm) & VIRTIO_STATUS_DRIVER_OK);
  assert_false(t->p.dev.failed);
  /* The controlq still works, the cursor again. */
  assert_int_equal(gpu_present(g), RL_OK);
  assert_true(vm_notifies(t->vm, 0) > ctrl_notifies);
  gpu_model_misbehave(t->gm, VIRTIO_GPU_CMD_MOVE_CURSOR, GM_FAULT_NONE, 0);
  assert_int_equal(gpu_move_cursor(g, 30, 40), RL_OK);
  struct gm_cursor c = gpu_model_cursor(t->gm);
  assert_int_equal(c.x, 30);
  assert_int_equal(c.y, 40);
  gpu_pci_free(t);
}

/* A queue nobody waits on, found broken by the interrupt handler (which
 * must not wait): it stays broken until the main loop's
 * virtio_reset_broken_queues resets it alone; then requests work. */
struct own_req {
  volatile bool done;
  uint32_t len;
};

static void own_done(struct virtqueue *vq, void *token, uint32_t len) {
  (void)vq;
  struct own_req *r = token;
  r->len = len;
  r->done = true;
}

static void test_broken_in_interrupt_reset_from_main_loop(void **state) {
  (void)state;
  struct world *w = world_new();
  struct rng_model_config rc = {
      .version = 2, .transport = RING_RESET, .irq = intx_irq(1), .pa = 0x1};
  struct rng_model *rm = rng_model_create(&rc);
  struct vm_dev *vm = rng_model_vm(rm);
  struct vpci *v = vpci_add(&w->model, 1, vm, 4, 1);
  v->queue_reset_reads = 1;
  const struct pci_function *fn = enumerate(w, 1);
  struct virtio_pci_device *p = calloc(1, sizeof(*p));
  assert_non_null(p);
  assert_int_equal(virtio_pci_device_init(p, fn), RL_OK);
  struct virtio_device *dev = &p->dev;
  struct virtqueue *vq;
  assert_int_equal(virtio_negotiate(dev, 0), RL_OK);
  assert_int_equal(virtio_queue_setup(dev, 0, "requestq", 8, own_done, &vq),
                   RL_OK);
  assert_int_equal(virtio_device_ready(dev), RL_OK);
  struct arch_dma_buf buf;
  assert_int_equal(arch_dma_alloc(1, &buf), RL_OK);
  struct vq_seg seg = {buf.phys, 64};
  struct own_req a = {0}, b = {0};
  rng_model_overrun_once(rm);
  host_log_clear();
  /* Answered inside the notify; the interrupt handler finds the lie. */
  assert_int_equal(virtqueue_submit(vq, NULL, 0, &seg, 1, &a), RL_OK);
  expect_log("invalid used entry; queue broken");
  assert_int_equal(virtqueue_submit(vq, NULL, 0, &seg, 1, &b), RL_ERR_BROKEN);
  assert_int_equal(vm_queue_resets(vm), 0);
  virtio_reset_broken_queues(dev);
  assert_int_equal(vm_queue_resets(vm), 1);
  assert_true(a.done);
  assert_int_equal(a.len, UINT32_MAX);
  expect_log("queue 0 (requestq): reset and re-enabled");
  assert_int_equal(virtqueue_submit(vq, NULL, 0, &seg, 1, &b), RL_OK);
  assert_int_equal(virtqueue_wait(vq, &b.done, 1000000000ull), RL_OK);
  assert_int_equal(b.len, 64);
  assert_int_equal(v->writes_during_reset, 0);
  assert_int_equal(v->bad_accesses, 0);
  (void)virtio_device_reset(dev);
  virtio_device_release(dev);
  arch_dma_free(&buf);
  free(p);
  vpci_free(v);
  rng_model_destroy(rm);
  world_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rng_msix),
      cmocka_unit_test(test_gpu_msix),
      cmocka_unit_test(test_msix_fallbacks),
      cmocka_unit_test(test_rng_over_pci),
      cmocka_unit_test(test_gpu_over_pci),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_notify_offset_out_of_range),
      cmocka_unit_test(test_device_ids),
      cmocka_unit_test(test_queue_reset_on_timeout),
      cmocka_unit_test(test_queue_reset_on_broken),
      cmocka_unit_test(test_probe_retries_after_queue_reset),
      cmocka_unit_test(test_queue_reset_stuck),
      cmocka_unit_test(test_ring_reset_refused_without_register),
      cmocka_unit_test(test_ring_reset_refused_over_mmio),
      cmocka_unit_test(test_gpu_cursorq_reset_alone),
      cmocka_unit_test(test_broken_in_interrupt_reset_from_main_loop),
  };
  log_capture_start();
  return cmocka_run_group_tests_name("virtio-pci", tests, NULL, NULL);
}
