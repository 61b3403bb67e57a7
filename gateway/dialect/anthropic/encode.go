package anthropic

import (
	"strconv"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/dialect/internal/jsonw"
)

// The encoders write JSON by hand: the shapes are fixed and small, and
// appending is several times faster than reflection. Strings go through
// jsontext.AppendQuote; raw JSON values (tool inputs and schemas) are
// checked valid before they get here.

// appendRequest appends a Messages request body, fields in the order of
// the API reference.
func appendRequest(b []byte, r *requestOut) []byte {
	b = append(b, `{"model":`...)
	b = appendString(b, r.Model)
	b = append(b, `,"max_tokens":`...)
	b = strconv.AppendInt(b, r.MaxTokens, 10)
	switch {
	case r.SystemBlocks != nil:
		b = append(b, `,"system":`...)
		b = appendBlocks(b, r.SystemBlocks)
	case r.SystemText != "":
		b = append(b, `,"system":`...)
		b = appendString(b, r.SystemText)
	}
	b = append(b, `,"messages":[`...)
	for i := range r.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"role":"`...)
		b = append(b, r.Messages[i].Role...)
		b = append(b, `","content":`...)
		b = appendBlocks(b, r.Messages[i].Content)
		b = append(b, '}')
	}
	b = append(b, ']')
	if r.UserID != "" {
		b = append(b, `,"metadata":{"user_id":`...)
		b = appendString(b, r.UserID)
		b = append(b, '}')
	}
	if len(r.StopSequences) > 0 {
		b = append(b, `,"stop_sequences":[`...)
		for i, s := range r.StopSequences {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		b = append(b, ']')
	}
	if r.Stream {
		b = append(b, `,"stream":true`...)
	}
	if r.Temperature != nil {
		b = append(b, `,"temperature":`...)
		b = strconv.AppendFloat(b, *r.Temperature, 'g', -1, 64)
	}
	if r.TopK != nil {
		b = append(b, `,"top_k":`...)
		b = strconv.AppendInt(b, *r.TopK, 10)
	}
	if r.TopP != nil {
		b = append(b, `,"top_p":`...)
		b = strconv.AppendFloat(b, *r.TopP, 'g', -1, 64)
	}
	switch {
	case r.ThinkingEffort != "":
		b = append(b, `,"thinking":{"type":"adaptive"},"output_config":{"effort":`...)
		b = appendString(b, r.ThinkingEffort)
		b = append(b, '}')
	case r.ThinkingBudget > 0:
		b = append(b, `,"thinking":{"type":"enabled","budget_tokens":`...)
		b = strconv.AppendInt(b, r.ThinkingBudget, 10)
		b = append(b, '}')
	}
	if len(r.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i := range r.Tools {
			t := &r.Tools[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendString(b, t.Name)
			if t.Description != "" {
				b = append(b, `,"description":`...)
				b = appendString(b, t.Description)
			}
			b = append(b, `,"input_schema":`...)
			b = append(b, t.InputSchema...)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if tc := r.ToolChoice; tc != nil {
		b = append(b, `,"tool_choice":{"type":"`...)
		b = append(b, tc.Type...)
		b = append(b, '"')
		if tc.Name != "" {
			b = append(b, `,"name":`...)
			b = appendString(b, tc.Name)
		}
		if tc.DisableParallelToolUse {
			b = append(b, `,"disable_parallel_tool_use":true`...)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendMessage appends a Message object.
func appendMessage(b []byte, m *messageRespOut) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, m.ID)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendString(b, m.Model)
	b = append(b, `,"content":`...)
	b = appendBlocks(b, m.Content)
	b = append(b, `,"stop_reason":"`...)
	b = append(b, m.StopReason...)
	b = append(b, `","stop_sequence":`...)
	if m.StopSequence != nil {
		b = appendString(b, *m.StopSequence)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"usage":`...)
	b = appendUsage(b, m.Usage, true)
	return append(b, '}')
}

// appendBlocks appends an array of content blocks.
func appendBlocks(b []byte, blocks []blockOut) []byte {
	b = append(b, '[')
	for i := range blocks {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendBlock(b, &blocks[i])
	}
	return append(b, ']')
}

// appendBlock appends one content block.
func appendBlock(b []byte, bl *blockOut) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, bl.Type...)
	b = append(b, '"')
	if bl.Text != nil {
		b = appendKey(b, "text", *bl.Text)
	}
	if s := bl.Source; s != nil {
		b = append(b, `,"source":{"type":"`...)
		b = append(b, s.Type...)
		b = append(b, '"')
		if s.MediaType != "" {
			b = appendKey(b, "media_type", s.MediaType)
		}
		if s.Data != "" {
			b = appendKey(b, "data", s.Data)
		}
		if s.URL != "" {
			b = appendKey(b, "url", s.URL)
		}
		b = append(b, '}')
	}
	if bl.ID != "" {
		b = appendKey(b, "id", bl.ID)
	}
	if bl.Name != nil {
		b = appendKey(b, "name", *bl.Name)
	}
	if bl.Input != nil {
		b = append(b, `,"input":`...)
		b = append(b, bl.Input...)
	}
	if bl.ToolUseID != "" {
		b = appendKey(b, "tool_use_id", bl.ToolUseID)
	}
	if bl.IsError {
		b = append(b, `,"is_error":true`...)
	}
	if bl.Content != nil {
		b = append(b, `,"content":`...)
		b = appendBlocks(b, bl.Content)
	}
	if bl.Thinking != nil {
		b = appendKey(b, "thinking", *bl.Thinking)
	}
	if bl.Signature != nil {
		b = appendKey(b, "signature", *bl.Signature)
	}
	if bl.Data != nil {
		b = appendKey(b, "data", *bl.Data)
	}
	return append(b, '}')
}

// appendUsage appends a usage object; the input counts only when withInput.
func appendUsage(b []byte, u usageOut, withInput bool) []byte {
	b = append(b, '{')
	if withInput {
		b = append(b, `"input_tokens":`...)
		b = strconv.AppendInt(b, u.InputTokens, 10)
		b = append(b, `,"cache_creation_input_tokens":`...)
		b = strconv.AppendInt(b, u.CacheCreationInputTokens, 10)
		b = append(b, `,"cache_read_input_tokens":`...)
		b = strconv.AppendInt(b, u.CacheReadInputTokens, 10)
		b = append(b, ',')
	}
	b = append(b, `"output_tokens":`...)
	b = strconv.AppendInt(b, u.OutputTokens, 10)
	return append(b, '}')
}

// appendKey appends ,"key":"value".
func appendKey(b []byte, key, value string) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	return appendString(b, value)
}

// appendString appends s as a JSON string (see jsonw.AppendString).
func appendString(b []byte, s string) []byte { return jsonw.AppendString(b, s) }
