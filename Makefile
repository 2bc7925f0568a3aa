# mapdirect: MAP_DIRECT leased block maps for DAX files on Linux 6.12.
#
#   make demo           boot the VM and show MAP_DIRECT at work (three short acts)
#   make bench          MAP_DIRECT benchmarks in the VM (ratios, one run)
#   make bench-stock    no-lease costs: patched kernel against stock 6.12
#   make check          build the patched kernel and the tests, run every test
#                       in the VM; ends with "N passed, N failed"
#   make check T='map-sync-*'   only the tests whose names match
#   make vm CMD='...'   boot the VM and run CMD as root in the repository root
#   make vm             interactive shell in the VM
#   make kernel         unpack/patch/configure/build the kernel only
#   make export         write the commits of build/linux back to kernel/patches
#   make clean          remove build output (keeps the kernel tree and ccache)
#   make distclean      remove build/ entirely

SHELL := /bin/bash
export CMD T

.PHONY: all deps kernel tests demo-bin demo bench-bin bench bench-stock check vm export clean distclean

all: kernel tests

deps:
	@scripts/deps.sh

kernel: deps
	@kernel/scripts/build.sh

tests: deps kernel
	@$(MAKE) -s -C tests

demo-bin: deps
	@$(MAKE) -s -C demo

demo: kernel demo-bin
	@echo "==> booting the VM for the demo (about 30 s)"
	@MAPDIRECT_VM_QUIET=1 vm/run.sh demo/run.sh

bench-bin: deps
	@$(MAKE) -s -C bench

bench: kernel bench-bin
	@echo "==> booting the VM for the benchmarks (about 30 s, then about a minute)"
	@MAPDIRECT_VM_QUIET=1 vm/run.sh 'for d in $$MAPDIRECT_XFS $$MAPDIRECT_EXT4; do build/bench/mapdirect_bench $$d || exit 1; done && build/bench/rdma_bench $$MAPDIRECT_XFS $$MAPDIRECT_DEVDAX $$MAPDIRECT_XFS'

bench-stock: kernel bench-bin
	@bench/stock.sh

check: kernel tests
	@tests/check.sh $(T)

vm: kernel tests
	@if [ -n "$$CMD" ]; then vm/run.sh "$$CMD"; else vm/run.sh; fi

export:
	@kernel/scripts/export.sh

clean:
	rm -rf build/obj build/tests build/kselftest build/demo build/bench build/headers build/vm build/vm2 build/check.log build/check-selftests.log

distclean:
	rm -rf build
