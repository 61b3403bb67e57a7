package meter

// Dialects and operations, spelled as in the gateway's provider package.
const (
	DialectOpenAI    = "openai"
	DialectAnthropic = "anthropic"
	DialectGemini    = "gemini"

	OpChatCompletions = "chat_completions"
	OpResponses       = "responses"
	OpEmbeddings      = "embeddings"
	OpMessages        = "messages"
	OpCountTokens     = "count_tokens"
	OpGenerateContent = "generate_content"
)

// FromBody reads the usage of a whole (non-streamed) JSON answer. It
// reports false when the body carries no usage: not JSON, an error body, or
// no count in its usage object. Token counting (op count_tokens, in the
// Anthropic and Gemini dialects) is free and always reports a zero Usage.
//
// How each provider's usage maps to Usage (for FromBody and Stream alike);
// InputTokens is always the prompt that was neither read from nor written
// to a cache.
//
// OpenAI chat completions and embeddings (`usage`), Responses API (`usage`,
// or `response.usage` in the terminal stream events):
//
//	prompt_tokens | input_tokens                     total prompt, caches included
//	  …_tokens_details.cached_tokens                 → CachedInputTokens (a subset)
//	  …_tokens_details.cache_write_tokens            → CacheWriteTokens (a subset)
//	  the rest                                       → InputTokens
//	completion_tokens | output_tokens                → OutputTokens (reasoning included)
//
// Two compatible-server variants are honoured: DeepSeek's
// prompt_cache_hit_tokens when no cached_tokens is given, and xAI's
// reasoning_tokens reported outside completion_tokens (recognised by
// total_tokens = prompt + completion + reasoning), which are added to the
// output.
//
// Anthropic Messages (`usage`, `message.usage` in message_start, `usage`
// in message_delta):
//
//	input_tokens                   → InputTokens (excludes cache reads and writes)
//	cache_read_input_tokens        → CachedInputTokens
//	cache_creation_input_tokens    → CacheWriteTokens
//	output_tokens                  → OutputTokens (thinking included)
//
// Anthropic count_tokens (and Gemini countTokens, should the gateway route
// it as count_tokens) is free: its usage is known to be zero.
//
// Gemini generateContent and streamGenerateContent (`usageMetadata`):
//
//	promptTokenCount − cachedContentTokenCount + toolUsePromptTokenCount → InputTokens
//	cachedContentTokenCount                                              → CachedInputTokens
//	candidatesTokenCount + thoughtsTokenCount                            → OutputTokens
//
// (promptTokenCount includes the cached content; totalTokenCount is the sum
// of prompt, candidates, tool-use prompt and thoughts, so tool results fed
// back to the model are input. responseTokenCount, the newer name of
// candidatesTokenCount in some surfaces, is read when the latter is absent.)
func FromBody(dialect, op string, body []byte) (Usage, bool) {
	switch dialect {
	case DialectOpenAI:
		u, ok := field(body, "usage")
		if !ok || !isObject(u) {
			return Usage{}, false
		}
		return openAIUsage(u)
	case DialectAnthropic:
		if op == OpCountTokens {
			return Usage{}, true
		}
		u, ok := field(body, "usage")
		if !ok || !isObject(u) {
			return Usage{}, false
		}
		var c anthropicCounts
		c.merge(u)
		if !c.haveIn && !c.haveOut {
			return Usage{}, false
		}
		return c.usage, true
	case DialectGemini:
		if op == OpCountTokens {
			return Usage{}, true
		}
		// streamGenerateContent without alt=sse answers a JSON array of
		// responses: the last usageMetadata is the total.
		if i := skipSpace(body, 0); i < len(body) && body[i] == '[' {
			var last geminiCounts
			a := newArray(body[i:])
			for el, ok := a.next(); ok; el, ok = a.next() {
				if m, ok := field(el, "usageMetadata"); ok {
					if c := readGemini(m); c.any {
						last = c
					}
				}
			}
			return last.usage, last.any
		}
		m, ok := field(body, "usageMetadata")
		if !ok {
			return Usage{}, false
		}
		c := readGemini(m)
		return c.usage, c.any
	}
	return Usage{}, false
}

// openAIUsage maps an OpenAI usage object, in either the chat completions
// (prompt/completion) or the Responses (input/output) spelling.
func openAIUsage(u []byte) (Usage, bool) {
	var in, out, cached, write, reasoning, total, hit int64
	var haveIn, haveOut, haveTotal bool
	o := newObject(u)
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		switch string(k) {
		case "prompt_tokens", "input_tokens":
			in, haveIn = count(v)
		case "completion_tokens", "output_tokens":
			out, haveOut = count(v)
		case "total_tokens":
			total, haveTotal = count(v)
		case "prompt_cache_hit_tokens":
			hit, _ = count(v)
		case "prompt_tokens_details", "input_tokens_details":
			d := newObject(v)
			for dk, dv, ok := d.next(); ok; dk, dv, ok = d.next() {
				switch string(dk) {
				case "cached_tokens":
					cached, _ = count(dv)
				case "cache_write_tokens":
					write, _ = count(dv)
				}
			}
		case "completion_tokens_details", "output_tokens_details":
			if r, ok := field(v, "reasoning_tokens"); ok {
				reasoning, _ = count(r)
			}
		}
	}
	if !haveIn && !haveOut {
		return Usage{}, false
	}
	if cached == 0 {
		cached = hit
	}
	// The cache counts are subsets of the prompt: never let them exceed it.
	cached = min(cached, in)
	write = min(write, in-cached)
	if reasoning > 0 && haveTotal && total != in+out && total == in+out+reasoning {
		out += reasoning
	}
	return Usage{
		InputTokens:       in - cached - write,
		CachedInputTokens: cached,
		CacheWriteTokens:  write,
		OutputTokens:      out,
	}, true
}

// anthropicCounts accumulates Anthropic usage objects. Anthropic's counts
// are cumulative (message_delta repeats and updates message_start's), so
// merging keeps the largest value of each count, never a sum.
type anthropicCounts struct {
	usage   Usage
	haveIn  bool // input_tokens seen
	haveOut bool // output_tokens seen
}

// merge folds usage object u into c and reports whether u carried an
// output count.
func (c *anthropicCounts) merge(u []byte) (sawOut bool) {
	o := newObject(u)
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		var dst *int64
		switch string(k) {
		case "input_tokens":
			dst = &c.usage.InputTokens
		case "cache_read_input_tokens":
			dst = &c.usage.CachedInputTokens
		case "cache_creation_input_tokens":
			dst = &c.usage.CacheWriteTokens
		case "output_tokens":
			dst = &c.usage.OutputTokens
		default:
			continue
		}
		n, ok := count(v)
		if !ok {
			continue // null: keep what we had
		}
		*dst = max(*dst, n)
		switch string(k) {
		case "input_tokens":
			c.haveIn = true
		case "output_tokens":
			c.haveOut, sawOut = true, true
		}
	}
	return sawOut
}

// geminiCounts is one usageMetadata, mapped.
type geminiCounts struct {
	usage   Usage
	any     bool // some count was present
	haveIn  bool // promptTokenCount present
	haveOut bool // candidates, response or thoughts count present
}

func readGemini(m []byte) geminiCounts {
	var c geminiCounts
	var prompt, cached, cands, resp, thoughts, tool int64
	var haveCands bool
	o := newObject(m)
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		var dst *int64
		switch string(k) {
		case "promptTokenCount":
			dst = &prompt
		case "cachedContentTokenCount":
			dst = &cached
		case "candidatesTokenCount":
			dst = &cands
		case "responseTokenCount":
			dst = &resp
		case "thoughtsTokenCount":
			dst = &thoughts
		case "toolUsePromptTokenCount":
			dst = &tool
		case "totalTokenCount":
			if _, ok := count(v); ok {
				c.any = true
			}
			continue
		default:
			continue
		}
		n, ok := count(v)
		if !ok {
			continue
		}
		*dst = n
		c.any = true
		switch string(k) {
		case "promptTokenCount":
			c.haveIn = true
		case "candidatesTokenCount":
			haveCands = true
			c.haveOut = true
		case "responseTokenCount", "thoughtsTokenCount":
			c.haveOut = true
		}
	}
	if !haveCands {
		cands = resp
	}
	cached = min(cached, prompt)
	c.usage = Usage{
		InputTokens:       prompt - cached + tool,
		CachedInputTokens: cached,
		OutputTokens:      cands + thoughts,
	}
	return c
}
