#!/usr/bin/env bash
# make demo (runs in the VM): MAP_DIRECT in two short acts.
#   A maps a DAX file with MAP_DIRECT and makes records durable with cache
#   flushes only; B truncates the file, which needs the block map back.
#   Act 1: A cooperates (unmaps on the notice); B finishes at once.
#   Act 2: A ignores the notice; B waits lease-break-time, then the kernel
#          revokes A's mapping and A's next access gets SIGBUS.
#   Act 3: a server maps the file with MAP_DIRECT and registers it for RDMA;
#          a client writes records into it with RDMA WRITE; B truncates; the
#          server ignores the notice, the kernel revokes the registration,
#          and no byte lands in the freed blocks, now another user's file.
set -u
cd "$(dirname "$0")/.." || exit 1
holder=build/demo/holder
dir=${MAPDIRECT_XFS:?run this in the VM: make demo}
file=$dir/demo.dat
ready=/tmp/demo.ready
ms() { echo $(($(date +%s%N) / 1000000)); }
wait_ready() { # pid who: until $ready exists, or the program died
	while [ ! -e "$ready" ]; do
		kill -0 "$1" 2>/dev/null || { echo "demo: $2 failed"; return 1; }
		sleep 0.05
	done
}

act() { # title mode lease-break-time
	local t0 t1 pid
	echo
	echo "== $1 =="
	echo "$3" >/proc/sys/fs/lease-break-time
	echo "   (lease-break-time: $3 s)"
	rm -f "$file" "$ready"
	head -c 4M /dev/zero >"$file" && sync "$file"   # allocated and written
	"$holder" "$file" "$2" "$ready" &
	pid=$!
	wait_ready $pid A || return 1
	echo "B: truncate -s 1M $(basename "$file")   (needs the block map: breaks A's lease)"
	t0=$(ms)
	truncate -s 1M "$file"
	t1=$(ms)
	wait $pid
	echo "B: truncate finished after $((t1 - t0)) ms"
}

act3() {
	local t0 t1 pid go=/tmp/demo.go victim=$dir/demo-victim.dat
	echo
	echo "== Act 3: RDMA into persistent memory =="
	echo 2 >/proc/sys/fs/lease-break-time
	echo invalidate >/sys/module/rdma_rxe/parameters/revoke_policy
	echo "   (lease-break-time: 2 s; rdma_rxe revoke_policy: invalidate)"
	rm -f "$file" "$ready" "$go" "$victim"
	head -c 4M /dev/zero >"$file" && sync "$file"
	build/demo/rdmastore "$file" "$ready" "$go" &
	pid=$!
	wait_ready $pid "the RDMA server" || return 1
	echo "B: mapdirect ls: who holds $(basename "$file")?"
	build/bin/mapdirect ls -o PID,COMMAND,HOLDER,DEVICE,BYTES,STATE "$file" | sed 's/^/   /'
	echo "B: truncate -s 0 $(basename "$file")   (the registration holds the lease)"
	t0=$(ms)
	truncate -s 0 "$file"
	t1=$(ms)
	echo "B: truncate finished after $((t1 - t0)) ms"
	head -c 4M /dev/zero | tr '\0' '\245' >"$victim" && sync "$victim"
	chown nobody "$victim"
	echo "B: the freed blocks now belong to $(basename "$victim") (owner nobody)"
	touch "$go"
	wait $pid || return 1
	if head -c 4M /dev/zero | tr '\0' '\245' | cmp -s - "$victim"; then
		echo "B: $(basename "$victim") holds only its own bytes: no DMA landed in it"
	else
		echo "demo: $(basename "$victim") was changed by DMA!"
		return 1
	fi
	rm -f "$file" "$victim" "$go"
}

act "Act 1: A cooperates" cooperate 30 || exit 1
act "Act 2: A ignores the notice" ignore 2 || exit 1
echo
echo "The records A flushed survive: $(head -c 64 "$file" | tr -d '\0')..."
rm -f "$file"
act3 || exit 1
