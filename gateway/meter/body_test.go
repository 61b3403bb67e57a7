package meter

import "testing"

func TestFromBodyFixtures(t *testing.T) {
	tests := []struct {
		file        string
		dialect, op string
		want        Usage
	}{
		// OpenAI: prompt_tokens includes cached_tokens.
		{"openai_chat_completion.json", DialectOpenAI, OpChatCompletions,
			Usage{InputTokens: 1117, OutputTokens: 46}},
		{"openai_chat_completion_cached.json", DialectOpenAI, OpChatCompletions,
			Usage{InputTokens: 2006 - 1920, CachedInputTokens: 1920, OutputTokens: 300}},
		{"openai_responses.json", DialectOpenAI, OpResponses,
			Usage{InputTokens: 36, OutputTokens: 87}},
		// output_tokens already includes the 1024 reasoning tokens.
		{"openai_responses_reasoning.json", DialectOpenAI, OpResponses,
			Usage{InputTokens: 75, OutputTokens: 1186}},
		{"openai_embeddings.json", DialectOpenAI, OpEmbeddings,
			Usage{InputTokens: 8}},
		// Anthropic: input_tokens excludes cache reads and writes.
		{"anthropic_message.json", DialectAnthropic, OpMessages,
			Usage{InputTokens: 2095, OutputTokens: 503}},
		{"anthropic_message_full_usage.json", DialectAnthropic, OpMessages,
			Usage{InputTokens: 2095, CachedInputTokens: 2051, CacheWriteTokens: 2051, OutputTokens: 503}},
		{"anthropic_count_tokens.json", DialectAnthropic, OpCountTokens, Usage{}},
		// Gemini: thoughts are output; promptTokenCount includes the cache.
		{"gemini_generate_content.json", DialectGemini, OpGenerateContent,
			Usage{InputTokens: 34, OutputTokens: 418 + 438}},
		{"gemini_generate_content_cached.json", DialectGemini, OpGenerateContent,
			Usage{InputTokens: 696219 - 696190, CachedInputTokens: 696190, OutputTokens: 214}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, ok := FromBody(tt.dialect, tt.op, readFixture(t, tt.file))
			if !ok {
				t.Fatal("no usage found")
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFromBodyCases(t *testing.T) {
	tests := []struct {
		name        string
		dialect, op string
		body        string
		want        Usage
		ok          bool
	}{
		{
			name: "openai responses cache writes are a subset of input_tokens", dialect: DialectOpenAI, op: OpResponses,
			body: `{"usage":{"input_tokens":3000,"input_tokens_details":{"cached_tokens":1000,"cache_write_tokens":1500,
				"cache_write_tokens_details":{"ttl_30m_tokens":1500,"ttl_12h_tokens":0}},"output_tokens":10,"total_tokens":3010}}`,
			want: Usage{InputTokens: 500, CachedInputTokens: 1000, CacheWriteTokens: 1500, OutputTokens: 10}, ok: true,
		},
		{
			name: "openai chat reasoning stays inside completion_tokens", dialect: DialectOpenAI, op: OpChatCompletions,
			body: `{"usage":{"prompt_tokens":1117,"completion_tokens":3812,"total_tokens":4929,
				"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},
				"completion_tokens_details":{"reasoning_tokens":3072,"audio_tokens":0}}}`,
			want: Usage{InputTokens: 1117, OutputTokens: 3812}, ok: true,
		},
		{
			// vercel/ai#12425, Wei-Shaw/sub2api#5771: xAI counts reasoning
			// outside completion_tokens but inside total_tokens.
			name: "xai reasoning outside completion_tokens", dialect: DialectOpenAI, op: OpChatCompletions,
			body: `{"usage":{"prompt_tokens":10120,"completion_tokens":1499,"total_tokens":14428,
				"prompt_tokens_details":{"cached_tokens":128},"completion_tokens_details":{"reasoning_tokens":2809}}}`,
			want: Usage{InputTokens: 10120 - 128, CachedInputTokens: 128, OutputTokens: 1499 + 2809}, ok: true,
		},
		{
			name: "deepseek prompt_cache_hit_tokens", dialect: DialectOpenAI, op: OpChatCompletions,
			body: `{"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,
				"prompt_cache_hit_tokens":100,"prompt_cache_miss_tokens":20}}`,
			want: Usage{InputTokens: 20, CachedInputTokens: 100, OutputTokens: 30}, ok: true,
		},
		{
			name: "cached count larger than the prompt is clamped", dialect: DialectOpenAI, op: OpChatCompletions,
			body: `{"usage":{"prompt_tokens":10,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":50,"cache_write_tokens":7}}}`,
			want: Usage{CachedInputTokens: 10, OutputTokens: 1}, ok: true,
		},
		{
			name: "negative and fractional counts", dialect: DialectOpenAI, op: OpChatCompletions,
			body: `{"usage":{"prompt_tokens":-5,"completion_tokens":2.9e1}}`,
			want: Usage{OutputTokens: 29}, ok: true,
		},
		{
			name: "openai usage null", dialect: DialectOpenAI, op: OpChatCompletions,
			body: `{"id":"x","choices":[],"usage":null}`,
		},
		{
			name: "openai error body", dialect: DialectOpenAI, op: OpChatCompletions,
			body: `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`,
		},
		{
			name: "openai usage without counts", dialect: DialectOpenAI, op: OpChatCompletions,
			body: `{"usage":{"prompt_tokens":null}}`,
		},
		{
			name: "anthropic null cache counts", dialect: DialectAnthropic, op: OpMessages,
			body: `{"usage":{"input_tokens":10,"cache_creation_input_tokens":null,"cache_read_input_tokens":null,"output_tokens":5}}`,
			want: Usage{InputTokens: 10, OutputTokens: 5}, ok: true,
		},
		{
			name: "anthropic error body", dialect: DialectAnthropic, op: OpMessages,
			body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
		},
		{
			name: "anthropic count_tokens is free whatever the body", dialect: DialectAnthropic, op: OpCountTokens,
			body: `{"input_tokens":2095}`, ok: true,
		},
		{
			// QuantumNous/new-api#2935: totalTokenCount 20689 = 151 + 1089 +
			// 18329 + 1120, so tool-use prompt tokens are input, disjoint
			// from promptTokenCount.
			name: "gemini tool-use prompt tokens are input", dialect: DialectGemini, op: OpGenerateContent,
			body: `{"usageMetadata":{"promptTokenCount":151,"candidatesTokenCount":1089,"totalTokenCount":20689,
				"toolUsePromptTokenCount":18329,"thoughtsTokenCount":1120}}`,
			want: Usage{InputTokens: 151 + 18329, OutputTokens: 1089 + 1120}, ok: true,
		},
		{
			name: "gemini JSON array stream: the last usage wins", dialect: DialectGemini, op: OpGenerateContent,
			body: `[{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"}}],"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8}},
				{"candidates":[{"content":{"parts":[{"text":" there"}],"role":"model"},"finishReason":"STOP"}],
				 "usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":3,"totalTokenCount":11}}]`,
			want: Usage{InputTokens: 8, OutputTokens: 3}, ok: true,
		},
		{
			name: "gemini responseTokenCount spelling", dialect: DialectGemini, op: OpGenerateContent,
			body: `{"usageMetadata":{"promptTokenCount":120,"responseTokenCount":30,"thoughtsTokenCount":500}}`,
			want: Usage{InputTokens: 120, OutputTokens: 530}, ok: true,
		},
		{
			name: "gemini blocked prompt", dialect: DialectGemini, op: OpGenerateContent,
			body: `{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8}}`,
			want: Usage{InputTokens: 8}, ok: true,
		},
		{
			name: "gemini countTokens is free", dialect: DialectGemini, op: OpCountTokens,
			body: `{"totalTokens":31,"promptTokensDetails":[{"modality":"TEXT","tokenCount":31}]}`, ok: true,
		},
		{
			name: "gemini without usageMetadata", dialect: DialectGemini, op: OpGenerateContent,
			body: `{"candidates":[{"content":{"parts":[{"text":"Hi"}]}}]}`,
		},
		{
			name: "gemini usageMetadata without counts", dialect: DialectGemini, op: OpGenerateContent,
			body: `{"usageMetadata":{"trafficType":"ON_DEMAND"}}`,
		},
		{name: "not JSON", dialect: DialectOpenAI, op: OpChatCompletions, body: `<html>bad gateway</html>`},
		{name: "empty", dialect: DialectAnthropic, op: OpMessages, body: ``},
		{name: "truncated", dialect: DialectOpenAI, op: OpChatCompletions, body: `{"usage":{"prompt_tokens":12,"completion`},
		{name: "unknown dialect", dialect: "cohere", op: "chat", body: `{"usage":{"prompt_tokens":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FromBody(tt.dialect, tt.op, []byte(tt.body))
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// The key order and spacing of an answer must not matter, and a nested
// object holding the same names (Anthropic's per-iteration usage) must not
// be read in place of the top-level counts.
func TestFromBodyReadsOnlyTopLevelCounts(t *testing.T) {
	body := `{ "usage" : { "iterations" : [ { "input_tokens" : 1, "output_tokens" : 2 } ] ,
		"output_tokens" : 21 , "input_tokens" : 6 , "cache_read_input_tokens" : 41203 } ,
		"content" : [ { "type" : "text" , "text" : "{\"usage\":{\"input_tokens\":999}}" } ] }`
	got, ok := FromBody(DialectAnthropic, OpMessages, []byte(body))
	want := Usage{InputTokens: 6, CachedInputTokens: 41203, OutputTokens: 21}
	if !ok || got != want {
		t.Errorf("got %+v, %v; want %+v", got, ok, want)
	}
}

func TestUsageTotals(t *testing.T) {
	u := Usage{InputTokens: 1, CachedInputTokens: 2, CacheWriteTokens: 3, OutputTokens: 4}
	if u.TotalInput() != 6 || u.Total() != 10 {
		t.Errorf("TotalInput %d, Total %d", u.TotalInput(), u.Total())
	}
}
