package redisstore

import (
	"testing"

	"github.com/ordergraph/ordergraph/internal/component/componenttest"
	"github.com/ordergraph/ordergraph/internal/redistest"
)

func TestComponentStoreContract(t *testing.T) {
	srv := redistest.Start(t)
	componenttest.StoreContract(t, open(t, srv).Component())
}
