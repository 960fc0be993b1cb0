/* virtio-gpu protocol (virtio 1.2 §5.7.6): commands, responses, config
 * space. Little-endian on the wire; both machines are little-endian. */
#ifndef DRIVERS_GPU_VIRTIO_GPU_H
#define DRIVERS_GPU_VIRTIO_GPU_H

#include <ringlight/types.h>

/* Feature bits (§5.7.3). */
#define VIRTIO_GPU_F_VIRGL 0
#define VIRTIO_GPU_F_EDID 1
#define VIRTIO_GPU_F_RESOURCE_UUID 2
#define VIRTIO_GPU_F_RESOURCE_BLOB 3
#define VIRTIO_GPU_F_CONTEXT_INIT 4

/* Configuration space (§5.7.4). */
#define VIRTIO_GPU_CFG_EVENTS_READ 0
#define VIRTIO_GPU_CFG_EVENTS_CLEAR 4
#define VIRTIO_GPU_CFG_NUM_SCANOUTS 8
#define VIRTIO_GPU_CFG_NUM_CAPSETS 12
#define VIRTIO_GPU_EVENT_DISPLAY 1u

#define VIRTIO_GPU_MAX_SCANOUTS 16

enum virtio_gpu_ctrl_type {
  VIRTIO_GPU_CMD_GET_DISPLAY_INFO = 0x0100,
  VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
  VIRTIO_GPU_CMD_RESOURCE_UNREF,
  VIRTIO_GPU_CMD_SET_SCANOUT,
  VIRTIO_GPU_CMD_RESOURCE_FLUSH,
  VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D,
  VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
  VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
  VIRTIO_GPU_CMD_GET_CAPSET_INFO,
  VIRTIO_GPU_CMD_GET_CAPSET,
  VIRTIO_GPU_CMD_GET_EDID,
  VIRTIO_GPU_CMD_UPDATE_CURSOR = 0x0300,
  VIRTIO_GPU_CMD_MOVE_CURSOR,
  VIRTIO_GPU_RESP_OK_NODATA = 0x1100,
  VIRTIO_GPU_RESP_OK_DISPLAY_INFO,
  VIRTIO_GPU_RESP_OK_CAPSET_INFO,
  VIRTIO_GPU_RESP_OK_CAPSET,
  VIRTIO_GPU_RESP_OK_EDID,
  VIRTIO_GPU_RESP_ERR_UNSPEC = 0x1200,
  VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY,
  VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID,
  VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
  VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID,
  VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
};

#define VIRTIO_GPU_FLAG_FENCE 1u

/* §5.7.6.8: B8G8R8X8: bytes B, G, R, X, i.e. 0x00RRGGBB as a le32. */
#define VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM 2u

struct virtio_gpu_ctrl_hdr {
  uint32_t type;
  uint32_t flags;
  uint64_t fence_id;
  uint32_t ctx_id;
  uint8_t ring_idx;
  uint8_t padding[3];
};

struct virtio_gpu_rect {
  uint32_t x, y, width, height;
};

struct virtio_gpu_display_one {
  struct virtio_gpu_rect r;
  uint32_t enabled;
  uint32_t flags;
};

struct virtio_gpu_resp_display_info {
  struct virtio_gpu_ctrl_hdr hdr;
  struct virtio_gpu_display_one pmodes[VIRTIO_GPU_MAX_SCANOUTS];
};

struct virtio_gpu_get_edid {
  struct virtio_gpu_ctrl_hdr hdr;
  uint32_t scanout;
  uint32_t padding;
};

struct virtio_gpu_resp_edid {
  struct virtio_gpu_ctrl_hdr hdr;
  uint32_t size;
  uint32_t padding;
  uint8_t edid[1024];
};

struct virtio_gpu_resource_create_2d {
  struct virtio_gpu_ctrl_hdr hdr;
  uint32_t resource_id;
  uint32_t format;
  uint32_t width;
  uint32_t height;
};

struct virtio_gpu_resource_unref {
  struct virtio_gpu_ctrl_hdr hdr;
  uint32_t resource_id;
  uint32_t padding;
};

struct virtio_gpu_set_scanout {
  struct virtio_gpu_ctrl_hdr hdr;
  struct virtio_gpu_rect r;
  uint32_t scanout_id;
  uint32_t resource_id;
};

struct virtio_gpu_resource_flush {
  struct virtio_gpu_ctrl_hdr hdr;
  struct virtio_gpu_rect r;
  uint32_t resource_id;
  uint32_t padding;
};

struct virtio_gpu_transfer_to_host_2d {
  struct virtio_gpu_ctrl_hdr hdr;
  struct virtio_gpu_rect r;
  uint64_t offset;
  uint32_t resource_id;
  uint32_t padding;
};

struct virtio_gpu_mem_entry {
  uint64_t addr;
  uint32_t length;
  uint32_t padding;
};

struct virtio_gpu_resource_attach_backing {
  struct virtio_gpu_ctrl_hdr hdr;
  uint32_t resource_id;
  uint32_t nr_entries;
  /* struct virtio_gpu_mem_entry entries[nr_entries] follow */
};

struct virtio_gpu_resource_detach_backing {
  struct virtio_gpu_ctrl_hdr hdr;
  uint32_t resource_id;
  uint32_t padding;
};

struct virtio_gpu_cursor_pos {
  uint32_t scanout_id;
  uint32_t x;
  uint32_t y;
  uint32_t padding;
};

struct virtio_gpu_update_cursor {
  struct virtio_gpu_ctrl_hdr hdr;
  struct virtio_gpu_cursor_pos pos;
  uint32_t resource_id;
  uint32_t hot_x;
  uint32_t hot_y;
  uint32_t padding;
};

_Static_assert(sizeof(struct virtio_gpu_ctrl_hdr) == 24, "§5.7.6.7");
_Static_assert(sizeof(struct virtio_gpu_resp_display_info) == 24 + 16 * 24,
               "§5.7.6.8");
_Static_assert(sizeof(struct virtio_gpu_resp_edid) == 24 + 8 + 1024,
               "§5.7.6.8");
_Static_assert(sizeof(struct virtio_gpu_resource_create_2d) == 40, "§5.7.6.8");
_Static_assert(sizeof(struct virtio_gpu_set_scanout) == 48, "§5.7.6.8");
_Static_assert(sizeof(struct virtio_gpu_resource_flush) == 48, "§5.7.6.8");
_Static_assert(sizeof(struct virtio_gpu_transfer_to_host_2d) == 56, "§5.7.6.8");
_Static_assert(sizeof(struct virtio_gpu_resource_attach_backing) == 32,
               "§5.7.6.8");
_Static_assert(sizeof(struct virtio_gpu_mem_entry) == 16, "§5.7.6.8");
_Static_assert(sizeof(struct virtio_gpu_update_cursor) == 56, "§5.7.6.10");

#endif
