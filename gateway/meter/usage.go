// Package meter reads token usage from provider answers, in every dialect,
// streaming included, and estimates it when a stream is cut before the
// provider reported it.
package meter

// Usage is what one request consumed, in the provider's own counts.
type Usage struct {
	// InputTokens are prompt tokens billed at the input price: the
	// provider's input count minus CachedInputTokens and CacheWriteTokens.
	InputTokens int64 `json:"input_tokens"`
	// CachedInputTokens are prompt tokens read from the provider's prompt
	// cache, billed at the cached-input price.
	CachedInputTokens int64 `json:"cached_input_tokens"`
	// CacheWriteTokens are prompt tokens written to the provider's prompt
	// cache (Anthropic's cache_creation_input_tokens), billed at the
	// cache-write price where the provider has one.
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	// OutputTokens are completion tokens, reasoning tokens included.
	OutputTokens int64 `json:"output_tokens"`
	// Estimated is true when some count was estimated locally because the
	// provider's usage never arrived (a cut stream).
	Estimated bool `json:"estimated"`
}

// TotalInput is every prompt token, however billed.
func (u Usage) TotalInput() int64 { return u.InputTokens + u.CachedInputTokens + u.CacheWriteTokens }

// Total is every token.
func (u Usage) Total() int64 { return u.TotalInput() + u.OutputTokens }
