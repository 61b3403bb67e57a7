package storage

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestProviderKeys(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)

	// Priorities in creation order; the list is by priority, then creation.
	prios := []int{2, 1, 2, 0, 1}
	var keys []*ProviderKey
	for i, p := range prios {
		k := &ProviderKey{Provider: "openai", Label: "key " + itoa(i), Priority: p, Sealed: []byte{byte(i), 0, 0xff}, Last4: "abc" + itoa(i), BaseURL: "https://r" + itoa(i) + ".example"}
		if err := b.CreateProviderKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if !validID(ProviderKeyIDPrefix, k.ID) || k.CreatedAt.IsZero() {
			t.Fatalf("ID %q / CreatedAt %v not filled", k.ID, k.CreatedAt)
		}
		keys = append(keys, k)
	}
	// Keys of providers whose names start like "openai" stay apart.
	for _, p := range []string{"openai2", "open", "openai.eu"} {
		if err := b.CreateProviderKey(ctx, &ProviderKey{Provider: p, Label: "other"}); err != nil {
			t.Fatal(err)
		}
	}

	list, err := b.ListProviderKeys(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	wantOrder := []int{3, 1, 4, 0, 2}
	if len(list) != len(wantOrder) {
		t.Fatalf("%d keys, want %d", len(list), len(wantOrder))
	}
	for i, w := range wantOrder {
		if !reflect.DeepEqual(&list[i], keys[w]) {
			t.Fatalf("position %d: %+v, want %+v", i, list[i], *keys[w])
		}
	}

	got, err := b.GetProviderKey(ctx, "openai", keys[2].ID)
	if err != nil || !reflect.DeepEqual(got, keys[2]) {
		t.Fatalf("get: %+v, %v", got, err)
	}

	if err := b.DeleteProviderKey(ctx, "openai", keys[2].ID); err != nil {
		t.Fatal(err)
	}
	list, err = b.ListProviderKeys(ctx, "openai")
	if err != nil || len(list) != 4 {
		t.Fatalf("after delete: %d keys, %v", len(list), err)
	}

	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"get deleted", func() error { _, err := b.GetProviderKey(ctx, "openai", keys[2].ID); return err }, ErrNotFound},
		{"delete deleted", func() error { return b.DeleteProviderKey(ctx, "openai", keys[2].ID) }, ErrNotFound},
		{"get with other provider", func() error { _, err := b.GetProviderKey(ctx, "anthropic", keys[0].ID); return err }, ErrNotFound},
		{"delete with other provider", func() error { return b.DeleteProviderKey(ctx, "openai2", keys[0].ID) }, ErrNotFound},
		{"get garbage ID", func() error { _, err := b.GetProviderKey(ctx, "openai", "../x"); return err }, ErrNotFound},
		{"get with slash provider", func() error { _, err := b.GetProviderKey(ctx, "openai/"+keys[0].ID, keys[0].ID); return err }, ErrNotFound},
		{"create without provider", func() error { return b.CreateProviderKey(ctx, &ProviderKey{}) }, ErrInvalid},
		{"create with slash in provider", func() error { return b.CreateProviderKey(ctx, &ProviderKey{Provider: "a/b"}) }, ErrInvalid},
		{"create with long provider", func() error {
			return b.CreateProviderKey(ctx, &ProviderKey{Provider: strings.Repeat("p", maxProviderLen+1)})
		}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.op(), tt.want) })
	}

	for _, p := range []string{"", "a/b", "nobody"} {
		if list, err := b.ListProviderKeys(ctx, p); err != nil || len(list) != 0 {
			t.Fatalf("provider %q: %d keys, %v", p, len(list), err)
		}
	}
}
