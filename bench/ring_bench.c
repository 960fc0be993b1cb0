/* Host ring benchmark: a queue backend (virtio/queue-split or
 * virtio/queue-packed, through struct vq_ops as the virtio core calls it)
 * against a lean polling device loop (device_split.c, device_packed.c).
 *
 * Protocol (that of Linux's tools/virtio/ringtest; this is our own code):
 * buffers are one device-writable segment each, at most `ring` are
 * outstanding, both sides busy-poll; the guest (driver) calls kick_prepare
 * after every `batch` adds (a true answer is a notification the device
 * asked for: counted, never delivered) and checks each used buffer's token
 * and length; the host (device) takes the interrupt decision the driver's
 * event suppression asks for after each round (counted, never delivered).
 * Two guest loops (--loop):
 *   - fair (default), ringtest's: the guest keeps the ring full: each step
 *     adds one buffer if there is room and takes one used buffer if there
 *     is one; the device takes every available buffer and publishes each
 *     as it marks it used (ringtest's host). So the ring stays near 256
 *     outstanding and the two sides work on different cache lines;
 *   - latency, "add one, reap all": the guest adds up to `batch` buffers,
 *     kicks, then takes every used buffer there is; the device marks up to
 *     `batch` per round and publishes them once. The ring stays nearly
 *     empty and every buffer pays a cache-line round trip.
 * The average number of buffers outstanding right after each add is
 * reported (`occupancy`).
 * --poll-only drops the notification path on both sides, as ringtest's
 * polling mode does: the guest disables used-buffer interrupts once
 * (disable_cb) and never calls kick_prepare, the device takes no interrupt
 * decision. That is the configuration ringtest's published figures are
 * measured in; without it each kick and each device round pays the full
 * barrier event suppression needs (§2.7.10 / §2.8.10).
 * Modes: `threads` runs the guest and the host on two threads pinned to
 * two CPUs; `single` alternates them on one thread (guest adds, device
 * round of up to `batch`, guest takes up to `batch`; fair: the guest first
 * fills the ring), which measures the code paths without cache-line
 * transfers between CPUs (and is what tools/bench ring --instructions runs
 * under callgrind).
 *
 *   ring_bench --backend split|packed --mode threads|single --batch N
 *              [--loop fair|latency] [--buffers N] [--ring N] [--json FILE]
 *              [--no-event-idx] [--poll-only] [--guest-cpu N]
 *              [--host-cpu N]
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <arch/dma.h>
#include <ringlight/status.h>
#include <virtio/core/vq_backend.h>

#include "device.h"

static const struct arch_dma_dev dma_coherent = {.coherent = true};

extern const struct vq_ops vq_split_ops;
extern const struct vq_ops vq_packed_ops;

/* Bytes of each (never touched) buffer. */
#define BUF_BYTES 64u

struct options {
  const char *backend;
  const char *mode;
  bool fair; /* --loop fair (default) or latency */
  unsigned batch;
  uint64_t buffers;
  unsigned ring;
  const char *json;
  bool event_idx;
  bool poll_only;
  int guest_cpu;
  int host_cpu;
};

/* What both threads read and one of them writes rarely: a line of its
 * own, away from each side's private state. */
struct shared {
  _Alignas(128) int go; /* both pinned: start */
  int stop;             /* the guest failed: the host gives up */
  /* Cache-line round trips between the two CPUs (see line_rtt). */
  _Alignas(128) uint64_t ping;
  _Alignas(128) uint64_t pong;
  _Alignas(128) long host_preemptions; /* written by the host as it ends */
  uint64_t host_cpu_ns; /* likewise: its CPU time while running */
};

struct run {
  const struct options *opt;
  const struct vq_ops *ops;
  struct vq_backend *q;
  const struct bench_device_ops *dops;
  struct bench_device *dev;
  struct arch_dma_buf bufs; /* what the segments point at */
  struct shared *sh;
  unsigned slot; /* the guest's next buffer slot: seq % ring */
  /* guest results */
  uint64_t kicks;         /* kick_prepare calls */
  uint64_t notifications; /* kick_prepare answered true */
  uint64_t empty_polls;   /* reaps that found nothing */
  uint64_t occupancy_sum; /* outstanding right after each add, summed */
  unsigned pending;       /* fair: adds since the last kick_prepare */
  uint64_t elapsed_ns;
  long preemptions;   /* involuntary context switches while timed */
  double guest_share; /* the guest thread's CPU time / elapsed */
  double host_share;  /* the host thread's (single mode: the guest's) */
  double rtt_before;  /* line_rtt() before and after the run, ns */
  double rtt_after;
  bool guest_pinned;
  bool host_pinned;
  bool failed;
};

static void usage(void) {
  (void)fprintf(stderr, "usage: ring_bench --backend split|packed --mode "
                        "threads|single --batch N\n"
                        "                  [--loop fair|latency] [--buffers N] "
                        "[--ring N] [--json FILE]\n"
                        "                  [--no-event-idx] [--poll-only] "
                        "[--guest-cpu N] [--host-cpu N]\n");
  exit(2);
}

/* One line on stderr: "ring_bench: WHO: message". */
static void report(const char *who, const char *fmt, va_list ap) {
  char msg[256];
  (void)vsnprintf(msg, sizeof(msg), fmt, ap);
  (void)fprintf(stderr, "ring_bench: %s: %s\n", who, msg);
}

static void guest_fail(struct run *r, const char *fmt, ...) RL_PRINTF(2, 3);
static void guest_fail(struct run *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report("guest", fmt, ap);
  va_end(ap);
  r->failed = true;
  __atomic_store_n(&r->sh->stop, 1, __ATOMIC_RELEASE);
}

void bench_device_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report("device", fmt, ap);
  va_end(ap);
  exit(2);
}

void *bench_dma_map(paddr_t pa, uint64_t len) {
  void *first = NULL;
  void *last = NULL;
  if (len == 0 || pa + len - 1 < pa ||
      arch_phys_to_virt_checked(pa, &first) != RL_OK ||
      arch_phys_to_virt_checked(pa + len - 1, &last) != RL_OK ||
      (uintptr_t)last - (uintptr_t)first != len - 1) {
    return NULL;
  }
  return first;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Involuntary context switches of the calling thread so far: another
 * job took its CPU, and a threads-mode figure is then meaningless. */
static long preempted(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) != 0) {
    return 0;
  }
  return ru.ru_nivcsw;
}

/* CPU time of the calling thread. */
static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  (void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (err != 0) {
    (void)fprintf(stderr, "ring_bench: cannot pin to CPU %d: %s\n", cpu,
                  strerror(err));
    return false;
  }
  return true;
}

/* Buffer `seq` (0-based): its token is seq + 1, its segment slot
 * seq % ring of the buffer area. */
static void *token_of(uint64_t seq) { return (void *)(uintptr_t)(seq + 1); }

/* Whether the guest may add another buffer now. */
static bool room(const struct run *r, uint64_t started, uint64_t completed) {
  return started < r->opt->buffers && started - completed < r->opt->ring;
}

/* Adds buffer *started (room() said yes). */
static bool guest_add(struct run *r, uint64_t *started, uint64_t completed) {
  uint64_t seq = *started;
  paddr_t addr = r->bufs.phys + (uint64_t)r->slot * BUF_BYTES;
  if (++r->slot == r->opt->ring) {
    r->slot = 0;
  }
  /* One device-writable segment: add_one, as virtqueue_add calls it. */
  rl_status st = r->ops->add_one(r->q, addr, BUF_BYTES, true, token_of(seq));
  if (st != RL_OK) {
    guest_fail(r, "add of buffer %llu: status %d", (unsigned long long)seq, st);
    return false;
  }
  (*started)++;
  r->occupancy_sum += *started - completed;
  return true;
}

static void guest_kick(struct run *r) {
  if (!r->opt->poll_only) {
    r->kicks++;
    if (r->ops->kick_prepare(r->q)) {
      r->notifications++;
    }
  }
}

/* Adds up to `max` buffers while fewer than `ring` are outstanding,
 * kicking after every `batch` adds and after the last. */
static void guest_post(struct run *r, uint64_t *started, uint64_t completed,
                       uint64_t max) {
  uint64_t added = 0;
  while (added < max && room(r, *started, completed)) {
    if (!guest_add(r, started, completed)) {
      return;
    }
    added++;
    if (++r->pending == r->opt->batch) {
      r->pending = 0;
      guest_kick(r);
    }
  }
  if (r->pending > 0) {
    r->pending = 0;
    guest_kick(r);
  }
}

/* Takes one used buffer if there is one; it must be the next in order
 * (both devices use buffers in order) with the whole length written. */
static bool guest_take(struct run *r, uint64_t *completed) {
  struct vq_used u = r->ops->get_used(r->q);
  void *token = u.token;
  int64_t len = u.len;
  rl_status st = token != NULL ? RL_OK : (rl_status)len;
  if (st == RL_ERR_NOT_FOUND) {
    return false;
  }
  if (st != RL_OK) {
    guest_fail(r, "get_used after %llu buffers: status %d",
               (unsigned long long)*completed, st);
    return false;
  }
  if (token != token_of(*completed) || len != BUF_BYTES) {
    guest_fail(r, "used buffer %llu: token %p len %lld, expected %p len %u",
               (unsigned long long)*completed, token, (long long)len,
               token_of(*completed), BUF_BYTES);
    return false;
  }
  (*completed)++;
  return true;
}

/* The end of a drain in the latency loop, as virtqueue_poll's: enable_cb,
 * and while it says more arrived, take them. Returns how many. */
__attribute__((noinline)) static uint64_t rearm(struct run *r,
                                                uint64_t *completed) {
  uint64_t got = 0;
  while (!r->failed && r->ops->enable_cb(r->q)) {
    while (guest_take(r, completed)) {
      got++;
    }
  }
  return got;
}

/* Takes up to `max` used buffers (stops at the first NOT_FOUND). The
 * latency loop (max unbounded) ends a drain as virtqueue_poll does:
 * enable_cb moves the used event (get_used leaves it) and says whether
 * more arrived meanwhile; not when polling only. */
static inline __attribute__((always_inline)) void
guest_reap(struct run *r, uint64_t *completed, uint64_t max) {
  uint64_t got = 0;
  while (got < max && guest_take(r, completed)) {
    got++;
  }
  if (!r->opt->fair && !r->opt->poll_only) {
    got += rearm(r, completed);
  }
  if (got == 0) {
    r->empty_polls++;
  }
}

/* The fair guest, ringtest's run_guest: one step adds a buffer if there
 * is room and takes a used one if there is one, until all are back. */
static void guest_fair(struct run *r) {
  uint64_t total = r->opt->buffers;
  uint64_t started = 0;
  uint64_t completed = 0;
  while (completed < total && !r->failed) {
    bool added = false;
    if (room(r, started, completed)) {
      if (!guest_add(r, &started, completed)) {
        return;
      }
      added = true;
      if (++r->pending == r->opt->batch) {
        r->pending = 0;
        guest_kick(r);
      }
    }
    if (!guest_take(r, &completed) && !added) {
      r->empty_polls++;
      if (r->pending > 0) { /* nothing to do: what was added goes out */
        r->pending = 0;
        guest_kick(r);
      }
    }
  }
}

/* How long a cache line takes to go from one CPU to the other and back,
 * measured by the two pinned threads bouncing two lines RTT_ROUNDS times.
 * Under KVM it depends on where the host runs the two vCPUs at the time
 * (same core complex or not) and can change threefold between runs;
 * threads-mode figures follow it. The guest calls line_rtt, the host
 * line_rtt_echo; the counters continue from call to call. */
#define RTT_ROUNDS 100000u

static double line_rtt(struct shared *sh) {
  uint64_t base = __atomic_load_n(&sh->ping, __ATOMIC_RELAXED);
  uint64_t t0 = now_ns();
  for (uint64_t i = base + 1; i <= base + RTT_ROUNDS; i++) {
    __atomic_store_n(&sh->ping, i, __ATOMIC_RELEASE);
    while (__atomic_load_n(&sh->pong, __ATOMIC_ACQUIRE) != i) {
    }
  }
  return (double)(now_ns() - t0) / RTT_ROUNDS;
}

static void line_rtt_echo(struct shared *sh) {
  uint64_t base = __atomic_load_n(&sh->pong, __ATOMIC_RELAXED);
  for (uint64_t i = base + 1; i <= base + RTT_ROUNDS; i++) {
    while (__atomic_load_n(&sh->ping, __ATOMIC_ACQUIRE) != i) {
    }
    __atomic_store_n(&sh->pong, i, __ATOMIC_RELEASE);
  }
}

static void *host_thread(void *arg) {
  struct run *r = arg;
  r->host_pinned = pin_to(r->opt->host_cpu);
  /* Locals only from here: the guest writes its counters in *r. */
  unsigned (*round)(struct bench_device *, unsigned) = r->dops->round;
  struct bench_device *dev = r->dev;
  struct shared *sh = r->sh;
  uint64_t total = r->opt->buffers;
  /* Fair: every available buffer, as ringtest's host. */
  unsigned batch = r->opt->fair ? r->opt->ring : r->opt->batch;
  line_rtt_echo(sh);
  while (__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE) == 0) {
  }
  long before = preempted();
  uint64_t cpu0 = thread_cpu_ns();
  uint64_t done = 0;
  while (done < total) {
    done += round(dev, batch);
    if (__atomic_load_n(&sh->stop, __ATOMIC_RELAXED) != 0) {
      break;
    }
  }
  sh->host_cpu_ns = thread_cpu_ns() - cpu0; /* read after the join */
  sh->host_preemptions = preempted() - before;
  if (__atomic_load_n(&sh->stop, __ATOMIC_RELAXED) == 0) {
    line_rtt_echo(sh);
  }
  return NULL;
}

static void run_threads(struct run *r) {
  r->guest_pinned = pin_to(r->opt->guest_cpu);
  pthread_t host;
  int err = pthread_create(&host, NULL, host_thread, r);
  if (err != 0) {
    (void)fprintf(stderr, "ring_bench: pthread_create: %s\n", strerror(err));
    exit(1);
  }
  /* Both on their CPUs: the line round trip now, which also warms them. */
  r->rtt_before = line_rtt(r->sh);
  uint64_t total = r->opt->buffers;
  uint64_t started = 0;
  uint64_t completed = 0;
  long before = preempted();
  uint64_t cpu0 = thread_cpu_ns();
  uint64_t t0 = now_ns();
  __atomic_store_n(&r->sh->go, 1, __ATOMIC_RELEASE);
  if (r->opt->fair) {
    guest_fair(r);
  } else {
    while (completed < total && !r->failed) {
      guest_post(r, &started, completed, r->opt->batch);
      guest_reap(r, &completed, UINT64_MAX);
    }
  }
  r->elapsed_ns = now_ns() - t0;
  r->guest_share = (double)(thread_cpu_ns() - cpu0) / (double)r->elapsed_ns;
  r->preemptions = preempted() - before;
  if (!r->failed) {
    r->rtt_after = line_rtt(r->sh);
  }
  (void)pthread_join(host, NULL);
  r->preemptions += r->sh->host_preemptions;
  /* The host spins from `go` until its last buffer: at most the guest's
   * span, a little less. */
  r->host_share = (double)r->sh->host_cpu_ns / (double)r->elapsed_ns;
}

/* The timed loop of single mode, alone in a function (never inlined):
 * tools/bench ring --instructions counts what runs inside it. Fair: the
 * guest adds while there is room (the ring stays full), the device uses
 * up to `batch`, the guest takes up to `batch`; latency: the guest adds
 * up to `batch`, the device uses them, the guest takes all there is. */
__attribute__((noinline)) static void single_loop(struct run *r) {
  const struct options *o = r->opt;
  uint64_t started = 0;
  uint64_t completed = 0;
  while (completed < o->buffers && !r->failed) {
    guest_post(r, &started, completed, o->fair ? o->ring : o->batch);
    (void)r->dops->round(r->dev, o->batch);
    guest_reap(r, &completed, o->fair ? o->batch : UINT64_MAX);
  }
}

static void run_single(struct run *r) {
  r->guest_pinned = pin_to(r->opt->guest_cpu);
  r->host_pinned = r->guest_pinned;
  long before = preempted();
  uint64_t cpu0 = thread_cpu_ns();
  uint64_t t0 = now_ns();
  single_loop(r);
  r->elapsed_ns = now_ns() - t0;
  r->guest_share = (double)(thread_cpu_ns() - cpu0) / (double)r->elapsed_ns;
  r->host_share = r->guest_share;
  r->preemptions = preempted() - before;
}

static uint64_t parse_num(const char *s, const char *what) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') {
    (void)fprintf(stderr, "ring_bench: bad %s '%s'\n", what, s);
    usage();
  }
  return v;
}

static void parse(int argc, char **argv, struct options *o) {
  *o = (struct options){.fair = true,
                        .batch = 1,
                        .buffers = 10000000,
                        .ring = 256,
                        .event_idx = true,
                        .guest_cpu = 0,
                        .host_cpu = 1};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--no-event-idx") == 0) {
      o->event_idx = false;
      continue;
    }
    if (strcmp(a, "--poll-only") == 0) {
      o->poll_only = true;
      continue;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || v == NULL) {
      usage();
    }
    i++;
    if (strcmp(a, "--backend") == 0) {
      o->backend = v;
    } else if (strcmp(a, "--mode") == 0) {
      o->mode = v;
    } else if (strcmp(a, "--loop") == 0) {
      if (strcmp(v, "fair") != 0 && strcmp(v, "latency") != 0) {
        usage();
      }
      o->fair = strcmp(v, "fair") == 0;
    } else if (strcmp(a, "--batch") == 0) {
      o->batch = (unsigned)parse_num(v, "batch");
    } else if (strcmp(a, "--buffers") == 0) {
      o->buffers = parse_num(v, "buffer count");
    } else if (strcmp(a, "--ring") == 0) {
      o->ring = (unsigned)parse_num(v, "ring size");
    } else if (strcmp(a, "--json") == 0) {
      o->json = v;
    } else if (strcmp(a, "--guest-cpu") == 0) {
      o->guest_cpu = (int)parse_num(v, "CPU");
    } else if (strcmp(a, "--host-cpu") == 0) {
      o->host_cpu = (int)parse_num(v, "CPU");
    } else {
      usage();
    }
  }
  if (o->backend == NULL || o->mode == NULL ||
      (strcmp(o->mode, "threads") != 0 && strcmp(o->mode, "single") != 0) ||
      o->ring == 0 || o->ring > 32768 || o->batch == 0 || o->batch > o->ring ||
      o->buffers == 0 || o->guest_cpu >= CPU_SETSIZE ||
      o->host_cpu >= CPU_SETSIZE) {
    usage();
  }
}

static int write_json(const struct run *r, const struct bench_device_stats *ds,
                      double ns_per_buf) {
  const struct options *o = r->opt;
  FILE *f = fopen(o->json, "w");
  if (f == NULL) {
    (void)fprintf(stderr, "ring_bench: %s: %s\n", o->json, strerror(errno));
    return -1;
  }
  double n = (double)o->buffers;
  (void)fprintf(
      f,
      "{\n"
      "  \"backend\": \"%s\",\n"
      "  \"mode\": \"%s\",\n"
      "  \"loop\": \"%s\",\n"
      "  \"batch\": %u,\n"
      "  \"ring\": %u,\n"
      "  \"buffers\": %llu,\n"
      "  \"event_idx\": %s,\n"
      "  \"poll_only\": %s,\n"
      "  \"guest_cpu\": %d,\n"
      "  \"host_cpu\": %d,\n"
      "  \"pinned\": %s,\n"
      "  \"seconds\": %.6f,\n"
      "  \"ns_per_buffer\": %.3f,\n"
      "  \"kicks\": %llu,\n"
      "  \"notifications\": %llu,\n"
      "  \"notifications_per_buffer\": %.6f,\n"
      "  \"interrupts\": %llu,\n"
      "  \"interrupts_per_buffer\": %.6f,\n"
      "  \"device_rounds\": %llu,\n"
      "  \"guest_empty_polls\": %llu,\n"
      "  \"occupancy\": %.2f,\n"
      "  \"preemptions\": %ld,\n"
      "  \"guest_cpu_share\": %.4f,\n"
      "  \"host_cpu_share\": %.4f,\n"
      "  \"line_rtt_ns_before\": %.1f,\n"
      "  \"line_rtt_ns_after\": %.1f\n"
      "}\n",
      o->backend, o->mode, o->fair ? "fair" : "latency", o->batch, o->ring,
      (unsigned long long)o->buffers, o->event_idx ? "true" : "false",
      o->poll_only ? "true" : "false", o->guest_cpu,
      strcmp(o->mode, "threads") == 0 ? o->host_cpu : o->guest_cpu,
      r->guest_pinned && r->host_pinned ? "true" : "false",
      (double)r->elapsed_ns / 1e9, ns_per_buf, (unsigned long long)r->kicks,
      (unsigned long long)r->notifications, (double)r->notifications / n,
      (unsigned long long)ds->interrupts, (double)ds->interrupts / n,
      (unsigned long long)ds->rounds, (unsigned long long)r->empty_polls,
      (double)r->occupancy_sum / n, r->preemptions, r->guest_share,
      r->host_share, r->rtt_before, r->rtt_after);
  if (fclose(f) != 0) {
    (void)fprintf(stderr, "ring_bench: %s: %s\n", o->json, strerror(errno));
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  struct options o;
  parse(argc, argv, &o);
  struct run r = {.opt = &o};
  if (strcmp(o.backend, "split") == 0) {
    r.ops = &vq_split_ops;
    r.dops = &bench_device_split_ops;
  } else if (strcmp(o.backend, "packed") == 0) {
    r.ops = &vq_packed_ops;
    r.dops = &bench_device_packed_ops;
  } else {
    usage();
  }
  r.sh = aligned_alloc(128, sizeof(struct shared));
  if (r.sh == NULL) {
    return 1;
  }
  memset(r.sh, 0, sizeof(*r.sh));

  /* A coherent modern device with EVENT_IDX (QEMU virt's virtio-mmio). */
  struct vq_config cfg = {
      .size = (uint16_t)o.ring, .event_idx = o.event_idx, .dma = &dma_coherent};
  rl_status st = r.ops->create(&cfg, &r.q);
  if (st != RL_OK) {
    (void)fprintf(stderr, "ring_bench: %s create(size %u): status %d\n",
                  r.ops->name, o.ring, st);
    return 1;
  }
  size_t pages = ((size_t)o.ring * BUF_BYTES + RL_PAGE_SIZE - 1) / RL_PAGE_SIZE;
  if (arch_dma_alloc(pages, &r.bufs) != RL_OK) {
    (void)fprintf(stderr, "ring_bench: no DMA memory for buffers\n");
    return 1;
  }
  struct vq_addrs addrs;
  r.ops->addrs(r.q, &addrs);
  r.dev = r.dops->attach(&addrs, &cfg, !o.poll_only, o.fair);
  if (o.poll_only) {
    r.ops->disable_cb(r.q); /* a polling driver takes no interrupts */
  }

  if (strcmp(o.mode, "threads") == 0) {
    if (o.guest_cpu == o.host_cpu) {
      (void)fprintf(stderr, "ring_bench: threads mode wants two CPUs\n");
      return 2;
    }
    run_threads(&r);
  } else {
    run_single(&r);
  }
  if (r.failed) {
    return 1;
  }

  struct bench_device_stats ds;
  r.dops->stats(r.dev, &ds);
  struct vq_state vs;
  r.ops->state(r.q, &vs);
  if (ds.used != o.buffers || vs.in_flight != 0 || r.ops->broken(r.q)) {
    (void)fprintf(stderr,
                  "ring_bench: after the run: device used %llu of %llu, "
                  "%u in flight, broken %d\n",
                  (unsigned long long)ds.used, (unsigned long long)o.buffers,
                  vs.in_flight, r.ops->broken(r.q));
    return 1;
  }
  double n = (double)o.buffers;
  double ns_per_buf = (double)r.elapsed_ns / n;
  char rtt[64] = "";
  if (r.rtt_before > 0) {
    (void)snprintf(rtt, sizeof(rtt), "  line rtt %.0f/%.0f ns", r.rtt_before,
                   r.rtt_after);
  }
  printf("%-7s %-8s %-7s batch %3u  ring %u  %llu buffers  %8.3f s  %8.2f "
         "ns/buf  occupancy %.1f  notify/buf %.4f  irq/buf %.4f  cpu "
         "%.1f%%/%.1f%%%s%s%s\n",
         o.backend, o.mode, o.fair ? "fair" : "latency", o.batch, o.ring,
         (unsigned long long)o.buffers, (double)r.elapsed_ns / 1e9, ns_per_buf,
         (double)r.occupancy_sum / n, (double)r.notifications / n,
         (double)ds.interrupts / n, r.guest_share * 100, r.host_share * 100,
         rtt, o.poll_only ? "  (poll-only)" : "",
         r.guest_pinned && r.host_pinned ? "" : "  (NOT pinned)");
  int rc = 0;
  if (o.json != NULL && write_json(&r, &ds, ns_per_buf) != 0) {
    rc = 1;
  }
  r.dops->detach(r.dev);
  r.ops->destroy(r.q);
  arch_dma_free(&r.bufs);
  free(r.sh);
  return rc;
}
