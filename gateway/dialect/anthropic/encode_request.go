package anthropic

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/go-json-experiment/json/jsontext"
)

// defaultMaxTokens is max_tokens when neither the request nor the options
// give a positive one.
const defaultMaxTokens = 4096

// minThinkingBudget is the smallest budget_tokens Anthropic accepts.
const minThinkingBudget = 1024

// effortBudgets are the thinking budgets sent for a reasoning effort.
var effortBudgets = map[string]int64{"low": 1024, "medium": 4096, "high": 16384}

// EncodeRequest writes r as a POST /v1/messages body for the model
// o.Model. It returns an *llm.Error when r asks for something the Messages
// API cannot do faithfully (n > 1, a JSON response format…). The package
// documentation lists every decision.
func EncodeRequest(r *llm.Request, o llm.EncodeOptions) ([]byte, error) {
	if r.Candidates > 1 {
		return nil, llm.Errorf("n", "this model's provider returns a single answer; %d were asked for, send separate requests instead", r.Candidates)
	}
	if rf := r.ResponseFormat; rf != nil && (rf.Type == "json_object" || rf.Type == "json_schema") {
		return nil, llm.Errorf("response_format", "response format %q is not supported by this model's provider; ask for JSON in the prompt or use a tool whose parameters are the wanted schema", rf.Type)
	}
	out := requestOut{Model: o.Model, Stream: r.Stream}
	if out.Model == "" {
		out.Model = r.Model
	}
	out.MaxTokens = r.MaxTokens
	if out.MaxTokens <= 0 {
		out.MaxTokens = o.DefaultMaxTokens
		if out.MaxTokens <= 0 {
			out.MaxTokens = defaultMaxTokens
		}
	}

	if t := r.Temperature; t != nil {
		if !(*t >= 0 && *t <= 2) {
			return nil, llm.Errorf("temperature", "must be between 0 and 2, got %v", *t)
		}
		if *t > 1 {
			one := 1.0
			out.Temperature = &one // Anthropic's range is 0..1
		} else {
			out.Temperature = t
		}
	}
	if p := r.TopP; p != nil {
		if !(*p >= 0 && *p <= 1) {
			return nil, llm.Errorf("top_p", "must be between 0 and 1, got %v", *p)
		}
		out.TopP = p
	}
	if k := r.TopK; k != nil {
		if *k < 0 {
			return nil, llm.Errorf("top_k", "must not be negative, got %d", *k)
		}
		out.TopK = k
	}
	for _, s := range r.Stop {
		if s != "" {
			out.StopSequences = append(out.StopSequences, s)
		}
	}
	out.UserID = r.User
	out.SystemText, out.SystemBlocks = encodeSystem(r.System)
	var err error
	if out.Messages, err = encodeMessages(r.Messages); err != nil {
		return nil, err
	}
	if err := encodeTools(r, &out); err != nil {
		return nil, err
	}
	if !unsignedToolLoop(out.Messages) {
		encodeThinking(r.Reasoning, &out)
	}

	return appendRequest(make([]byte, 0, requestSize(r)), &out), nil
}

// requestSize estimates the size of the encoded request.
func requestSize(r *llm.Request) int {
	n := 512
	for i := range r.System {
		n += len(r.System[i].Text) + 32
	}
	for i := range r.Messages {
		n += 32
		for j := range r.Messages[i].Parts {
			p := &r.Messages[i].Parts[j]
			n += len(p.Text) + len(p.Data) + len(p.URL) + len(p.Arguments) + len(p.Signature) + 64
			for k := range p.Content {
				n += len(p.Content[k].Text) + len(p.Content[k].Data) + 64
			}
		}
	}
	for i := range r.Tools {
		n += len(r.Tools[i].Name) + len(r.Tools[i].Description) + len(r.Tools[i].Parameters) + 64
	}
	return n + n/8 // room for escapes
}

// encodeSystem writes the system prompt: a string for one text, text
// blocks for several (no separator is invented between them).
func encodeSystem(parts []llm.Part) (string, []blockOut) {
	n, only := 0, -1
	for i := range parts {
		if parts[i].Type == llm.PartText && parts[i].Text != "" {
			n++
			only = i
		}
	}
	switch n {
	case 0:
		return "", nil
	case 1:
		return parts[only].Text, nil
	}
	blocks := make([]blockOut, 0, n)
	for i := range parts {
		if parts[i].Type == llm.PartText && parts[i].Text != "" {
			blocks = append(blocks, blockOut{Type: "text", Text: &parts[i].Text})
		}
	}
	return "", blocks
}

// encodeMessages writes the conversation, merging consecutive messages of
// one role (Anthropic requires alternation), dropping empty ones, and
// putting tool results first in user messages.
func encodeMessages(msgs []llm.Message) ([]messageOut, error) {
	// All blocks share one array, and tool result contents another: the
	// blocks of merged messages are adjacent in it.
	nBlocks, nNested := 0, 0
	for i := range msgs {
		nBlocks += len(msgs[i].Parts)
		for j := range msgs[i].Parts {
			nNested += len(msgs[i].Parts[j].Content)
		}
	}
	all := make([]blockOut, 0, nBlocks)
	var nested []blockOut
	if nNested > 0 {
		nested = make([]blockOut, 0, nNested)
	}
	out := make([]messageOut, 0, len(msgs))
	start := 0 // where the last message's blocks begin in all
	for i := range msgs {
		m := &msgs[i]
		var role string
		switch m.Role {
		case llm.RoleUser:
			role = "user"
		case llm.RoleAssistant:
			role = "assistant"
		default:
			return nil, llm.Errorf(fmt.Sprintf("messages[%d].role", i), "unsupported role %q", m.Role)
		}
		before := len(all)
		for j := range m.Parts {
			p := &m.Parts[j]
			switch p.Type {
			case llm.PartText:
				if p.Text != "" {
					all = append(all, blockOut{Type: "text", Text: &p.Text})
				}
			case llm.PartImage:
				src, err := imageSource(p)
				if err != nil {
					return nil, partError(err, i, j)
				}
				all = append(all, blockOut{Type: "image", Source: src})
			case llm.PartToolCall:
				switch {
				case role != "assistant":
					return nil, partErrorf(i, j, "tool calls may only appear in assistant messages")
				case p.ID == "":
					return nil, partErrorf(i, j, "the tool call has no ID")
				case p.Name == "":
					return nil, partErrorf(i, j, "the tool call has no name")
				}
				args, ok := toolInput(p.Arguments)
				if !ok || !args.IsValid() {
					return nil, partErrorf(i, j, "the tool call arguments must be a JSON object")
				}
				all = append(all, blockOut{Type: "tool_use", ID: toolID(p.ID), Name: &p.Name, Input: args})
			case llm.PartToolResult:
				if role != "user" {
					return nil, partErrorf(i, j, "tool results may only appear in user messages")
				}
				if p.ID == "" {
					return nil, partErrorf(i, j, "the tool result does not name the call it answers")
				}
				from := len(nested)
				var err error
				if nested, err = toolResultContent(nested, p.Content); err != nil {
					return nil, partError(err, i, j)
				}
				var content []blockOut
				if len(nested) > from {
					content = nested[from:len(nested):len(nested)]
				}
				all = append(all, blockOut{Type: "tool_result", ToolUseID: toolID(p.ID), Content: content, IsError: p.IsError})
			case llm.PartThinking:
				// Anthropic verifies the signature of thinking sent back;
				// thinking without one (from another provider) cannot be.
				if role == "assistant" && p.Signature != "" {
					all = append(all, blockOut{Type: "thinking", Thinking: &p.Text, Signature: &p.Signature})
				}
			case llm.PartRedactedThinking:
				if role == "assistant" && p.Signature != "" {
					all = append(all, blockOut{Type: "redacted_thinking", Data: &p.Signature})
				}
			default:
				return nil, partErrorf(i, j, "unsupported content part type %d", p.Type)
			}
		}
		if len(all) == before {
			continue // nothing to send
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Content = all[start:len(all):len(all)]
		} else {
			start = before
			out = append(out, messageOut{Role: role, Content: all[before:len(all):len(all)]})
		}
	}
	if len(out) == 0 {
		return nil, llm.Errorf("messages", "must contain at least one message with non-empty content")
	}
	for i := range out {
		if out[i].Role == "user" {
			toolResultsFirst(out[i].Content)
		}
	}
	return out, nil
}

// partErrorf builds an *llm.Error for part j of message i.
func partErrorf(i, j int, format string, args ...any) error {
	return llm.Errorf(fmt.Sprintf("messages[%d].content[%d]", i, j), format, args...)
}

// partError puts the path of part j of message i in front of the Param
// of an *llm.Error about that part.
func partError(err error, i, j int) error {
	if le, ok := err.(*llm.Error); ok {
		p := fmt.Sprintf("messages[%d].content[%d]", i, j)
		if le.Param != "" {
			p += "." + le.Param
		}
		le.Param = p
	}
	return err
}

// toolResultsFirst stably moves tool_result blocks in front of the others,
// as Anthropic requires.
func toolResultsFirst(blocks []blockOut) {
	sorted, other := true, false
	for i := range blocks {
		isResult := blocks[i].Type == "tool_result"
		if isResult && other {
			sorted = false
			break
		}
		other = other || !isResult
	}
	if sorted {
		return
	}
	moved := make([]blockOut, 0, len(blocks))
	for _, b := range blocks {
		if b.Type == "tool_result" {
			moved = append(moved, b)
		}
	}
	for _, b := range blocks {
		if b.Type != "tool_result" {
			moved = append(moved, b)
		}
	}
	copy(blocks, moved)
}

// toolID makes a tool call ID acceptable to Anthropic, which wants
// ^[a-zA-Z0-9_-]+$: other bytes become '_'. The mapping is the same for a
// call and its result, so they still pair.
func toolID(id string) string {
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			b := []byte(id)
			for j := i; j < len(b); j++ {
				if !idByte(b[j]) {
					b[j] = '_'
				}
			}
			return string(b)
		}
	}
	return id
}

func idByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// imageMediaTypes are the base64 image types Anthropic accepts.
var imageMediaTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// imageSource writes an image part as a base64 or url source. Its errors
// have no Param: the caller sets it.
func imageSource(p *llm.Part) (*sourceOut, error) {
	mediaType, data := p.MediaType, p.Data
	if data == "" && p.URL != "" {
		u := p.URL
		if len(u) >= 5 && strings.EqualFold(u[:5], "data:") {
			meta, payload, ok := strings.Cut(u[5:], ",")
			if !ok || !strings.HasSuffix(strings.ToLower(meta), ";base64") {
				return nil, llm.Errorf("", "malformed data URL: expected data:<media type>;base64,<data>")
			}
			mediaType, data = meta[:len(meta)-len(";base64")], payload
		} else {
			scheme, rest, _ := strings.Cut(u, "://")
			if (!strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "http")) || rest == "" {
				return nil, llm.Errorf("", "unsupported image URL %q; this model's provider takes http(s) URLs or base64 data", truncate(u, 64))
			}
			return &sourceOut{Type: "url", URL: u}, nil
		}
	}
	if data == "" {
		return nil, llm.Errorf("", "the image has no data")
	}
	if !imageMediaTypes[mediaType] {
		mediaType = strings.ToLower(strings.TrimSpace(mediaType))
		if mediaType == "image/jpg" {
			mediaType = "image/jpeg"
		}
		if !imageMediaTypes[mediaType] {
			return nil, llm.Errorf("", "unsupported image media type %q; this model's provider takes image/jpeg, image/png, image/gif and image/webp", mediaType)
		}
	}
	return &sourceOut{Type: "base64", MediaType: mediaType, Data: data}, nil
}

// truncate shortens s for an error message, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// toolResultContent appends a tool result's content, text and image blocks,
// to dst. Errors name the offending item relative to the part.
func toolResultContent(dst []blockOut, parts []llm.Part) ([]blockOut, error) {
	for k := range parts {
		p := &parts[k]
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				dst = append(dst, blockOut{Type: "text", Text: &p.Text})
			}
		case llm.PartImage:
			src, err := imageSource(p)
			if err != nil {
				if le, ok := err.(*llm.Error); ok {
					le.Param = fmt.Sprintf("content[%d]", k)
				}
				return dst, err
			}
			dst = append(dst, blockOut{Type: "image", Source: src})
		default:
			return dst, llm.Errorf(fmt.Sprintf("content[%d]", k), "tool results may only hold text and images")
		}
	}
	return dst, nil
}

// encodeTools writes tools, tool_choice and the parallel tool call switch.
func encodeTools(r *llm.Request, out *requestOut) error {
	tc := r.ToolChoice
	allowed := func(name string) bool {
		if len(tc.Allowed) == 0 {
			return true
		}
		for _, a := range tc.Allowed {
			if a == name {
				return true
			}
		}
		return false
	}
	for _, a := range tc.Allowed {
		if !hasTool(r.Tools, a) {
			return llm.Errorf("tool_choice", "allowed tool %q is not among the request's tools", a)
		}
	}
	for i := range r.Tools {
		t := &r.Tools[i]
		if !allowed(t.Name) {
			continue
		}
		if t.Name == "" {
			return llm.Errorf(fmt.Sprintf("tools[%d]", i), "the tool has no name")
		}
		schema, err := inputSchema(t.Parameters)
		if err != nil {
			return llm.Errorf(fmt.Sprintf("tools[%d].parameters", i), "%s", err.Error())
		}
		out.Tools = append(out.Tools, toolOut{Name: t.Name, Description: t.Description, InputSchema: schema})
	}

	switch tc.Mode {
	case "":
	case llm.ToolAuto, llm.ToolNone:
		if len(out.Tools) > 0 {
			out.ToolChoice = &toolChoiceOut{Type: string(tc.Mode)}
		}
	case llm.ToolRequired:
		if len(out.Tools) == 0 {
			return llm.Errorf("tool_choice", "a required tool choice needs tools")
		}
		out.ToolChoice = &toolChoiceOut{Type: "any"}
	case llm.ToolNamed:
		if !hasTool(r.Tools, tc.Name) || !allowed(tc.Name) {
			return llm.Errorf("tool_choice", "tool %q is not among the request's tools", tc.Name)
		}
		out.ToolChoice = &toolChoiceOut{Type: "tool", Name: tc.Name}
	default:
		return llm.Errorf("tool_choice", "unsupported tool choice %q", tc.Mode)
	}
	if p := r.ParallelToolCalls; p != nil && !*p && len(out.Tools) > 0 {
		if out.ToolChoice == nil {
			out.ToolChoice = &toolChoiceOut{Type: "auto"}
		}
		if out.ToolChoice.Type != "none" {
			out.ToolChoice.DisableParallelToolUse = true
		}
	}
	return nil
}

func hasTool(tools []llm.Tool, name string) bool {
	for i := range tools {
		if tools[i].Name == name {
			return true
		}
	}
	return false
}

// objectSchema is the input_schema of a tool without parameters.
var objectSchema = []byte(`{"type":"object"}`)

// inputSchema returns a tool's input_schema: the parameters schema, with
// "type":"object" added when it has no type; {"type":"object"} when nil.
func inputSchema(params jsontext.Value) (jsontext.Value, error) {
	switch params.Kind() {
	case 0, 'n':
		return jsontext.Value(objectSchema), nil
	case '{':
	default:
		return nil, fmt.Errorf("must be a JSON schema object, got %s", jsonKind(params.Kind()))
	}
	if !params.IsValid() {
		return nil, fmt.Errorf("the schema is not valid JSON")
	}
	if hasTopLevelKey(params, "type") {
		return params, nil
	}
	trimmed := bytes.TrimSpace(params)
	rest := bytes.TrimSpace(trimmed[1:])
	schema := make([]byte, 0, len(trimmed)+16)
	schema = append(schema, `{"type":"object"`...)
	if len(rest) > 0 && rest[0] != '}' {
		schema = append(schema, ',')
	}
	return append(schema, rest...), nil
}

// hasTopLevelKey reports whether the valid JSON object obj has a member
// named key (written without escapes).
func hasTopLevelKey(obj []byte, key string) bool {
	depth := 0
	expectKey := false
	for i := 0; i < len(obj); i++ {
		switch c := obj[i]; c {
		case '{':
			depth++
			expectKey = depth == 1
		case '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			expectKey = depth == 1
		case '"':
			end := i + 1
			for end < len(obj) && obj[end] != '"' {
				if obj[end] == '\\' {
					end++
				}
				end++
			}
			if expectKey && string(obj[i+1:end]) == key {
				return true
			}
			expectKey = false
			i = end
		}
	}
	return false
}

// unsignedToolLoop reports whether the last assistant message calls tools
// without starting with a thinking block: Anthropic then rejects thinking
// ("a final assistant message must start with a thinking block"). This is
// the case when the tool loop was begun by another provider, or by a
// client whose dialect cannot carry the signed thinking back.
func unsignedToolLoop(msgs []messageOut) bool {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role != "assistant" {
			continue
		}
		blocks := msgs[i].Content
		if t := blocks[0].Type; t == "thinking" || t == "redacted_thinking" {
			return false
		}
		for j := range blocks {
			if blocks[j].Type == "tool_use" {
				return true
			}
		}
		return false
	}
	return false
}

// encodeThinking writes the thinking configuration. A budget below
// Anthropic's minimum is raised to it, an effort becomes a budget, and
// max_tokens is raised above the budget when needed (by the budget: the
// request's cap then still bounds the visible answer).
func encodeThinking(re *llm.Reasoning, out *requestOut) {
	if re == nil || re.Disabled {
		return
	}
	if adaptiveOnly(out.Model) {
		out.ThinkingEffort = adaptiveEffort(re)
		return
	}
	budget := re.BudgetTokens
	if budget <= 0 {
		switch re.Effort {
		case "minimal":
			return // the closest Anthropic has to minimal reasoning is none
		case "":
			budget = effortBudgets["medium"]
		default:
			var ok bool
			if budget, ok = effortBudgets[re.Effort]; !ok {
				budget = effortBudgets["medium"]
			}
		}
	}
	budget = max(budget, minThinkingBudget)
	if out.MaxTokens <= budget {
		out.MaxTokens += budget
	}
	out.ThinkingBudget = budget
}

// adaptiveOnly reports whether model takes only adaptive thinking
// (thinking {type: adaptive} with output_config.effort): Claude Opus 4.7
// and later answer budget_tokens with a 400. The models that still take a
// budget are the ones before 4.7: Claude 3.x and the 4.x models up to
// 4.6 (where budget_tokens is deprecated but accepted); any other Claude
// model is taken to be newer.
func adaptiveOnly(model string) bool {
	m := strings.TrimPrefix(strings.ToLower(model), "anthropic.") // Bedrock-style IDs
	if !strings.HasPrefix(m, "claude-") {
		return false // not a Claude model name: leave it to the budget form
	}
	if strings.HasPrefix(m, "claude-3") || strings.Contains(m, "-3-") || strings.Contains(m, "-3.") {
		return false
	}
	for _, fam := range []string{"opus", "sonnet", "haiku"} {
		rest, ok := strings.CutPrefix(m, "claude-"+fam+"-")
		if !ok {
			continue
		}
		// claude-opus-4, claude-sonnet-4-5-20250929, claude-opus-4-6…
		major, rest, _ := strings.Cut(rest, "-")
		if major != "4" {
			return major > "4" && len(major) == 1
		}
		minor, _, _ := strings.Cut(rest, "-")
		if len(minor) != 1 { // a date or nothing: 4.0
			return false
		}
		return minor >= "7"
	}
	return true // a newer family (Claude Fable, Mythos…)
}

// adaptiveEffort maps the requested reasoning onto output_config.effort:
// low, medium, high or max. A budget maps by size.
func adaptiveEffort(re *llm.Reasoning) string {
	switch re.Effort {
	case "minimal", "low":
		return "low"
	case "medium":
		return "medium"
	case "high":
		return "high"
	case "xhigh", "max":
		return "max"
	}
	switch b := re.BudgetTokens; {
	case b <= 0:
		return "high" // Anthropic's default effort
	case b <= 2048:
		return "low"
	case b <= 8192:
		return "medium"
	}
	return "high"
}
