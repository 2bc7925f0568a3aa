// SPDX-License-Identifier: MIT
/* What a libmapdirect error means, and what to do about it. */
#include <errno.h>
#include <string.h>

#include "mapdirect.h"

const char *mapdirect_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return "success";
	case EOPNOTSUPP:
		return "MAP_DIRECT is not supported here: the kernel lacks it, the file is "
		       "not on a DAX mount (mount -o dax=always on XFS, -o dax on ext4), or "
		       "it has shared (reflinked) extents";
	case EACCES:
		return "permission denied: a MAP_DIRECT lease needs the file's owner or "
		       "CAP_LEASE, and reading /proc/fs/mapdirect needs root";
	case EAGAIN:
		return "the file's block map is busy (a lease is being broken, or blocks "
		       "are being moved): try again";
	case EBUSY:
		return "the lease is being broken: unmap, then map again once the breaker "
		       "is done";
	case ENODATA:
		return "the file is shorter than the mapping (a hole would fault with "
		       "SIGBUS): map with MAPDIRECT_ALLOCATE or write the range first";
	case ENOENT:
		return "no such file (MAPDIRECT_CREATE creates it), or /proc/fs/mapdirect "
		       "is missing: not a MAP_DIRECT kernel";
	case EINVAL:
		return "invalid argument: a length of 0 for a device, unknown flags, or an "
		       "unknown mapping";
	case EIO:
		return "I/O error: the file system was shut down";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
