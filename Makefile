# mapdirect: MAP_DIRECT leased block maps for DAX files on Linux 6.12.
#
#   make demo           boot the VM and show MAP_DIRECT at work (three short acts)
#   make bench          MAP_DIRECT benchmarks in the VM (ratios, one run)
#   make bench-stock    no-lease costs: patched kernel against stock 6.12
#   make bench-profile  perf profile of MAP_DIRECT mmap+munmap in the VM
#   make bench-insns    instructions MAP_DIRECT adds (QEMU plugin, exact)
#   make bench-insns-profile  ... per kernel function, for mmap+munmap
#   make check          build the patched kernel and the tests, run every test
#                       in the VM; ends with "N passed, N failed"
#   make check T='reg_mr_* !reg_mr_race'   only the test programs whose
#                       names (tests/list) match these globs; !GLOB excludes
#   make check-iommu    only the IOMMU tests (make check runs them too): DMA
#                       from QEMU's edu device through an emulated Intel
#                       IOMMU into MAP_DIRECT memory, iommufd and VFIO
#   make stress         randomized MAP_DIRECT stress in the VM (STRESS_SECONDS,
#                       default 180, per file system, both side by side)
#   make stress-kasan   the same on a KASAN + kmemleak + lockdep kernel
#   make stress MAPDIRECT_VM_PROFILE=iommu   (or stress-kasan) with IOMMU
#                       workers too, in the iommu VM (edu DMAs, iommufd)
#   make kernel-modular build the series with DEV_DAX, RDMA, XFS, ext4 as modules
#   make kernel-deb     Debian packages of the patched kernel for real machines,
#                       from Debian's own configuration (build/kernel-deb;
#                       hours on 2 cores; not part of check or CI)
#   make lint           shellcheck every script, mandoc -T lint every man page
#   make lib tool       libmapdirect (build/lib) and the mapdirect command
#                       (build/bin)
#   make install        install them, the header, mapdirect.pc and the man
#                       pages (PREFIX=/usr/local, DESTDIR)
#   make deb            Debian packages of them in build/deb
#   make vm CMD='...'   boot the VM and run CMD as root in the repository root
#   make vm             interactive shell in the VM
#   make kernel         unpack/patch/configure/build the kernel only
#   make export         write the commits of build/linux back to kernel/patches
#   make clean          remove build output (keeps the kernel tree and ccache)
#   make distclean      remove build/ entirely

SHELL := /bin/bash
export CMD T

.PHONY: check-iommu all deps kernel kernel-modular kernel-deb kernel-kasan kernel-bench lib tool install deb tests demo-bin demo bench-bin bench bench-stock bench-profile bench-insns bench-insns-profile check stress stress-kasan vm export lint clean distclean

all: kernel tests

deps:
	@scripts/deps.sh

kernel: deps
	@kernel/scripts/build.sh

lib: deps
	@$(MAKE) -s -C libmapdirect

tool: lib
	@$(MAKE) -s -C tool

deb: lib tool
	@scripts/deb.sh

tests: deps kernel tool
	@$(MAKE) -s -C tests

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
install: lib tool
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(PREFIX)/bin
	install -m 0755 build/lib/libmapdirect.so.1.0.0 $(DESTDIR)$(LIBDIR)/
	ln -sf libmapdirect.so.1.0.0 $(DESTDIR)$(LIBDIR)/libmapdirect.so.1
	ln -sf libmapdirect.so.1 $(DESTDIR)$(LIBDIR)/libmapdirect.so
	install -m 0644 build/lib/libmapdirect.a $(DESTDIR)$(LIBDIR)/
	install -m 0755 build/lib/libmapdirect-preload.so $(DESTDIR)$(LIBDIR)/
	install -m 0644 libmapdirect/mapdirect.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|1.0.0|' \
	    libmapdirect/mapdirect.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/mapdirect.pc
	install -m 0755 build/bin/mapdirect $(DESTDIR)$(PREFIX)/bin/
	for d in man/man*; do \
		install -d $(DESTDIR)$(MANDIR)/$${d#man/} && \
		cp -P $$d/* $(DESTDIR)$(MANDIR)/$${d#man/}/ || exit 1; \
	done

# Sourced files that exist only at run time (/run/mapdirect.env) are not
# followed (SC1091).
SCRIPTS = $(shell git ls-files '*.sh') vm/guest-init
MANPAGES = $(shell git ls-files 'man/*/*')
lint: deps
	@shellcheck -x -e SC1091 $(SCRIPTS)
	@mandoc -T lint -W warning $(MANPAGES)
	@echo "lint: $(words $(SCRIPTS)) scripts and $(words $(MANPAGES)) man page(s) clean"

demo-bin: deps lib
	@$(MAKE) -s -C demo

demo: kernel demo-bin tool
	@echo "==> booting the VM for the demo (about 30 s)"
	@MAPDIRECT_VM_QUIET=1 vm/run.sh demo/run.sh

bench-bin: deps lib
	@$(MAKE) -s -C bench

kernel-bench: deps
	@MAPDIRECT_KERNEL_FLAVOUR=bench kernel/scripts/build.sh

bench: kernel-bench bench-bin
	@scripts/deps.sh linux-perf
	@bench/run.sh

bench-profile: kernel-bench bench-bin
	@scripts/deps.sh linux-perf
	@MAPDIRECT_KERNEL=build/obj-bench/arch/x86/boot/bzImage vm/run.sh bench/profile.sh

bench-insns: kernel-bench bench-bin
	@bench/insns.sh

bench-insns-profile: kernel-bench bench-bin
	@bench/insns-profile.sh

bench-stock: kernel-bench bench-bin
	@bench/stock.sh

check: kernel tests
	@set -f; tests/check.sh $(T)

# The tests named iommu* run in the "iommu" VM profile (q35, emulated Intel
# IOMMU, QEMU's edu device), which tests/check.sh boots for them.
check-iommu: kernel tests
	@set -f; tests/check.sh 'iommu*'

STRESS_SECONDS ?= 180
STRESS_CMD = MAPDIRECT_VM_PROFILE=$(MAPDIRECT_VM_PROFILE) STRESS_SECONDS=$(STRESS_SECONDS) \
	build/tests/stress $$MAPDIRECT_XFS $$MAPDIRECT_EXT4 $$MAPDIRECT_DEVDAX

stress: kernel tests
	@echo "==> booting the VM for $(STRESS_SECONDS) s of stress on XFS, ext4 and device-dax"
	@MAPDIRECT_VM_TIMEOUT=$$(( $(STRESS_SECONDS) + 600 )) vm/run.sh '$(STRESS_CMD)'

kernel-modular: deps
	@MAPDIRECT_KERNEL_FLAVOUR=modular kernel/scripts/build.sh

kernel-deb:
	@scripts/deps.sh debhelper linux-config-6.12
	@kernel/scripts/deb.sh

kernel-kasan: deps
	@MAPDIRECT_KERNEL_FLAVOUR=kasan kernel/scripts/build.sh

stress-kasan: kernel-kasan tests
	@echo "==> booting the KASAN kernel for $(STRESS_SECONDS) s of stress on XFS, ext4 and device-dax"
	@# KASAN under TCG is slow enough to trip the 20 s soft-lockup watchdog
	@# while booting (ACPI init); 60 s makes it 120 s, still caught.
	@MAPDIRECT_KERNEL=build/obj-kasan/arch/x86/boot/bzImage MAPDIRECT_VM_MEM=3G \
		MAPDIRECT_VM_APPEND=watchdog_thresh=60 \
		MAPDIRECT_VM_TIMEOUT=$$(( $(STRESS_SECONDS) * 3 + 900 )) vm/run.sh '$(STRESS_CMD)'

vm: kernel tests
	@if [ -n "$$CMD" ]; then vm/run.sh "$$CMD"; else vm/run.sh; fi

export:
	@kernel/scripts/export.sh

clean:
	rm -rf build/obj build/tests build/kselftest build/demo build/bench build/lib build/bin build/headers build/vm build/vm2 build/vm-harness build/check.log build/check-selftests.log

distclean:
	rm -rf build
