package gemini

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/go-json-experiment/json"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// DecodeResponse reads a whole GenerateContentResponse (a 200 answer of
// generateContent) into r. Only the first candidate (index 0) is read. A
// prompt the API blocked (promptFeedback.blockReason, no candidates)
// becomes an empty answer that finished with content_filter.
func DecodeResponse(body []byte, r *llm.Response) error {
	var resp generateResponse
	if err := json.Unmarshal(body, &resp, lenient); err != nil {
		return fmt.Errorf("gemini: decoding response: %w", err)
	}
	*r = llm.Response{ID: resp.ResponseID, Model: resp.ModelVersion, Usage: decodeUsage(resp.UsageMetadata)}
	c := firstCandidate(resp.Candidates)
	if c == nil {
		r.Finish = llm.FinishStop
		if resp.PromptFeedback != nil && resp.PromptFeedback.BlockReason != "" {
			r.Finish = llm.FinishContentFilter
		}
		return nil
	}
	if c.Content != nil {
		ids := callIDs{prefix: callPrefix(resp.ResponseID)}
		parts, err := decodeParts(make([]llm.Part, 0, len(c.Content.Parts)), c.Content.Parts, llm.RoleAssistant, -1, &ids)
		if err != nil {
			return fmt.Errorf("gemini: decoding response: %w", err)
		}
		r.Parts = parts
	}
	r.Finish = decodeFinish(c.FinishReason, hasToolCalls(r.Parts))
	return nil
}

// firstCandidate returns the candidate with index 0 (the only one the
// codec asks for), or nil.
func firstCandidate(cs []candidate) *candidate {
	for i := range cs {
		if cs[i].Index == 0 {
			return &cs[i]
		}
	}
	return nil
}

// hasToolCalls reports whether parts hold a tool call.
func hasToolCalls(parts []llm.Part) bool {
	for i := range parts {
		if parts[i].Type == llm.PartToolCall {
			return true
		}
	}
	return false
}

// callPrefix is the prefix of the tool call IDs made up for an answer:
// "call_<response id>_" so that IDs stay unique across the turns of a
// conversation, or "call_" when the answer has no ID. Only the characters
// every dialect accepts in an ID are kept.
func callPrefix(responseID string) string {
	if responseID == "" {
		return "call_"
	}
	b := make([]byte, 0, len(responseID)+6)
	b = append(b, "call_"...)
	for i := 0; i < len(responseID); i++ {
		c := responseID[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b = append(b, c)
		}
	}
	return string(append(b, '_'))
}

// decodeFinish maps a finishReason; see the package documentation.
func decodeFinish(reason string, toolCalls bool) llm.Finish {
	switch reason {
	case "MAX_TOKENS":
		return llm.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "LANGUAGE":
		return llm.FinishContentFilter
	}
	if toolCalls {
		return llm.FinishToolCalls
	}
	return llm.FinishStop
}

// encodeFinish maps a finish reason back to Gemini's.
func encodeFinish(f llm.Finish) string {
	switch f {
	case llm.FinishLength:
		return "MAX_TOKENS"
	case llm.FinishContentFilter, llm.FinishRefusal:
		return "SAFETY"
	}
	return "STOP"
}

// decodeUsage maps usageMetadata onto the neutral counts.
func decodeUsage(u *usageMetadata) llm.Usage {
	if u == nil {
		return llm.Usage{}
	}
	return llm.Usage{
		Input:     u.PromptTokenCount + u.ToolUsePromptTokenCount,
		Output:    u.CandidatesTokenCount + u.ThoughtsTokenCount,
		CacheRead: u.CachedContentTokenCount,
		Reasoning: u.ThoughtsTokenCount,
	}
}

// encodeUsage maps the neutral counts onto usageMetadata.
func encodeUsage(u *llm.Usage) usageMetadata {
	cand := u.Output - u.Reasoning
	if cand < 0 {
		cand = 0
	}
	return usageMetadata{
		PromptTokenCount:        u.Input,
		CandidatesTokenCount:    cand,
		TotalTokenCount:         u.Input + u.Output,
		CachedContentTokenCount: u.CacheRead,
		ThoughtsTokenCount:      u.Reasoning,
	}
}

// EncodeResponse writes r as a GenerateContentResponse with one candidate.
func EncodeResponse(r *llm.Response, o llm.ResponseOptions) ([]byte, error) {
	c := candidate{FinishReason: encodeFinish(r.Finish)}
	if len(r.Parts) > 0 {
		ps, err := encodeModelParts(r.Parts)
		if err != nil {
			return nil, err
		}
		if len(ps) > 0 {
			c.Content = &content{Parts: ps, Role: "model"}
		}
	}
	um := encodeUsage(&r.Usage)
	resp := generateResponse{
		Candidates:    []candidate{c},
		UsageMetadata: &um,
		ModelVersion:  r.Model,
		ResponseID:    r.ID,
	}
	if resp.ResponseID == "" {
		resp.ResponseID = newResponseID()
	}
	size := 256
	if resp.Candidates[0].Content != nil {
		size += contentSize(resp.Candidates[0].Content)
	}
	b, err := appendResponse(make([]byte, 0, size), &resp)
	if err != nil {
		return nil, fmt.Errorf("gemini: encoding response: %w", err)
	}
	return b, nil
}

// encodeModelParts writes an answer's parts. Redacted thinking (another
// provider's encrypted reasoning) is dropped.
func encodeModelParts(parts []llm.Part) ([]part, error) {
	out := make([]part, 0, len(parts))
	for i := range parts {
		p := &parts[i]
		switch p.Type {
		case llm.PartText:
			if p.Text == "" && p.Signature == "" {
				continue
			}
			out = append(out, part{Text: &p.Text, ThoughtSignature: clientSignature(p.Signature)})
		case llm.PartThinking:
			sig := clientSignature(p.Signature)
			if p.Text == "" && sig == "" {
				continue
			}
			out = append(out, part{Text: &p.Text, Thought: p.Text != "", ThoughtSignature: sig})
		case llm.PartToolCall:
			args := p.Arguments
			if !isPresent(args) {
				args = emptyObject
			}
			out = append(out, part{FunctionCall: &functionCall{Name: p.Name, Args: args}, ThoughtSignature: clientSignature(p.Signature)})
		case llm.PartRedactedThinking:
		default:
			return nil, fmt.Errorf("gemini: encoding response: part %d has type %d, which an answer cannot hold", i, p.Type)
		}
	}
	return out, nil
}

// newResponseID makes up a response ID shaped like Gemini's.
func newResponseID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// clientSignature returns sig if a Gemini client can read it, else "".
func clientSignature(sig string) string {
	if sig == "" || !stdBase64(sig) {
		return ""
	}
	return sig
}

// upstreamSignature returns sig if the Gemini API can read it, else "".
func upstreamSignature(sig string) string {
	if sig == "" || !anyBase64(sig) {
		return ""
	}
	return sig
}

// stdBase64 reports whether s is standard, padded base64: what the SDKs
// decode a thoughtSignature (a bytes field) with. Signatures of other
// shapes (another provider's) are not written to Gemini clients.
func stdBase64(s string) bool {
	if len(s)%4 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
		case c == '=' && (i >= len(s)-2) && (i == len(s)-1 || s[len(s)-1] == '='):
		default:
			return false
		}
	}
	return true
}

// anyBase64 reports whether s is base64 in one of the forms the API
// accepts for a bytes field: standard or URL-safe, padded or not.
func anyBase64(s string) bool {
	n := len(s)
	for n > 0 && s[n-1] == '=' {
		n--
	}
	if len(s)-n > 2 || n%4 == 1 {
		return false
	}
	for i := 0; i < n; i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
