/* SPDX-License-Identifier: MIT */
/*
 * libmapdirect: MAP_DIRECT mappings of DAX files and device-dax, break
 * notifications on a file descriptor, durable stores, and who holds what.
 * See libmapdirect(3).  Every function returns 0 or a negative errno
 * (mapdirect_strerror() says what to do), and is thread-safe.
 */
#ifndef MAPDIRECT_H
#define MAPDIRECT_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The mmap() flag, from the patched kernel's <linux/mman.h> when present. */
#ifndef MAP_DIRECT
#define MAP_DIRECT 0x200000
#endif

struct mapdirect_map;

/* mapdirect_map_file() flags */
#define MAPDIRECT_CREATE	0x1	/* create the file if missing */
#define MAPDIRECT_ALLOCATE	0x2	/* allocate and zero every block first */
#define MAPDIRECT_READONLY	0x4	/* PROT_READ only */

int mapdirect_map_file(const char *path, size_t len, int flags,
		       struct mapdirect_map **out);
int mapdirect_map_fd(int fd, off_t offset, size_t len, int prot,
		     struct mapdirect_map **out);
void *mapdirect_addr(const struct mapdirect_map *m);
size_t mapdirect_length(const struct mapdirect_map *m);
int mapdirect_unmap(struct mapdirect_map *m);

/* Break notifications: a file descriptor to poll for POLLIN. */
struct mapdirect_event {
	struct mapdirect_map *map;	/* the mapping whose lease breaks */
	double deadline;		/* CLOCK_MONOTONIC seconds: revoked then */
};
int mapdirect_notify_fd(void);
int mapdirect_read_event(struct mapdirect_event *ev);
/* The clock of deadlines (CLOCK_MONOTONIC, seconds), and lease-break-time. */
double mapdirect_now(void);
int mapdirect_break_time(void);

/* Durable stores: write back the cache lines of a range, then fence. */
void mapdirect_persist(const void *addr, size_t len);
const char *mapdirect_persist_method(void);

/* Who holds which file's block map (/proc/fs/mapdirect, root only). */
struct mapdirect_holder {
	pid_t pid;
	char kind[16];		/* "mapping", "devdax" (a mapping of a device-dax
				   device), "rdma", "iommufd" (an IOMMU
				   mapping), "kernel" */
	char state[16];		/* in-kernel: "pending", "attached"; else "" */
	char device[32];	/* RDMA device, or "" */
	unsigned long long bytes;	/* of a registration, or 0 */
	/* A mapping's range of the file, in bytes: [start, end) covers every
	 * MAP_DIRECT mapping of the file in that process; 0, 0 otherwise. */
	unsigned long long start, end;
};

struct mapdirect_lease {
	unsigned int dev_major, dev_minor;
	unsigned long long ino;
	char state[16];		/* active, breaking, revoked, released */
	int left_ms;		/* breaking: ms until revoked; else -1 */
	pid_t pid;		/* the process notified of a break */
	int fd;			/* its descriptor the mapping was made with */
	int users;		/* mappings and in-kernel users holding it */
	char path[4096];
	int nholders;
	struct mapdirect_holder *holders;
};

int mapdirect_leases(struct mapdirect_lease **out, int *count);
void mapdirect_leases_free(struct mapdirect_lease *leases, int count);

/*
 * RDMA memory registration of a MAP_DIRECT mapping that survives lease
 * breaks: on a break event, mapdirect_rdma_handle() deregisters and
 * unmaps (the breaker goes on at once), waits until the file can be mapped
 * again, maps and registers it again, and passes the new MR (or NULL and
 * the error) to the callback.  Needs <infiniband/verbs.h> and -libverbs.
 */
struct ibv_pd;
struct ibv_mr;
struct mapdirect_rdma;
typedef void (*mapdirect_rdma_cb)(struct mapdirect_rdma *r, struct ibv_mr *mr,
				  int err, void *arg);

int mapdirect_rdma_register(struct ibv_pd *pd, const char *path, size_t len,
			    int flags, int access, mapdirect_rdma_cb cb, void *arg,
			    struct mapdirect_rdma **out);
struct ibv_mr *mapdirect_rdma_mr(const struct mapdirect_rdma *r);
struct mapdirect_map *mapdirect_rdma_map(const struct mapdirect_rdma *r);
int mapdirect_rdma_handle(struct mapdirect_rdma *r, const struct mapdirect_event *ev,
			  double timeout);
int mapdirect_rdma_deregister(struct mapdirect_rdma *r);

const char *mapdirect_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
