/* The PCI layer (pci/) and the virtio-pci transport
 * (virtio/transport-pci) against a hostile PCI device: QEMU's aarch64
 * host bridge (tests/fixtures) with up to four functions on bus 0 whose
 * configuration space, BAR sizes (also BARs that lie when sized: writable
 * bits not contiguous, sizes of 0 or larger than any window, a 64-bit BAR
 * in the last slot), capability lists (pointers anywhere, loops, lengths
 * and BAR numbers of every value, notify offsets and multipliers out of
 * range) and BAR contents come from the input.
 *
 * The oracle: every memory BAR the enumeration assigned lies inside a
 * window of the bridge, aligned to its size, and overlaps no other; a
 * disabled function has memory decoding off; every structure the
 * transport mapped lies inside its BAR; every access the transport makes
 * to a BAR falls inside a structure it mapped (and a notification inside
 * the notify structure); the capability walk ends. ASan and UBSan see the
 * rest.
 *
 * Input: a count byte, then per function a record (fn_record below),
 * then the bytes the BARs read back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arch/mmio.h>
#include <arch/vm.h>
#include <devicetree/fdt.h>
#include <pci/pci.h>
#include <pci/pci_regs.h>
#include <virtio/core/virtio.h>
#include <virtio/transport-pci/pci.h>

#include "fuzz_util.h"
#include "tests/unit/devices/pci_model.h"

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must name tests/fixtures (set by BUILD.gn)"
#endif

/* Devices are never bound to a driver here. */
const struct virtio_driver *const virtio_drivers[] = {NULL};
const size_t virtio_driver_count = 0;

static uint8_t *dtb;
static size_t dtb_len;
static struct pci_model model;
static bool model_ready;

rl_status arch_ioremap(paddr_t pa, uint64_t size, volatile void **out) {
  return pci_model_ioremap(&model, pa, size, out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  FILE *f = fopen(FIXTURES_DIR "/qemu_virt_aarch64.dtb", "rb");
  if (f == NULL || fseek(f, 0, SEEK_END) != 0) {
    abort();
  }
  long n = ftell(f);
  rewind(f);
  dtb = malloc((size_t)n);
  if (dtb == NULL || fread(dtb, 1, (size_t)n, f) != (size_t)n) {
    abort();
  }
  (void)fclose(f);
  dtb_len = (size_t)n;
  return 0;
}

/* What the BARs hold: the input's tail, repeated; the last writes are
 * kept (a short list: the transport writes little). */
#define WRITES_KEPT 64
struct bar_mem {
  unsigned fn;
  unsigned bar;
};
static const uint8_t *tail;
static size_t tail_len;
static struct {
  const struct bar_mem *m;
  size_t off;
  uint8_t v;
} writes[WRITES_KEPT];
static unsigned nwrites;

static uint8_t bar_byte(const struct bar_mem *m, size_t off) {
  for (unsigned i = nwrites; i-- > 0;) {
    if (writes[i].m == m && writes[i].off == off) {
      return writes[i].v;
    }
  }
  return tail_len > 0 ? tail[(off + 7 * m->bar) % tail_len] : 0;
}
static struct bar_mem bars[8][PCI_BARS]; /* by device number */

/* The current function under the transport, and its mapped structures
 * as offsets in its BAR (for the access oracle). */
struct window {
  int bar; /* -1: none */
  size_t start, len;
};
static struct {
  bool active;
  unsigned fn;
  struct window common, isr, device, notify, msix;
} watch;

static bool inside(const struct window *w, unsigned bar, size_t off,
                   unsigned width) {
  return w->bar == (int)bar && off >= w->start &&
         off + width <= w->start + w->len;
}

static void check_access(const struct bar_mem *m, size_t off, unsigned width,
                         bool write) {
  if (!watch.active || m->fn != watch.fn) {
    return;
  }
  bool ok = inside(&watch.common, m->bar, off, width) ||
            inside(&watch.isr, m->bar, off, width) ||
            inside(&watch.device, m->bar, off, width) ||
            inside(&watch.notify, m->bar, off, width) ||
            inside(&watch.msix, m->bar, off, width);
  FUZZ_CHECK(ok, "%s of %u bytes at BAR%u + %#zx is outside every structure",
             write ? "write" : "read", width, m->bar, off);
}

static uint32_t bar_read(void *ctx, size_t off, unsigned width) {
  struct bar_mem *m = ctx;
  check_access(m, off, width, false);
  uint32_t v = 0;
  for (unsigned i = 0; i < width; i++) {
    v |= (uint32_t)bar_byte(m, off + i) << (8 * i);
  }
  return v;
}

static void bar_write(void *ctx, size_t off, unsigned width, uint32_t v) {
  struct bar_mem *m = ctx;
  check_access(m, off, width, true);
  /* Inside the notify structure only (a lying device may overlap the
   * structures): a notification, 16 bits (virtio 1.2 §4.1.5.2). */
  if (watch.active && m->fn == watch.fn &&
      inside(&watch.notify, m->bar, off, 1) &&
      !inside(&watch.common, m->bar, off, 1) &&
      !inside(&watch.isr, m->bar, off, 1) &&
      !inside(&watch.device, m->bar, off, 1) &&
      !inside(&watch.msix, m->bar, off, 1)) {
    FUZZ_CHECK(width == 2, "notification of width %u", width);
  }
  for (unsigned i = 0; i < width; i++) {
    unsigned slot = nwrites < WRITES_KEPT ? nwrites++ : (WRITES_KEPT - 1);
    writes[slot].m = m;
    writes[slot].off = off + i;
    writes[slot].v = (uint8_t)(v >> (8 * i));
  }
}

static void oracle_bars(const struct pci_host *h) {
  for (unsigned i = 0; i < h->function_count; i++) {
    const struct pci_function *f = &h->functions[i];
    const struct pci_model_fn *mf = &model.fns[f->dev * 8 + f->fn];
    uint16_t cmd =
        (uint16_t)(mf->cfg[PCI_COMMAND] | mf->cfg[PCI_COMMAND + 1] << 8);
    if (!f->usable) {
      FUZZ_CHECK((cmd & PCI_COMMAND_MEMORY) == 0,
                 "disabled function %u decodes", i);
      continue;
    }
    for (unsigned b = 0; b < PCI_BARS; b++) {
      const struct pci_bar *bar = &f->bars[b];
      if (bar->size == 0 || bar->space == PCI_SPACE_IO) {
        continue;
      }
      FUZZ_CHECK(bar->pci_addr % bar->size == 0, "BAR not aligned");
      bool in = false;
      for (unsigned w = 0; w < h->window_count; w++) {
        const struct pci_window *win = &h->windows[w];
        if (win->space != PCI_SPACE_IO && bar->pci_addr >= win->pci_base &&
            bar->pci_addr - win->pci_base <= win->size - bar->size &&
            bar->cpu_addr == win->cpu_base + (bar->pci_addr - win->pci_base)) {
          in = true;
        }
      }
      FUZZ_CHECK(in, "BAR%u of function %u at %#llx outside the windows", b, i,
                 (unsigned long long)bar->pci_addr);
      for (unsigned j = 0; j < h->function_count; j++) {
        const struct pci_function *g = &h->functions[j];
        for (unsigned c = 0; g->usable && c < PCI_BARS; c++) {
          const struct pci_bar *o = &g->bars[c];
          if ((j == i && c == b) || o->size == 0 || o->space == PCI_SPACE_IO) {
            continue;
          }
          FUZZ_CHECK(bar->pci_addr + bar->size <= o->pci_addr ||
                         o->pci_addr + o->size <= bar->pci_addr,
                     "BARs overlap");
        }
      }
    }
  }
}

/* Where a mapped structure lies in its BAR. */
static struct window locate(const struct pci_function *f, unsigned fi,
                            const struct virtio_pci_region *r) {
  struct window w = {-1, 0, 0};
  if (r->base == NULL) {
    return w;
  }
  for (unsigned b = 0; b < PCI_BARS; b++) {
    const struct pci_model_fn *mf = &model.fns[f->dev * 8 + f->fn];
    const volatile uint8_t *va = mf->bar_va[b];
    if (va != NULL && r->base >= va &&
        (uint64_t)(r->base - va) < f->bars[b].size) {
      w.bar = (int)b;
      w.start = (size_t)(r->base - va);
      w.len = r->length;
      FUZZ_CHECK(w.start + w.len <= f->bars[b].size,
                 "structure of function %u past its BAR", fi);
    }
  }
  FUZZ_CHECK(w.bar >= 0, "structure mapped outside every BAR");
  return w;
}

static void drive(struct virtio_pci_device *p, unsigned fi) {
  struct virtio_device *dev = &p->dev;
  const struct virtio_transport *t = dev->transport;
  /* The structure and access oracles need the model to decode what the
   * kernel sized: a BAR that lies when sized decodes elsewhere (as on a
   * real bus, where that is undefined); ASan still watches those runs. */
  bool honest = true;
  for (unsigned b = 0; b < PCI_BARS; b++) {
    honest =
        honest && model.fns[p->fn->dev * 8 + p->fn->fn].bar_raw_mask[b] == 0;
  }
  watch.active = honest;
  watch.fn = fi;
  if (honest) {
    watch.common = locate(p->fn, fi, &p->common);
    watch.isr = locate(p->fn, fi, &p->isr);
    watch.device = locate(p->fn, fi, &p->device);
    watch.notify = locate(p->fn, fi, &p->notify);
  }
  /* The MSI-X table, when the transport mapped one (msix.c). */
  struct virtio_pci_region table = {p->msix.table,
                                    p->msix.count * PCI_MSIX_ENTRY_SIZE};
  if (honest) {
    watch.msix = locate(p->fn, fi, &table);
  }
  (void)t->get_status(dev);
  t->set_status(dev, 0);
  (void)t->get_features(dev);
  t->set_features(dev, VIRTIO_BIT(VIRTIO_F_VERSION_1));
  (void)t->config_generation(dev);
  for (uint32_t off = 0; off < 64; off += 4) {
    volatile uint8_t *field = t->config_at(dev, off, 4);
    if (field != NULL) {
      (void)arch_mmio_read32(field);
    }
  }
  for (unsigned q = 0; q < VIRTIO_MAX_QUEUES + 1; q++) {
    uint32_t max = 0;
    if (t->queue_query(dev, q, &max) == RL_OK && max != 0) {
      struct vq_addrs a = {0x1000, 0x2000, 0x3000};
      if (t->queue_enable(dev, q, RL_MIN(max, 256u), &a) == RL_OK) {
        t->notify(dev, q);
      }
    }
  }
  (void)t->interrupt_take(dev);
  (void)t->interrupt_status(dev);
  /* MSI-X vectors or INTx, registered and given back. */
  (void)t->interrupts_enable(dev);
  t->interrupts_release(dev);
  watch.active = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_in in = {data, size};
  /* A fresh bus every input. */
  if (!model_ready) {
    if (pci_model_init(&model) != RL_OK) {
      abort();
    }
    model_ready = true;
  }
  pci_model_reset(&model);
  nwrites = 0;
  unsigned count = 1 + fin_u8(&in) % 4;
  for (unsigned i = 0; i < count; i++) {
    unsigned dev = fin_u8(&in) % 8;
    uint8_t vendor_kind = fin_u8(&in);
    uint16_t device = fin_u16(&in);
    uint16_t vendor = (vendor_kind & 1) ? 0x1af4 : fin_u16(&in);
    if ((vendor_kind & 2) && vendor == 0x1af4) {
      device = (uint16_t)(0x1040 + device % 0x40);
    }
    struct pci_model_fn *f = pci_model_add(&model, dev, 0, vendor, device,
                                           fin_u16(&in), fin_u8(&in) & 0x81);
    f->cfg[PCI_INTERRUPT_PIN] = fin_u8(&in) % 6;
    f->cfg[PCI_SUBSYSTEM_ID] = fin_u8(&in);
    for (unsigned b = 0; b < PCI_BARS; b++) {
      uint8_t shift = fin_u8(&in);
      uint8_t flags = fin_u8(&in);
      if (shift % 48 >= 4) {
        pci_model_bar(f, b, (uint64_t)1 << (shift % 48), flags & 0xfu);
      }
      if (flags & 0x80) {
        f->bar_raw_mask[b] = fin_u32(&in) | 1u << 31;
      }
      bars[dev][b].fn = dev;
      bars[dev][b].bar = b;
      pci_model_bar_handler(f, b, bar_read, bar_write, &bars[dev][b]);
    }
    f->cfg[PCI_STATUS] = fin_u8(&in);
    f->cfg[PCI_CAP_PTR] = fin_u8(&in);
    for (unsigned at = PCI_CAP_FIRST; at < PCI_CFG_SIZE; at++) {
      f->cfg[at] = fin_u8(&in);
    }
  }
  tail = in.p;
  tail_len = in.n;
  struct fdt fdt;
  int node;
  static struct pci_host host;
  /* The fixture is QEMU's own: the bridge is always there. */
  FUZZ_CHECK(fdt_open(&fdt, dtb, dtb_len) == RL_OK &&
                 pci_host_find(&fdt, -1, &node) == RL_OK,
             "fixture");
  rl_status st = pci_host_init(&fdt, node, &host);
  FUZZ_CHECK(st == RL_OK, "host bridge: %s", rl_status_str(st));
  (void)pci_enumerate(&host);
  oracle_bars(&host);
  for (unsigned i = 0; i < host.function_count; i++) {
    const struct pci_function *f = &host.functions[i];
    if (!f->usable || virtio_pci_device_id(f) == 0) {
      continue;
    }
    struct virtio_pci_device p;
    if (virtio_pci_device_init(&p, f) == RL_OK) {
      drive(&p, f->dev);
    }
  }
  return 0;
}
