#include "gpu_proto.h"

/* The names of virtio 1.2 §5.7.6.7's types in one string, each range's
 * in order: a table of pointers would be larger than the text it points
 * at. */
static const char type_names[] =
    /* 0x100.. */
    "GET_DISPLAY_INFO\0RESOURCE_CREATE_2D\0RESOURCE_UNREF\0SET_SCANOUT\0"
    "RESOURCE_FLUSH\0TRANSFER_TO_HOST_2D\0RESOURCE_ATTACH_BACKING\0"
    "RESOURCE_DETACH_BACKING\0GET_CAPSET_INFO\0GET_CAPSET\0GET_EDID\0"
    /* 0x300.. */
    "UPDATE_CURSOR\0MOVE_CURSOR\0"
    /* 0x1100.. */
    "OK_NODATA\0OK_DISPLAY_INFO\0OK_CAPSET_INFO\0OK_CAPSET\0OK_EDID\0"
    /* 0x1200.. */
    "ERR_UNSPEC\0ERR_OUT_OF_MEMORY\0ERR_INVALID_SCANOUT_ID\0"
    "ERR_INVALID_RESOURCE_ID\0ERR_INVALID_CONTEXT_ID\0ERR_INVALID_PARAMETER\0"
    "unknown";

const char *gpu_type_name(uint32_t type) {
  /* Each range: its first type, how many names, where they start among
   * the names of type_names. */
  static const struct {
    uint16_t first;
    uint8_t count, skip;
  } ranges[] = {
      {0x100, 11, 0}, {0x300, 2, 11}, {0x1100, 5, 13}, {0x1200, 6, 18}};
  unsigned skip = 24; /* "unknown" */
  for (unsigned r = 0; r < RL_ARRAY_SIZE(ranges); r++) {
    if (type >= ranges[r].first && type - ranges[r].first < ranges[r].count) {
      skip = ranges[r].skip + (type - ranges[r].first);
      break;
    }
  }
  const char *p = type_names;
  for (; skip > 0; skip--) {
    while (*p++ != '\0') {
    }
  }
  return p;
}

void gpu_hdr(struct virtio_gpu_ctrl_hdr *h, uint32_t type, uint64_t fence_id) {
  *h = (struct virtio_gpu_ctrl_hdr){.type = type};
  if (fence_id != 0) {
    h->flags = VIRTIO_GPU_FLAG_FENCE; /* §5.7.6.7 */
    h->fence_id = fence_id;
  }
}

rl_status gpu_check_response(const void *resp, uint32_t len, uint32_t expected,
                             size_t expected_len, uint64_t fence_id,
                             uint32_t *type) {
  const struct virtio_gpu_ctrl_hdr *h = resp;
  *type = 0;
  if (len < sizeof(*h)) {
    return RL_ERR_BAD_FORMAT;
  }
  *type = h->type;
  if (h->type >= VIRTIO_GPU_RESP_ERR_UNSPEC &&
      h->type <= VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER) {
    return RL_ERR_IO; /* §5.7.6.7: an error the device means */
  }
  if (h->type != expected || len < expected_len) {
    return RL_ERR_BAD_FORMAT;
  }
  if (fence_id != 0 &&
      ((h->flags & VIRTIO_GPU_FLAG_FENCE) == 0 || h->fence_id != fence_id)) {
    return RL_ERR_BAD_FORMAT;
  }
  return RL_OK;
}

rl_status gpu_parse_display_info(const void *resp, uint32_t len,
                                 uint32_t num_scanouts,
                                 struct gpu_mode modes[VIRTIO_GPU_MAX_SCANOUTS],
                                 unsigned *enabled) {
  uint32_t type;
  rl_status st =
      gpu_check_response(resp, len, VIRTIO_GPU_RESP_OK_DISPLAY_INFO,
                         sizeof(struct virtio_gpu_resp_display_info), 0, &type);
  if (st != RL_OK) {
    return st;
  }
  return gpu_parse_display_modes(resp, num_scanouts, modes, enabled);
}

rl_status gpu_parse_display_modes(
    const struct virtio_gpu_resp_display_info *d, uint32_t num_scanouts,
    struct gpu_mode modes[VIRTIO_GPU_MAX_SCANOUTS], unsigned *enabled) {
  if (num_scanouts == 0 || num_scanouts > VIRTIO_GPU_MAX_SCANOUTS) {
    return RL_ERR_BAD_FORMAT;
  }
  *enabled = 0;
  for (uint32_t i = 0; i < VIRTIO_GPU_MAX_SCANOUTS; i++) {
    const struct virtio_gpu_rect *r = &d->pmodes[i].r;
    struct gpu_mode m = {0};
    if (i < num_scanouts && d->pmodes[i].enabled != 0) {
      if (r->width == 0 || r->height == 0 || r->width > GPU_MAX_DIM ||
          r->height > GPU_MAX_DIM || r->x > GPU_MAX_DIM || r->y > GPU_MAX_DIM) {
        return RL_ERR_BAD_FORMAT;
      }
      m = (struct gpu_mode){true, r->x, r->y, r->width, r->height};
      (*enabled)++;
    }
    modes[i] = m;
  }
  return RL_OK;
}

static bool usable_mode(uint32_t w, uint32_t h) {
  return w != 0 && h != 0 && w <= GPU_MAX_DIM && h <= GPU_MAX_DIM;
}

/* A detailed timing descriptor (EDID 1.4 §3.10.2) and its active size:
 * 8 low bits in bytes 2 / 5, 4 high bits in the upper nibble of bytes
 * 4 / 7, so at most 4095. False for a display descriptor (pixel clock 0,
 * §3.10.3). */
static bool dtd_size(const uint8_t *d, uint32_t *w, uint32_t *h) {
  if (d[0] == 0 && d[1] == 0) {
    return false;
  }
  *w = d[2] | (uint32_t)(d[4] & 0xf0) << 4;
  *h = d[5] | (uint32_t)(d[7] & 0xf0) << 4;
  return true;
}

/* A DisplayID section in an EDID extension block (tag 0x70; DisplayID
 * 1.3 §2 / 2.0 §2: version, payload bytes, product type, extension count,
 * then data blocks of tag, revision, payload bytes). Its detailed timings
 * (1.3 Type I, tag 0x03; 2.0 Type VII, tag 0x22; 20 bytes each, active
 * width and height minus one as le16 at bytes 4 and 12, bit 7 of byte 3
 * "preferred") carry widths beyond the 12 bits of an EDID timing: the
 * first usable one flagged preferred, else the first usable one. */
static bool displayid_mode(const uint8_t *x, uint32_t *w, uint32_t *h) {
  uint32_t end = 5u + x[2]; /* the section checksum byte follows */
  if (end > 127) {
    return false;
  }
  bool found = false;
  for (uint32_t off = 5; off + 3 <= end;) {
    uint32_t tag = x[off], len = x[off + 2];
    if (off + 3 + len > end) {
      break;
    }
    for (uint32_t k = 0; (tag == 0x03 || tag == 0x22) && k + 20 <= len;
         k += 20) {
      const uint8_t *t = x + off + 3 + k;
      uint32_t tw = (t[4] | (uint32_t)t[5] << 8) + 1u;
      uint32_t th = (t[12] | (uint32_t)t[13] << 8) + 1u;
      if (!usable_mode(tw, th)) {
        continue;
      }
      if (t[3] & 0x80) {
        *w = tw;
        *h = th;
        return true;
      }
      if (!found) {
        *w = tw;
        *h = th;
        found = true;
      }
    }
    off += 3 + len;
  }
  return found;
}

/* The first usable detailed timing of a CTA-861 extension (tag 0x02,
 * CTA-861-G §7.5: byte 2 is where they start, 18 bytes each, up to the
 * checksum byte). */
static bool cta_mode(const uint8_t *x, uint32_t *w, uint32_t *h) {
  uint32_t start = x[2];
  if (start < 4) {
    return false;
  }
  for (uint32_t off = start; off + 18 <= 127; off += 18) {
    uint32_t tw, th;
    if (dtd_size(x + off, &tw, &th) && usable_mode(tw, th)) {
      *w = tw;
      *h = th;
      return true;
    }
  }
  return false;
}

/* The preferred mode: the base block's first detailed timing (EDID 1.4
 * §3.10.2 makes it the preferred one) when usable; else a DisplayID
 * extension's timing (how a mode wider or taller than 4095 is given:
 * QEMU 7.2 leaves the base block without a timing then); else the next
 * usable timing of the base block or a CTA-861 extension. 0 x 0 when
 * none is usable: the rest of the EDID still is. Extension blocks count
 * only when they fit in `size` and their checksum is right. */
static void preferred_mode(const uint8_t *e, uint32_t size,
                           struct gpu_edid_info *out) {
  uint32_t w = 0, h = 0;
  bool first = true;
  uint32_t next_w = 0, next_h = 0;
  for (unsigned off = 54; off <= 108; off += 18) {
    uint32_t tw, th;
    if (!dtd_size(e + off, &tw, &th)) {
      continue;
    }
    if (first && usable_mode(tw, th)) {
      out->pref_width = tw;
      out->pref_height = th;
      return;
    }
    if (!first && next_w == 0 && usable_mode(tw, th)) {
      next_w = tw;
      next_h = th;
    }
    first = false;
  }
  unsigned blocks = RL_MIN((unsigned)e[126], size / 128 - 1);
  bool have_cta = false;
  uint32_t cta_w = 0, cta_h = 0;
  for (unsigned b = 1; b <= blocks; b++) {
    const uint8_t *x = e + (size_t)128 * b;
    uint8_t sum = 0;
    for (unsigned i = 0; i < 128; i++) {
      sum = (uint8_t)(sum + x[i]);
    }
    if (sum != 0) {
      continue; /* a broken extension is skipped, not the EDID */
    }
    if (x[0] == 0x70 && displayid_mode(x, &w, &h)) {
      out->pref_width = w;
      out->pref_height = h;
      return;
    }
    if (x[0] == 0x02 && !have_cta) {
      have_cta = cta_mode(x, &cta_w, &cta_h);
    }
  }
  if (next_w != 0) {
    out->pref_width = next_w;
    out->pref_height = next_h;
  } else if (have_cta) {
    out->pref_width = cta_w;
    out->pref_height = cta_h;
  }
}

rl_status gpu_parse_edid(const void *resp, uint32_t len,
                         struct gpu_edid_info *out) {
  uint32_t type;
  /* The fixed part; the EDID bytes must then fit in what was written. */
  rl_status st =
      gpu_check_response(resp, len, VIRTIO_GPU_RESP_OK_EDID,
                         offsetof(struct virtio_gpu_resp_edid, edid), 0, &type);
  if (st != RL_OK) {
    return st;
  }
  const struct virtio_gpu_resp_edid *r = resp;
  uint32_t size = r->size;
  if (size < 128 || size > sizeof(r->edid) ||
      size > len - offsetof(struct virtio_gpu_resp_edid, edid)) {
    return RL_ERR_BAD_FORMAT;
  }
  const uint8_t *e = r->edid;
  static const uint8_t header[8] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
  uint8_t sum = 0;
  for (unsigned i = 0; i < 128; i++) {
    if (i < 8 && e[i] != header[i]) {
      return RL_ERR_BAD_FORMAT; /* EDID 1.4 §3.3 header */
    }
    sum = (uint8_t)(sum + e[i]);
  }
  if (sum != 0 || e[18] != 1) {
    return RL_ERR_BAD_FORMAT; /* checksum; EDID version 1.x */
  }
  *out = (struct gpu_edid_info){0};
  /* Manufacturer id: three 5-bit letters, big-endian (EDID §3.4.1). */
  uint16_t mfg = (uint16_t)(e[8] << 8 | e[9]);
  for (int i = 0; i < 3; i++) {
    unsigned c = (mfg >> (10 - 5 * i)) & 0x1f;
    static const char letters[] = "?ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    out->vendor[i] = letters[(c >= 1 && c <= 26) ? c : 0];
  }
  /* Display descriptors at 54, 72, 90, 108 (EDID §3.10.3). */
  for (unsigned off = 54; off <= 108; off += 18) {
    const uint8_t *d = e + off;
    if (d[0] == 0 && d[1] == 0 && d[3] == 0xfc) { /* name, ends at 0x0a */
      unsigned n = 0;
      for (; n < 13 && d[5 + n] != 0x0a; n++) {
        uint8_t c = d[5 + n];
        out->name[n] = '?';
        if (c >= 0x20 && c < 0x7f) {
          out->name[n] = ((const char *)d)[5 + n];
        }
      }
      out->name[n] = '\0';
    }
  }
  preferred_mode(e, size, out);
  return RL_OK;
}

/* The commands' fields after the header are 8-byte aligned pairs of
 * 32-bit ones (or one 64-bit one), so one builder writes them all. */
typedef uint64_t __attribute__((may_alias)) gpu_word_t;
#define AT(type, field, off)                                                   \
  _Static_assert(offsetof(type, field) == (off), #field)
AT(struct virtio_gpu_resource_create_2d, format, 28);
AT(struct virtio_gpu_resource_create_2d, height, 36);
AT(struct virtio_gpu_resource_unref, resource_id, 24);
AT(struct virtio_gpu_resource_detach_backing, resource_id, 24);
AT(struct virtio_gpu_set_scanout, scanout_id, 40);
AT(struct virtio_gpu_set_scanout, resource_id, 44);
AT(struct virtio_gpu_transfer_to_host_2d, offset, 40);
AT(struct virtio_gpu_transfer_to_host_2d, resource_id, 48);
AT(struct virtio_gpu_resource_flush, resource_id, 40);
AT(struct virtio_gpu_get_edid, scanout, 24);
AT(struct virtio_gpu_update_cursor, pos.x, 28);
AT(struct virtio_gpu_update_cursor, pos.y, 32);
AT(struct virtio_gpu_update_cursor, resource_id, 40);
AT(struct virtio_gpu_update_cursor, hot_y, 48);
AT(struct virtio_gpu_resource_attach_backing, nr_entries, 28);
#undef AT

size_t gpu_cmd(void *buf, size_t size, uint32_t type, uint64_t fence_id,
               uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3) {
  gpu_hdr(buf, type, fence_id);
  const uint64_t body[4] = {w0, w1, w2, w3};
  gpu_word_t *out = (gpu_word_t *)((struct virtio_gpu_ctrl_hdr *)buf + 1);
  for (size_t i = 0; i < (size - sizeof(struct virtio_gpu_ctrl_hdr)) / 8; i++) {
    out[i] = body[i];
  }
  return size;
}

rl_status gpu_encode_attach_backing(void *buf, size_t cap, uint32_t resource_id,
                                    const struct virtio_gpu_mem_entry *e,
                                    uint32_t n, size_t *size) {
  size_t need = sizeof(struct virtio_gpu_resource_attach_backing) +
                (size_t)n * sizeof(struct virtio_gpu_mem_entry);
  if (n == 0 || need > cap) {
    return RL_ERR_NO_SPACE;
  }
  struct virtio_gpu_mem_entry *out = gpu_attach_entries(buf);
  for (uint32_t i = 0; i < n; i++) {
    out[i].addr = e[i].addr;
    out[i].length = e[i].length;
    out[i].padding = 0;
  }
  *size = gpu_encode_attach_in_place(buf, resource_id, n);
  return RL_OK;
}
