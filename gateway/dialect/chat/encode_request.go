package chat

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// defaultSchemaName names a json_schema response format whose source
// dialect gave no name (OpenAI requires one).
const defaultSchemaName = "response"

// EncodeRequest writes r as a Chat Completions request body for model
// o.Model (o.DefaultMaxTokens is not used: the dialect needs no cap). It
// returns an *llm.Error when r holds something the dialect cannot express.
// The package documentation lists every mapping decision.
func EncodeRequest(r *llm.Request, o llm.EncodeOptions) ([]byte, error) {
	if r.Candidates > 1 {
		// The answer is translated back from its first choice only.
		return nil, llm.Errorf("", "a translated request gets a single answer; %d were asked for, send separate requests instead", r.Candidates)
	}
	b := make([]byte, 0, requestSize(r))
	b = append(b, `{"model":`...)
	b = appendString(b, o.Model)
	b = append(b, `,"messages":[`...)
	b, err := appendMessages(b, r)
	if err != nil {
		return nil, err
	}
	b = append(b, ']')

	if len(r.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i := range r.Tools {
			t := &r.Tools[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":"function","function":{"name":`...)
			b = appendString(b, t.Name)
			if t.Description != "" {
				b = append(b, `,"description":`...)
				b = appendString(b, t.Description)
			}
			if len(t.Parameters) > 0 {
				b = append(b, `,"parameters":`...)
				if b, err = appendRaw(b, t.Parameters); err != nil {
					return nil, fmt.Errorf("chat: the parameters of tool %q: %w", t.Name, err)
				}
			}
			b = append(b, "}}"...)
		}
		b = append(b, ']')
		// OpenAI rejects these two without tools.
		if b, err = appendToolChoice(b, &r.ToolChoice); err != nil {
			return nil, err
		}
		if r.ParallelToolCalls != nil {
			b = append(b, `,"parallel_tool_calls":`...)
			b = strconv.AppendBool(b, *r.ParallelToolCalls)
		}
	}

	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_object":
			b = append(b, `,"response_format":{"type":"json_object"}`...)
		case "json_schema":
			name := rf.Name
			if name == "" {
				name = defaultSchemaName
			}
			b = append(b, `,"response_format":{"type":"json_schema","json_schema":{"name":`...)
			b = appendString(b, name)
			if len(rf.Schema) > 0 {
				b = append(b, `,"schema":`...)
				if b, err = appendRaw(b, rf.Schema); err != nil {
					return nil, fmt.Errorf("chat: the response format schema: %w", err)
				}
			}
			if rf.Strict {
				b = append(b, `,"strict":true`...)
			}
			b = append(b, "}}"...)
		default:
			return nil, &llm.Error{Message: fmt.Sprintf("response format %q cannot be expressed in the Chat Completions API", rf.Type)}
		}
	}
	if effort := reasoningEffort(r.Reasoning); effort != "" && reasoningModel(o.Model) {
		b = append(b, `,"reasoning_effort":`...)
		b = appendString(b, effort)
	}
	if r.MaxTokens > 0 {
		b = append(b, `,"max_completion_tokens":`...)
		b = strconv.AppendInt(b, r.MaxTokens, 10)
	}
	for _, f := range [...]struct {
		name string
		v    *float64
	}{
		{`,"temperature":`, r.Temperature},
		{`,"top_p":`, r.TopP},
		{`,"presence_penalty":`, r.PresencePenalty},
		{`,"frequency_penalty":`, r.FrequencyPenalty},
	} {
		if f.v != nil {
			b = append(b, f.name...)
			if b, err = appendFloat(b, *f.v); err != nil {
				return nil, &llm.Error{Message: f.name[2:len(f.name)-2] + ": " + err.Error()}
			}
		}
	}
	if r.Seed != nil {
		b = append(b, `,"seed":`...)
		b = strconv.AppendInt(b, *r.Seed, 10)
	}
	if len(r.Stop) > 0 {
		b = append(b, `,"stop":[`...)
		for i, s := range r.Stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		b = append(b, ']')
	}
	if r.User != "" {
		b = append(b, `,"user":`...)
		b = appendString(b, r.User)
	}
	if r.Stream {
		// Always asked for: the gateway meters the stream from it.
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return append(b, '}'), nil
}

// requestSize estimates the size of the encoded request.
func requestSize(r *llm.Request) int {
	n := 256 + len(r.Stop)*16
	for i := range r.System {
		n += len(r.System[i].Text) + 32
	}
	for i := range r.Messages {
		n += 32 + partsSize(r.Messages[i].Parts)
	}
	for i := range r.Tools {
		n += 64 + len(r.Tools[i].Name) + len(r.Tools[i].Description) + len(r.Tools[i].Parameters)
	}
	if r.ResponseFormat != nil {
		n += 64 + len(r.ResponseFormat.Schema)
	}
	return n
}

// partsSize estimates the encoded size of parts.
func partsSize(parts []llm.Part) int {
	n := 0
	for i := range parts {
		p := &parts[i]
		n += 48 + len(p.Text) + len(p.Data) + len(p.URL) + len(p.ID) + len(p.Name) + len(p.Arguments)*5/4
		if p.Content != nil {
			n += partsSize(p.Content)
		}
	}
	return n
}

// reasoningModel reports whether model is known to take reasoning_effort:
// OpenAI's reasoning models (o1, o3, o4…, gpt-5…, gpt-oss, codex), also
// behind a router's "openai/" prefix. Other models answer the field with a
// 400, so a client's thinking request is dropped for them rather than sent:
// a reasoning model that is not recognised (an Azure deployment with a name
// of its own) thinks at its default effort.
func reasoningModel(model string) bool {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	for _, p := range []string{"o1", "o3", "o4", "gpt-5", "gpt-oss", "codex"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return strings.Contains(m, "codex")
}

// reasoningEffort maps the reasoning configuration to reasoning_effort.
func reasoningEffort(rs *llm.Reasoning) string {
	switch {
	case rs == nil || rs.Disabled:
		return ""
	case rs.Effort != "":
		return rs.Effort
	case rs.BudgetTokens <= 0:
		return ""
	case rs.BudgetTokens <= 1024:
		return "low"
	case rs.BudgetTokens <= 8192:
		return "medium"
	default:
		return "high"
	}
}

// appendToolChoice writes ,"tool_choice":... unless none was given.
func appendToolChoice(b []byte, tc *llm.ToolChoice) ([]byte, error) {
	switch {
	case tc.Mode == llm.ToolNamed:
		b = append(b, `,"tool_choice":{"type":"function","function":{"name":`...)
		b = appendString(b, tc.Name)
		return append(b, "}}"...), nil
	case tc.Mode == llm.ToolNone:
		return append(b, `,"tool_choice":"none"`...), nil
	case len(tc.Allowed) > 0:
		mode := `"auto"`
		switch tc.Mode {
		case "", llm.ToolAuto:
		case llm.ToolRequired:
			mode = `"required"`
		default:
			return nil, &llm.Error{Message: fmt.Sprintf("tool choice mode %q cannot be expressed in the Chat Completions API", tc.Mode)}
		}
		b = append(b, `,"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":`...)
		b = append(b, mode...)
		b = append(b, `,"tools":[`...)
		for i, name := range tc.Allowed {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":"function","function":{"name":`...)
			b = appendString(b, name)
			b = append(b, "}}"...)
		}
		return append(b, "]}}"...), nil
	case tc.Mode == "":
		return b, nil
	case tc.Mode == llm.ToolAuto:
		return append(b, `,"tool_choice":"auto"`...), nil
	case tc.Mode == llm.ToolRequired:
		return append(b, `,"tool_choice":"required"`...), nil
	default:
		return nil, &llm.Error{Message: fmt.Sprintf("tool choice mode %q cannot be expressed in the Chat Completions API", tc.Mode)}
	}
}

// appendMessages writes the system instructions and the conversation,
// comma-separated.
func appendMessages(b []byte, r *llm.Request) ([]byte, error) {
	first := true
	texts, err := countTexts(r.System, -1)
	if err != nil {
		return nil, err
	}
	if texts > 0 {
		b = append(b, `{"role":"system","content":`...)
		b = appendTextContent(b, r.System, texts)
		b = append(b, '}')
		first = false
	}
	for i := range r.Messages {
		m := &r.Messages[i]
		switch m.Role {
		case llm.RoleUser:
			b, err = appendUser(b, &first, i, m.Parts)
		case llm.RoleAssistant:
			b, err = appendAssistant(b, &first, i, m.Parts)
		default:
			err = &llm.Error{Message: fmt.Sprintf("message %d: unknown role %q", i, m.Role)}
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// comma writes the separator before an array element but the first.
func comma(b []byte, first *bool) []byte {
	if *first {
		*first = false
		return b
	}
	return append(b, ',')
}

// countTexts counts the non-empty text parts of parts that may only hold
// text (thinking is skipped); anything else is an error about message msg
// (-1: the system instructions).
func countTexts(parts []llm.Part, msg int) (int, error) {
	n := 0
	for i := range parts {
		switch parts[i].Type {
		case llm.PartText:
			if parts[i].Text != "" {
				n++
			}
		case llm.PartThinking, llm.PartRedactedThinking:
		default:
			where := "system instructions"
			if msg >= 0 {
				where = fmt.Sprintf("message %d", msg)
			}
			return 0, &llm.Error{Message: fmt.Sprintf("%s: %s cannot be sent here to the Chat Completions API", where, partName(parts[i].Type))}
		}
	}
	return n, nil
}

// appendTextContent writes the texts of parts (texts of them are not
// empty) as a content: a string for one text, an array of text parts for
// several (no separator is invented between them).
func appendTextContent(b []byte, parts []llm.Part, texts int) []byte {
	if texts == 1 {
		for i := range parts {
			if parts[i].Type == llm.PartText && parts[i].Text != "" {
				return appendString(b, parts[i].Text)
			}
		}
	}
	b = append(b, '[')
	first := true
	for i := range parts {
		if parts[i].Type == llm.PartText && parts[i].Text != "" {
			b = comma(b, &first)
			b = appendTextPart(b, parts[i].Text)
		}
	}
	return append(b, ']')
}

// appendTextPart writes {"type":"text","text":...}.
func appendTextPart(b []byte, text string) []byte {
	b = append(b, `{"type":"text","text":`...)
	b = appendString(b, text)
	return append(b, '}')
}

// appendUser writes a user message: its tool results first, as "tool"
// messages, then the rest, and the images of the tool results (tool
// messages cannot carry them) ahead of it, as a user message.
func appendUser(b []byte, first *bool, i int, parts []llm.Part) ([]byte, error) {
	texts, images := 0, 0
	for k := range parts {
		p := &parts[k]
		switch p.Type {
		case llm.PartToolResult:
			if p.ID == "" {
				return nil, &llm.Error{Message: fmt.Sprintf("message %d: a tool result has no tool call ID", i)}
			}
			rtexts := 0
			for j := range p.Content {
				switch c := &p.Content[j]; c.Type {
				case llm.PartText:
					if c.Text != "" {
						rtexts++
					}
				case llm.PartImage:
					if err := checkImage(i, c); err != nil {
						return nil, err
					}
					images++
				case llm.PartThinking, llm.PartRedactedThinking:
				default:
					return nil, &llm.Error{Message: fmt.Sprintf("message %d: a tool result cannot hold %s", i, partName(c.Type))}
				}
			}
			b = comma(b, first)
			b = append(b, `{"role":"tool","tool_call_id":`...)
			b = appendString(b, p.ID)
			b = append(b, `,"content":`...)
			if rtexts == 0 {
				b = append(b, `""`...)
			} else {
				b = appendTextContent(b, p.Content, rtexts)
			}
			b = append(b, '}')
		case llm.PartText:
			if p.Text != "" {
				texts++
			}
		case llm.PartImage:
			if err := checkImage(i, p); err != nil {
				return nil, err
			}
			images++
		case llm.PartThinking, llm.PartRedactedThinking:
		default:
			return nil, &llm.Error{Message: fmt.Sprintf("message %d: a user message cannot hold %s", i, partName(p.Type))}
		}
	}
	if texts+images == 0 {
		return b, nil
	}
	b = comma(b, first)
	b = append(b, `{"role":"user","content":`...)
	if images == 0 {
		b = appendTextContent(b, parts, texts)
		return append(b, '}'), nil
	}
	b = append(b, '[')
	pfirst := true
	for k := range parts { // the images of tool results first
		if parts[k].Type == llm.PartToolResult {
			for j := range parts[k].Content {
				if c := &parts[k].Content[j]; c.Type == llm.PartImage {
					b = comma(b, &pfirst)
					b = appendImagePart(b, c)
				}
			}
		}
	}
	for k := range parts {
		switch p := &parts[k]; p.Type {
		case llm.PartText:
			if p.Text != "" {
				b = comma(b, &pfirst)
				b = appendTextPart(b, p.Text)
			}
		case llm.PartImage:
			b = comma(b, &pfirst)
			b = appendImagePart(b, p)
		}
	}
	return append(b, "]}"...), nil
}

// checkImage checks that an image of message i can be written.
func checkImage(i int, p *llm.Part) error {
	switch {
	case p.Data != "" && p.MediaType == "":
		return &llm.Error{Message: fmt.Sprintf("message %d: an inline image has no media type", i)}
	case p.Data == "" && p.URL == "":
		return &llm.Error{Message: fmt.Sprintf("message %d: an image has neither data nor URL", i)}
	}
	return nil
}

// appendImagePart writes an image as an image_url part (inline images as
// data: URLs).
func appendImagePart(b []byte, p *llm.Part) []byte {
	b = append(b, `{"type":"image_url","image_url":{"url":"`...)
	if p.Data != "" {
		b = append(b, "data:"...)
		b = appendStringBody(b, p.MediaType)
		b = append(b, ";base64,"...)
		b = appendStringBody(b, p.Data)
	} else {
		b = appendStringBody(b, p.URL)
	}
	return append(b, `"}}`...)
}

// appendAssistant writes an assistant message: its text and its tool
// calls. Thinking is dropped: the API does not take it back. A message
// left empty is not written.
func appendAssistant(b []byte, first *bool, i int, parts []llm.Part) ([]byte, error) {
	texts, calls := 0, 0
	for k := range parts {
		p := &parts[k]
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				texts++
			}
		case llm.PartToolCall:
			if p.ID == "" || p.Name == "" {
				return nil, &llm.Error{Message: fmt.Sprintf("message %d: a tool call has no ID or no name", i)}
			}
			calls++
		case llm.PartThinking, llm.PartRedactedThinking:
		default:
			return nil, &llm.Error{Message: fmt.Sprintf("message %d: an assistant message cannot hold %s in the Chat Completions API", i, partName(p.Type))}
		}
	}
	if texts+calls == 0 {
		return b, nil
	}
	b = comma(b, first)
	b = append(b, `{"role":"assistant"`...)
	if texts > 0 {
		b = append(b, `,"content":`...)
		b = appendTextContent(b, parts, texts)
	}
	if calls > 0 {
		b = append(b, `,"tool_calls":[`...)
		cfirst := true
		var err error
		for k := range parts {
			if p := &parts[k]; p.Type == llm.PartToolCall {
				b = comma(b, &cfirst)
				if b, err = appendToolCall(b, p); err != nil {
					return nil, &llm.Error{Message: fmt.Sprintf("message %d: tool call %q: %v", i, p.ID, err)}
				}
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// appendToolCall writes a tool call with its arguments as a compact JSON
// string ("{}" when absent).
func appendToolCall(b []byte, p *llm.Part) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendString(b, p.ID)
	b = append(b, `,"type":"function","function":{"name":`...)
	b = appendString(b, p.Name)
	b = append(b, `,"arguments":`...)
	b, err := appendArguments(b, p.Arguments)
	if err != nil {
		return nil, err
	}
	return append(b, "}}"...), nil
}

// appendArguments writes tool call arguments (a JSON object) as a JSON
// string holding them compacted; absent arguments are "{}".
func appendArguments(b []byte, args jsontext.Value) ([]byte, error) {
	if len(args) == 0 || args.Kind() == 'n' {
		return append(b, `"{}"`...), nil
	}
	if args.Kind() != '{' {
		return nil, fmt.Errorf("arguments are %s, not a JSON object", kindName(args.Kind()))
	}
	var buf [512]byte
	c, err := jsontext.AppendFormat(buf[:0], args, decodeOpts)
	if err != nil {
		return nil, fmt.Errorf("arguments are not valid JSON: %w", err)
	}
	return appendStringBytes(b, c), nil
}

// partName names a part type in error messages.
func partName(t llm.PartType) string {
	switch t {
	case llm.PartText:
		return "text"
	case llm.PartImage:
		return "an image"
	case llm.PartToolCall:
		return "a tool call"
	case llm.PartToolResult:
		return "a tool result"
	case llm.PartThinking:
		return "thinking"
	case llm.PartRedactedThinking:
		return "redacted thinking"
	default:
		return fmt.Sprintf("a part of type %d", t)
	}
}
