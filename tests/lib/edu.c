// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "edu.h"

static int read_str(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ok = f && fgets(buf, (int)len, f);

	if (f)
		fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = 0;
	return ok ? 0 : -1;
}

int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n = fd < 0 ? -1 : write(fd, s, strlen(s));

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* The edu device's PCI address, in @bdf. */
void find_edu(char *bdf, size_t len)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	char path[512], v[32], dv[32];
	struct dirent *e;

	CHECK(d, "/sys/bus/pci/devices: %s", strerror(errno));
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		if (read_str(path, v, sizeof(v)))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", e->d_name);
		if (read_str(path, dv, sizeof(dv)))
			continue;
		if (!strcmp(v, EDU_VENDOR) && !strcmp(dv, EDU_DEVICE)) {
			snprintf(bdf, len, "%s", e->d_name);
			closedir(d);
			return;
		}
	}
	closedir(d);
	FAIL("no edu PCI device (1234:11e8): run in the iommu VM profile (MAPDIRECT_VM_PROFILE=iommu)");
}

/* Bind @bdf to vfio-pci. */
void bind_vfio(const char *bdf)
{
	char path[512], drv[512];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, drv, sizeof(drv) - 1);
	drv[n > 0 ? n : 0] = 0;
	if (strstr(drv, "vfio-pci"))
		return;
	if (n > 0) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		CHECK(!write_str(path, bdf), "unbinding edu from %s: %s", drv, strerror(errno));
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	CHECK(!write_str(path, "vfio-pci"), "driver_override: %s", strerror(errno));
	CHECK(!write_str("/sys/bus/pci/drivers_probe", bdf),
	      "binding edu to vfio-pci (CONFIG_VFIO_PCI?): %s", strerror(errno));
}

/* Open @bdf's VFIO device cdev. */
int open_vfio_cdev(const char *bdf)
{
	char path[512];
	struct dirent *e;
	int fd = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(path);
	CHECK(d, "no vfio-dev in sysfs (CONFIG_VFIO_DEVICE_CDEV?)");
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4)) {
			snprintf(path, sizeof(path), "/dev/vfio/devices/%s", e->d_name);
			fd = open(path, O_RDWR);
			break;
		}
	closedir(d);
	CHECK(fd >= 0, "opening the VFIO device cdev: %s", strerror(errno));
	return fd;
}



static void bus_master(int dev, const struct vfio_region_info *cfg)
{
	uint16_t cmd;

	CHECK(pread(dev, &cmd, 2, (off_t)cfg->offset + PCI_COMMAND) == 2,
	      "reading PCI_COMMAND: %s", strerror(errno));
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	CHECK(pwrite(dev, &cmd, 2, (off_t)cfg->offset + PCI_COMMAND) == 2,
	      "writing PCI_COMMAND: %s", strerror(errno));
}

void map_bar(struct edu *e)
{
	struct vfio_region_info bar0 = { .argsz = sizeof(bar0),
					 .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg),
					.index = VFIO_PCI_CONFIG_REGION_INDEX };

	CHECK(!ioctl(e->dev, VFIO_DEVICE_GET_REGION_INFO, &bar0) &&
	      !ioctl(e->dev, VFIO_DEVICE_GET_REGION_INFO, &cfg),
	      "VFIO_DEVICE_GET_REGION_INFO: %s", strerror(errno));
	e->bar_len = bar0.size;
	e->bar = mmap(NULL, bar0.size, PROT_READ | PROT_WRITE, MAP_SHARED, e->dev,
		      (off_t)bar0.offset);
	CHECK(e->bar != MAP_FAILED, "mmap of edu's BAR0: %s", strerror(errno));
	CHECK(*(volatile uint32_t *)(e->bar + EDU_IDENT) == 0x010000ed,
	      "edu does not answer through its BAR (ident %#x)",
	      *(volatile uint32_t *)(e->bar + EDU_IDENT));
	bus_master(e->dev, &cfg);	/* or edu's DMA goes nowhere */
}

int ioas_map(struct edu *e, void *va, size_t len, uint64_t iova)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = e->ioas,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	return ioctl(e->iommufd, IOMMU_IOAS_MAP, &map) ? -errno : 0;
}

int ioas_unmap(struct edu *e, size_t len, uint64_t iova)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = e->ioas, .iova = iova, .length = len,
	};

	return ioctl(e->iommufd, IOMMU_IOAS_UNMAP, &unmap) ? -errno : 0;
}

/* A source buffer at IOVA_SRC: DMA_LEN bytes of @seed's pattern. */
void map_source(struct edu *e, int seed)
{
	e->src = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(e->src != MAP_FAILED, "mmap: %s", strerror(errno));
	for (unsigned int i = 0; i < PAGE; i++)
		e->src[i] = (uint8_t)(i * 7 + seed);
	CHECK(!ioas_map(e, e->src, PAGE, IOVA_SRC),
	      "IOMMU_IOAS_MAP of anonymous memory at %#lx: %s", IOVA_SRC, strerror(errno));
}

/* Bind edu to an iommufd IOAS through its VFIO cdev; map its BAR. */
void edu_open(struct edu *e)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	char bdf[256];

	find_edu(bdf, sizeof(bdf));
	bind_vfio(bdf);
	e->dev = open_vfio_cdev(bdf);
	e->iommufd = open("/dev/iommu", O_RDWR);
	CHECK(e->iommufd >= 0, "/dev/iommu (CONFIG_IOMMUFD?): %s", strerror(errno));
	CHECK(!ioctl(e->iommufd, IOMMU_IOAS_ALLOC, &alloc),
	      "IOMMU_IOAS_ALLOC: %s", strerror(errno));
	e->ioas = alloc.out_ioas_id;
	bind.iommufd = e->iommufd;
	CHECK(!ioctl(e->dev, VFIO_DEVICE_BIND_IOMMUFD, &bind),
	      "VFIO_DEVICE_BIND_IOMMUFD: %s", strerror(errno));
	attach.pt_id = e->ioas;
	CHECK(!ioctl(e->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach),
	      "VFIO_DEVICE_ATTACH_IOMMUFD_PT (is the IOMMU on? intel_iommu=on): %s",
	      strerror(errno));
	map_bar(e);
	map_source(e, 3);
}

void edu_close(struct edu *e)
{
	if (e->bar && e->bar != MAP_FAILED)
		munmap((void *)e->bar, e->bar_len);
	if (e->src && e->src != MAP_FAILED)
		munmap(e->src, PAGE);
	if (e->dev > 0)
		close(e->dev);
	if (e->iommufd > 0)
		close(e->iommufd);
	memset(e, 0, sizeof(*e));
}

/* One DMA of @cnt bytes; edu runs it from a 100 ms timer.  0 when done. */
int edu_dma(struct edu *e, uint64_t src, uint64_t dst, uint64_t cnt,
		   uint64_t dir)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	*(volatile uint64_t *)(e->bar + EDU_DMA_SRC) = src;
	*(volatile uint64_t *)(e->bar + EDU_DMA_DST) = dst;
	*(volatile uint64_t *)(e->bar + EDU_DMA_CNT) = cnt;
	*(volatile uint64_t *)(e->bar + EDU_DMA_CMD) = EDU_DMA_RUN | dir;
	for (int i = 0; i < 500; i++) {
		if (!(*(volatile uint64_t *)(e->bar + EDU_DMA_CMD) & EDU_DMA_RUN))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* edu copies the source buffer to @iova: through its own buffer. */
void dma_to(struct edu *e, uint64_t iova)
{
	CHECK(!edu_dma(e, IOVA_SRC, EDU_BUF, DMA_LEN, 0),
	      "edu's DMA from IOVA %#lx did not complete in 5 s", IOVA_SRC);
	CHECK(!edu_dma(e, EDU_BUF, iova, DMA_LEN, EDU_DMA_TO_RAM),
	      "edu's DMA to IOVA %#llx did not complete in 5 s", (unsigned long long)iova);
}
