#!/usr/bin/env bash
# Print "kvm" if QEMU can boot a guest with KVM on this machine, else "tcg".
# A /dev/kvm that is there but cannot run guests (a software nested-
# virtualisation device, as on the project's own test machines) makes QEMU
# abort or hang in early boot: the kernel must reach its root-mount panic
# within 20 s.
# usage: vm/probe-kvm.sh BZIMAGE
set -u
kernel=$1
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo tcg
	exit 0
fi
out=$(timeout --kill-after=2 20 qemu-system-x86_64 -accel kvm -cpu host -m 256M \
	-kernel "$kernel" -append "console=ttyS0 panic=-1 root=/dev/nonexistent" \
	-display none -nodefaults -no-reboot -monitor none -serial stdio </dev/null 2>&1)
case "$out" in
*"VFS: Unable to mount root"* | *"Kernel panic"*) echo kvm ;;
*) echo tcg ;;
esac
