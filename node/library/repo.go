package library

import (
	"context"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/store"
)

// VerifyRepo checks the store (store.DB.Verify): a read transaction, so it
// runs beside the node's work.
func (s *Service) VerifyRepo(ctx context.Context) (apitype.VerifyReport, error) {
	rep, err := s.db.Verify(ctx)
	return apitype.VerifyReport(rep), err
}

// CompactRepo compacts the store at path, which no running node may hold
// (store.Compact).
func CompactRepo(ctx context.Context, path string) (apitype.CompactResult, error) {
	res, err := store.Compact(ctx, path)
	return apitype.CompactResult(res), svc.StoreErr(err)
}
