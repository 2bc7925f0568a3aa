/* SPDX-License-Identifier: MIT */
/*
 * QEMU's edu PCI device, driven from userspace through VFIO and iommufd
 * (the iommu VM profile): bind it to vfio-pci, attach it to an iommufd
 * IOAS (or get it from a VFIO group), map IOVAs, and have its DMA engine
 * copy between its internal buffer and bus addresses.  Failures end the
 * test (lib/check.h).
 */
#ifndef MAPDIRECT_TESTS_EDU_H
#define MAPDIRECT_TESTS_EDU_H

#include <stddef.h>
#include <stdint.h>

#define EDU_VENDOR	"0x1234"
#define EDU_DEVICE	"0x11e8"
#define EDU_IDENT	0x00
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_DMA_RUN	1
#define EDU_DMA_TO_RAM	2	/* direction: edu's buffer -> bus address */
#define EDU_BUF		0x40000	/* edu's internal DMA buffer, 4 KiB */

#define IOVA_SRC	0x100000UL
#define PAGE		4096UL
/*
 * Bytes per DMA: QEMU 7.2's edu refuses (hw_error: QEMU aborts) a transfer
 * that ends exactly at the end of its 4 KiB buffer, so not a whole page.
 */
#define DMA_LEN		2048UL

struct edu {
	int iommufd, dev;
	uint32_t ioas;
	volatile uint8_t *bar;
	size_t bar_len;
	uint8_t *src;		/* anonymous, at IOVA_SRC */
};

void find_edu(char *bdf, size_t len);
void bind_vfio(const char *bdf);
int open_vfio_cdev(const char *bdf);
void map_bar(struct edu *e);
void map_source(struct edu *e, int seed);
void edu_open(struct edu *e);
void edu_close(struct edu *e);
int edu_dma(struct edu *e, uint64_t src, uint64_t dst, uint64_t cnt, uint64_t dir);
void dma_to(struct edu *e, uint64_t iova);
/* IOMMU_IOAS_MAP/UNMAP at a fixed IOVA of e->ioas: 0 or -errno. */
int ioas_map(struct edu *e, void *va, size_t len, uint64_t iova);
int ioas_unmap(struct edu *e, size_t len, uint64_t iova);
/* Write @s to a sysfs file: 0 or -1 (errno). */
int write_str(const char *path, const char *s);

#endif
