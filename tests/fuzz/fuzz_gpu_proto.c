/* virtio-gpu response parsing (drivers/gpu/gpu_proto.c) with arbitrary
 * bytes and lengths: gpu_check_response for every expected type,
 * gpu_parse_display_info, gpu_parse_edid, gpu_type_name, and the
 * attach-backing encoder's bounds.
 *
 * Each response sits in a malloc'd buffer of exactly the length the call
 * is told (so AddressSanitizer catches a read past it), and each result
 * is compared with an oracle written here from the header's contract and
 * the spec (virtio 1.2 §5.7.6; EDID 1.4 base block, DisplayID and CTA-861
 * extension timings), plus properties any
 * OK result must have: sizes 1..GPU_MAX_DIM, names printable and
 * terminated, vendor letters.
 *
 * Input: 16 bytes of parameters (expected type, expected length, scanout
 * count, fence id, length mode), then the response bytes. */
#include <stdlib.h>
#include <string.h>

#include "drivers/gpu/gpu_proto.h"
#include "fuzz_util.h"

#define HDR_LEN 24u
#define EDID_DATA_OFF 32u /* header, size, padding */

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p) {
  return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* gpu_proto.h: header, then an error type (IO), then type and length,
 * then the fence. */
static rl_status expect_check(const uint8_t *r, uint32_t len, uint32_t expected,
                              size_t expected_len, uint64_t fence,
                              uint32_t *type) {
  *type = 0;
  if (len < HDR_LEN) {
    return RL_ERR_BAD_FORMAT;
  }
  *type = le32(r);
  if (*type >= 0x1200 && *type <= 0x1205) {
    return RL_ERR_IO;
  }
  if (*type != expected || len < expected_len) {
    return RL_ERR_BAD_FORMAT;
  }
  if (fence != 0 && ((le32(r + 4) & 1) == 0 || le64(r + 8) != fence)) {
    return RL_ERR_BAD_FORMAT;
  }
  return RL_OK;
}

static void fuzz_check(const uint8_t *r, uint32_t len, uint32_t expected,
                       size_t expected_len, uint64_t fence) {
  uint32_t type = 0xdeadbeef, want_type;
  rl_status st =
      gpu_check_response(r, len, expected, expected_len, fence, &type);
  rl_status want =
      expect_check(r, len, expected, expected_len, fence, &want_type);
  FUZZ_CHECK(st == want && type == want_type,
             "gpu_check_response(len %u, expected %#x/%zu, fence %llu): %d "
             "type %#x, expected %d type %#x",
             len, expected, expected_len, (unsigned long long)fence, st, type,
             want, want_type);
  const char *name = gpu_type_name(type);
  FUZZ_CHECK(name != NULL && name[0] != '\0', "gpu_type_name(%#x)", type);
  for (const char *c = name; *c != '\0'; c++) {
    FUZZ_CHECK(*c >= 0x20 && *c < 0x7f, "unprintable type name");
  }
}

static void fuzz_display(const uint8_t *r, uint32_t len, uint32_t nscan) {
  struct gpu_mode modes[VIRTIO_GPU_MAX_SCANOUTS];
  memset(modes, 0xa5, sizeof(modes));
  unsigned enabled = 12345;
  rl_status st = gpu_parse_display_info(r, len, nscan, modes, &enabled);
  uint32_t type;
  rl_status want =
      expect_check(r, len, VIRTIO_GPU_RESP_OK_DISPLAY_INFO,
                   sizeof(struct virtio_gpu_resp_display_info), 0, &type);
  if (want == RL_OK && (nscan == 0 || nscan > VIRTIO_GPU_MAX_SCANOUTS)) {
    want = RL_ERR_BAD_FORMAT;
  }
  unsigned want_enabled = 0;
  struct gpu_mode want_modes[VIRTIO_GPU_MAX_SCANOUTS];
  memset(want_modes, 0, sizeof(want_modes));
  for (uint32_t i = 0; want == RL_OK && i < VIRTIO_GPU_MAX_SCANOUTS; i++) {
    const uint8_t *p = r + HDR_LEN + (size_t)24 * i; /* rect, enabled, flags */
    if (i >= nscan || le32(p + 16) == 0) {
      continue;
    }
    uint32_t x = le32(p), y = le32(p + 4), w = le32(p + 8), h = le32(p + 12);
    if (w == 0 || h == 0 || w > GPU_MAX_DIM || h > GPU_MAX_DIM ||
        x > GPU_MAX_DIM || y > GPU_MAX_DIM) {
      want = RL_ERR_BAD_FORMAT;
      break;
    }
    want_modes[i] = (struct gpu_mode){true, x, y, w, h};
    want_enabled++;
  }
  FUZZ_CHECK(st == want,
             "gpu_parse_display_info(len %u, %u scanouts): %d, "
             "expected %d",
             len, nscan, st, want);
  if (st != RL_OK) {
    return;
  }
  FUZZ_CHECK(enabled == want_enabled, "%u enabled, expected %u", enabled,
             want_enabled);
  for (unsigned i = 0; i < VIRTIO_GPU_MAX_SCANOUTS; i++) {
    const struct gpu_mode *m = &modes[i], *w = &want_modes[i];
    FUZZ_CHECK(m->enabled == w->enabled && m->x == w->x && m->y == w->y &&
                   m->width == w->width && m->height == w->height,
               "scanout %u: %d %ux%u+%u+%u, expected %d %ux%u+%u+%u", i,
               m->enabled, m->width, m->height, m->x, m->y, w->enabled,
               w->width, w->height, w->x, w->y);
    if (m->enabled) {
      FUZZ_CHECK(m->width >= 1 && m->width <= GPU_MAX_DIM && m->height >= 1 &&
                     m->height <= GPU_MAX_DIM,
                 "scanout %u size %ux%u", i, m->width, m->height);
    }
  }
}

static bool expect_usable(uint32_t w, uint32_t h) {
  return w >= 1 && h >= 1 && w <= GPU_MAX_DIM && h <= GPU_MAX_DIM;
}

/* The preferred mode as gpu_proto.h states it, from lists of candidates:
 * [0] the base block's first detailed timing (12-bit sizes, §3.10.2) if
 * usable; [1] the first extension block (within `size`, checksum right)
 * of tag 0x70 whose DisplayID section (length within the block) has a
 * usable Type I (0x03) or Type VII (0x22) timing: its first flagged
 * preferred, else its first; [2] the base block's next usable timing;
 * [3] the first usable timing of the CTA-861 blocks (tag 0x02, from
 * byte 2's offset when >= 4) with a good checksum. */
static void expect_pref(const uint8_t *e, uint32_t size, uint32_t *w,
                        uint32_t *h) {
  uint32_t cw[4] = {0}, ch[4] = {0};
  unsigned timings = 0;
  for (unsigned k = 0; k < 4; k++) {
    const uint8_t *d = e + 54 + (size_t)18 * k;
    if (d[0] == 0 && d[1] == 0) {
      continue;
    }
    uint32_t tw = d[2] + ((uint32_t)(d[4] >> 4) << 8);
    uint32_t th = d[5] + ((uint32_t)(d[7] >> 4) << 8);
    unsigned slot = timings++ == 0 ? 0 : 2;
    if (cw[slot] == 0 && expect_usable(tw, th)) {
      cw[slot] = tw;
      ch[slot] = th;
    }
  }
  bool cta_seen = false;
  unsigned nblocks = size / 128 - 1;
  if (e[126] < nblocks) {
    nblocks = e[126];
  }
  for (unsigned b = 1; b <= nblocks; b++) {
    const uint8_t *x = e + (size_t)128 * b;
    unsigned sum = 0;
    for (unsigned i = 0; i < 128; i++) {
      sum += x[i];
    }
    if (sum % 256 != 0) {
      continue;
    }
    if (x[0] == 0x02 && !cta_seen) {
      for (unsigned off = x[2]; x[2] >= 4 && off + 18 <= 127; off += 18) {
        const uint8_t *d = x + off;
        uint32_t tw = d[2] + ((uint32_t)(d[4] >> 4) << 8);
        uint32_t th = d[5] + ((uint32_t)(d[7] >> 4) << 8);
        if ((d[0] != 0 || d[1] != 0) && expect_usable(tw, th)) {
          cw[3] = tw;
          ch[3] = th;
          cta_seen = true;
          break;
        }
      }
    }
    if (x[0] != 0x70 || cw[1] != 0 || 5u + x[2] > 127) {
      continue;
    }
    unsigned end = 5u + x[2];
    uint32_t first_w = 0, first_h = 0, pref_w = 0, pref_h = 0;
    unsigned off = 5;
    while (off + 3 <= end && off + 3 + x[off + 2] <= end) {
      unsigned n = x[off + 2];
      if (x[off] == 0x03 || x[off] == 0x22) {
        for (unsigned t = off + 3; t + 20 <= off + 3 + n; t += 20) {
          uint32_t tw = (uint32_t)x[t + 4] + ((uint32_t)x[t + 5] << 8) + 1;
          uint32_t th = (uint32_t)x[t + 12] + ((uint32_t)x[t + 13] << 8) + 1;
          if (!expect_usable(tw, th)) {
            continue;
          }
          if (first_w == 0) {
            first_w = tw;
            first_h = th;
          }
          if (pref_w == 0 && (x[t + 3] & 0x80) != 0) {
            pref_w = tw;
            pref_h = th;
          }
        }
      }
      off += 3 + n;
    }
    cw[1] = pref_w != 0 ? pref_w : first_w;
    ch[1] = pref_w != 0 ? pref_h : first_h;
  }
  *w = 0;
  *h = 0;
  for (unsigned i = 0; i < 4; i++) {
    if (cw[i] != 0) {
      *w = cw[i];
      *h = ch[i];
      return;
    }
  }
}

/* EDID 1.4: header, checksum, version 1; manufacturer letters (§3.4.1);
 * the monitor name descriptor (tag 0xfc, up to 13 bytes ended by 0x0a,
 * §3.10.3); the preferred mode (expect_pref). */
static rl_status expect_edid(const uint8_t *r, uint32_t len,
                             struct gpu_edid_info *out) {
  static const char ascii[] = " !\"#$%&'()*+,-./0123456789:;<=>?@"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
                              "abcdefghijklmnopqrstuvwxyz{|}~";
  static char printable[256];
  for (unsigned c = 0; c < 256; c++) {
    printable[c] = '?';
    if (c >= 0x20 && c <= 0x7e) {
      printable[c] = ascii[c - 0x20];
    }
  }
  uint32_t type;
  rl_status st =
      expect_check(r, len, VIRTIO_GPU_RESP_OK_EDID, EDID_DATA_OFF, 0, &type);
  if (st != RL_OK) {
    return st;
  }
  uint32_t size = le32(r + HDR_LEN);
  if (size < 128 || size > 1024 || size > len - EDID_DATA_OFF) {
    return RL_ERR_BAD_FORMAT;
  }
  const uint8_t *e = r + EDID_DATA_OFF;
  static const uint8_t magic[8] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
  unsigned sum = 0;
  for (unsigned i = 0; i < 128; i++) {
    sum += e[i];
  }
  if (memcmp(e, magic, 8) != 0 || sum % 256 != 0 || e[18] != 1) {
    return RL_ERR_BAD_FORMAT;
  }
  memset(out, 0, sizeof(*out));
  unsigned id = (unsigned)e[8] << 8 | e[9];
  for (int i = 0; i < 3; i++) {
    unsigned c = (id >> (10 - 5 * i)) & 31;
    out->vendor[i] = "?ABCDEFGHIJKLMNOPQRSTUVWXYZ?????"[c];
  }
  for (unsigned k = 0; k < 4; k++) {
    const uint8_t *d = e + 54 + (size_t)18 * k;
    if (d[0] == 0 && d[1] == 0 && d[3] == 0xfc) {
      unsigned n = 0;
      while (n < 13 && d[5 + n] != 0x0a) {
        uint8_t c = d[5 + n];
        out->name[n++] = printable[c];
      }
      out->name[n] = '\0';
    }
  }
  expect_pref(e, size, &out->pref_width, &out->pref_height);
  return RL_OK;
}

static void fuzz_edid(const uint8_t *r, uint32_t len) {
  struct gpu_edid_info got, want;
  memset(&got, 0x5a, sizeof(got));
  rl_status st = gpu_parse_edid(r, len, &got);
  rl_status ws = expect_edid(r, len, &want);
  FUZZ_CHECK(st == ws, "gpu_parse_edid(len %u): %d, expected %d", len, st, ws);
  if (st != RL_OK) {
    return;
  }
  FUZZ_CHECK(got.pref_width == want.pref_width &&
                 got.pref_height == want.pref_height,
             "preferred %ux%u, expected %ux%u", got.pref_width, got.pref_height,
             want.pref_width, want.pref_height);
  FUZZ_CHECK((got.pref_width == 0 && got.pref_height == 0) ||
                 (got.pref_width >= 1 && got.pref_width <= GPU_MAX_DIM &&
                  got.pref_height >= 1 && got.pref_height <= GPU_MAX_DIM),
             "preferred size out of range");
  FUZZ_CHECK(memcmp(got.vendor, want.vendor, sizeof(got.vendor)) == 0 &&
                 got.vendor[3] == '\0',
             "vendor \"%.4s\", expected \"%s\"", got.vendor, want.vendor);
  FUZZ_CHECK(memchr(got.name, '\0', sizeof(got.name)) != NULL,
             "monitor name not terminated");
  FUZZ_CHECK(strcmp(got.name, want.name) == 0, "name \"%s\", expected \"%s\"",
             got.name, want.name);
  for (const char *c = got.name; *c != '\0'; c++) {
    FUZZ_CHECK(*c >= 0x20 && *c < 0x7f, "unprintable monitor name");
  }
}

static void fuzz_attach_backing(uint32_t n, size_t cap, uint64_t seed) {
  struct virtio_gpu_mem_entry *e = malloc(n > 0 ? n * sizeof(*e) : 1);
  uint8_t *buf = malloc(cap > 0 ? cap : 1);
  FUZZ_CHECK(e != NULL && buf != NULL, "malloc");
  for (uint32_t i = 0; i < n; i++) {
    e[i] = (struct virtio_gpu_mem_entry){seed + (uint64_t)i * 4096, i, 0};
  }
  size_t size = 0;
  rl_status st = gpu_encode_attach_backing(buf, cap, 7, e, n, &size);
  size_t need = sizeof(struct virtio_gpu_resource_attach_backing) +
                (size_t)n * sizeof(*e);
  bool fits = n > 0 && need <= cap;
  FUZZ_CHECK(st == (fits ? RL_OK : RL_ERR_NO_SPACE) && (!fits || size == need),
             "attach_backing(%u entries, %zu bytes): %d size %zu", n, cap, st,
             size);
  if (fits) {
    FUZZ_CHECK(le32(buf) == VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING &&
                   le32(buf + 24) == 7 && le32(buf + 28) == n,
               "attach_backing header");
    for (uint32_t i = 0; i < n; i++) {
      const uint8_t *p = buf + 32 + 16 * (size_t)i;
      FUZZ_CHECK(le64(p) == e[i].addr && le32(p + 8) == e[i].length &&
                     le32(p + 12) == 0,
                 "entry %u", i);
    }
  }
  free(buf);
  free(e);
}

/* Every response type a command expects, with its length. */
static const struct {
  uint32_t type;
  size_t len;
} expect_types[] = {
    {VIRTIO_GPU_RESP_OK_NODATA, HDR_LEN},
    {VIRTIO_GPU_RESP_OK_DISPLAY_INFO,
     sizeof(struct virtio_gpu_resp_display_info)},
    {VIRTIO_GPU_RESP_OK_CAPSET_INFO, HDR_LEN},
    {VIRTIO_GPU_RESP_OK_CAPSET, HDR_LEN},
    {VIRTIO_GPU_RESP_OK_EDID, EDID_DATA_OFF},
    {VIRTIO_GPU_RESP_ERR_UNSPEC, HDR_LEN},
    {VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, HDR_LEN},
    {VIRTIO_GPU_CMD_GET_DISPLAY_INFO, HDR_LEN},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_in in = {data, size};
  struct fuzz_in prm = fin_split(&in, 16);
  uint8_t tsel = fin_u8(&prm);
  uint32_t expected =
      tsel < 0xf0 ? expect_types[tsel % 8].type : 0x1100u + tsel % 16;
  uint16_t elen_sel = fin_u16(&prm);
  static const size_t lens[] = {HDR_LEN,
                                0,
                                1,
                                23,
                                25,
                                sizeof(struct virtio_gpu_resp_display_info),
                                EDID_DATA_OFF,
                                sizeof(struct virtio_gpu_resp_edid)};
  size_t expected_len = elen_sel < 0xf000 ? lens[elen_sel % 8] : elen_sel;
  uint32_t nscan = fin_u8(&prm) % 20;
  uint64_t fence = fin_u64(&prm);
  uint8_t len_mode = fin_u8(&prm);
  uint16_t attach = fin_u16(&prm);
  (void)fin_u8(&prm);

  /* The response: exactly as many bytes as the call is told. */
  size_t got;
  const uint8_t *body = fin_bytes(&in, in.n, &got);
  size_t n = got;
  if (len_mode >= 0x80) {
    n = got > (len_mode & 0x7f) ? got - (len_mode & 0x7f) : 0;
  }
  if (n > UINT32_MAX) {
    n = UINT32_MAX;
  }
  uint8_t *r = malloc(n > 0 ? n : 1);
  FUZZ_CHECK(r != NULL, "malloc");
  memcpy(r, body, n);
  uint32_t len = (uint32_t)n;

  fuzz_check(r, len, expected, expected_len, fence & 0xff ? fence : 0);
  for (unsigned i = 0; i < RL_ARRAY_SIZE(expect_types); i++) {
    fuzz_check(r, len, expect_types[i].type, expect_types[i].len, 0);
  }
  fuzz_display(r, len, nscan);
  fuzz_edid(r, len);
  free(r);

  fuzz_attach_backing(attach % 300, (size_t)(attach >> 6) * 8, fence);
  return 0;
}
