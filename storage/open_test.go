package storage

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func TestOpenTwiceFailsFast(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "llm_gateway")
	b, err := Open(dir, Options{GCInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode: %v, %v", fi.Mode(), err)
	}
	svc := mustService(t, b, "survives")

	start := time.Now()
	second, err := Open(dir, Options{})
	if err == nil {
		second.Close()
		t.Fatal("second Open on a locked directory succeeded")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("second Open took %v to fail", took)
	}
	for _, want := range []string{dir, "another Caddy process"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = b.GetService(context.Background(), svc.ID)
	wantErr(t, err, ErrClosed)
	wantErr(t, b.CreateService(context.Background(), &Service{Name: "late"}), ErrClosed)

	b, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	defer b.Close()
	got, err := b.GetService(context.Background(), svc.ID)
	if err != nil || got.Name != "survives" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
}

func TestOpenRejectsOtherSchema(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(keySchema), []byte("99")) }); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if b, err := Open(dir, Options{}); err == nil {
		b.Close()
		t.Fatal("Open accepted schema 99")
	} else if !strings.Contains(err.Error(), "schema") {
		t.Fatalf("error %q does not mention the schema", err)
	}
}
