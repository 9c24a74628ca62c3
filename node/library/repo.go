package library

import (
	"context"

	"github.com/myconet/myconet/store"
)

// VerifyRepo checks the store (store.DB.Verify): a read transaction, so it
// runs beside the node's work.
func (s *Service) VerifyRepo(ctx context.Context) (store.VerifyReport, error) {
	return s.db.Verify(ctx)
}

// CompactRepo compacts the store at path, which no running node may hold
// (store.Compact).
func CompactRepo(ctx context.Context, path string) (store.CompactResult, error) {
	res, err := store.Compact(ctx, path)
	return res, StoreErr(err)
}
