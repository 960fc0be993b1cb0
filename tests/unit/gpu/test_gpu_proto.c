/* Host tests for drivers/gpu: every command encoder checked byte by byte
 * against the field order of virtio 1.2 §5.7.6 (offsets and
 * little-endian values written out here, not taken from the driver's
 * structs); response checking and GET_DISPLAY_INFO / GET_EDID parsing on
 * hand-made responses, a response recorded from QEMU
 * (tests/fixtures/qemu_edid_1280x800.bin, see record_edid.py) and broken
 * ones; a randomized sweep of all three parsers on buffers of exactly
 * the stated length, so ASan reports any overread; framebuffer surfaces
 * in row chunks against a flat model; and the text console. */
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

#include <drivers/gpu/gpu_proto.h>
#include <lib/gfx/console.h>
#include <lib/gfx/fb.h>
#include <lib/gfx/font8x16.h>
#include <ringlight/status.h>

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must name tests/fixtures (set by BUILD.gn)"
#endif

/* ---- the spec's numbers, written out (virtio 1.2 §5.7.6.7) ------------ */

#define T_GET_DISPLAY_INFO 0x0100u
#define T_CREATE_2D 0x0101u
#define T_UNREF 0x0102u
#define T_SET_SCANOUT 0x0103u
#define T_FLUSH 0x0104u
#define T_TRANSFER_2D 0x0105u
#define T_ATTACH_BACKING 0x0106u
#define T_DETACH_BACKING 0x0107u
#define T_GET_EDID 0x010au
#define T_UPDATE_CURSOR 0x0300u
#define T_MOVE_CURSOR 0x0301u
#define T_OK_NODATA 0x1100u
#define T_OK_DISPLAY_INFO 0x1101u
#define T_OK_EDID 0x1104u
#define T_ERR_UNSPEC 0x1200u
#define T_ERR_INVALID_PARAMETER 0x1205u

#define HDR_LEN 24u                      /* virtio_gpu_ctrl_hdr */
#define DISPLAY_INFO_LEN (24u + 16 * 24) /* hdr + 16 display_one */
#define EDID_DATA_OFF 32u                /* hdr, size, padding */
#define EDID_RESP_LEN (32u + 1024)

/* ---- little-endian byte access ----------------------------------------- */

static uint32_t rd32(const uint8_t *b, size_t off) {
  return (uint32_t)b[off] | (uint32_t)b[off + 1] << 8 |
         (uint32_t)b[off + 2] << 16 | (uint32_t)b[off + 3] << 24;
}

static uint64_t rd64(const uint8_t *b, size_t off) {
  return (uint64_t)rd32(b, off) | (uint64_t)rd32(b, off + 4) << 32;
}

static void wr32(uint8_t *b, size_t off, uint32_t v) {
  b[off] = (uint8_t)v;
  b[off + 1] = (uint8_t)(v >> 8);
  b[off + 2] = (uint8_t)(v >> 16);
  b[off + 3] = (uint8_t)(v >> 24);
}

static void wr64(uint8_t *b, size_t off, uint64_t v) {
  wr32(b, off, (uint32_t)v);
  wr32(b, off + 4, (uint32_t)(v >> 32));
}

/* A heap copy of exactly `len` bytes (ASan flags any read past it). */
static uint8_t *exact(const void *src, size_t len) {
  uint8_t *p = malloc(len != 0 ? len : 1);
  assert_non_null(p);
  if (len != 0) {
    memcpy(p, src, len);
  }
  return p;
}

/* ---- encoders ----------------------------------------------------------- */

#define SENT 0xa5u

static union {
  uint64_t align;
  uint8_t b[1024];
} g_cmd;

static uint8_t *cmd_reset(void) {
  memset(g_cmd.b, SENT, sizeof(g_cmd.b));
  return g_cmd.b;
}

/* The header every command starts with (§5.7.6.7): type le32 @0, flags
 * le32 @4, fence_id le64 @8, ctx_id le32 @16, ring_idx u8 @20, padding
 * @21..23. */
static void put_hdr(uint8_t *w, uint32_t type, uint32_t flags, uint64_t fence) {
  memset(w, 0, HDR_LEN);
  wr32(w, 0, type);
  wr32(w, 4, flags);
  wr64(w, 8, fence);
}

/* The command is exactly `want`, and nothing past it was written. */
static void check_cmd(size_t got_len, const uint8_t *want, size_t want_len) {
  assert_int_equal(got_len, want_len);
  assert_memory_equal(g_cmd.b, want, want_len);
  for (size_t i = want_len; i < sizeof(g_cmd.b); i++) {
    assert_int_equal(g_cmd.b[i], SENT);
  }
}

static void test_spec_numbers(void **state) {
  (void)state;
  assert_int_equal(VIRTIO_GPU_CMD_GET_DISPLAY_INFO, T_GET_DISPLAY_INFO);
  assert_int_equal(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, T_CREATE_2D);
  assert_int_equal(VIRTIO_GPU_CMD_RESOURCE_UNREF, T_UNREF);
  assert_int_equal(VIRTIO_GPU_CMD_SET_SCANOUT, T_SET_SCANOUT);
  assert_int_equal(VIRTIO_GPU_CMD_RESOURCE_FLUSH, T_FLUSH);
  assert_int_equal(VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, T_TRANSFER_2D);
  assert_int_equal(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, T_ATTACH_BACKING);
  assert_int_equal(VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING, T_DETACH_BACKING);
  assert_int_equal(VIRTIO_GPU_CMD_GET_EDID, T_GET_EDID);
  assert_int_equal(VIRTIO_GPU_CMD_UPDATE_CURSOR, T_UPDATE_CURSOR);
  assert_int_equal(VIRTIO_GPU_CMD_MOVE_CURSOR, T_MOVE_CURSOR);
  assert_int_equal(VIRTIO_GPU_RESP_OK_NODATA, T_OK_NODATA);
  assert_int_equal(VIRTIO_GPU_RESP_OK_DISPLAY_INFO, T_OK_DISPLAY_INFO);
  assert_int_equal(VIRTIO_GPU_RESP_OK_EDID, T_OK_EDID);
  assert_int_equal(VIRTIO_GPU_RESP_ERR_UNSPEC, T_ERR_UNSPEC);
  assert_int_equal(VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
                   T_ERR_INVALID_PARAMETER);
  assert_int_equal(VIRTIO_GPU_FLAG_FENCE, 1);
  assert_int_equal(VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 2);
  assert_int_equal(VIRTIO_GPU_F_EDID, 1);
}

static void test_type_names(void **state) {
  (void)state;
  assert_string_equal(gpu_type_name(T_GET_DISPLAY_INFO), "GET_DISPLAY_INFO");
  assert_string_equal(gpu_type_name(T_ATTACH_BACKING),
                      "RESOURCE_ATTACH_BACKING");
  assert_string_equal(gpu_type_name(T_GET_EDID), "GET_EDID");
  assert_string_equal(gpu_type_name(T_UPDATE_CURSOR), "UPDATE_CURSOR");
  assert_string_equal(gpu_type_name(T_MOVE_CURSOR), "MOVE_CURSOR");
  assert_string_equal(gpu_type_name(T_OK_NODATA), "OK_NODATA");
  assert_string_equal(gpu_type_name(T_OK_EDID), "OK_EDID");
  assert_string_equal(gpu_type_name(T_ERR_UNSPEC), "ERR_UNSPEC");
  assert_string_equal(gpu_type_name(T_ERR_INVALID_PARAMETER),
                      "ERR_INVALID_PARAMETER");
  /* Every name, in virtio 1.2 §5.7.6.7's order (one string, walked). */
  static const struct {
    uint32_t type;
    const char *name;
  } all[] = {{0x100, "GET_DISPLAY_INFO"},
             {0x101, "RESOURCE_CREATE_2D"},
             {0x102, "RESOURCE_UNREF"},
             {0x103, "SET_SCANOUT"},
             {0x104, "RESOURCE_FLUSH"},
             {0x105, "TRANSFER_TO_HOST_2D"},
             {0x106, "RESOURCE_ATTACH_BACKING"},
             {0x107, "RESOURCE_DETACH_BACKING"},
             {0x108, "GET_CAPSET_INFO"},
             {0x109, "GET_CAPSET"},
             {0x10a, "GET_EDID"},
             {0x300, "UPDATE_CURSOR"},
             {0x301, "MOVE_CURSOR"},
             {0x1100, "OK_NODATA"},
             {0x1101, "OK_DISPLAY_INFO"},
             {0x1102, "OK_CAPSET_INFO"},
             {0x1103, "OK_CAPSET"},
             {0x1104, "OK_EDID"},
             {0x1200, "ERR_UNSPEC"},
             {0x1201, "ERR_OUT_OF_MEMORY"},
             {0x1202, "ERR_INVALID_SCANOUT_ID"},
             {0x1203, "ERR_INVALID_RESOURCE_ID"},
             {0x1204, "ERR_INVALID_CONTEXT_ID"},
             {0x1205, "ERR_INVALID_PARAMETER"}};
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
    assert_string_equal(gpu_type_name(all[i].type), all[i].name);
  }
  static const uint32_t unknown[] = {0,      0xff,   0x010b,     0x0302,
                                     0x1105, 0x1206, 0xffffffffu};
  for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
    assert_string_equal(gpu_type_name(unknown[i]), "unknown");
  }
}

static void test_hdr(void **state) {
  (void)state;
  uint8_t want[HDR_LEN];
  gpu_hdr((struct virtio_gpu_ctrl_hdr *)cmd_reset(), T_GET_DISPLAY_INFO, 0);
  put_hdr(want, T_GET_DISPLAY_INFO, 0, 0);
  check_cmd(HDR_LEN, want, sizeof(want));
  gpu_hdr((struct virtio_gpu_ctrl_hdr *)cmd_reset(), T_FLUSH,
          0x8877665544332211ull);
  put_hdr(want, T_FLUSH, 1, 0x8877665544332211ull);
  check_cmd(HDR_LEN, want, sizeof(want));
}

static void test_encode_create_2d(void **state) {
  (void)state;
  /* Written out byte by byte: the little-endian layout itself. */
  static const uint8_t want[40] = {
      0x01, 0x01, 0x00, 0x00,                         /* type CREATE_2D */
      0x00, 0x00, 0x00, 0x00,                         /* flags */
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* fence_id */
      0x00, 0x00, 0x00, 0x00,                         /* ctx_id */
      0x00, 0x00, 0x00, 0x00,                         /* ring_idx, pad */
      0x44, 0x33, 0x22, 0x11,                         /* resource_id */
      0x02, 0x00, 0x00, 0x00,                         /* format */
      0x00, 0x05, 0x00, 0x00,                         /* width 1280 */
      0x20, 0x03, 0x00, 0x00,                         /* height 800 */
  };
  size_t n = gpu_encode_create_2d(cmd_reset(), 0x11223344u,
                                  VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 1280, 800);
  check_cmd(n, want, sizeof(want));
}

static void test_encode_unref(void **state) {
  (void)state;
  uint8_t want[32];
  put_hdr(want, T_UNREF, 0, 0);
  wr32(want, 24, 0xcafe0001u); /* resource_id */
  wr32(want, 28, 0);           /* padding */
  check_cmd(gpu_encode_unref(cmd_reset(), 0xcafe0001u), want, sizeof(want));
}

static void test_encode_set_scanout(void **state) {
  (void)state;
  uint8_t want[48];
  put_hdr(want, T_SET_SCANOUT, 0, 0);
  wr32(want, 24, 10); /* r.x */
  wr32(want, 28, 20); /* r.y */
  wr32(want, 32, 1280);
  wr32(want, 36, 800);
  wr32(want, 40, 3);           /* scanout_id */
  wr32(want, 44, 0x01020304u); /* resource_id */
  struct virtio_gpu_rect r = {10, 20, 1280, 800};
  check_cmd(gpu_encode_set_scanout(cmd_reset(), 3, 0x01020304u, &r), want,
            sizeof(want));
  /* Disabling a scanout: resource 0, empty rectangle. */
  struct virtio_gpu_rect none = {0, 0, 0, 0};
  put_hdr(want, T_SET_SCANOUT, 0, 0);
  memset(want + 24, 0, 24);
  wr32(want, 40, 1);
  check_cmd(gpu_encode_set_scanout(cmd_reset(), 1, 0, &none), want,
            sizeof(want));
}

static void test_encode_transfer_2d(void **state) {
  (void)state;
  uint8_t want[56];
  put_hdr(want, T_TRANSFER_2D, 0, 0);
  wr32(want, 24, 16);
  wr32(want, 28, 32);
  wr32(want, 32, 64);
  wr32(want, 36, 48);
  wr64(want, 40, 0x1122334455667788ull); /* offset */
  wr32(want, 48, 7);                     /* resource_id */
  wr32(want, 52, 0);                     /* padding */
  struct virtio_gpu_rect r = {16, 32, 64, 48};
  check_cmd(gpu_encode_transfer_2d(cmd_reset(), 7, &r, 0x1122334455667788ull),
            want, sizeof(want));
  /* The driver's offset for a rectangle at (x, y): y * stride + x * 4. */
  r = (struct virtio_gpu_rect){3, 5, 1, 1};
  uint64_t off = 5ull * 1280 * 4 + 3 * 4;
  (void)gpu_encode_transfer_2d(cmd_reset(), 1, &r, off);
  assert_int_equal(rd64(g_cmd.b, 40), 25612);
}

static void test_encode_flush(void **state) {
  (void)state;
  uint8_t want[48];
  struct virtio_gpu_rect r = {1, 2, 3, 4};
  put_hdr(want, T_FLUSH, 0, 0);
  wr32(want, 24, 1);
  wr32(want, 28, 2);
  wr32(want, 32, 3);
  wr32(want, 36, 4);
  wr32(want, 40, 9); /* resource_id */
  wr32(want, 44, 0); /* padding */
  check_cmd(gpu_encode_flush(cmd_reset(), 9, &r, 0), want, sizeof(want));

  /* Fenced: flags bit 0 and the id, spelled out. */
  static const uint8_t fenced_hdr[HDR_LEN] = {
      0x04, 0x01, 0x00, 0x00,                         /* type FLUSH */
      0x01, 0x00, 0x00, 0x00,                         /* flags: FENCE */
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* fence_id */
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  memcpy(want, fenced_hdr, HDR_LEN);
  check_cmd(gpu_encode_flush(cmd_reset(), 9, &r, 0x0102030405060708ull), want,
            sizeof(want));
}

static void test_encode_attach_backing(void **state) {
  (void)state;
  /* Callers' padding is not copied. */
  static const struct virtio_gpu_mem_entry e[3] = {
      {0x40000000ull, 0x100000u, 0xdeadbeefu},
      {0x123456789abcdef0ull, 4096u, 0xffffffffu},
      {0x80001000ull, 0x2a000u, 1u},
  };
  uint8_t want[32 + 3 * 16];
  put_hdr(want, T_ATTACH_BACKING, 0, 0);
  wr32(want, 24, 5); /* resource_id */
  wr32(want, 28, 3); /* nr_entries */
  for (unsigned i = 0; i < 3; i++) {
    wr64(want, 32 + 16 * i, e[i].addr);
    wr32(want, 32 + 16 * i + 8, e[i].length);
    wr32(want, 32 + 16 * i + 12, 0);
  }
  size_t size = 0;
  assert_int_equal(
      gpu_encode_attach_backing(cmd_reset(), sizeof(want), 5, e, 3, &size),
      RL_OK);
  check_cmd(size, want, sizeof(want));

  /* One entry. */
  assert_int_equal(gpu_encode_attach_backing(cmd_reset(), 1024, 5, e, 1, &size),
                   RL_OK);
  wr32(want, 28, 1);
  check_cmd(size, want, 48);

  /* One byte short of the room: nothing written, size untouched. */
  size = 12345;
  assert_int_equal(
      gpu_encode_attach_backing(cmd_reset(), sizeof(want) - 1, 5, e, 3, &size),
      RL_ERR_NO_SPACE);
  assert_int_equal(size, 12345);
  check_cmd(0, want, 0);
  assert_int_equal(gpu_encode_attach_backing(cmd_reset(), 0, 5, e, 1, &size),
                   RL_ERR_NO_SPACE);
  /* A huge count must not wrap the size nor read the entries. */
  assert_int_equal(
      gpu_encode_attach_backing(cmd_reset(), 1024, 5, e, 0xffffffffu, &size),
      RL_ERR_NO_SPACE);
  check_cmd(0, want, 0);
  /* No entries at all is refused. */
  assert_int_equal(gpu_encode_attach_backing(cmd_reset(), 1024, 5, e, 0, &size),
                   RL_ERR_NO_SPACE);
  assert_int_equal(size, 12345);
  check_cmd(0, want, 0);
  /* A page holds (4096 - 32) / 16 = 254 entries. */
  struct virtio_gpu_mem_entry *many = calloc(255, sizeof(*many));
  assert_non_null(many);
  static union {
    uint64_t align;
    uint8_t b[4096];
  } page;
  assert_int_equal(
      gpu_encode_attach_backing(page.b, sizeof(page.b), 1, many, 254, &size),
      RL_OK);
  assert_int_equal(size, 4096);
  assert_int_equal(rd32(page.b, 28), 254);
  assert_int_equal(
      gpu_encode_attach_backing(page.b, sizeof(page.b), 1, many, 255, &size),
      RL_ERR_NO_SPACE);
  free(many);
}

static void test_encode_detach_backing(void **state) {
  (void)state;
  uint8_t want[32];
  put_hdr(want, T_DETACH_BACKING, 0, 0);
  wr32(want, 24, 0x8000000fu);
  wr32(want, 28, 0);
  check_cmd(gpu_encode_detach_backing(cmd_reset(), 0x8000000fu), want,
            sizeof(want));
}

static void test_encode_get_edid(void **state) {
  (void)state;
  uint8_t want[32];
  put_hdr(want, T_GET_EDID, 0, 0);
  wr32(want, 24, 15); /* scanout */
  wr32(want, 28, 0);  /* padding */
  check_cmd(gpu_encode_get_edid(cmd_reset(), 15), want, sizeof(want));
}

static void test_encode_cursor(void **state) {
  (void)state;
  /* §5.7.6.10: hdr, pos {scanout_id @24, x @28, y @32, padding @36},
   * resource_id @40, hot_x @44, hot_y @48, padding @52. */
  uint8_t want[56];
  put_hdr(want, T_UPDATE_CURSOR, 0, 0);
  wr32(want, 24, 0);
  wr32(want, 28, 640);
  wr32(want, 32, 400);
  wr32(want, 36, 0);
  wr32(want, 40, 0x100);
  wr32(want, 44, 3);
  wr32(want, 48, 4);
  wr32(want, 52, 0);
  check_cmd(
      gpu_encode_cursor(cmd_reset(), T_UPDATE_CURSOR, 0, 640, 400, 0x100, 3, 4),
      want, sizeof(want));
  put_hdr(want, T_MOVE_CURSOR, 0, 0);
  wr32(want, 24, 2);
  wr32(want, 28, 0xffffffffu);
  wr32(want, 32, 0x10000u);
  check_cmd(gpu_encode_cursor(cmd_reset(), T_MOVE_CURSOR, 2, 0xffffffffu,
                              0x10000u, 0x100, 3, 4),
            want, sizeof(want));
}

/* ---- gpu_check_response ------------------------------------------------- */

/* A response of `len` bytes (exact heap buffer) with the given header. */
static uint8_t *resp_new(size_t len, uint32_t type, uint32_t flags,
                         uint64_t fence) {
  uint8_t tmp[EDID_RESP_LEN + 64];
  assert_true(len <= sizeof(tmp));
  memset(tmp, 0, sizeof(tmp));
  if (len >= HDR_LEN) {
    put_hdr(tmp, type, flags, fence);
  } else {
    memset(tmp, 0x11, len); /* a type would be 0x11111111 */
  }
  return exact(tmp, len);
}

static rl_status check(size_t len, uint32_t type, uint32_t flags,
                       uint64_t fence, uint32_t expected, size_t expected_len,
                       uint64_t want_fence, uint32_t *got_type) {
  uint8_t *r = resp_new(len, type, flags, fence);
  *got_type = 0xdeadu;
  rl_status st = gpu_check_response(r, (uint32_t)len, expected, expected_len,
                                    want_fence, got_type);
  free(r);
  return st;
}

static void test_check_ok(void **state) {
  (void)state;
  uint32_t t;
  assert_int_equal(check(24, T_OK_NODATA, 0, 0, T_OK_NODATA, 24, 0, &t), RL_OK);
  assert_int_equal(t, T_OK_NODATA);
  /* The used length may exceed what the type needs. */
  assert_int_equal(check(4096 / 4, T_OK_NODATA, 0, 0, T_OK_NODATA, 24, 0, &t),
                   RL_OK);
  assert_int_equal(check(DISPLAY_INFO_LEN, T_OK_DISPLAY_INFO, 0, 0,
                         T_OK_DISPLAY_INFO, DISPLAY_INFO_LEN, 0, &t),
                   RL_OK);
  assert_int_equal(t, T_OK_DISPLAY_INFO);
  /* A fence echoed when none was asked for is harmless. */
  assert_int_equal(check(24, T_OK_NODATA, 1, 77, T_OK_NODATA, 24, 0, &t),
                   RL_OK);
}

static void test_check_error_types(void **state) {
  (void)state;
  uint32_t t;
  for (uint32_t e = T_ERR_UNSPEC; e <= T_ERR_INVALID_PARAMETER; e++) {
    /* An error is only a header, whatever the command expected. */
    assert_int_equal(check(24, e, 0, 0, T_OK_NODATA, 24, 0, &t), RL_ERR_IO);
    assert_int_equal(t, e);
    assert_int_equal(
        check(24, e, 0, 0, T_OK_DISPLAY_INFO, DISPLAY_INFO_LEN, 0, &t),
        RL_ERR_IO);
    assert_int_equal(t, e);
    assert_int_equal(check(24, e, 0, 0, T_OK_EDID, EDID_DATA_OFF, 0, &t),
                     RL_ERR_IO);
    /* Even when a fence was expected. */
    assert_int_equal(check(24, e, 0, 0, T_OK_NODATA, 24, 5, &t), RL_ERR_IO);
    assert_int_equal(t, e);
  }
}

static void test_check_wrong_type(void **state) {
  (void)state;
  uint32_t t;
  assert_int_equal(check(DISPLAY_INFO_LEN, T_OK_NODATA, 0, 0, T_OK_DISPLAY_INFO,
                         DISPLAY_INFO_LEN, 0, &t),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(t, T_OK_NODATA);
  assert_int_equal(check(EDID_RESP_LEN, T_OK_DISPLAY_INFO, 0, 0, T_OK_EDID,
                         EDID_DATA_OFF, 0, &t),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(t, T_OK_DISPLAY_INFO);
  /* A command type echoed back, or zero. */
  assert_int_equal(check(24, T_FLUSH, 0, 0, T_OK_NODATA, 24, 0, &t),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(check(24, 0, 0, 0, T_OK_NODATA, 24, 0, &t),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(t, 0);
}

static void test_check_short(void **state) {
  (void)state;
  uint32_t t;
  /* Shorter than a header: the type is not even read (0 reported). */
  assert_int_equal(check(0, 0, 0, 0, T_OK_NODATA, 24, 0, &t),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(t, 0);
  assert_int_equal(check(1, 0, 0, 0, T_OK_NODATA, 24, 0, &t),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(check(23, 0, 0, 0, T_OK_NODATA, 24, 0, &t),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(t, 0);
  /* A header with a NULL pointer and length 0 is never touched. */
  t = 1;
  assert_int_equal(gpu_check_response(NULL, 0, T_OK_NODATA, 24, 0, &t),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(t, 0);
  /* Right type, one byte short of the type's size. */
  assert_int_equal(check(DISPLAY_INFO_LEN - 1, T_OK_DISPLAY_INFO, 0, 0,
                         T_OK_DISPLAY_INFO, DISPLAY_INFO_LEN, 0, &t),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(t, T_OK_DISPLAY_INFO);
  assert_int_equal(check(24, T_OK_DISPLAY_INFO, 0, 0, T_OK_DISPLAY_INFO,
                         DISPLAY_INFO_LEN, 0, &t),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(check(EDID_DATA_OFF - 1, T_OK_EDID, 0, 0, T_OK_EDID,
                         EDID_DATA_OFF, 0, &t),
                   RL_ERR_BAD_FORMAT);
}

static void test_check_fence(void **state) {
  (void)state;
  uint32_t t;
  const uint64_t f = 0x100000001ull; /* differs from 1 only above bit 31 */
  assert_int_equal(check(24, T_OK_NODATA, 1, f, T_OK_NODATA, 24, f, &t), RL_OK);
  /* Flag missing, id right. */
  assert_int_equal(check(24, T_OK_NODATA, 0, f, T_OK_NODATA, 24, f, &t),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(t, T_OK_NODATA);
  /* Flag set, id wrong (low and high halves). */
  assert_int_equal(check(24, T_OK_NODATA, 1, 1, T_OK_NODATA, 24, f, &t),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(check(24, T_OK_NODATA, 1, f + 1, T_OK_NODATA, 24, f, &t),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(check(24, T_OK_NODATA, 1, 0, T_OK_NODATA, 24, f, &t),
                   RL_ERR_BAD_FORMAT);
  /* Other flag bits do not stand in for FENCE, nor disturb it. */
  assert_int_equal(check(24, T_OK_NODATA, 2, f, T_OK_NODATA, 24, f, &t),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(check(24, T_OK_NODATA, 3, f, T_OK_NODATA, 24, f, &t), RL_OK);
}

/* ---- gpu_parse_display_info --------------------------------------------- */

/* pmodes[i] at 24 + 24 i: r.x, r.y, r.width, r.height, enabled, flags. */
static void di_set(uint8_t *b, unsigned i, uint32_t x, uint32_t y, uint32_t w,
                   uint32_t h, uint32_t enabled, uint32_t flags) {
  size_t o = HDR_LEN + 24 * (size_t)i;
  wr32(b, o, x);
  wr32(b, o + 4, y);
  wr32(b, o + 8, w);
  wr32(b, o + 12, h);
  wr32(b, o + 16, enabled);
  wr32(b, o + 20, flags);
}

/* What QEMU 7.2 answers for `-device virtio-gpu-device,xres=1280,
 * yres=800`: scanout 0 enabled at (0, 0), the rest all zero. */
static void di_qemu(uint8_t b[DISPLAY_INFO_LEN]) {
  memset(b, 0, DISPLAY_INFO_LEN);
  put_hdr(b, T_OK_DISPLAY_INFO, 0, 0);
  di_set(b, 0, 0, 0, 1280, 800, 1, 0);
}

static rl_status parse_di(const uint8_t *b, size_t len, uint32_t num,
                          struct gpu_mode modes[VIRTIO_GPU_MAX_SCANOUTS],
                          unsigned *enabled) {
  uint8_t *r = exact(b, len);
  memset(modes, 0x5a, sizeof(struct gpu_mode) * VIRTIO_GPU_MAX_SCANOUTS);
  *enabled = 0xbad;
  rl_status st = gpu_parse_display_info(r, (uint32_t)len, num, modes, enabled);
  free(r);
  return st;
}

static void assert_mode(const struct gpu_mode *m, bool en, uint32_t x,
                        uint32_t y, uint32_t w, uint32_t h) {
  assert_int_equal(m->enabled, en);
  assert_int_equal(m->x, x);
  assert_int_equal(m->y, y);
  assert_int_equal(m->width, w);
  assert_int_equal(m->height, h);
}

static void test_display_info_qemu(void **state) {
  (void)state;
  uint8_t b[DISPLAY_INFO_LEN];
  struct gpu_mode m[VIRTIO_GPU_MAX_SCANOUTS];
  unsigned en;
  di_qemu(b);
  for (uint32_t num = 1; num <= 16; num++) {
    assert_int_equal(parse_di(b, sizeof(b), num, m, &en), RL_OK);
    assert_int_equal(en, 1);
    assert_mode(&m[0], true, 0, 0, 1280, 800);
    for (unsigned i = 1; i < VIRTIO_GPU_MAX_SCANOUTS; i++) {
      assert_mode(&m[i], false, 0, 0, 0, 0); /* all 16 are cleared */
    }
  }
  /* A used length past the struct (the whole response page) is fine. */
  uint8_t big[4096];
  memset(big, 0xee, sizeof(big));
  memcpy(big, b, sizeof(b));
  assert_int_equal(parse_di(big, sizeof(big), 1, m, &en), RL_OK);
  assert_int_equal(en, 1);
}

static void test_display_info_two(void **state) {
  (void)state;
  uint8_t b[DISPLAY_INFO_LEN];
  struct gpu_mode m[VIRTIO_GPU_MAX_SCANOUTS];
  unsigned en;
  di_qemu(b);
  di_set(b, 1, 1280, 0, 1024, 768, 1, 0);
  assert_int_equal(parse_di(b, sizeof(b), 2, m, &en), RL_OK);
  assert_int_equal(en, 2);
  assert_mode(&m[0], true, 0, 0, 1280, 800);
  assert_mode(&m[1], true, 1280, 0, 1024, 768);
  assert_mode(&m[2], false, 0, 0, 0, 0);
  /* Entries past num_scanouts are not looked at. */
  assert_int_equal(parse_di(b, sizeof(b), 1, m, &en), RL_OK);
  assert_int_equal(en, 1);
  assert_mode(&m[1], false, 0, 0, 0, 0);
  /* A gap: scanouts 0 and 3 on, 1 and 2 off. */
  di_set(b, 1, 0, 0, 0, 0, 0, 0);
  di_set(b, 3, 0, 800, 640, 480, 1, 0);
  assert_int_equal(parse_di(b, sizeof(b), 4, m, &en), RL_OK);
  assert_int_equal(en, 2);
  assert_mode(&m[3], true, 0, 800, 640, 480);
  /* All sixteen at the largest size. */
  for (unsigned i = 0; i < 16; i++) {
    di_set(b, i, GPU_MAX_DIM, GPU_MAX_DIM, GPU_MAX_DIM, GPU_MAX_DIM, 1, 0);
  }
  assert_int_equal(parse_di(b, sizeof(b), 16, m, &en), RL_OK);
  assert_int_equal(en, 16);
  assert_mode(&m[15], true, 16384, 16384, 16384, 16384);
}

static void test_display_info_num_scanouts(void **state) {
  (void)state;
  uint8_t b[DISPLAY_INFO_LEN];
  struct gpu_mode m[VIRTIO_GPU_MAX_SCANOUTS];
  unsigned en;
  di_qemu(b);
  assert_int_equal(parse_di(b, sizeof(b), 0, m, &en), RL_ERR_BAD_FORMAT);
  assert_int_equal(parse_di(b, sizeof(b), 17, m, &en), RL_ERR_BAD_FORMAT);
  assert_int_equal(parse_di(b, sizeof(b), 0xffffffffu, m, &en),
                   RL_ERR_BAD_FORMAT);
}

static void test_display_info_bad_sizes(void **state) {
  (void)state;
  static const uint32_t bad[][4] = {
      {0, 0, 0, 800},        {0, 0, 1280, 0},
      {0, 0, 0, 0},          {0, 0, GPU_MAX_DIM + 1, 800},
      {0, 0, 1280, 16385},   {0, 0, 0xffffffffu, 0xffffffffu},
      {16385, 0, 1280, 800}, {0, 0xffffffffu, 1280, 800},
  };
  uint8_t b[DISPLAY_INFO_LEN];
  struct gpu_mode m[VIRTIO_GPU_MAX_SCANOUTS];
  unsigned en;
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    /* Bad in scanout 0, and in scanout 2 after a good one. */
    di_qemu(b);
    di_set(b, 0, bad[k][0], bad[k][1], bad[k][2], bad[k][3], 1, 0);
    assert_int_equal(parse_di(b, sizeof(b), 1, m, &en), RL_ERR_BAD_FORMAT);
    di_qemu(b);
    di_set(b, 2, bad[k][0], bad[k][1], bad[k][2], bad[k][3], 1, 0);
    assert_int_equal(parse_di(b, sizeof(b), 3, m, &en), RL_ERR_BAD_FORMAT);
    /* ... but only when it is within num_scanouts ... */
    assert_int_equal(parse_di(b, sizeof(b), 2, m, &en), RL_OK);
    assert_int_equal(en, 1);
    /* ... and enabled: disabled entries may hold anything. */
    di_set(b, 2, bad[k][0], bad[k][1], bad[k][2], bad[k][3], 0, 0xffffffffu);
    assert_int_equal(parse_di(b, sizeof(b), 16, m, &en), RL_OK);
    assert_int_equal(en, 1);
    assert_mode(&m[2], false, 0, 0, 0, 0);
  }
}

static void test_display_info_garbage_disabled(void **state) {
  (void)state;
  uint8_t b[DISPLAY_INFO_LEN];
  struct gpu_mode m[VIRTIO_GPU_MAX_SCANOUTS];
  unsigned en;
  di_qemu(b);
  for (unsigned i = 1; i < 16; i++) {
    di_set(b, i, 0xffffffffu - i, 0x80000000u, 0xffffffffu, 0, 0, 0xa5a5a5a5u);
  }
  assert_int_equal(parse_di(b, sizeof(b), 16, m, &en), RL_OK);
  assert_int_equal(en, 1);
  for (unsigned i = 1; i < 16; i++) {
    assert_mode(&m[i], false, 0, 0, 0, 0);
  }
  /* Any non-zero `enabled` counts as enabled. */
  di_set(b, 5, 0, 0, 800, 600, 0x80000000u, 0);
  assert_int_equal(parse_di(b, sizeof(b), 16, m, &en), RL_OK);
  assert_int_equal(en, 2);
  assert_mode(&m[5], true, 0, 0, 800, 600);
}

static void test_display_info_short_or_wrong(void **state) {
  (void)state;
  uint8_t b[DISPLAY_INFO_LEN];
  struct gpu_mode m[VIRTIO_GPU_MAX_SCANOUTS];
  unsigned en;
  di_qemu(b);
  static const size_t lens[] = {
      0, 23, 24, 48, DISPLAY_INFO_LEN - 24, DISPLAY_INFO_LEN - 1};
  for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
    assert_int_equal(parse_di(b, lens[k], 1, m, &en), RL_ERR_BAD_FORMAT);
  }
  wr32(b, 0, T_OK_NODATA);
  assert_int_equal(parse_di(b, sizeof(b), 1, m, &en), RL_ERR_BAD_FORMAT);
  wr32(b, 0, T_OK_EDID);
  assert_int_equal(parse_di(b, sizeof(b), 1, m, &en), RL_ERR_BAD_FORMAT);
  wr32(b, 0, T_ERR_UNSPEC);
  assert_int_equal(parse_di(b, 24, 1, m, &en), RL_ERR_IO);
}

/* ---- gpu_parse_edid ----------------------------------------------------- */

/* A detailed timing descriptor (EDID 1.4 §3.10.2): pixel clock in 10 kHz
 * units le16; active and blanking as 8 low bits each, with the 4 high bits
 * of active in the upper nibble and of blanking in the lower nibble of
 * bytes 4 (horizontal) and 7 (vertical). */
static void edid_timing(uint8_t *d, uint16_t clock, uint32_t ha, uint32_t hb,
                        uint32_t va, uint32_t vb) {
  memset(d, 0, 18);
  d[0] = (uint8_t)clock;
  d[1] = (uint8_t)(clock >> 8);
  d[2] = (uint8_t)ha;
  d[3] = (uint8_t)hb;
  d[4] = (uint8_t)((ha >> 8) << 4 | (hb >> 8));
  d[5] = (uint8_t)va;
  d[6] = (uint8_t)vb;
  d[7] = (uint8_t)((va >> 8) << 4 | (vb >> 8));
  d[8] = 24;    /* h sync offset */
  d[9] = 136;   /* h sync width */
  d[10] = 0x36; /* v sync offset 3, width 6 */
  d[12] = 0x2e; /* 302 x 227 mm */
  d[13] = 0xe3;
  d[14] = 0x10;
  d[17] = 0x18; /* digital separate sync */
}

/* A display descriptor (§3.10.3): 0, 0, 0, tag, 0, 13 bytes of data. */
static void edid_display(uint8_t *d, uint8_t tag) {
  memset(d, 0, 18);
  d[3] = tag;
}

/* Monitor name (tag 0xfc): text, then 0x0a and 0x20 padding if shorter
 * than 13 bytes. */
static void edid_name(uint8_t *d, const char *text, size_t n) {
  edid_display(d, 0xfc);
  memcpy(d + 5, text, n);
  if (n < 13) {
    d[5 + n] = 0x0a;
    memset(d + 6 + n, 0x20, 13 - n - 1);
  }
}

static void edid_checksum(uint8_t *e) {
  uint8_t sum = 0;
  for (unsigned i = 0; i < 127; i++) {
    sum = (uint8_t)(sum + e[i]);
  }
  e[127] = (uint8_t)(0x100 - sum);
}

/* An EDID 1.4 base block like QEMU's: "RHT", 1024x768 preferred, range
 * limits, "QEMU Monitor". */
static void edid_make(uint8_t e[128]) {
  memset(e, 0, 128);
  static const uint8_t header[8] = {0x00, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0x00};
  memcpy(e, header, 8);
  /* §3.4.1: "RHT" as 5-bit letters (A = 1), big-endian:
   * R = 18, H = 8, T = 20 -> 0 10010 01000 10100 = 0x4914. */
  e[8] = 0x49;
  e[9] = 0x14;
  e[10] = 0x34; /* product 0x1234 */
  e[11] = 0x12;
  e[16] = 42;   /* week */
  e[17] = 24;   /* 1990 + 24 = 2014 */
  e[18] = 1;    /* version 1 */
  e[19] = 4;    /* revision 4 */
  e[20] = 0xa5; /* digital, 8 bits per colour, DisplayPort */
  e[21] = 32;   /* 32 x 20 cm */
  e[22] = 20;
  e[23] = 0x78; /* gamma 2.2 */
  e[24] = 0x06; /* RGB 4:4:4, preferred timing is native */
  e[35] = 0x21; /* established timings */
  e[36] = 0x08;
  for (unsigned i = 38; i < 54; i++) {
    e[i] = 0x01; /* standard timings unused */
  }
  /* 1024x768 at 60 Hz (VESA DMT): 65 MHz, blanking 320 / 38. */
  edid_timing(e + 54, 6500, 1024, 320, 768, 38);
  uint8_t *r = e + 72; /* range limits */
  edid_display(r, 0xfd);
  r[5] = 50;
  r[6] = 75;
  r[7] = 30;
  r[8] = 80;
  r[9] = 11;
  r[10] = 0x01;
  r[11] = 0x0a;
  memset(r + 12, 0x20, 6);
  edid_name(e + 90, "QEMU Monitor", 12);
  edid_display(e + 108, 0x10); /* dummy */
  edid_checksum(e);
}

/* A GET_EDID response of `len` bytes (exact heap buffer): OK_EDID, size
 * field `size`, then as much of `e` (128 bytes, zeros after) as fits. */
static uint8_t *edid_resp(const uint8_t e[128], uint32_t size, size_t len) {
  uint8_t tmp[EDID_RESP_LEN + 64];
  assert_true(len <= sizeof(tmp));
  memset(tmp, 0, sizeof(tmp));
  put_hdr(tmp, T_OK_EDID, 0, 0);
  wr32(tmp, 24, size);
  memcpy(tmp + EDID_DATA_OFF, e, 128);
  return exact(tmp, len);
}

static rl_status parse_edid(const uint8_t e[128], uint32_t size, size_t len,
                            struct gpu_edid_info *out) {
  uint8_t *r = edid_resp(e, size, len);
  memset(out, 0x5a, sizeof(*out));
  rl_status st = gpu_parse_edid(r, (uint32_t)len, out);
  free(r);
  return st;
}

static rl_status parse_edid_block(const uint8_t e[128],
                                  struct gpu_edid_info *out) {
  return parse_edid(e, 128, EDID_DATA_OFF + 128, out);
}

static void test_edid_handmade(void **state) {
  (void)state;
  uint8_t e[128];
  struct gpu_edid_info info;
  edid_make(e);
  /* The encodings, as bytes. */
  assert_int_equal(e[54], 0x64); /* 6500 = 0x1964 */
  assert_int_equal(e[55], 0x19);
  assert_int_equal(e[56], 0x00); /* 1024 = 0x400 */
  assert_int_equal(e[58], 0x41); /* 0x4 << 4 | 320 >> 8 */
  assert_int_equal(e[59], 0x00); /* 768 = 0x300 */
  assert_int_equal(e[61], 0x30);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_int_equal(info.pref_width, 1024);
  assert_int_equal(info.pref_height, 768);
  assert_string_equal(info.vendor, "RHT");
  assert_string_equal(info.name, "QEMU Monitor");
  /* The full response the device would send: size 1024, len 1056. */
  assert_int_equal(parse_edid(e, 1024, EDID_RESP_LEN, &info), RL_OK);
  assert_int_equal(info.pref_width, 1024);
  /* Two blocks. */
  assert_int_equal(parse_edid(e, 256, EDID_DATA_OFF + 256, &info), RL_OK);
}

static void test_edid_twelve_bit_sizes(void **state) {
  (void)state;
  uint8_t e[128];
  struct gpu_edid_info info;
  edid_make(e);
  /* All twelve bits, with the blanking nibbles set to be masked off. */
  edid_timing(e + 54, 0xffff, 0xabc, 0x1f0, 0x567, 0x2ff);
  assert_int_equal(e[58], 0xa1);
  assert_int_equal(e[61], 0x52);
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_int_equal(info.pref_width, 0xabc);
  assert_int_equal(info.pref_height, 0x567);
  edid_timing(e + 54, 1, 0xfff, 0xfff, 0xfff, 0xfff);
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_int_equal(info.pref_width, 4095);
  assert_int_equal(info.pref_height, 4095);
}

static void test_edid_first_timing_preferred(void **state) {
  (void)state;
  uint8_t e[128];
  struct gpu_edid_info info;
  edid_make(e);
  /* A second timing after the first; and the first timing in another
   * descriptor slot than 54. */
  edid_timing(e + 108, 14850, 1920, 280, 1080, 45);
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_int_equal(info.pref_width, 1024);
  assert_int_equal(info.pref_height, 768);
  edid_display(e + 54, 0x10);
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_int_equal(info.pref_width, 1920);
  assert_int_equal(info.pref_height, 1080);
  /* Pixel clock with only its high byte set still marks a timing. */
  edid_make(e);
  edid_display(e + 54, 0x10);
  edid_timing(e + 72, 0x0100, 800, 256, 600, 28);
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_int_equal(info.pref_width, 800);
  assert_int_equal(info.pref_height, 600);
}

static void test_edid_vendor(void **state) {
  (void)state;
  uint8_t e[128];
  struct gpu_edid_info info;
  edid_make(e);
  /* "DEL": D = 4, E = 5, L = 12 -> 0 00100 00101 01100 = 0x10ac. */
  e[8] = 0x10;
  e[9] = 0xac;
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_string_equal(info.vendor, "DEL");
  /* Letter codes 0 and 27..31 are not letters. */
  e[8] = 0x00; /* 0, 0, 31 */
  e[9] = 0x1f;
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_string_equal(info.vendor, "???");
  e[8] = 0x6f; /* 0 11011 11010 11111: 27, 26 (Z), 31 */
  e[9] = 0x5f;
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_string_equal(info.vendor, "?Z?");
}

static void test_edid_names(void **state) {
  (void)state;
  uint8_t e[128];
  struct gpu_edid_info info;
  /* Thirteen characters, no terminator. */
  edid_make(e);
  edid_name(e + 90, "ABCDEFGHIJKLM", 13);
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_string_equal(info.name, "ABCDEFGHIJKLM");
  assert_int_equal(info.name[13], '\0');
  /* Non-printable bytes replaced. */
  edid_make(e);
  edid_name(e + 90,
            "Q\x01"
            "EMU\x7f\xff\x1f~ ",
            10);
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_string_equal(info.name, "Q?EMU???~ ");
  /* Empty name. */
  edid_make(e);
  edid_name(e + 90, "", 0);
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_string_equal(info.name, "");
  /* No name descriptor at all. */
  edid_make(e);
  edid_display(e + 90, 0x10);
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_string_equal(info.name, "");
  assert_int_equal(info.pref_width, 1024);
  /* Other display descriptors' text (serial 0xff, string 0xfe) is not
   * taken for the name. */
  edid_make(e);
  edid_name(e + 72, "SERIAL123", 9);
  e[72 + 3] = 0xff;
  edid_name(e + 108, "ASCII", 5);
  e[108 + 3] = 0xfe;
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_string_equal(info.name, "QEMU Monitor");
  /* The name descriptor before the timing. */
  edid_make(e);
  edid_name(e + 54, "First", 5);
  edid_timing(e + 90, 6500, 1024, 320, 768, 38);
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_string_equal(info.name, "First");
  assert_int_equal(info.pref_height, 768);
}

static void test_edid_bad_header(void **state) {
  (void)state;
  uint8_t e[128];
  struct gpu_edid_info info;
  for (unsigned i = 0; i < 8; i++) {
    edid_make(e);
    e[i] ^= 0x01;
    edid_checksum(e); /* only the header is wrong */
    assert_int_equal(parse_edid_block(e, &info), RL_ERR_BAD_FORMAT);
  }
  /* An all-zero block sums to 0 but has no header. */
  memset(e, 0, sizeof(e));
  assert_int_equal(parse_edid_block(e, &info), RL_ERR_BAD_FORMAT);
}

static void test_edid_bad_checksum(void **state) {
  (void)state;
  uint8_t e[128];
  struct gpu_edid_info info;
  edid_make(e);
  e[127]++;
  assert_int_equal(parse_edid_block(e, &info), RL_ERR_BAD_FORMAT);
  edid_make(e);
  e[100] ^= 0x80; /* a byte of the range descriptor */
  assert_int_equal(parse_edid_block(e, &info), RL_ERR_BAD_FORMAT);
  /* Bytes past the base block are outside its checksum. */
  uint8_t *r = edid_resp(e, 128, EDID_RESP_LEN);
  edid_make(r + EDID_DATA_OFF);
  memset(r + EDID_DATA_OFF + 128, 0x77, 1024 - 128);
  assert_int_equal(gpu_parse_edid(r, EDID_RESP_LEN, &info), RL_OK);
  wr32(r, 24, 1024);
  assert_int_equal(gpu_parse_edid(r, EDID_RESP_LEN, &info), RL_OK);
  free(r);
}

static void test_edid_bad_sizes(void **state) {
  (void)state;
  uint8_t e[128];
  struct gpu_edid_info info;
  edid_make(e);
  static const uint32_t sizes[] = {0, 1, 127, 1025, 4096, 0xffffffffu};
  for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
    assert_int_equal(parse_edid(e, sizes[k], EDID_RESP_LEN, &info),
                     RL_ERR_BAD_FORMAT);
  }
  /* More than the device wrote. */
  assert_int_equal(parse_edid(e, 128, EDID_DATA_OFF + 127, &info),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(parse_edid(e, 256, EDID_DATA_OFF + 255, &info),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(parse_edid(e, 1024, EDID_RESP_LEN - 1, &info),
                   RL_ERR_BAD_FORMAT);
  /* Exactly what was written is fine. */
  assert_int_equal(parse_edid(e, 129, EDID_DATA_OFF + 129, &info), RL_OK);
  /* Too short for the fixed part. */
  assert_int_equal(parse_edid(e, 128, EDID_DATA_OFF - 1, &info),
                   RL_ERR_BAD_FORMAT);
  assert_int_equal(parse_edid(e, 128, HDR_LEN, &info), RL_ERR_BAD_FORMAT);
  assert_int_equal(parse_edid(e, 128, 0, &info), RL_ERR_BAD_FORMAT);
  /* The fixed part only (size 0): what gpu.c's check() accepts. */
  assert_int_equal(parse_edid(e, 0, EDID_DATA_OFF, &info), RL_ERR_BAD_FORMAT);
}

static void test_edid_bad_version(void **state) {
  (void)state;
  uint8_t e[128];
  struct gpu_edid_info info;
  static const uint8_t versions[] = {0, 2, 0xff};
  for (size_t k = 0; k < sizeof(versions); k++) {
    edid_make(e);
    e[18] = versions[k];
    edid_checksum(e);
    assert_int_equal(parse_edid_block(e, &info), RL_ERR_BAD_FORMAT);
  }
  /* Any 1.x revision is accepted. */
  edid_make(e);
  e[19] = 3;
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
}

/* No usable timing is no usable preferred mode, not an unusable EDID:
 * vendor and name still count, the preferred mode is 0 x 0. */
static void test_edid_no_timing(void **state) {
  (void)state;
  uint8_t e[128];
  struct gpu_edid_info info;
  edid_make(e);
  edid_display(e + 54, 0x10); /* pixel clock 0 in all four */
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_int_equal(info.pref_width, 0);
  assert_int_equal(info.pref_height, 0);
  assert_string_equal(info.name, "QEMU Monitor");
  assert_string_equal(info.vendor, "RHT");
  /* A timing with zero active width or height. */
  edid_make(e);
  edid_timing(e + 54, 6500, 0, 320, 768, 38);
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_int_equal(info.pref_width, 0);
  assert_int_equal(info.pref_height, 0);
  edid_make(e);
  edid_timing(e + 54, 6500, 1024, 320, 0, 38);
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_int_equal(info.pref_width, 0);
  assert_string_equal(info.name, "QEMU Monitor");
  /* An unusable first timing falls back to the next usable one. */
  edid_timing(e + 108, 14850, 1920, 280, 1080, 45);
  edid_checksum(e);
  assert_int_equal(parse_edid_block(e, &info), RL_OK);
  assert_int_equal(info.pref_width, 1920);
  assert_int_equal(info.pref_height, 1080);
}

/* ---- EDID extensions: modes beyond the 12-bit fields -------------------- */

struct did_timing {
  uint32_t w, h;
  bool preferred;
};

/* An EDID extension block holding one DisplayID section (tag 0x70;
 * DisplayID 1.3 §2.1 / 2.0 §2.1: version, payload bytes, product type,
 * extension count, data blocks, section checksum) with one timing data
 * block of `tag` (0x03: 1.3 Type I, 0x22: 2.0 Type VII): 20-byte
 * descriptors, pixel clock le24, options (bit 7 preferred), then active,
 * blank, front porch, sync width - 1 as le16, horizontal then vertical.
 * Both checksums right. */
static void edid_ext_displayid(uint8_t x[128], uint8_t version, uint8_t tag,
                               const struct did_timing *t, unsigned n) {
  memset(x, 0, 128);
  x[0] = 0x70;
  x[1] = version;
  x[2] = (uint8_t)(3 + 20 * n);
  x[3] = 0x03;
  x[4] = 0;
  uint8_t *b = x + 5;
  b[0] = tag;
  b[1] = 0;
  b[2] = (uint8_t)(20 * n);
  for (unsigned i = 0; i < n; i++) {
    uint8_t *d = b + 3 + 20 * i;
    uint32_t clock = 77241; /* 10 kHz units, as QEMU's 5120x1440 */
    d[0] = (uint8_t)clock;
    d[1] = (uint8_t)(clock >> 8);
    d[2] = (uint8_t)(clock >> 16);
    d[3] = (uint8_t)(t[i].preferred ? 0x80 : 0x00);
    uint32_t f[8] = {t[i].w - 1, 1791, 1279, 152, t[i].h - 1, 49, 6, 6};
    for (unsigned k = 0; k < 8; k++) {
      d[4 + 2 * k] = (uint8_t)f[k];
      d[5 + 2 * k] = (uint8_t)(f[k] >> 8);
    }
  }
  /* The section checksum: bytes 1 .. 5 + payload sum to 0. */
  unsigned end = 5u + x[2];
  uint8_t sum = 0;
  for (unsigned i = 1; i < end; i++) {
    sum = (uint8_t)(sum + x[i]);
  }
  x[end] = (uint8_t)(0x100 - sum);
  edid_checksum(x);
}

/* A CTA-861 extension (tag 0x02, revision 3) whose detailed timings start
 * at byte 4: `n` of them, w x h each. */
static void edid_ext_cta(uint8_t x[128], const struct did_timing *t,
                         unsigned n) {
  memset(x, 0, 128);
  x[0] = 0x02;
  x[1] = 0x03;
  x[2] = 4;
  for (unsigned i = 0; i < n; i++) {
    edid_timing(x + 4 + 18 * i, 14850, t[i].w, 280, t[i].h, 45);
  }
  edid_checksum(x);
}

/* The base block `e` followed by `nx` extension blocks, as one GET_EDID
 * response of the whole 1024 bytes (QEMU's size). */
static rl_status parse_edid_ext(uint8_t e[128], const uint8_t (*x)[128],
                                unsigned nx, struct gpu_edid_info *out) {
  e[126] = (uint8_t)nx;
  edid_checksum(e);
  uint8_t *r = edid_resp(e, 1024, EDID_RESP_LEN);
  for (unsigned i = 0; i < nx; i++) {
    memcpy(r + EDID_DATA_OFF + 128 * (i + 1), x[i], 128);
  }
  memset(out, 0x5a, sizeof(*out));
  rl_status st = gpu_parse_edid(r, EDID_RESP_LEN, out);
  free(r);
  return st;
}

/* A base block without a detailed timing (what QEMU 7.2 sends for a mode
 * wider or taller than 4095) and a DisplayID extension: the mode comes
 * from the extension's 16-bit fields, Type I (DisplayID 1.3) or Type VII
 * (2.0). */
static void test_edid_displayid_wide(void **state) {
  (void)state;
  uint8_t e[128], x[2][128];
  struct gpu_edid_info info;
  static const uint8_t tags[2][2] = {{0x13, 0x03}, {0x20, 0x22}};
  for (unsigned k = 0; k < 2; k++) {
    edid_make(e);
    edid_display(e + 54, 0x10);
    const struct did_timing wide[] = {{5120, 1440, true}};
    edid_ext_displayid(x[0], tags[k][0], tags[k][1], wide, 1);
    assert_int_equal(parse_edid_ext(e, x, 1, &info), RL_OK);
    assert_int_equal(info.pref_width, 5120);
    assert_int_equal(info.pref_height, 1440);
    assert_string_equal(info.name, "QEMU Monitor");
    /* Bigger than 12 bits in both directions; 16384 still usable. */
    const struct did_timing big[] = {{7680, 4320, true}};
    edid_ext_displayid(x[0], tags[k][0], tags[k][1], big, 1);
    assert_int_equal(parse_edid_ext(e, x, 1, &info), RL_OK);
    assert_int_equal(info.pref_width, 7680);
    assert_int_equal(info.pref_height, 4320);
    const struct did_timing max[] = {{16384, 4096, true}};
    edid_ext_displayid(x[0], tags[k][0], tags[k][1], max, 1);
    assert_int_equal(parse_edid_ext(e, x, 1, &info), RL_OK);
    assert_int_equal(info.pref_width, 16384);
    assert_int_equal(info.pref_height, 4096);
  }
  /* The timing flagged preferred, not the first one. */
  edid_make(e);
  edid_display(e + 54, 0x10);
  const struct did_timing two[] = {{3840, 2160, false}, {6016, 3384, true}};
  edid_ext_displayid(x[0], 0x13, 0x03, two, 2);
  assert_int_equal(parse_edid_ext(e, x, 1, &info), RL_OK);
  assert_int_equal(info.pref_width, 6016);
  assert_int_equal(info.pref_height, 3384);
  /* None flagged: the first. */
  const struct did_timing none[] = {{3840, 2160, false}, {6016, 3384, false}};
  edid_ext_displayid(x[0], 0x13, 0x03, none, 2);
  assert_int_equal(parse_edid_ext(e, x, 1, &info), RL_OK);
  assert_int_equal(info.pref_width, 3840);
  /* After a CTA-861 block, as QEMU orders them. */
  const struct did_timing cta[] = {{1920, 1080, false}};
  edid_ext_cta(x[0], cta, 1);
  edid_ext_displayid(x[1], 0x13, 0x03, two, 2);
  assert_int_equal(parse_edid_ext(e, x, 2, &info), RL_OK);
  assert_int_equal(info.pref_width, 6016);
  /* A usable base block timing stays the preferred one (EDID 1.4
   * §3.10.2). */
  edid_make(e);
  assert_int_equal(parse_edid_ext(e, x, 2, &info), RL_OK);
  assert_int_equal(info.pref_width, 1024);
  assert_int_equal(info.pref_height, 768);
}

/* Oversized or broken preferred modes are skipped, never the EDID: the
 * next usable mode, or none (0 x 0) with vendor and name kept. */
static void test_edid_unusable_preferred(void **state) {
  (void)state;
  uint8_t e[128], x[2][128];
  struct gpu_edid_info info;
  edid_make(e);
  edid_display(e + 54, 0x10);
  /* Preferred wider than GPU_MAX_DIM: the other, usable one. */
  const struct did_timing huge[] = {{20000, 1440, true}, {5120, 2160, false}};
  edid_ext_displayid(x[0], 0x13, 0x03, huge, 2);
  assert_int_equal(parse_edid_ext(e, x, 1, &info), RL_OK);
  assert_int_equal(info.pref_width, 5120);
  assert_int_equal(info.pref_height, 2160);
  /* Only unusable ones (65536 x 65536: both fields 0xffff): no mode, but
   * the EDID counts. */
  const struct did_timing only[] = {{65536, 65536, true}};
  edid_ext_displayid(x[0], 0x13, 0x03, only, 1);
  assert_int_equal(parse_edid_ext(e, x, 1, &info), RL_OK);
  assert_int_equal(info.pref_width, 0);
  assert_int_equal(info.pref_height, 0);
  assert_string_equal(info.name, "QEMU Monitor");
  /* ... then a CTA-861 timing is the fallback. */
  const struct did_timing cta[] = {{2560, 1080, false}};
  edid_ext_cta(x[1], cta, 1);
  assert_int_equal(parse_edid_ext(e, x, 2, &info), RL_OK);
  assert_int_equal(info.pref_width, 2560);
  assert_int_equal(info.pref_height, 1080);
  /* A DisplayID block with a wrong block checksum is skipped. */
  const struct did_timing wide[] = {{5120, 1440, true}};
  edid_ext_displayid(x[0], 0x13, 0x03, wide, 1);
  x[0][127]++;
  assert_int_equal(parse_edid_ext(e, x, 2, &info), RL_OK);
  assert_int_equal(info.pref_width, 2560);
  /* A section length past the block, or a data block longer than its
   * section: nothing read out of it. */
  edid_ext_displayid(x[0], 0x13, 0x03, wide, 1);
  x[0][2] = 123;
  edid_checksum(x[0]);
  assert_int_equal(parse_edid_ext(e, x, 1, &info), RL_OK);
  assert_int_equal(info.pref_width, 0);
  edid_ext_displayid(x[0], 0x13, 0x03, wide, 1);
  x[0][7] = 40;
  edid_checksum(x[0]);
  assert_int_equal(parse_edid_ext(e, x, 1, &info), RL_OK);
  assert_int_equal(info.pref_width, 0);
  /* Extension blocks beyond the size the device gave are not read. */
  edid_ext_displayid(x[0], 0x13, 0x03, wide, 1);
  e[126] = 1;
  edid_checksum(e);
  uint8_t *r = edid_resp(e, 128, EDID_RESP_LEN);
  memcpy(r + EDID_DATA_OFF + 128, x[0], 128);
  assert_int_equal(gpu_parse_edid(r, EDID_RESP_LEN, &info), RL_OK);
  assert_int_equal(info.pref_width, 0);
  wr32(r, 24, 256);
  assert_int_equal(gpu_parse_edid(r, EDID_RESP_LEN, &info), RL_OK);
  assert_int_equal(info.pref_width, 5120);
  free(r);
}

static void test_edid_wrong_type(void **state) {
  (void)state;
  uint8_t e[128];
  struct gpu_edid_info info;
  edid_make(e);
  uint8_t *r = edid_resp(e, 128, EDID_RESP_LEN);
  wr32(r, 0, T_OK_NODATA);
  assert_int_equal(gpu_parse_edid(r, EDID_RESP_LEN, &info), RL_ERR_BAD_FORMAT);
  wr32(r, 0, T_OK_DISPLAY_INFO);
  assert_int_equal(gpu_parse_edid(r, EDID_RESP_LEN, &info), RL_ERR_BAD_FORMAT);
  wr32(r, 0, T_ERR_INVALID_PARAMETER); /* e.g. scanout out of range */
  assert_int_equal(gpu_parse_edid(r, HDR_LEN, &info), RL_ERR_IO);
  free(r);
}

/* The response QEMU 7.2 sent for GET_EDID on scanout 0 of
 * `-device virtio-gpu-device,xres=1280,yres=800` (record_edid.py). */
static uint8_t *load_fixture(const char *name, size_t *len) {
  char path[512];
  (void)snprintf(path, sizeof(path), "%s/%s", FIXTURES_DIR, name);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fail_msg("cannot open %s", path);
  }
  uint8_t tmp[4096];
  size_t n = fread(tmp, 1, sizeof(tmp), f);
  assert_int_equal(ferror(f), 0);
  assert_true(feof(f));
  fclose(f);
  *len = n;
  return exact(tmp, n);
}

static void test_edid_recorded(void **state) {
  (void)state;
  size_t len;
  uint8_t *r = load_fixture("qemu_edid_1280x800.bin", &len);
  struct gpu_edid_info info;
  assert_int_equal(len, EDID_RESP_LEN);
  assert_int_equal(rd32(r, 0), T_OK_EDID);
  assert_int_equal(rd32(r, 24), 1024); /* QEMU reports the whole array */
  assert_int_equal(r[EDID_DATA_OFF + 126], 1); /* one extension block */
  memset(&info, 0x5a, sizeof(info));
  assert_int_equal(gpu_parse_edid(r, (uint32_t)len, &info), RL_OK);
  assert_int_equal(info.pref_width, 1280);
  assert_int_equal(info.pref_height, 800);
  assert_string_equal(info.vendor, "RHT");
  assert_string_equal(info.name, "QEMU Monitor");

  /* Truncated by one byte: the stated 1024 no longer fit. */
  uint8_t *t = exact(r, len - 1);
  assert_int_equal(gpu_parse_edid(t, (uint32_t)len - 1, &info),
                   RL_ERR_BAD_FORMAT);
  free(t);
  /* Only the base block, size restated as 128. */
  t = exact(r, EDID_DATA_OFF + 128);
  wr32(t, 24, 128);
  assert_int_equal(gpu_parse_edid(t, EDID_DATA_OFF + 128, &info), RL_OK);
  assert_int_equal(info.pref_width, 1280);
  /* ... and every single bit flip in it breaks the checksum. */
  for (unsigned bit = 0; bit < 128 * 8; bit++) {
    t[EDID_DATA_OFF + bit / 8] ^= (uint8_t)(1u << (bit % 8));
    assert_int_equal(gpu_parse_edid(t, EDID_DATA_OFF + 128, &info),
                     RL_ERR_BAD_FORMAT);
    t[EDID_DATA_OFF + bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  free(t);
  free(r);
}

/* QEMU 7.2's answer for `-device virtio-gpu-device,xres=5120,yres=1440`
 * (record_edid.py): no detailed timing in the base block, a CTA-861 block
 * without one, and a DisplayID 1.3 block with a Type I timing flagged
 * preferred. The 12-bit fields cannot hold 5120. */
static void test_edid_recorded_5120(void **state) {
  (void)state;
  size_t len;
  uint8_t *r = load_fixture("qemu_edid_5120x1440.bin", &len);
  struct gpu_edid_info info;
  assert_int_equal(len, EDID_RESP_LEN);
  const uint8_t *e = r + EDID_DATA_OFF;
  assert_int_equal(e[126], 2);
  assert_int_equal(e[128], 0x02);     /* CTA-861 */
  assert_int_equal(e[256], 0x70);     /* DisplayID */
  assert_int_equal(e[256 + 5], 0x03); /* Type I timing */
  for (unsigned off = 54; off <= 108; off += 18) {
    assert_true(e[off] == 0 && e[off + 1] == 0); /* no timing in the base */
  }
  memset(&info, 0x5a, sizeof(info));
  assert_int_equal(gpu_parse_edid(r, (uint32_t)len, &info), RL_OK);
  assert_int_equal(info.pref_width, 5120);
  assert_int_equal(info.pref_height, 1440);
  assert_string_equal(info.vendor, "RHT");
  assert_string_equal(info.name, "QEMU Monitor");
  /* Without the DisplayID block (size 256): no usable mode, EDID kept. */
  wr32(r, 24, 256);
  assert_int_equal(gpu_parse_edid(r, (uint32_t)len, &info), RL_OK);
  assert_int_equal(info.pref_width, 0);
  assert_int_equal(info.pref_height, 0);
  assert_string_equal(info.name, "QEMU Monitor");
  free(r);
}

/* ---- randomized robustness ---------------------------------------------- */

static uint64_t g_rng;

static uint64_t rnd(void) {
  /* xorshift64* */
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return g_rng * 0x2545f4914f6cdd1dull;
}

static uint32_t rnd_below(uint32_t n) { return (uint32_t)(rnd() % n); }

static void check_edid_info(const struct gpu_edid_info *info) {
  /* No usable mode (0 x 0), or one inside the driver's limits. */
  assert_true((info->pref_width == 0) == (info->pref_height == 0));
  assert_true(info->pref_width <= GPU_MAX_DIM &&
              info->pref_height <= GPU_MAX_DIM);
  assert_int_equal(info->vendor[3], '\0');
  for (int i = 0; i < 3; i++) {
    char c = info->vendor[i];
    assert_true((c >= 'A' && c <= 'Z') || c == '?');
  }
  size_t n = strnlen(info->name, sizeof(info->name));
  assert_true(n <= 13);
  for (size_t i = 0; i < n; i++) {
    assert_true(info->name[i] >= 0x20 && info->name[i] < 0x7f);
  }
}

static void test_random_responses(void **state) {
  (void)state;
  static const uint32_t types[] = {T_OK_NODATA,  T_OK_DISPLAY_INFO, T_OK_EDID,
                                   T_ERR_UNSPEC, T_FLUSH,           0};
  uint8_t tmp[1200];
  unsigned ok_di = 0, ok_edid = 0;
  g_rng = 0x9e3779b97f4a7c15ull;
  for (unsigned it = 0; it < 100000; it++) {
    uint32_t shape = rnd_below(4);
    size_t len;
    switch (shape) {
    case 1: /* near a display info */
      len = DISPLAY_INFO_LEN - 30 + rnd_below(60);
      break;
    case 2: /* near an EDID response */
      len = rnd_below(2) ? EDID_DATA_OFF + 100 + rnd_below(100)
                         : rnd_below(EDID_RESP_LEN + 20);
      break;
    default:
      len = rnd_below(rnd_below(2) ? 64 : sizeof(tmp));
      break;
    }
    for (size_t i = 0; i < len; i += 8) {
      uint64_t v = rnd();
      memcpy(tmp + i, &v, RL_MIN(8, len - i));
    }
    if (len >= 4 && shape != 0) {
      wr32(tmp, 0, types[rnd_below(sizeof(types) / sizeof(types[0]))]);
    }
    if (shape == 1 && len >= 4) {
      wr32(tmp, 0, T_OK_DISPLAY_INFO);
      /* Mostly plausible entries: some left random, some disabled with
       * garbage, most near the size limits. */
      for (unsigned i = 0; i < 16; i++) {
        size_t o = HDR_LEN + 24 * i;
        uint32_t k = rnd_below(16);
        if (o + 24 > len || k == 0) {
          continue;
        }
        if (k < 6) {
          wr32(tmp, o + 16, 0);
        } else {
          di_set(tmp, i, rnd_below(17000), rnd_below(17000), rnd_below(17000),
                 rnd_below(17000), rnd_below(2), 0);
        }
      }
    }
    if (shape == 2 && len >= EDID_DATA_OFF) {
      wr32(tmp, 0, T_OK_EDID);
      size_t room = len - EDID_DATA_OFF;
      uint32_t size = rnd_below(3) == 0 ? (uint32_t)rnd()
                      : rnd_below(2)    ? 128
                                        : (uint32_t)room + rnd_below(3) - 1;
      wr32(tmp, 24, size);
      if (room >= 128 && rnd_below(4) != 0) {
        uint8_t *e = tmp + EDID_DATA_OFF;
        static const uint8_t header[8] = {0,    0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0};
        memcpy(e, header, 8);
        if (rnd_below(8) != 0) {
          e[18] = 1;
        }
        /* Random descriptor kinds, with random contents. */
        for (unsigned off = 54; off <= 108; off += 18) {
          if (rnd_below(2)) {
            e[off] = e[off + 1] = e[off + 2] = 0;
            e[off + 3] = rnd_below(2) ? 0xfc : e[off + 3];
          }
        }
        if (rnd_below(8) != 0) {
          edid_checksum(e);
        }
      }
    }
    uint8_t *r = exact(tmp, len);
    uint32_t type;
    uint32_t expected = types[rnd_below(sizeof(types) / sizeof(types[0]))];
    uint64_t fence = rnd_below(3) == 0 ? rnd() : 0;
    rl_status st = gpu_check_response(r, (uint32_t)len, expected,
                                      rnd_below(1200), fence, &type);
    assert_true(st == RL_OK || st == RL_ERR_IO || st == RL_ERR_BAD_FORMAT);
    if (len < HDR_LEN) {
      assert_int_equal(st, RL_ERR_BAD_FORMAT);
      assert_int_equal(type, 0);
    }

    struct gpu_mode modes[VIRTIO_GPU_MAX_SCANOUTS];
    unsigned enabled = 0;
    uint32_t num = rnd_below(19);
    st = gpu_parse_display_info(r, (uint32_t)len, num, modes, &enabled);
    assert_true(st == RL_OK || st == RL_ERR_IO || st == RL_ERR_BAD_FORMAT);
    if (st == RL_OK) {
      ok_di++;
      unsigned count = 0;
      for (unsigned i = 0; i < VIRTIO_GPU_MAX_SCANOUTS; i++) {
        if (modes[i].enabled) {
          count++;
          assert_true(i < num);
          assert_true(modes[i].width >= 1 && modes[i].width <= GPU_MAX_DIM);
          assert_true(modes[i].height >= 1 && modes[i].height <= GPU_MAX_DIM);
        }
      }
      assert_int_equal(count, enabled);
    }

    struct gpu_edid_info info;
    st = gpu_parse_edid(r, (uint32_t)len, &info);
    assert_true(st == RL_OK || st == RL_ERR_IO || st == RL_ERR_BAD_FORMAT);
    if (st == RL_OK) {
      ok_edid++;
      check_edid_info(&info);
    }
    free(r);
  }
  /* The shaped inputs do reach the parsers' far ends. */
  assert_true(ok_di > 1000);
  assert_true(ok_edid > 1000);
}

/* ---- framebuffer surfaces ----------------------------------------------- */

#define FB_SENT 0xdeadbeefu

/* A w x h surface in chunks of `rpc` rows, rows of `stride_px` pixels
 * (>= w), each chunk its own exact heap block; every pixel, padding
 * included, starts as FB_SENT. */
static void surf_init(struct fb_surface *s, uint32_t w, uint32_t h,
                      uint32_t rpc, uint32_t stride_px) {
  memset(s, 0, sizeof(*s));
  s->width = w;
  s->height = h;
  s->stride = stride_px * 4;
  s->rows_per_chunk = rpc;
  s->nchunks = (h + rpc - 1) / rpc;
  assert_true(s->nchunks <= FB_MAX_CHUNKS);
  for (uint32_t i = 0; i < s->nchunks; i++) {
    uint32_t rows = RL_MIN(rpc, h - i * rpc);
    size_t bytes = (size_t)rows * s->stride;
    uint32_t *p = malloc(bytes);
    assert_non_null(p);
    for (size_t k = 0; k < bytes / 4; k++) {
      p[k] = FB_SENT;
    }
    s->chunk[i] = (uint8_t *)p;
  }
}

static void surf_free(struct fb_surface *s) {
  for (uint32_t i = 0; i < s->nchunks; i++) {
    free(s->chunk[i]);
  }
}

/* The pixel at (x, y), x < stride, addressed without fb_row. */
static uint32_t surf_px(const struct fb_surface *s, uint32_t x, uint32_t y) {
  const uint8_t *c = s->chunk[y / s->rows_per_chunk];
  uint32_t v;
  memcpy(&v, c + (size_t)(y % s->rows_per_chunk) * s->stride + 4 * (size_t)x,
         4);
  return v;
}

/* A flat model of the surface: stride_px * height pixels. */
struct model {
  uint32_t w, h, stride;
  uint32_t *px;
};

static void model_init(struct model *m, const struct fb_surface *s) {
  m->w = s->width;
  m->h = s->height;
  m->stride = s->stride / 4;
  m->px = malloc((size_t)m->stride * m->h * 4);
  assert_non_null(m->px);
  for (size_t i = 0; i < (size_t)m->stride * m->h; i++) {
    m->px[i] = FB_SENT;
  }
}

static void model_fill(struct model *m, uint32_t x, uint32_t y, uint32_t w,
                       uint32_t h, uint32_t v) {
  for (uint32_t j = y; j < y + h; j++) {
    for (uint32_t i = x; i < x + w; i++) {
      assert_true(i < m->w && j < m->h);
      m->px[(size_t)j * m->stride + i] = v;
    }
  }
}

static void model_check(const struct model *m, const struct fb_surface *s) {
  for (uint32_t y = 0; y < m->h; y++) {
    for (uint32_t x = 0; x < m->stride; x++) {
      uint32_t want = m->px[(size_t)y * m->stride + x];
      uint32_t got = surf_px(s, x, y);
      if (want != got) {
        fail_msg("pixel (%u, %u): %#x, expected %#x", x, y, got, want);
      }
    }
  }
}

static void assert_rect(struct fb_rect r, uint32_t x, uint32_t y, uint32_t w,
                        uint32_t h) {
  assert_int_equal(r.x, x);
  assert_int_equal(r.y, y);
  assert_int_equal(r.w, w);
  assert_int_equal(r.h, h);
}

static void test_fb_row(void **state) {
  (void)state;
  struct fb_surface s;
  surf_init(&s, 13, 10, 3, 16); /* chunks of 3, 3, 3, 1 rows */
  assert_int_equal(s.nchunks, 4);
  for (uint32_t y = 0; y < 10; y++) {
    uint8_t *want = s.chunk[y / 3] + (y % 3) * 64;
    assert_ptr_equal(fb_row(&s, y), want);
  }
  /* Rows 2 and 3 sit in different blocks. */
  assert_ptr_equal(fb_row(&s, 2), s.chunk[0] + 128);
  assert_ptr_equal(fb_row(&s, 3), s.chunk[1]);
  assert_ptr_equal(fb_row(&s, 9), s.chunk[3]);
  fb_row(&s, 9)[12] = 0x123456;
  assert_int_equal(surf_px(&s, 12, 9), 0x123456);
  surf_free(&s);
}

static void test_fb_clip(void **state) {
  (void)state;
  struct fb_surface s;
  memset(&s, 0, sizeof(s));
  s.width = 13;
  s.height = 10;
  struct fb_rect r = {2, 3, 4, 5};
  assert_true(fb_clip(&s, &r));
  assert_rect(r, 2, 3, 4, 5);
  r = (struct fb_rect){10, 8, 100, 100};
  assert_true(fb_clip(&s, &r));
  assert_rect(r, 10, 8, 3, 2);
  r = (struct fb_rect){12, 9, 0xffffffffu, 0xffffffffu};
  assert_true(fb_clip(&s, &r));
  assert_rect(r, 12, 9, 1, 1);
  r = (struct fb_rect){0, 0, 0xffffffffu, 1};
  assert_true(fb_clip(&s, &r));
  assert_rect(r, 0, 0, 13, 1);
  static const struct fb_rect gone[] = {
      {13, 0, 1, 1}, {0, 10, 1, 1},          {0, 0, 0, 5},
      {0, 0, 5, 0},  {0xffffffffu, 0, 5, 5}, {0, 0xffffffffu, 5, 5},
  };
  for (size_t k = 0; k < sizeof(gone) / sizeof(gone[0]); k++) {
    r = gone[k];
    assert_false(fb_clip(&s, &r));
  }
}

static void test_fb_fill(void **state) {
  (void)state;
  struct fb_surface s;
  struct model m;
  struct fb_rect d;
  /* Padding after each row catches writes past the width; the exact
   * chunk blocks catch writes past a chunk. */
  surf_init(&s, 13, 10, 3, 15);
  model_init(&m, &s);
  assert_false(fb_take_damage(&s, &d));
  /* Across the chunk boundary between rows 2 and 3. */
  fb_fill(&s, (struct fb_rect){2, 1, 4, 5}, 0x112233);
  model_fill(&m, 2, 1, 4, 5, 0x112233);
  model_check(&m, &s);
  assert_true(fb_take_damage(&s, &d));
  assert_rect(d, 2, 1, 4, 5);
  assert_false(fb_take_damage(&s, &d));
  /* Clipped at the right and bottom edges (the 1-row last chunk). */
  fb_fill(&s, (struct fb_rect){10, 8, 100, 100}, 0x445566);
  model_fill(&m, 10, 8, 3, 2, 0x445566);
  model_check(&m, &s);
  assert_true(fb_take_damage(&s, &d));
  assert_rect(d, 10, 8, 3, 2);
  /* Wholly outside or empty: nothing drawn, no damage. */
  fb_fill(&s, (struct fb_rect){13, 0, 5, 5}, 1);
  fb_fill(&s, (struct fb_rect){0, 10, 5, 5}, 1);
  fb_fill(&s, (struct fb_rect){0, 0, 0, 5}, 1);
  fb_fill(&s, (struct fb_rect){0, 0, 5, 0}, 1);
  fb_fill(&s, (struct fb_rect){0xffffffffu, 0xffffffffu, 2, 2}, 1);
  model_check(&m, &s);
  assert_false(fb_take_damage(&s, &d));
  /* Everything. */
  fb_fill(&s, (struct fb_rect){0, 0, 0xffffffffu, 0xffffffffu}, 0);
  model_fill(&m, 0, 0, 13, 10, 0);
  model_check(&m, &s);
  assert_true(fb_take_damage(&s, &d));
  assert_rect(d, 0, 0, 13, 10);
  free(m.px);
  surf_free(&s);
}

/* fb_fill's runs of paired stores: every start alignment (odd strides
 * put alternate rows on 4- and 8-byte boundaries), every length around
 * the unrolled block of 32, the odd pixel at either end. */
static void test_fb_fill_runs(void **state) {
  (void)state;
  struct fb_surface s;
  struct model m;
  struct fb_rect d;
  surf_init(&s, 80, 4, 2, 81);
  model_init(&m, &s);
  uint32_t v = 1;
  for (uint32_t y = 0; y < 4; y++) {
    for (uint32_t x = 0; x < 4; x++) {
      for (uint32_t w = 0; w <= 72 && x + w <= 80; w++, v++) {
        fb_fill(&s, (struct fb_rect){x, y, w, 1}, v);
        if (w > 0) {
          model_fill(&m, x, y, w, 1, v);
        }
        model_check(&m, &s);
        (void)fb_take_damage(&s, &d);
      }
    }
  }
  free(m.px);
  surf_free(&s);
}

static void test_fb_blit(void **state) {
  (void)state;
  struct fb_surface s;
  struct model m;
  struct fb_rect d;
  surf_init(&s, 13, 10, 4, 13); /* chunks of 4, 4, 2; no padding */
  model_init(&m, &s);
  uint32_t src[6 * 5];
  for (uint32_t i = 0; i < 30; i++) {
    src[i] = 0xa00000 + i;
  }
  /* A 4x3 block of a 6-wide source, across rows 3 | 4. */
  fb_blit(&s, 1, 2, src, 4, 3, 6);
  for (uint32_t j = 0; j < 3; j++) {
    for (uint32_t i = 0; i < 4; i++) {
      m.px[(2 + j) * 13 + 1 + i] = src[j * 6 + i];
    }
  }
  model_check(&m, &s);
  assert_true(fb_take_damage(&s, &d));
  assert_rect(d, 1, 2, 4, 3);
  /* Clipped at the bottom-right corner: 2x2 of it land. */
  fb_blit(&s, 11, 8, src, 4, 3, 6);
  for (uint32_t j = 0; j < 2; j++) {
    for (uint32_t i = 0; i < 2; i++) {
      m.px[(8 + j) * 13 + 11 + i] = src[j * 6 + i];
    }
  }
  model_check(&m, &s);
  assert_true(fb_take_damage(&s, &d));
  assert_rect(d, 11, 8, 2, 2);
  /* Outside: the source is not even read (NULL would crash). */
  fb_blit(&s, 13, 0, NULL, 4, 3, 6);
  fb_blit(&s, 0, 10, NULL, 4, 3, 6);
  fb_blit(&s, 0, 0, NULL, 0, 3, 6);
  model_check(&m, &s);
  assert_false(fb_take_damage(&s, &d));
  /* A source in an exact heap block, stride equal to its width. */
  uint32_t *tight = malloc(13 * 10 * 4);
  assert_non_null(tight);
  for (uint32_t i = 0; i < 130; i++) {
    tight[i] = i * 0x010101u;
  }
  fb_blit(&s, 0, 0, tight, 13, 10, 13);
  memcpy(m.px, tight, 13 * 10 * 4);
  model_check(&m, &s);
  free(tight);
  free(m.px);
  surf_free(&s);
}

static void test_fb_damage(void **state) {
  (void)state;
  struct fb_surface s;
  struct fb_rect d;
  memset(&s, 0, sizeof(s));
  s.width = 100;
  s.height = 50;
  assert_false(fb_take_damage(&s, &d));
  fb_damage(&s, (struct fb_rect){1, 1, 2, 2});
  fb_damage(&s, (struct fb_rect){5, 6, 1, 1});
  assert_true(fb_take_damage(&s, &d));
  assert_rect(d, 1, 1, 5, 6);
  assert_false(fb_take_damage(&s, &d));
  /* A rectangle inside the damage changes nothing. */
  fb_damage(&s, (struct fb_rect){10, 10, 20, 20});
  fb_damage(&s, (struct fb_rect){15, 15, 2, 2});
  assert_true(fb_take_damage(&s, &d));
  assert_rect(d, 10, 10, 20, 20);
  /* Above-left of the first. */
  fb_damage(&s, (struct fb_rect){50, 40, 10, 5});
  fb_damage(&s, (struct fb_rect){0, 0, 1, 1});
  assert_true(fb_take_damage(&s, &d));
  assert_rect(d, 0, 0, 60, 45);
  /* Clipped, and ignored when outside or empty. */
  fb_damage(&s, (struct fb_rect){100, 0, 5, 5});
  fb_damage(&s, (struct fb_rect){0, 0, 0, 0});
  assert_false(fb_take_damage(&s, &d));
  fb_damage(&s, (struct fb_rect){90, 45, 50, 50});
  assert_true(fb_take_damage(&s, &d));
  assert_rect(d, 90, 45, 10, 5);
  fb_damage(&s, (struct fb_rect){0xfffffff0u, 0, 0x20, 1});
  assert_false(fb_take_damage(&s, &d));
  fb_damage(&s, (struct fb_rect){99, 49, 0xffffffffu, 0xffffffffu});
  fb_damage(&s, (struct fb_rect){0, 0, 1, 1});
  assert_true(fb_take_damage(&s, &d));
  assert_rect(d, 0, 0, 100, 50);
}

/* Random fills and blits, clipped by hand, against the model. */
static void test_fb_random(void **state) {
  (void)state;
  struct fb_surface s;
  struct model m;
  uint32_t src[40 * 40];
  surf_init(&s, 29, 23, 5, 31);
  model_init(&m, &s);
  g_rng = 12345;
  for (uint32_t i = 0; i < RL_ARRAY_SIZE(src); i++) {
    src[i] = (uint32_t)rnd() & 0xffffff;
  }
  for (unsigned it = 0; it < 3000; it++) {
    uint32_t x = rnd_below(40), y = rnd_below(30);
    uint32_t w = rnd_below(40), h = rnd_below(40);
    if (rnd_below(16) == 0) {
      w = 0xffffffffu - rnd_below(4);
    }
    uint32_t cw = x < 29 ? RL_MIN(w, 29 - x) : 0;
    uint32_t ch = y < 23 ? RL_MIN(h, 23 - y) : 0;
    bool hit = cw != 0 && ch != 0;
    if (rnd_below(2)) {
      uint32_t v = (uint32_t)rnd() & 0xffffff;
      fb_fill(&s, (struct fb_rect){x, y, w, h}, v);
      if (hit) {
        model_fill(&m, x, y, cw, ch, v);
      }
    } else {
      uint32_t bw = RL_MIN(w, 40), bh = RL_MIN(h, 40);
      cw = RL_MIN(cw, bw);
      ch = RL_MIN(ch, bh);
      hit = cw != 0 && ch != 0;
      fb_blit(&s, x, y, src, bw, bh, 40);
      for (uint32_t j = 0; hit && j < ch; j++) {
        for (uint32_t i = 0; i < cw; i++) {
          m.px[(size_t)(y + j) * m.stride + x + i] = src[j * 40 + i];
        }
      }
    }
    struct fb_rect d;
    assert_int_equal(fb_take_damage(&s, &d), hit);
    if (hit) {
      assert_rect(d, x, y, cw, ch);
    }
    if (it % 100 == 0) {
      model_check(&m, &s);
    }
  }
  model_check(&m, &s);
  free(m.px);
  surf_free(&s);
}

/* ---- console ------------------------------------------------------------ */

/* The console's cell (col, row) in the model: glyph `ch` in fg on bg. */
static void model_glyph(struct model *m, const struct fb_console *c,
                        uint32_t col, uint32_t row, char ch, uint32_t fg) {
  uint8_t code = (uint8_t)ch;
  if (code < FONT_FIRST || code > FONT_LAST) {
    code = '?';
  }
  const uint8_t *g = font8x16[code - FONT_FIRST];
  uint32_t px = c->area.x + col * 8, py = c->area.y + row * 16;
  for (uint32_t y = 0; y < 16; y++) {
    for (uint32_t x = 0; x < 8; x++) {
      if (px + x < m->w && py + y < m->h) {
        m->px[(size_t)(py + y) * m->stride + px + x] =
            (g[y] >> (7 - x)) & 1 ? fg : c->bg;
      }
    }
  }
}

static void model_text(struct model *m, const struct fb_console *c,
                       uint32_t row, const char *text, uint32_t fg) {
  for (uint32_t col = 0; text[col] != '\0'; col++) {
    model_glyph(m, c, col, row, text[col], fg);
  }
}

/* The layout used below: a 100x120 surface in chunks of 7 rows (glyphs
 * straddle chunks), a console area at (4, 6) of 88x100: 11 columns and 6
 * rows of which 2 are the header, 4 pixel rows left over at the bottom. */
struct con_fixture {
  struct fb_surface s;
  struct model m;
  struct fb_console c;
};

static void con_setup(struct con_fixture *f) {
  surf_init(&f->s, 100, 120, 7, 103);
  model_init(&f->m, &f->s);
  fbcon_init(&f->c, &f->s, (struct fb_rect){4, 6, 88, 100}, 2);
  model_fill(&f->m, 4, 6, 88, 100, 0);
}

static void con_teardown(struct con_fixture *f) {
  free(f->m.px);
  surf_free(&f->s);
}

static void test_console_init(void **state) {
  (void)state;
  struct con_fixture f;
  con_setup(&f);
  assert_int_equal(f.c.cols, 11);
  assert_int_equal(f.c.rows, 6);
  assert_int_equal(f.c.header_rows, 2);
  assert_int_equal(f.c.cx, 0);
  assert_int_equal(f.c.cy, 2);
  assert_int_equal(f.c.fg, 0xc0c0c0);
  assert_int_equal(f.c.bg, 0x000000);
  assert_int_equal(f.c.header_fg, 0xffffff);
  model_check(&f.m, &f.s); /* the area cleared, nothing else */
  struct fb_rect d;
  assert_true(fb_take_damage(&f.s, &d));
  assert_rect(d, 4, 6, 88, 100);
  con_teardown(&f);

  /* An area past the surface's edges is clipped first. */
  struct fb_surface s;
  struct fb_console c;
  surf_init(&s, 100, 120, 7, 100);
  fbcon_init(&c, &s, (struct fb_rect){50, 90, 500, 500}, 5);
  assert_rect(c.area, 50, 90, 50, 30);
  assert_int_equal(c.cols, 6);
  assert_int_equal(c.rows, 1);
  assert_int_equal(c.header_rows, 1); /* at most the rows there are */
  /* No scrolling rows: writing does nothing. */
  fb_take_damage(&s, &(struct fb_rect){0});
  fbcon_write(&c, "abc\n", 4);
  assert_false(fb_take_damage(&s, &(struct fb_rect){0}));
  surf_free(&s);
}

/* The console draws from the packed font (font_glyph_row): every row of
 * every glyph is font8x16's, the blank rows it leaves out too. */
static void test_font_packed(void **state) {
  (void)state;
  for (unsigned i = 0; i <= FONT_LAST - FONT_FIRST; i++) {
    for (unsigned y = 0; y < FONT_H; y++) {
      assert_int_equal(font_glyph_row(i, y), font8x16[i][y]);
    }
  }
}

static void test_console_glyph_a(void **state) {
  (void)state;
  struct con_fixture f;
  con_setup(&f);
  struct fb_rect d;
  fb_take_damage(&f.s, &d);
  fbcon_write(&f.c, "A", 1);
  /* Exactly the bits of 'A' light up, at the first scrolling row. */
  const uint8_t *g = font8x16['A' - FONT_FIRST];
  unsigned lit = 0, bits = 0;
  for (uint32_t y = 0; y < 16; y++) {
    for (uint32_t x = 0; x < 8; x++) {
      uint32_t p = surf_px(&f.s, 4 + x, 6 + 32 + y);
      bool on = (g[y] & (0x80u >> x)) != 0;
      assert_int_equal(p, on ? 0xc0c0c0u : 0);
      bits += on;
    }
  }
  for (uint32_t y = 6; y < 106; y++) {
    for (uint32_t x = 4; x < 92; x++) {
      lit += surf_px(&f.s, x, y) != 0;
    }
  }
  assert_true(bits > 10);
  assert_int_equal(lit, bits);
  model_glyph(&f.m, &f.c, 0, 2, 'A', 0xc0c0c0);
  model_check(&f.m, &f.s);
  assert_int_equal(f.c.cx, 1);
  assert_int_equal(f.c.cy, 2);
  assert_true(fb_take_damage(&f.s, &d));
  assert_rect(d, 4, 38, 8, 16);
  con_teardown(&f);
}

static void test_console_newline_cr(void **state) {
  (void)state;
  struct con_fixture f;
  con_setup(&f);
  fbcon_write(&f.c, "AB\nx\r", 5);
  assert_int_equal(f.c.cx, 0);
  assert_int_equal(f.c.cy, 3);
  fbcon_write(&f.c, "y!", 2); /* over "x" */
  /* Outside the font: '?'. */
  fbcon_write(&f.c, "\n\x01\x80\x7f", 4);
  model_text(&f.m, &f.c, 2, "AB", 0xc0c0c0);
  model_text(&f.m, &f.c, 3, "y!", 0xc0c0c0);
  model_text(&f.m, &f.c, 4, "???", 0xc0c0c0);
  model_check(&f.m, &f.s);
  /* Only `len` bytes are used; NUL is drawn as '?'. */
  fbcon_write(&f.c, "zzzz", 1);
  fbcon_write(&f.c, "\0", 1);
  model_text(&f.m, &f.c, 4, "???z?", 0xc0c0c0);
  model_check(&f.m, &f.s);
  con_teardown(&f);
}

static void test_console_wrap(void **state) {
  (void)state;
  struct con_fixture f;
  con_setup(&f);
  /* Eleven columns: the twelfth character starts the next row. */
  fbcon_write(&f.c, "0123456789AB", 12);
  model_text(&f.m, &f.c, 2, "0123456789A", 0xc0c0c0);
  model_text(&f.m, &f.c, 3, "B", 0xc0c0c0);
  model_check(&f.m, &f.s);
  assert_int_equal(f.c.cy, 3);
  assert_int_equal(f.c.cx, 1);
  /* A full row then a newline moves down once, not twice. */
  fbcon_write(&f.c, "\rbcdefghijkl\nm", 14);
  model_text(&f.m, &f.c, 3, "bcdefghijkl", 0xc0c0c0);
  model_text(&f.m, &f.c, 4, "m", 0xc0c0c0);
  model_check(&f.m, &f.s);
  assert_int_equal(f.c.cy, 4);
  con_teardown(&f);
}

static void test_console_scroll(void **state) {
  (void)state;
  struct con_fixture f;
  con_setup(&f);
  fbcon_set_header(&f.c, 0, "HDR0");
  fbcon_set_header(&f.c, 1, "header one!!"); /* 12 > 11 columns */
  model_text(&f.m, &f.c, 0, "HDR0", 0xffffff);
  model_text(&f.m, &f.c, 1, "header one!", 0xffffff);
  model_check(&f.m, &f.s);
  struct fb_rect d;
  fb_take_damage(&f.s, &d);

  /* Four scrolling rows hold L0..L3; the newline after L3 scrolls. */
  const char *text = "L0\nL1 long\nL2\nL3\nL4";
  fbcon_write(&f.c, text, strlen(text));
  assert_int_equal(f.c.cy, 5);
  assert_int_equal(f.c.cx, 2);
  /* The scroll moved the whole scrolling part: damage covers it. */
  assert_true(fb_take_damage(&f.s, &d));
  assert_rect(d, 4, 38, 88, 64);
  /* Rebuild the model: header intact, then L1..L4. */
  model_fill(&f.m, 4, 38, 88, 64, 0);
  model_text(&f.m, &f.c, 2, "L1 long", 0xc0c0c0);
  model_text(&f.m, &f.c, 3, "L2", 0xc0c0c0);
  model_text(&f.m, &f.c, 4, "L3", 0xc0c0c0);
  model_text(&f.m, &f.c, 5, "L4", 0xc0c0c0);
  model_check(&f.m, &f.s);

  /* Many more lines, some wrapping; the header survives them all. */
  for (unsigned i = 0; i < 40; i++) {
    char line[32];
    int n = snprintf(line, sizeof(line), "\nline %u wraps here", i);
    fbcon_write(&f.c, line, (size_t)n);
  }
  /* The last line was "line 39 wraps here": "line 39 wra" + "ps here". */
  model_fill(&f.m, 4, 38, 88, 64, 0);
  model_text(&f.m, &f.c, 2, "line 38 wra", 0xc0c0c0);
  model_text(&f.m, &f.c, 3, "ps here", 0xc0c0c0);
  model_text(&f.m, &f.c, 4, "line 39 wra", 0xc0c0c0);
  model_text(&f.m, &f.c, 5, "ps here", 0xc0c0c0);
  model_check(&f.m, &f.s);
  con_teardown(&f);
}

/* One fbcon_write of many lines (a log replay: one move, only what stays
 * on screen drawn) leaves exactly the pixels, damage and cursor of the
 * same text written a character at a time (a scroll per line). */
static void test_console_write_batched(void **state) {
  (void)state;
  static const char *const texts[] = {
      "a\nb\nc\nd\ne\nf\ng\nh\ni",
      "0123456789abcdefghij\nshort\n0123456789abcdefghijklmnopqrstuvw\nx",
      "abc\rX\nover\rOV\n\n\n\n\n\n\nlast\r",
      "\n\n\n\n\n\n\n\n\n\n",
      "no newline at all, but wrapping over several rows of eleven",
      "two\nlines",
  };
  static const char *const before[] = {
      "", "pre", "prefix line\nand mid",
      "AAAAAAAAAAA\nBBBBBBBBBBB\nCCCCCCCCCCC\nDDDDDDDDDDD"};
  for (size_t b = 0; b < sizeof(before) / sizeof(before[0]); b++) {
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
      struct con_fixture one, each;
      con_setup(&one);
      con_setup(&each);
      fbcon_set_header(&one.c, 0, "HDR");
      fbcon_set_header(&each.c, 0, "HDR");
      fbcon_write(&one.c, before[b], strlen(before[b]));
      fbcon_write(&each.c, before[b], strlen(before[b]));
      struct fb_rect d1, d2;
      (void)fb_take_damage(&one.s, &d1);
      (void)fb_take_damage(&each.s, &d2);
      /* Repeated: the second time starts on a full screen. */
      for (int rep = 0; rep < 2; rep++) {
        fbcon_write(&one.c, texts[t], strlen(texts[t]));
        for (const char *p = texts[t]; *p != '\0'; p++) {
          fbcon_write(&each.c, p, 1);
        }
        assert_int_equal(one.c.cx, each.c.cx);
        assert_int_equal(one.c.cy, each.c.cy);
        bool g1 = fb_take_damage(&one.s, &d1);
        bool g2 = fb_take_damage(&each.s, &d2);
        assert_int_equal(g1, g2);
        if (g1) {
          assert_rect(d1, d2.x, d2.y, d2.w, d2.h);
        }
        for (uint32_t y = 0; y < one.s.height; y++) {
          for (uint32_t x = 0; x < one.s.stride / 4; x++) {
            if (surf_px(&one.s, x, y) != surf_px(&each.s, x, y)) {
              fail_msg("text %zu after %zu, pass %d: pixel (%u, %u) %#x, one "
                       "character at a time %#x",
                       t, b, rep, x, y, surf_px(&one.s, x, y),
                       surf_px(&each.s, x, y));
            }
          }
        }
      }
      con_teardown(&one);
      con_teardown(&each);
    }
  }
}

static void test_console_header(void **state) {
  (void)state;
  struct con_fixture f;
  con_setup(&f);
  struct fb_rect d;
  fb_take_damage(&f.s, &d);
  fbcon_set_header(&f.c, 1, "long header text");
  model_text(&f.m, &f.c, 1, "long header", 0xffffff);
  model_check(&f.m, &f.s);
  assert_true(fb_take_damage(&f.s, &d));
  assert_rect(d, 4, 22, 88, 16);
  /* A shorter one blanks the rest of the row. */
  fbcon_set_header(&f.c, 1, "ok");
  model_fill(&f.m, 4, 22, 88, 16, 0);
  model_text(&f.m, &f.c, 1, "ok", 0xffffff);
  model_check(&f.m, &f.s);
  /* Rows that are not header rows are left alone. */
  fb_take_damage(&f.s, &d);
  fbcon_set_header(&f.c, 2, "nope");
  fbcon_set_header(&f.c, 0xffffffffu, "nope");
  model_check(&f.m, &f.s);
  assert_false(fb_take_damage(&f.s, &d));
  /* Writing does not touch the header; the cursor is unaffected. */
  fbcon_write(&f.c, "x", 1);
  assert_int_equal(f.c.cy, 2);
  model_glyph(&f.m, &f.c, 0, 2, 'x', 0xc0c0c0);
  model_check(&f.m, &f.s);
  con_teardown(&f);
}

static void test_console_no_header(void **state) {
  (void)state;
  struct fb_surface s;
  struct model m;
  struct fb_console c;
  /* Full surface, header_rows 0, 3 rows of 4 columns, chunks of 5 rows. */
  surf_init(&s, 32, 48, 5, 32);
  model_init(&m, &s);
  fbcon_init(&c, &s, (struct fb_rect){0, 0, 32, 48}, 0);
  assert_int_equal(c.cy, 0);
  fbcon_write(&c, "abcdefghijklmn", 14);
  /* abcd efgh ijkl, then "mn" scrolls everything up by one row. */
  model_fill(&m, 0, 0, 32, 48, 0);
  model_text(&m, &c, 0, "efgh", 0xc0c0c0);
  model_text(&m, &c, 1, "ijkl", 0xc0c0c0);
  model_text(&m, &c, 2, "mn", 0xc0c0c0);
  model_check(&m, &s);
  free(m.px);
  surf_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_numbers),
      cmocka_unit_test(test_type_names),
      cmocka_unit_test(test_hdr),
      cmocka_unit_test(test_encode_create_2d),
      cmocka_unit_test(test_encode_unref),
      cmocka_unit_test(test_encode_set_scanout),
      cmocka_unit_test(test_encode_transfer_2d),
      cmocka_unit_test(test_encode_flush),
      cmocka_unit_test(test_encode_attach_backing),
      cmocka_unit_test(test_encode_detach_backing),
      cmocka_unit_test(test_encode_get_edid),
      cmocka_unit_test(test_encode_cursor),
      cmocka_unit_test(test_check_ok),
      cmocka_unit_test(test_check_error_types),
      cmocka_unit_test(test_check_wrong_type),
      cmocka_unit_test(test_check_short),
      cmocka_unit_test(test_check_fence),
      cmocka_unit_test(test_display_info_qemu),
      cmocka_unit_test(test_display_info_two),
      cmocka_unit_test(test_display_info_num_scanouts),
      cmocka_unit_test(test_display_info_bad_sizes),
      cmocka_unit_test(test_display_info_garbage_disabled),
      cmocka_unit_test(test_display_info_short_or_wrong),
      cmocka_unit_test(test_edid_handmade),
      cmocka_unit_test(test_edid_twelve_bit_sizes),
      cmocka_unit_test(test_edid_first_timing_preferred),
      cmocka_unit_test(test_edid_vendor),
      cmocka_unit_test(test_edid_names),
      cmocka_unit_test(test_edid_bad_header),
      cmocka_unit_test(test_edid_bad_checksum),
      cmocka_unit_test(test_edid_bad_sizes),
      cmocka_unit_test(test_edid_bad_version),
      cmocka_unit_test(test_edid_no_timing),
      cmocka_unit_test(test_edid_wrong_type),
      cmocka_unit_test(test_edid_recorded),
      cmocka_unit_test(test_edid_recorded_5120),
      cmocka_unit_test(test_edid_displayid_wide),
      cmocka_unit_test(test_edid_unusable_preferred),
      cmocka_unit_test(test_random_responses),
      cmocka_unit_test(test_fb_row),
      cmocka_unit_test(test_fb_clip),
      cmocka_unit_test(test_fb_fill),
      cmocka_unit_test(test_fb_fill_runs),
      cmocka_unit_test(test_fb_blit),
      cmocka_unit_test(test_fb_damage),
      cmocka_unit_test(test_fb_random),
      cmocka_unit_test(test_console_init),
      cmocka_unit_test(test_font_packed),
      cmocka_unit_test(test_console_glyph_a),
      cmocka_unit_test(test_console_newline_cr),
      cmocka_unit_test(test_console_wrap),
      cmocka_unit_test(test_console_scroll),
      cmocka_unit_test(test_console_write_batched),
      cmocka_unit_test(test_console_header),
      cmocka_unit_test(test_console_no_header),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
