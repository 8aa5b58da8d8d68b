package checks

import "context"

// checkNone is service = none: as in ldirectord, the real server is not
// contacted at all and is always up. Use checktype = connect to have it
// connected to.
func checkNone(ctx context.Context, t Target) Result {
	return up("service none: not checked")
}
