/* The virtio-gpu device model (virtio 1.2 §5.7): see gpu_model.h. Requests
 * are read as bytes at the offsets of §5.7.6.8 and answered the same way;
 * errors for bad parameters are the ones QEMU 7.2 answers. */
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

#include "arch_host.h"
#include "gpu_model.h"

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must name tests/fixtures (set by BUILD.gn)"
#endif

/* §5.7.6.7/§5.7.6.8: sizes of the requests and responses (le32/le64
 * fields, no implicit padding). */
#define HDR_LEN 24u
#define DISPLAY_INFO_LEN (HDR_LEN + GM_MAX_SCANOUTS * 24u)
#define EDID_LEN (HDR_LEN + 8u + 1024u)
#define CREATE_2D_LEN (HDR_LEN + 16u)
#define RESOURCE_ONLY_LEN (HDR_LEN + 8u) /* UNREF, DETACH_BACKING */
#define SET_SCANOUT_LEN (HDR_LEN + 24u)
#define FLUSH_LEN (HDR_LEN + 24u)
#define TRANSFER_LEN (HDR_LEN + 32u)
#define ATTACH_LEN (HDR_LEN + 8u)
#define MEM_ENTRY_LEN 16u
#define GET_EDID_LEN (HDR_LEN + 8u)
#define CURSOR_LEN (HDR_LEN + 32u)
#define MAX_REQ 4096u
#define MAX_ENTRIES 16384u /* QEMU's limit on ATTACH_BACKING entries */
#define CURSOR_SIZE 64u    /* §5.7.6.10 */
#define EDID_FIXTURE "qemu_edid_1280x800.bin"

struct gm_res {
  struct gm_resource pub;
  uint32_t nentries;
  uint64_t *addr; /* backing entries */
  uint32_t *len;
  uint64_t backing_len;
};

struct gm_fault_rule {
  uint32_t type;
  enum gm_fault fault;
  uint32_t value;
};

struct gpu_model {
  struct gpu_model_config cfg;
  struct vm_dev *vm;
  uint8_t edid[1024]; /* QEMU's recorded EDID, our template */
  struct gm_res *res;
  size_t nres, res_cap;
  uint32_t scanout_res[GM_MAX_SCANOUTS];
  struct gm_rect scanout_rect[GM_MAX_SCANOUTS];
  struct gm_cursor cursor;
  uint32_t events;
  struct gm_cmd *log;
  size_t nlog, log_cap;
  struct gm_fault_rule faults[16];
  unsigned nfaults;
};

static uint32_t rd32(const uint8_t *b, size_t off) {
  return (uint32_t)b[off] | (uint32_t)b[off + 1] << 8 |
         (uint32_t)b[off + 2] << 16 | (uint32_t)b[off + 3] << 24;
}
static uint64_t rd64(const uint8_t *b, size_t off) {
  return rd32(b, off) | (uint64_t)rd32(b, off + 4) << 32;
}
static void wr32(uint8_t *b, size_t off, uint32_t v) {
  for (unsigned i = 0; i < 4; i++) {
    b[off + i] = (uint8_t)(v >> (8 * i));
  }
}
static void wr64(uint8_t *b, size_t off, uint64_t v) {
  wr32(b, off, (uint32_t)v);
  wr32(b, off + 4, (uint32_t)(v >> 32));
}
static struct gm_rect rd_rect(const uint8_t *b, size_t off) {
  return (struct gm_rect){rd32(b, off), rd32(b, off + 4), rd32(b, off + 8),
                          rd32(b, off + 12)};
}

/* ---- resources ---------------------------------------------------------- */

static struct gm_res *find(struct gpu_model *g, uint32_t id) {
  for (size_t i = 0; i < g->nres; i++) {
    if (g->res[i].pub.id == id) {
      return &g->res[i];
    }
  }
  return NULL;
}

static void drop_backing(struct gm_res *r) {
  free(r->addr);
  free(r->len);
  r->addr = NULL;
  r->len = NULL;
  r->nentries = 0;
  r->backing_len = 0;
  r->pub.backed = false;
}

static void destroy_res(struct gpu_model *g, struct gm_res *r) {
  drop_backing(r);
  free(r->pub.pixels);
  *r = g->res[--g->nres];
}

/* The rectangle lies inside the resource (QEMU's check, overflow-safe). */
static bool inside(const struct gm_res *r, struct gm_rect rc) {
  return rc.x <= r->pub.width && rc.y <= r->pub.height &&
         rc.w <= r->pub.width - rc.x && rc.h <= r->pub.height - rc.y;
}

static bool format_known(uint32_t f) {
  /* §5.7.6.8 enum virtio_gpu_formats. */
  static const uint32_t known[] = {1, 2, 3, 4, 67, 68, 121, 134};
  for (size_t i = 0; i < RL_ARRAY_SIZE(known); i++) {
    if (known[i] == f) {
      return true;
    }
  }
  return false;
}

static uint32_t create_2d(struct gpu_model *g, const uint8_t *q,
                          struct gm_cmd *e) {
  e->resource = rd32(q, 24);
  e->format = rd32(q, 28);
  e->r = (struct gm_rect){0, 0, rd32(q, 32), rd32(q, 36)};
  if (e->resource == 0 || find(g, e->resource) != NULL) {
    return GM_RESP_ERR_INVALID_RESOURCE_ID;
  }
  if (!format_known(e->format) || e->r.w == 0 || e->r.h == 0) {
    return GM_RESP_ERR_INVALID_PARAMETER;
  }
  if ((uint64_t)e->r.w * e->r.h > (64u << 20)) {
    return GM_RESP_ERR_OUT_OF_MEMORY;
  }
  if (g->nres == g->res_cap) {
    g->res_cap = g->res_cap ? g->res_cap * 2 : 8;
    g->res = realloc(g->res, g->res_cap * sizeof(*g->res));
    assert_non_null(g->res);
  }
  struct gm_res *r = &g->res[g->nres++];
  *r = (struct gm_res){0};
  r->pub =
      (struct gm_resource){e->resource, e->format, e->r.w, e->r.h, NULL, false};
  r->pub.pixels = calloc((size_t)e->r.w * e->r.h, sizeof(uint32_t));
  assert_non_null(r->pub.pixels);
  return GM_RESP_OK_NODATA;
}

static uint32_t unref(struct gpu_model *g, const uint8_t *q, struct gm_cmd *e) {
  e->resource = rd32(q, 24);
  struct gm_res *r = find(g, e->resource);
  if (r == NULL) {
    return GM_RESP_ERR_INVALID_RESOURCE_ID;
  }
  /* QEMU turns off scanouts that still show it. */
  for (unsigned i = 0; i < GM_MAX_SCANOUTS; i++) {
    if (g->scanout_res[i] == e->resource) {
      g->scanout_res[i] = 0;
    }
  }
  destroy_res(g, r);
  return GM_RESP_OK_NODATA;
}

static uint32_t attach_backing(struct gpu_model *g, const struct model_chain *c,
                               const uint8_t *q, struct gm_cmd *e) {
  e->resource = rd32(q, 24);
  e->nentries = rd32(q, 28);
  struct gm_res *r = find(g, e->resource);
  if (r == NULL) {
    return GM_RESP_ERR_INVALID_RESOURCE_ID;
  }
  if (r->pub.backed) {
    return GM_RESP_ERR_UNSPEC; /* QEMU: already has a backing */
  }
  if (e->nentries == 0 || e->nentries > MAX_ENTRIES) {
    return GM_RESP_ERR_INVALID_PARAMETER;
  }
  /* The entries follow the request in the readable part. */
  uint64_t need = ATTACH_LEN + (uint64_t)e->nentries * MEM_ENTRY_LEN;
  if (c->out_len < need) {
    vm_violation(g->vm,
                 "RESOURCE_ATTACH_BACKING with %u entries in %u readable "
                 "bytes (needs %llu; §5.7.6.8)",
                 e->nentries, c->out_len, (unsigned long long)need);
    return GM_RESP_ERR_UNSPEC;
  }
  uint8_t *ent = malloc((size_t)e->nentries * MEM_ENTRY_LEN);
  assert_non_null(ent);
  assert_true(vm_read(g->vm, c, ATTACH_LEN, ent, e->nentries * MEM_ENTRY_LEN));
  r->addr = calloc(e->nentries, sizeof(*r->addr));
  r->len = calloc(e->nentries, sizeof(*r->len));
  assert_true(r->addr != NULL && r->len != NULL);
  r->nentries = e->nentries;
  for (uint32_t i = 0; i < e->nentries; i++) {
    r->addr[i] = rd64(ent, i * MEM_ENTRY_LEN);
    r->len[i] = rd32(ent, i * MEM_ENTRY_LEN + 8);
    void *p;
    if (r->len[i] == 0 ||
        host_dma_device_ptr(r->addr[i], r->len[i], &p) != RL_OK) {
      vm_violation(g->vm,
                   "resource %u: backing entry %u at %#llx (%u bytes) is "
                   "not inside one DMA allocation",
                   e->resource, i, (unsigned long long)r->addr[i], r->len[i]);
    }
    r->backing_len += r->len[i];
  }
  free(ent);
  r->pub.backed = true;
  return GM_RESP_OK_NODATA;
}

static uint32_t detach_backing(struct gpu_model *g, const uint8_t *q,
                               struct gm_cmd *e) {
  e->resource = rd32(q, 24);
  struct gm_res *r = find(g, e->resource);
  if (r == NULL) {
    return GM_RESP_ERR_INVALID_RESOURCE_ID;
  }
  if (!r->pub.backed) {
    return GM_RESP_ERR_UNSPEC;
  }
  drop_backing(r);
  return GM_RESP_OK_NODATA;
}

static uint32_t set_scanout(struct gpu_model *g, const uint8_t *q,
                            struct gm_cmd *e) {
  e->r = rd_rect(q, 24);
  e->scanout = rd32(q, 40);
  e->resource = rd32(q, 44);
  if (e->scanout >= g->cfg.num_scanouts) {
    return GM_RESP_ERR_INVALID_SCANOUT_ID;
  }
  if (e->resource == 0) {
    g->scanout_res[e->scanout] = 0; /* §5.7.6.8: scanout off */
    return GM_RESP_OK_NODATA;
  }
  struct gm_res *r = find(g, e->resource);
  if (r == NULL || !r->pub.backed) {
    return GM_RESP_ERR_INVALID_RESOURCE_ID; /* QEMU 7.2 wants a backing */
  }
  if (e->r.w == 0 || e->r.h == 0 || !inside(r, e->r)) {
    return GM_RESP_ERR_INVALID_PARAMETER;
  }
  g->scanout_res[e->scanout] = e->resource;
  g->scanout_rect[e->scanout] = e->r;
  return GM_RESP_OK_NODATA;
}

static uint32_t flush(struct gpu_model *g, const uint8_t *q, struct gm_cmd *e) {
  e->r = rd_rect(q, 24);
  e->resource = rd32(q, 40);
  struct gm_res *r = find(g, e->resource);
  if (r == NULL) {
    return GM_RESP_ERR_INVALID_RESOURCE_ID;
  }
  return inside(r, e->r) ? GM_RESP_OK_NODATA : GM_RESP_ERR_INVALID_PARAMETER;
}

/* Copies `n` bytes at offset `off` of the backing (its entries laid end
 * to end) into `dst`, reading memory through the device's view. */
static void backing_read(struct gpu_model *g, const struct gm_res *r,
                         uint64_t off, uint8_t *dst, uint64_t n) {
  uint64_t pos = 0;
  for (uint32_t i = 0; i < r->nentries && n > 0; i++) {
    if (off < pos + r->len[i]) {
      uint64_t in = off - pos;
      uint64_t k = RL_MIN(n, r->len[i] - in);
      if (!vm_dma_read(r->addr[i] + in, dst, k)) {
        vm_violation(g->vm,
                     "resource %u: backing entry %u at %#llx is no longer "
                     "DMA memory (freed while attached?)",
                     r->pub.id, i, (unsigned long long)r->addr[i]);
        return;
      }
      dst += k;
      off += k;
      n -= k;
    }
    pos += r->len[i];
  }
}

/* §5.7.6.8 TRANSFER_TO_HOST_2D: row j of the rectangle comes from backing
 * offset `offset + j * stride` (stride: the resource's width * 4) and goes
 * to (x, y + j). Nothing else is copied. */
static uint32_t transfer(struct gpu_model *g, const uint8_t *q,
                         struct gm_cmd *e) {
  e->r = rd_rect(q, 24);
  e->offset = rd64(q, 40);
  e->resource = rd32(q, 48);
  struct gm_res *r = find(g, e->resource);
  if (r == NULL || !r->pub.backed) {
    return GM_RESP_ERR_INVALID_RESOURCE_ID;
  }
  if (!inside(r, e->r)) {
    return GM_RESP_ERR_INVALID_PARAMETER;
  }
  if (e->r.w == 0 || e->r.h == 0) {
    return GM_RESP_OK_NODATA;
  }
  uint64_t stride = (uint64_t)r->pub.width * 4;
  uint64_t row = (uint64_t)e->r.w * 4;
  uint64_t last = e->offset + (e->r.h - 1) * stride;
  if (last < e->offset || last + row > r->backing_len) {
    return GM_RESP_ERR_INVALID_PARAMETER; /* past the backing */
  }
  for (uint32_t j = 0; j < e->r.h; j++) {
    uint32_t *dst =
        r->pub.pixels + (size_t)(e->r.y + j) * r->pub.width + e->r.x;
    backing_read(g, r, e->offset + j * stride, (uint8_t *)dst, row);
  }
  return GM_RESP_OK_NODATA;
}

static bool edid_negotiated(struct gpu_model *g) {
  return (vm_driver_features(g->vm) & ((uint64_t)1 << GM_F_EDID)) != 0;
}

/* The scanout's EDID: QEMU's, its first detailed timing (the preferred
 * mode, EDID 1.4 §3.10.2) set to the scanout's preferred size, the base
 * block's checksum made right again. */
static void make_edid(struct gpu_model *g, unsigned i, uint8_t out[1024]) {
  const struct gm_scanout_cfg *s = &g->cfg.scanout[i];
  uint32_t w = s->pref_width, h = s->pref_height;
  if (w == 0 || h == 0) {
    w = s->enabled ? s->width : 1280;
    h = s->enabled ? s->height : 800;
  }
  memcpy(out, g->edid, 1024);
  uint8_t *dtd = out + 54;
  dtd[2] = (uint8_t)w;
  dtd[4] = (uint8_t)((dtd[4] & 0x0f) | ((w >> 8) & 0x0f) << 4);
  dtd[5] = (uint8_t)h;
  dtd[7] = (uint8_t)((dtd[7] & 0x0f) | ((h >> 8) & 0x0f) << 4);
  uint8_t sum = 0;
  for (unsigned k = 0; k < 127; k++) {
    sum = (uint8_t)(sum + out[k]);
  }
  out[127] = (uint8_t)(0x100 - sum);
}

/* ---- the queues --------------------------------------------------------- */

static const struct gm_fault_rule *fault_for(const struct gpu_model *g,
                                             uint32_t type) {
  for (unsigned i = 0; i < g->nfaults; i++) {
    if (g->faults[i].type == type && g->faults[i].fault != GM_FAULT_NONE) {
      return &g->faults[i];
    }
  }
  return NULL;
}

static void log_cmd(struct gpu_model *g, const struct gm_cmd *e) {
  if (g->nlog == g->log_cap) {
    g->log_cap = g->log_cap ? g->log_cap * 2 : 64;
    g->log = realloc(g->log, g->log_cap * sizeof(*g->log));
    assert_non_null(g->log);
  }
  g->log[g->nlog++] = *e;
}

/* Request and response sizes (§5.7.6.8); 0: not a command we know. */
static uint32_t request_len(uint32_t type) {
  switch (type) {
  case GM_CMD_GET_DISPLAY_INFO:
    return HDR_LEN;
  case GM_CMD_RESOURCE_CREATE_2D:
    return CREATE_2D_LEN;
  case GM_CMD_RESOURCE_UNREF:
  case GM_CMD_RESOURCE_DETACH_BACKING:
    return RESOURCE_ONLY_LEN;
  case GM_CMD_SET_SCANOUT:
    return SET_SCANOUT_LEN;
  case GM_CMD_RESOURCE_FLUSH:
    return FLUSH_LEN;
  case GM_CMD_TRANSFER_TO_HOST_2D:
    return TRANSFER_LEN;
  case GM_CMD_RESOURCE_ATTACH_BACKING:
    return ATTACH_LEN;
  case GM_CMD_GET_EDID:
    return GET_EDID_LEN;
  case GM_CMD_UPDATE_CURSOR:
  case GM_CMD_MOVE_CURSOR:
    return CURSOR_LEN;
  default:
    return 0;
  }
}

static uint32_t response_len(uint32_t type) {
  switch (type) {
  case GM_CMD_GET_DISPLAY_INFO:
    return DISPLAY_INFO_LEN;
  case GM_CMD_GET_EDID:
    return EDID_LEN;
  default:
    return HDR_LEN;
  }
}

static const char *cmd_name(uint32_t type) {
  static const char *const names[] = {"GET_DISPLAY_INFO",
                                      "RESOURCE_CREATE_2D",
                                      "RESOURCE_UNREF",
                                      "SET_SCANOUT",
                                      "RESOURCE_FLUSH",
                                      "TRANSFER_TO_HOST_2D",
                                      "RESOURCE_ATTACH_BACKING",
                                      "RESOURCE_DETACH_BACKING",
                                      "GET_CAPSET_INFO",
                                      "GET_CAPSET",
                                      "GET_EDID"};
  if (type >= 0x100 && type - 0x100 < RL_ARRAY_SIZE(names)) {
    return names[type - 0x100];
  }
  return type == GM_CMD_UPDATE_CURSOR ? "UPDATE_CURSOR"
         : type == GM_CMD_MOVE_CURSOR ? "MOVE_CURSOR"
                                      : "an unknown command";
}

/* Executes a control command; fills `resp` (header added by the caller)
 * and returns the response type. */
static uint32_t execute(struct gpu_model *g, const struct model_chain *c,
                        const uint8_t *q, struct gm_cmd *e, uint8_t *resp) {
  switch (e->type) {
  case GM_CMD_GET_DISPLAY_INFO:
    for (unsigned i = 0; i < g->cfg.num_scanouts; i++) {
      const struct gm_scanout_cfg *s = &g->cfg.scanout[i];
      size_t o = HDR_LEN + 24u * i;
      if (s->enabled) {
        wr32(resp, o + 8, s->width);
        wr32(resp, o + 12, s->height);
        wr32(resp, o + 16, 1);
      }
    }
    return GM_RESP_OK_DISPLAY_INFO;
  case GM_CMD_GET_EDID:
    e->scanout = rd32(q, 24);
    if (!edid_negotiated(g)) {
      return GM_RESP_ERR_UNSPEC;
    }
    if (e->scanout >= g->cfg.num_scanouts) {
      return GM_RESP_ERR_INVALID_PARAMETER;
    }
    wr32(resp, HDR_LEN, 1024);
    make_edid(g, e->scanout, resp + HDR_LEN + 8);
    return GM_RESP_OK_EDID;
  case GM_CMD_RESOURCE_CREATE_2D:
    return create_2d(g, q, e);
  case GM_CMD_RESOURCE_UNREF:
    return unref(g, q, e);
  case GM_CMD_SET_SCANOUT:
    return set_scanout(g, q, e);
  case GM_CMD_RESOURCE_FLUSH:
    return flush(g, q, e);
  case GM_CMD_TRANSFER_TO_HOST_2D:
    return transfer(g, q, e);
  case GM_CMD_RESOURCE_ATTACH_BACKING:
    return attach_backing(g, c, q, e);
  case GM_CMD_RESOURCE_DETACH_BACKING:
    return detach_backing(g, q, e);
  default:
    return GM_RESP_ERR_UNSPEC;
  }
}

/* §5.7.6.10: the cursor queue; QEMU answers with nothing written. */
static void cursor(struct gpu_model *g, const uint8_t *q, struct gm_cmd *e) {
  e->scanout = rd32(q, 24);
  e->x = rd32(q, 28);
  e->y = rd32(q, 32);
  struct gm_cursor *cur = &g->cursor;
  if (e->type == GM_CMD_UPDATE_CURSOR) {
    e->resource = rd32(q, 40);
    const struct gm_res *r = find(g, e->resource);
    if (e->resource != 0 && (r == NULL || r->pub.width != CURSOR_SIZE ||
                             r->pub.height != CURSOR_SIZE)) {
      vm_violation(g->vm,
                   "UPDATE_CURSOR with resource %u: not a 64x64 resource "
                   "(§5.7.6.10)",
                   e->resource);
    }
    cur->resource = e->resource;
    cur->hot_x = rd32(q, 44);
    cur->hot_y = rd32(q, 48);
    cur->updates++;
  } else {
    cur->moves++;
  }
  cur->scanout = e->scanout;
  cur->x = e->x;
  cur->y = e->y;
}

static void on_chain(struct vm_dev *d, unsigned qi, const struct model_chain *c,
                     void *ctx) {
  struct gpu_model *g = ctx;
  static uint8_t q[MAX_REQ];
  static uint8_t resp[EDID_LEN];
  struct gm_cmd e = {.queue = qi, .batch = vm_batch(d)};
  /* §5.7.6.7: a request is a readable header (and its fields), then the
   * writable response. */
  if (c->out_len < HDR_LEN) {
    vm_violation(d,
                 "queue %u: request of %u readable bytes, no room for "
                 "the %u-byte header (§5.7.6.7)",
                 qi, c->out_len, HDR_LEN);
    return;
  }
  memset(q, 0, sizeof(q));
  assert_true(vm_read(d, c, 0, q, RL_MIN(c->out_len, MAX_REQ)));
  e.type = rd32(q, 0);
  e.flags = rd32(q, 4);
  e.fence = rd64(q, 8);
  uint32_t need = request_len(e.type);
  bool on_cursorq =
      e.type == GM_CMD_UPDATE_CURSOR || e.type == GM_CMD_MOVE_CURSOR;
  if (qi == 1 && !on_cursorq) {
    vm_violation(d, "%s (%#x) on the cursor queue (§5.7.2)", cmd_name(e.type),
                 e.type);
    return;
  }
  if (qi == 0 && on_cursorq) {
    vm_violation(d, "%s on the control queue (§5.7.2)", cmd_name(e.type));
    return;
  }
  if (need != 0 && c->out_len < need) {
    vm_violation(d, "%s in %u readable bytes; it is %u (§5.7.6.8)",
                 cmd_name(e.type), c->out_len, need);
    return;
  }
  uint32_t rlen = response_len(e.type);
  if (qi == 0 && c->in_len < rlen) {
    vm_violation(d,
                 "%s with %u writable bytes for its %u-byte response "
                 "(§5.7.6.7)",
                 cmd_name(e.type), c->in_len, rlen);
    return;
  }
  if (e.type == GM_CMD_RESOURCE_ATTACH_BACKING &&
      c->out_len >= ATTACH_LEN + MEM_ENTRY_LEN) {
    uint8_t ent[MEM_ENTRY_LEN];
    assert_true(vm_read(d, c, ATTACH_LEN, ent, MEM_ENTRY_LEN));
    e.addr0 = rd64(ent, 0); /* whether or not it is answered */
  }
  const struct gm_fault_rule *f = fault_for(g, e.type);
  if (f != NULL && f->fault == GM_FAULT_NO_ANSWER) {
    vm_hold(d, qi, c);
    log_cmd(g, &e);
    return;
  }
  memset(resp, 0, sizeof(resp));
  uint32_t answer = GM_RESP_OK_NODATA;
  if (on_cursorq) {
    rlen = c->in_len >= HDR_LEN ? HDR_LEN : 0; /* an answer if room */
  }
  if (f != NULL && f->fault == GM_FAULT_ERROR) {
    answer = f->value; /* the device failed: nothing done */
    rlen = RL_MIN(rlen, HDR_LEN);
  } else if (on_cursorq) {
    cursor(g, q, &e);
  } else {
    answer = execute(g, c, q, &e, resp);
    if (answer >= GM_RESP_ERR_UNSPEC) {
      rlen = HDR_LEN;
    }
  }
  if (f != NULL && f->fault == GM_FAULT_TYPE) {
    answer = f->value;
  }
  /* §5.7.6.7: a fenced request's response carries the flag and id. */
  wr32(resp, 0, answer);
  if (e.flags & GM_FLAG_FENCE) {
    wr32(resp, 4, GM_FLAG_FENCE);
    wr64(resp, 8, e.fence);
  }
  uint32_t used = rlen;
  if (f != NULL && f->fault == GM_FAULT_USED_LEN) {
    used = f->value;
  }
  e.answer = rlen != 0 ? answer : 0;
  e.used_len = used;
  log_cmd(g, &e);
  vm_answer(d, qi, c, resp, rlen, used);
}

/* §5.7.4: events_read (0, read-only), events_clear (4, write-only),
 * num_scanouts (8), num_capsets (12). */
static void sync_config(struct gpu_model *g) {
  uint8_t *cfg = vm_config_space(g->vm);
  wr32(cfg, 0, g->events);
  wr32(cfg, 4, 0);
  wr32(cfg, 8, g->cfg.num_scanouts);
  wr32(cfg, 12, 0);
}

static void config_write(struct vm_dev *d, uint32_t off, unsigned width,
                         uint32_t v, void *ctx) {
  struct gpu_model *g = ctx;
  if (off != 4 || width != 4) {
    vm_violation(d,
                 "configuration write at %u (%u bytes): only events_clear "
                 "(4) is writable (§5.7.4)",
                 off, width);
    return;
  }
  g->events &= ~v; /* §5.7.4.1: clears the events written as 1 */
  sync_config(g);
}

static void reset(struct vm_dev *d, void *ctx) {
  (void)d;
  struct gpu_model *g = ctx;
  while (g->nres > 0) {
    destroy_res(g, &g->res[g->nres - 1]);
  }
  memset(g->scanout_res, 0, sizeof(g->scanout_res));
  g->cursor = (struct gm_cursor){0};
}

static const struct vm_device_ops gpu_ops = {
    .chain = on_chain,
    .config_write = config_write,
    .reset = reset,
};

static void load_edid(struct gpu_model *g) {
  FILE *fp = fopen(FIXTURES_DIR "/" EDID_FIXTURE, "rb");
  assert_non_null(fp);
  uint8_t buf[EDID_LEN];
  size_t n = fread(buf, 1, sizeof(buf), fp);
  (void)fclose(fp);
  assert_int_equal(n, EDID_LEN);
  memcpy(g->edid, buf + HDR_LEN + 8, sizeof(g->edid));
}

struct gpu_model *gpu_model_create(const struct gpu_model_config *cfg) {
  assert_true(cfg->num_scanouts >= 1 && cfg->num_scanouts <= GM_MAX_SCANOUTS);
  struct gpu_model *g = calloc(1, sizeof(*g));
  assert_non_null(g);
  g->cfg = *cfg;
  load_edid(g);
  struct vm_config vc = {
      .name = "gpu model",
      .version = cfg->version,
      .device_id = 16, /* §5.7.1 */
      .features = cfg->transport | (cfg->edid ? (uint64_t)1 << GM_F_EDID : 0),
      .queue_num_max = {1024, 1024}, /* as QEMU */
      .config_size = GM_CONFIG_SIZE,
      .irq = cfg->irq,
      .pa = cfg->pa,
      .ops = &gpu_ops,
      .ctx = g,
  };
  g->vm = vm_create(&vc);
  sync_config(g);
  return g;
}

void gpu_model_destroy(struct gpu_model *g) {
  if (g == NULL) {
    return;
  }
  vm_destroy(g->vm);
  while (g->nres > 0) {
    destroy_res(g, &g->res[g->nres - 1]);
  }
  free(g->res);
  free(g->log);
  free(g);
}

struct vm_dev *gpu_model_vm(struct gpu_model *g) {
  return g->vm;
}

void gpu_model_misbehave(struct gpu_model *g, uint32_t type,
                         enum gm_fault fault, uint32_t value) {
  for (unsigned i = 0; i < g->nfaults; i++) {
    if (g->faults[i].type == type) {
      g->faults[i] = (struct gm_fault_rule){type, fault, value};
      return;
    }
  }
  assert_true(g->nfaults < RL_ARRAY_SIZE(g->faults));
  g->faults[g->nfaults++] = (struct gm_fault_rule){type, fault, value};
}

size_t gpu_model_log_count(const struct gpu_model *g) { return g->nlog; }

const struct gm_cmd *gpu_model_log(const struct gpu_model *g, size_t i) {
  assert_true(i < g->nlog);
  return &g->log[i];
}

void gpu_model_log_clear(struct gpu_model *g) { g->nlog = 0; }

size_t gpu_model_count(const struct gpu_model *g, uint32_t type,
                       size_t *first) {
  size_t n = 0;
  for (size_t i = 0; i < g->nlog; i++) {
    if (g->log[i].type == type) {
      if (n == 0 && first != NULL) {
        *first = i;
      }
      n++;
    }
  }
  return n;
}

const struct gm_resource *gpu_model_resource(const struct gpu_model *g,
                                             uint32_t id) {
  for (size_t i = 0; i < g->nres; i++) {
    if (g->res[i].pub.id == id) {
      return &g->res[i].pub;
    }
  }
  return NULL;
}

size_t gpu_model_resource_count(const struct gpu_model *g) { return g->nres; }

size_t gpu_model_backing(const struct gpu_model *g, uint32_t id, uint64_t *addr,
                         uint32_t *len, size_t max) {
  for (size_t i = 0; i < g->nres; i++) {
    const struct gm_res *r = &g->res[i];
    if (r->pub.id == id) {
      for (size_t k = 0; k < r->nentries && k < max; k++) {
        addr[k] = r->addr[k];
        len[k] = r->len[k];
      }
      return r->nentries;
    }
  }
  return 0;
}

uint32_t gpu_model_scanout(const struct gpu_model *g, unsigned i,
                           struct gm_rect *r) {
  assert_true(i < GM_MAX_SCANOUTS);
  if (r != NULL) {
    *r = g->scanout_rect[i];
  }
  return g->scanout_res[i];
}

struct gm_cursor gpu_model_cursor(const struct gpu_model *g) {
  return g->cursor;
}

uint32_t gpu_model_events(const struct gpu_model *g) { return g->events; }

void gpu_model_display_change(struct gpu_model *g, unsigned i, bool enabled,
                              uint32_t width, uint32_t height) {
  assert_true(i < g->cfg.num_scanouts);
  struct gm_scanout_cfg *s = &g->cfg.scanout[i];
  s->enabled = enabled;
  s->width = width;
  s->height = height;
  s->pref_width = width;
  s->pref_height = height;
  g->events |= GM_EVENT_DISPLAY;
  sync_config(g);
  vm_config_changed(g->vm);
}
