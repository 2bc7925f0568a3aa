#!/usr/bin/env bash
# Boot the built mapdirect kernel under QEMU (TCG) and run a command in it.
#
#   vm/run.sh 'shell command'   run it as root in the guest, in the repository
#                               root; exit with its status
#   vm/run.sh                   interactive shell in the guest
#
# Environment: MAPDIRECT_VM_TIMEOUT (seconds, default 900; 3600 interactive),
# MAPDIRECT_KEEP=1 (keep the file systems of the previous run: no mkfs),
# MAPDIRECT_VM_SMP (default 2), MAPDIRECT_VM_MEM (default 2G),
# MAPDIRECT_VM_QUIET=1 (no closing status line), MAPDIRECT_VM_KILL_ON=TEXT
# (power cut: kill QEMU as soon as the command prints TEXT; exit 0 then),
# MAPDIRECT_KERNEL (another bzImage, e.g. the stock kernel of bench/stock.sh),
# MAPDIRECT_VM_APPEND (extra kernel command line, e.g. initcall_debug),
# MAPDIRECT_VM_QEMU_ARGS (extra QEMU arguments, split at spaces, e.g. a
# TCG plugin: bench/insns.sh),
# MAPDIRECT_VM_DIR (default build/vm: NVDIMM images, console log, out share;
# VMs with different directories can run side by side), MAPDIRECT_VM_LOG
# (the console log, default VMDIR/console.log), MAPDIRECT_VM_ACCEL
# (kvm or tcg; default: KVM if it works on this machine, probed once by
# vm/probe-kvm.sh and remembered in build/accel, else TCG),
# MAPDIRECT_VM_PROFILE (empty: the test VM; "iommu": a q35 machine with an
# emulated Intel IOMMU and QEMU's edu PCI device, for userspace DMA through
# iommufd/VFIO; give it its own MAPDIRECT_VM_DIR to run beside the other).
#
# Ctrl-C, SIGTERM or SIGHUP stop QEMU and exit 130; if this script is killed
# outright, QEMU gets SIGKILL with it (parent-death signal).
#
# The guest's root is the host's / (read-only, virtio-9p); build/vm/out is
# writable at /mnt/out.  Emulated NVDIMMs are sparse files in build/vm/.
# The kernel console goes to build/vm/console.log.  A panic, oops, BUG,
# WARNING, lockdep report, hung task or timeout fails the run, whatever the
# command's status, and the log's tail is printed.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${MAPDIRECT_BUILD:-$REPO/build}
VMDIR=${MAPDIRECT_VM_DIR:-$BUILD/vm}
KERNEL=${MAPDIRECT_KERNEL:-$BUILD/obj/arch/x86/boot/bzImage}
LOG=${MAPDIRECT_VM_LOG:-$VMDIR/console.log}

die() { echo "vm: $*" >&2; exit 2; }
[ -f "$KERNEL" ] || die "no kernel at ${KERNEL#"$REPO"/}: run 'make kernel' first"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run scripts/deps.sh"

interactive=0
if [ $# -eq 0 ]; then
	interactive=1
	[ -t 0 ] || die "an interactive VM needs a terminal; give a command: make vm CMD='...'"
fi
timeout_s=${MAPDIRECT_VM_TIMEOUT:-$([ $interactive = 1 ] && echo 3600 || echo 900)}

mkdir -p "$VMDIR/out"
exec 9>"$VMDIR/lock"
flock -n 9 || die "another VM is running from this tree (${VMDIR#"$REPO"/}/lock)"

# QEMU dies with this script: on Ctrl-C, SIGTERM or SIGHUP we stop it
# (timeout passes SIGTERM on); if we are killed outright, the kernel sends
# both timeout and QEMU SIGKILL (parent-death signal).
qpid=
# shellcheck disable=SC2317 # runs from the trap
stop_vm() {
	trap - INT TERM HUP
	[ -n "$qpid" ] && kill -TERM "$qpid" 2>/dev/null
	pkill -TERM -f "qemu-system.*$VMDIR/nvdimm0.img" 2>/dev/null
	echo "vm: interrupted: QEMU stopped" >&2
	exit 130
}
trap stop_vm INT TERM HUP

[ $interactive = 1 ] || printf '%s\n' "$*" >"$VMDIR/out/.cmd"

# KVM where it works (fast VMs on real machines), TCG otherwise: the
# project's own machines have a /dev/kvm that cannot run guests.
accel=${MAPDIRECT_VM_ACCEL:-}
if [ -z "$accel" ]; then
	accel=$(cat "$BUILD/accel" 2>/dev/null)
	case "$accel" in kvm | tcg) ;; *)
		echo "vm: checking whether KVM works here (once, up to 20 s)" >&2
		accel=$("$REPO/vm/probe-kvm.sh" "$KERNEL")
		echo "$accel" >"$BUILD/accel"
		echo "vm: using ${accel^^} (remembered in ${BUILD#"$REPO"/}/accel)" >&2 ;;
	esac
fi
case "$accel" in
kvm) cpu=host ;;
tcg) cpu=max ;;
*) die "MAPDIRECT_VM_ACCEL=$accel: use kvm or tcg" ;;
esac

# NVDIMM images: sparse; sizes are part of the layout the guest expects.
# The 2G image comes up as region1 (XFS), the 1G one as region2 (ext4).
nvdimm_args=()
i=0
for size in 1088M 1G 2G; do
	img=$VMDIR/nvdimm$i.img
	if [ ! -f "$img" ] || [ "$(stat -c %s "$img")" != "$(numfmt --from=iec "$size")" ]; then
		rm -f "$img"
		truncate -s "$size" "$img"
	fi
	nvdimm_args+=(-object "memory-backend-file,id=nv$i,share=on,mem-path=$img,size=$size,align=2M"
		-device "nvdimm,id=nvdimm$i,memdev=nv$i")
	i=$((i + 1))
done

# The machine: the test VM's, or a profile's.
machine=pc,nvdimm=on
profile_args=()
profile_append=
case "${MAPDIRECT_VM_PROFILE:-}" in
'') ;;
iommu)
	# The IOMMU first: QEMU wants it before the PCI devices it translates.
	# edu's DMA engine copies between its 4 KiB buffer and bus addresses
	# (28-bit DMA mask), through the IOMMU.
	# The emulated VT-d remaps no interrupts here (intremap is off and the
	# guest kernel has no IRQ_REMAP), so iommufd would refuse to bind a
	# device whose MSIs are not isolated; the tests poll, they use none.
	machine=q35,nvdimm=on
	profile_args=(-device intel-iommu -device edu)
	profile_append=" intel_iommu=on iommufd.allow_unsafe_interrupts=1" ;;
*) die "MAPDIRECT_VM_PROFILE=$MAPDIRECT_VM_PROFILE: unknown (empty or iommu)" ;;
esac

append="console=ttyS0 root=/dev/root rootfstype=9p"
append+=" rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose ro"
append+=" init=$REPO/vm/guest-init panic=-1 oops=panic loglevel=6"
append+=" mapdirect_interactive=$interactive MAPDIRECT_KEEP=${MAPDIRECT_KEEP:-0}"
[ $interactive = 1 ] && append+=" TERM=${TERM:-linux}"
append+="$profile_append ${MAPDIRECT_VM_APPEND:-}"

: >"$LOG"
# QEMU's own messages (an emulated IOMMU reports each DMA fault the tests
# provoke) go to a file, not between the test results; shown on failure.
QLOG=$VMDIR/qemu.log
: >"$QLOG"
# shellcheck disable=SC2054 # the commas are QEMU's
qemu=(qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -smp "${MAPDIRECT_VM_SMP:-2}"
	-machine "$machine" "${profile_args[@]}"
	-m "${MAPDIRECT_VM_MEM:-2G},slots=4,maxmem=8G"
	"${nvdimm_args[@]}"
	-kernel "$KERNEL" -append "$append"
	-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap
	-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root
	-fsdev "local,id=out,path=$VMDIR/out,security_model=none,multidevs=remap"
	-device virtio-9p-pci,fsdev=out,mount_tag=mapdirect-out
	-display none -nodefaults -no-reboot -monitor none
	-serial "file:$LOG")
# shellcheck disable=SC2206 # split at spaces, as documented
qemu+=(${MAPDIRECT_VM_QEMU_ARGS:-})

guarded=(setpriv --pdeathsig KILL timeout "$timeout_s" setpriv --pdeathsig KILL)

start=$(date +%s)
if [ $interactive = 1 ]; then
	timeout --foreground "$timeout_s" "${qemu[@]}" -serial stdio
	qrc=$?
elif [ -n "${MAPDIRECT_VM_KILL_ON:-}" ]; then
	# Power cut: once the guest prints the marker, kill QEMU outright (no
	# sync, no unmount).  The NVDIMM images keep what the guest stored.
	cut=0
	coproc QEMU { "${guarded[@]}" "${qemu[@]}" -serial stdio </dev/null 2>>"$QLOG"; }
	qpid=$QEMU_PID qout=${QEMU[0]} # bash unsets both when the coproc ends
	while IFS= read -r line <&"$qout"; do
		printf '%s\n' "$line"
		case "$line" in *"$MAPDIRECT_VM_KILL_ON"*)
			pkill -KILL -f "qemu-system.*$VMDIR/nvdimm0.img" && cut=1
			break ;;
		esac
	done
	wait "$qpid" 2>/dev/null
	qrc=$?
else
	# In the background, so that the trap runs while we wait.
	"${guarded[@]}" "${qemu[@]}" -serial stdio </dev/null 2>>"$QLOG" &
	qpid=$!
	wait "$qpid"
	qrc=$?
fi
trap - INT TERM HUP
elapsed=$(($(date +%s) - start))

# Verdict from the console log.
bad_re='Kernel panic|kernel BUG at|BUG: |Oops|WARNING:|cut here|possible recursive locking|possible circular locking|inconsistent lock state|lockdep|INFO: task .* blocked|general protection fault|UBSAN:|KASAN:|soft lockup|hard LOCKUP|Call Trace:'
status=$(sed -n 's/.*mapdirect-vm: exit status \([0-9]*\).*/\1/p' "$LOG" | tail -1)
taint=$(sed -n 's/.*mapdirect-vm: tainted=\([0-9]*\).*/\1/p' "$LOG" | tail -1)
problem=
if [ $qrc -eq 124 ]; then
	problem="timed out after ${timeout_s} s (MAPDIRECT_VM_TIMEOUT)"
elif grep -Eq "$bad_re" "$LOG"; then
	problem="the kernel log reports: $(grep -Em1 "$bad_re" "$LOG" | sed 's/^\[[ 0-9.]*\] //')"
elif [ "${cut:-0}" = 1 ]; then
	echo "vm: power cut: QEMU killed after '$MAPDIRECT_VM_KILL_ON'" >&2
	exit 0
elif [ -z "$status" ]; then
	problem="the guest stopped without reporting an exit status (QEMU exit $qrc)"
elif [ -n "$taint" ] && [ $((taint & (1 << 9 | 1 << 7 | 1 << 14))) -ne 0 ]; then
	problem="the kernel is tainted ($taint: WARN, die or lockup)"
fi

if [ -n "$problem" ]; then
	{
		echo "vm: FAILED: $problem"
		# The report itself (its first 50 lines), then the log's end.
		first=$(grep -nEm1 "$bad_re" "$LOG" | cut -d: -f1)
		if [ -n "$first" ]; then
			echo "vm: the report, from ${LOG#"$REPO"/} line $first:"
			sed -n "$((first > 3 ? first - 3 : 1)),$((first + 50))p" "$LOG" | sed 's/^/  | /'
		fi
		echo "vm: last lines of ${LOG#"$REPO"/}:"
		tail -n 20 "$LOG" | sed 's/^/  | /'
		if [ -s "$QLOG" ]; then
			echo "vm: QEMU said (${QLOG#"$REPO"/}):"
			tail -n 10 "$QLOG" | sed 's/^/  | /'
		fi
	} >&2
	[ -n "$status" ] && [ "$status" -ne 0 ] && exit "$status"
	exit 1
fi
[ $interactive = 1 ] || [ -n "${MAPDIRECT_VM_QUIET:-}" ] ||
	echo "vm: exit status $status (${elapsed} s; console log: ${LOG#"$REPO"/})" >&2
exit "$status"
