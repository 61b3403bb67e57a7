package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"unicode/utf8"
)

// fallbackMaxTokens is used when neither the request nor the caller supplies
// a positive max_tokens value.
const fallbackMaxTokens = 4096

// Anthropic Messages request body, in the field order of the API reference.
type anthRequest struct {
	Model         string          `json:"model"`
	MaxTokens     int64           `json:"max_tokens"`
	System        any             `json:"system,omitempty"` // string or []anthBlock
	Messages      []anthMessage   `json:"messages"`
	Metadata      *anthMetadata   `json:"metadata,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	Tools         []anthTool      `json:"tools,omitempty"`
	ToolChoice    *anthToolChoice `json:"tool_choice,omitempty"`
}

type anthMessage struct {
	Role    string      `json:"role"`
	Content []anthBlock `json:"content"`
}

// anthBlock is a request content block: text, image, tool_use or tool_result.
type anthBlock struct {
	Type      string           `json:"type"`
	Text      string           `json:"text,omitempty"`
	Source    *anthImageSource `json:"source,omitempty"`
	ID        string           `json:"id,omitempty"`
	Name      string           `json:"name,omitempty"`
	Input     json.RawMessage  `json:"input,omitempty"`
	ToolUseID string           `json:"tool_use_id,omitempty"`
	Content   any              `json:"content,omitempty"` // tool_result: string or []anthBlock
}

type anthImageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type anthMetadata struct {
	UserID string `json:"user_id"`
}

type anthTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type anthToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// ChatToMessagesRequest converts an OpenAI chat completions request body into
// an Anthropic Messages request body. upstreamModel replaces the "model"
// field. defaultMaxTokens is used when the request has neither
// max_completion_tokens nor max_tokens (Anthropic requires max_tokens); when
// it is not positive, 4096 is used.
//
// It returns *Error for invalid or unsupported input (invalid JSON, missing
// messages, bad roles, unsupported content part types, n>1, ...), with a
// message a developer can act on. The package documentation lists every
// mapping decision.
func ChatToMessagesRequest(body []byte, upstreamModel string, defaultMaxTokens int) ([]byte, error) {
	top, err := parseObject("", body)
	if err != nil {
		if !json.Valid(body) {
			return nil, &Error{Message: "the request body is not valid JSON: " + err.Error()}
		}
		return nil, &Error{Message: "the request body must be a JSON object"}
	}
	if !utf8.Valid(body) {
		return nil, &Error{Message: "the request body is not valid UTF-8"}
	}

	out := anthRequest{Model: upstreamModel}

	if err := rejectUnsupported(top); err != nil {
		return nil, err
	}

	// Messages.
	system, msgs, err := convertMessages(top)
	if err != nil {
		return nil, err
	}
	out.System = system
	out.Messages = msgs

	// max_tokens.
	maxTokens, ok, err := top.int("max_completion_tokens")
	if err != nil {
		return nil, err
	}
	param := "max_completion_tokens"
	if !ok {
		maxTokens, ok, err = top.int("max_tokens")
		if err != nil {
			return nil, err
		}
		param = "max_tokens"
	}
	switch {
	case ok && maxTokens < 1:
		return nil, errorf(param, "must be a positive integer, got %d", maxTokens)
	case ok:
		out.MaxTokens = maxTokens
	case defaultMaxTokens > 0:
		out.MaxTokens = int64(defaultMaxTokens)
	default:
		out.MaxTokens = fallbackMaxTokens
	}

	// Sampling.
	if t, ok, err := top.float("temperature"); err != nil {
		return nil, err
	} else if ok {
		if t < 0 || t > 2 {
			return nil, errorf("temperature", "must be between 0 and 2, got %v", t)
		}
		t = math.Min(t, 1) // Anthropic's range is 0..1.
		out.Temperature = &t
	}
	if p, ok, err := top.float("top_p"); err != nil {
		return nil, err
	} else if ok {
		if p < 0 || p > 1 {
			return nil, errorf("top_p", "must be between 0 and 1, got %v", p)
		}
		out.TopP = &p
	}

	// stop -> stop_sequences.
	if out.StopSequences, err = convertStop(top); err != nil {
		return nil, err
	}

	// user / safety_identifier -> metadata.user_id.
	user, ok, err := top.str("user")
	if err != nil {
		return nil, err
	}
	if !ok || user == "" {
		if user, _, err = top.str("safety_identifier"); err != nil {
			return nil, err
		}
	}
	if user != "" {
		out.Metadata = &anthMetadata{UserID: user}
	}

	if out.Stream, _, err = top.bool("stream"); err != nil {
		return nil, err
	}

	// Tools.
	if out.Tools, out.ToolChoice, err = convertTools(top); err != nil {
		return nil, err
	}

	return marshal(out)
}

// rejectUnsupported returns an *Error for request options that cannot be
// honoured by an Anthropic upstream.
func rejectUnsupported(top object) error {
	if n, ok, err := top.int("n"); err != nil {
		return err
	} else if ok && n > 1 {
		return errorf("n", "n > 1 is not supported: the upstream returns a single choice; send %d separate requests instead", n)
	} else if ok && n < 1 {
		return errorf("n", "must be at least 1, got %d", n)
	}
	if lp, _, err := top.bool("logprobs"); err != nil {
		return err
	} else if lp {
		return errorf("logprobs", "logprobs are not supported by the upstream; remove logprobs or set it to false")
	}
	if _, ok := top.raw("functions"); ok {
		return errorf("functions", "the deprecated 'functions' parameter is not supported; use 'tools' with type \"function\" instead")
	}
	if _, ok := top.raw("function_call"); ok {
		return errorf("function_call", "the deprecated 'function_call' parameter is not supported; use 'tool_choice' instead")
	}
	if raw, ok := top.raw("response_format"); ok {
		rf, err := asObject("response_format", raw)
		if err != nil {
			return err
		}
		typ, _, err := rf.str("type")
		if err != nil {
			return err
		}
		switch typ {
		case "text", "":
		case "json_object", "json_schema":
			return errorf("response_format.type", "response_format type %q is not supported by the upstream; ask for JSON in the prompt or use a tool with the desired parameters schema instead", typ)
		default:
			return errorf("response_format.type", "unknown response_format type %q", typ)
		}
	}
	if raw, ok := top.raw("modalities"); ok {
		var mods []string
		if err := json.Unmarshal(raw, &mods); err != nil {
			return errorf("modalities", "expected an array of strings")
		}
		for _, m := range mods {
			if m != "text" {
				return errorf("modalities", "output modality %q is not supported; only \"text\" is available", m)
			}
		}
	}
	return nil
}

// convertStop maps "stop" (a string or an array of strings) to
// stop_sequences, dropping empty strings.
func convertStop(top object) ([]string, error) {
	raw, ok := top.raw("stop")
	if !ok {
		return nil, nil
	}
	var seqs []string
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		seqs = []string{one}
	} else if err := json.Unmarshal(raw, &seqs); err != nil {
		return nil, errorf("stop", "expected a string or an array of strings")
	}
	out := seqs[:0]
	for _, s := range seqs {
		if s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// convertMessages converts "messages" into the Anthropic system prompt and
// alternating message list.
func convertMessages(top object) (system any, msgs []anthMessage, err error) {
	raw, ok := top.raw("messages")
	if !ok {
		return nil, nil, errorf("messages", "'messages' is required: send a non-empty array of messages")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, nil, errorf("messages", "expected an array of message objects")
	}
	if len(items) == 0 {
		return nil, nil, errorf("messages", "must contain at least one message")
	}

	var systemTexts []string
	var b msgBuilder
	for i, item := range items {
		path := fmt.Sprintf("messages[%d]", i)
		m, err := asObject(path, item)
		if err != nil {
			return nil, nil, err
		}
		role, ok, err := m.str("role")
		if err != nil {
			return nil, nil, err
		}
		if !ok || role == "" {
			return nil, nil, errorf(m.param("role"), "'role' is required")
		}
		content, _ := m.raw("content")
		switch role {
		case "system", "developer":
			texts, err := textContent(m.param("content"), content, false)
			if err != nil {
				return nil, nil, err
			}
			for _, t := range texts {
				if t != "" {
					systemTexts = append(systemTexts, t)
				}
			}
		case "user":
			blocks, err := userContent(m.param("content"), content)
			if err != nil {
				return nil, nil, err
			}
			b.add("user", blocks)
		case "assistant":
			blocks, err := assistantContent(m, content)
			if err != nil {
				return nil, nil, err
			}
			b.add("assistant", blocks)
		case "tool":
			block, err := toolResult(m, content)
			if err != nil {
				return nil, nil, err
			}
			b.add("user", []anthBlock{block})
		case "function":
			return nil, nil, errorf(m.param("role"), "the deprecated \"function\" role is not supported; use assistant tool_calls and \"tool\" messages instead")
		default:
			return nil, nil, errorf(m.param("role"), "unknown role %q; supported roles are system, developer, user, assistant and tool", role)
		}
	}
	if len(b.msgs) == 0 {
		return nil, nil, errorf("messages", "must contain at least one user, assistant or tool message with non-empty content")
	}
	for i := range b.msgs {
		if b.msgs[i].Role == "user" {
			toolResultsFirst(b.msgs[i].Content)
		}
	}

	switch len(systemTexts) {
	case 0:
	case 1:
		system = systemTexts[0]
	default:
		blocks := make([]anthBlock, len(systemTexts))
		for i, t := range systemTexts {
			blocks[i] = anthBlock{Type: "text", Text: t}
		}
		system = blocks
	}
	return system, b.msgs, nil
}

// msgBuilder accumulates messages, merging consecutive same-role ones.
type msgBuilder struct{ msgs []anthMessage }

func (b *msgBuilder) add(role string, blocks []anthBlock) {
	if len(blocks) == 0 {
		return
	}
	if n := len(b.msgs); n > 0 && b.msgs[n-1].Role == role {
		b.msgs[n-1].Content = append(b.msgs[n-1].Content, blocks...)
		return
	}
	b.msgs = append(b.msgs, anthMessage{Role: role, Content: blocks})
}

// toolResultsFirst stably moves tool_result blocks in front of the others.
func toolResultsFirst(blocks []anthBlock) {
	sorted := make([]anthBlock, 0, len(blocks))
	for _, bl := range blocks {
		if bl.Type == "tool_result" {
			sorted = append(sorted, bl)
		}
	}
	for _, bl := range blocks {
		if bl.Type != "tool_result" {
			sorted = append(sorted, bl)
		}
	}
	copy(blocks, sorted)
}

// contentParts splits message content into a plain string (isString) or a
// list of content-part objects; absent or null content yields neither.
func contentParts(path string, content json.RawMessage) (text string, parts []object, isString bool, err error) {
	if content == nil {
		return "", nil, false, nil
	}
	switch firstByte(content) {
	case '"':
		if err := json.Unmarshal(content, &text); err != nil {
			return "", nil, false, errorf(path, "expected a string or an array of content parts")
		}
		return text, nil, true, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(content, &items); err != nil {
			return "", nil, false, errorf(path, "expected a string or an array of content parts")
		}
		parts = make([]object, len(items))
		for j, it := range items {
			if parts[j], err = asObject(fmt.Sprintf("%s[%d]", path, j), it); err != nil {
				return "", nil, false, err
			}
		}
		return "", parts, false, nil
	default:
		return "", nil, false, errorf(path, "expected a string or an array of content parts")
	}
}

// textContent returns the texts of content that may only hold text parts
// (plus refusal parts when allowRefusal).
func textContent(path string, content json.RawMessage, allowRefusal bool) ([]string, error) {
	text, parts, isString, err := contentParts(path, content)
	if err != nil {
		return nil, err
	}
	if isString {
		return []string{text}, nil
	}
	texts := make([]string, 0, len(parts))
	for _, p := range parts {
		typ, _, err := p.str("type")
		if err != nil {
			return nil, err
		}
		key := "text"
		switch {
		case typ == "text":
		case typ == "refusal" && allowRefusal:
			key = "refusal"
		default:
			allowed := "\"text\""
			if allowRefusal {
				allowed = "\"text\" and \"refusal\""
			}
			return nil, errorf(p.param("type"), "unsupported content part type %q here; only %s parts are allowed", typ, allowed)
		}
		t, _, err := p.str(key)
		if err != nil {
			return nil, err
		}
		texts = append(texts, t)
	}
	return texts, nil
}

// textBlocks turns non-empty texts into text blocks.
func textBlocks(texts []string) []anthBlock {
	var blocks []anthBlock
	for _, t := range texts {
		if t != "" {
			blocks = append(blocks, anthBlock{Type: "text", Text: t})
		}
	}
	return blocks
}

// userContent converts user message content (text and image_url parts).
func userContent(path string, content json.RawMessage) ([]anthBlock, error) {
	text, parts, isString, err := contentParts(path, content)
	if err != nil {
		return nil, err
	}
	if isString {
		return textBlocks([]string{text}), nil
	}
	var blocks []anthBlock
	for _, p := range parts {
		typ, _, err := p.str("type")
		if err != nil {
			return nil, err
		}
		switch typ {
		case "text":
			t, _, err := p.str("text")
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, textBlocks([]string{t})...)
		case "image_url":
			u, err := imageURL(p)
			if err != nil {
				return nil, err
			}
			src, err := imageSource(p.param("image_url.url"), u)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, anthBlock{Type: "image", Source: src})
		case "input_audio", "file":
			return nil, errorf(p.param("type"), "content part type %q is not supported by the upstream; only \"text\" and \"image_url\" parts are", typ)
		default:
			return nil, errorf(p.param("type"), "unknown content part type %q; supported types are \"text\" and \"image_url\"", typ)
		}
	}
	return blocks, nil
}

// imageURL extracts image_url.url from an image_url content part (a bare
// string image_url is accepted too).
func imageURL(p object) (string, error) {
	raw, ok := p.raw("image_url")
	if !ok {
		return "", errorf(p.param("image_url"), "'image_url' is required for image_url content parts")
	}
	if firstByte(raw) == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s, nil
		}
	}
	iu, err := asObject(p.param("image_url"), raw)
	if err != nil {
		return "", err
	}
	u, ok, err := iu.str("url")
	if err != nil {
		return "", err
	}
	if !ok || u == "" {
		return "", errorf(iu.param("url"), "'url' is required")
	}
	return u, nil
}

// supportedImageTypes are the base64 media types Anthropic accepts.
var supportedImageTypes = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
}

// imageSource converts an OpenAI image URL (data: or http(s):) into an
// Anthropic image source.
func imageSource(param, u string) (*anthImageSource, error) {
	if len(u) >= 5 && strings.EqualFold(u[:5], "data:") {
		meta, data, found := strings.Cut(u[5:], ",")
		if !found {
			return nil, errorf(param, "malformed data URL: expected data:<media type>;base64,<data>")
		}
		params := strings.Split(meta, ";")
		mediaType := strings.ToLower(strings.TrimSpace(params[0]))
		base64 := false
		for _, p := range params[1:] {
			if strings.EqualFold(strings.TrimSpace(p), "base64") {
				base64 = true
			}
		}
		if !base64 {
			return nil, errorf(param, "data URLs must be base64-encoded: expected data:<media type>;base64,<data>")
		}
		if mediaType == "image/jpg" {
			mediaType = "image/jpeg"
		}
		if !supportedImageTypes[mediaType] {
			return nil, errorf(param, "unsupported image media type %q; supported types are image/jpeg, image/png, image/gif and image/webp", mediaType)
		}
		if data == "" {
			return nil, errorf(param, "the data URL contains no image data")
		}
		return &anthImageSource{Type: "base64", MediaType: mediaType, Data: data}, nil
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return nil, errorf(param, "invalid image URL: %v", err)
	}
	switch strings.ToLower(parsed.Scheme) {
	case "http", "https":
		if parsed.Host == "" {
			return nil, errorf(param, "invalid image URL: missing host")
		}
		return &anthImageSource{Type: "url", URL: u}, nil
	case "":
		return nil, errorf(param, "image URL has no scheme; use an http(s) URL or a data:image/...;base64, URL")
	default:
		return nil, errorf(param, "unsupported image URL scheme %q; use an http(s) URL or a data:image/...;base64, URL", parsed.Scheme)
	}
}

// assistantContent converts an assistant message: its text/refusal content
// and tool_calls.
func assistantContent(m object, content json.RawMessage) ([]anthBlock, error) {
	if _, ok := m.raw("function_call"); ok {
		return nil, errorf(m.param("function_call"), "the deprecated 'function_call' field is not supported; use 'tool_calls' instead")
	}
	texts, err := textContent(m.param("content"), content, true)
	if err != nil {
		return nil, err
	}
	if refusal, _, err := m.str("refusal"); err != nil {
		return nil, err
	} else if refusal != "" {
		texts = append(texts, refusal)
	}
	blocks := textBlocks(texts)

	raw, ok := m.raw("tool_calls")
	if !ok {
		return blocks, nil
	}
	var calls []json.RawMessage
	if err := json.Unmarshal(raw, &calls); err != nil {
		return nil, errorf(m.param("tool_calls"), "expected an array of tool calls")
	}
	for k, rc := range calls {
		call, err := asObject(fmt.Sprintf("%s[%d]", m.param("tool_calls"), k), rc)
		if err != nil {
			return nil, err
		}
		if typ, _, err := call.str("type"); err != nil {
			return nil, err
		} else if typ != "" && typ != "function" {
			return nil, errorf(call.param("type"), "unsupported tool call type %q; only \"function\" tool calls are supported", typ)
		}
		id, _, err := call.str("id")
		if err != nil {
			return nil, err
		}
		if id == "" {
			return nil, errorf(call.param("id"), "'id' is required")
		}
		fraw, ok := call.raw("function")
		if !ok {
			return nil, errorf(call.param("function"), "'function' is required")
		}
		fn, err := asObject(call.param("function"), fraw)
		if err != nil {
			return nil, err
		}
		name, _, err := fn.str("name")
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, errorf(fn.param("name"), "'name' is required")
		}
		args, _, err := fn.str("arguments")
		if err != nil {
			return nil, err
		}
		input, err := toolInput(fn.param("arguments"), args)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, anthBlock{Type: "tool_use", ID: id, Name: name, Input: input})
	}
	return blocks, nil
}

// toolInput validates a tool call's arguments string, which must encode a
// JSON object (Anthropic's tool_use input); "" is accepted as {}.
func toolInput(param, args string) (json.RawMessage, error) {
	s := strings.TrimSpace(args)
	if s == "" {
		return json.RawMessage(`{}`), nil
	}
	if !json.Valid([]byte(s)) {
		return nil, errorf(param, "arguments must be a JSON-encoded object, but is not valid JSON")
	}
	if s[0] != '{' {
		return nil, errorf(param, "arguments must be a JSON-encoded object, got %s", firstWord(s))
	}
	return json.RawMessage(s), nil
}

// toolResult converts a tool message into a tool_result block.
func toolResult(m object, content json.RawMessage) (anthBlock, error) {
	id, _, err := m.str("tool_call_id")
	if err != nil {
		return anthBlock{}, err
	}
	if id == "" {
		return anthBlock{}, errorf(m.param("tool_call_id"), "'tool_call_id' is required for tool messages")
	}
	block := anthBlock{Type: "tool_result", ToolUseID: id}
	text, parts, isString, err := contentParts(m.param("content"), content)
	if err != nil {
		return anthBlock{}, err
	}
	if isString {
		if text != "" {
			block.Content = text
		}
		return block, nil
	}
	if parts != nil {
		texts, err := textContent(m.param("content"), content, false)
		if err != nil {
			return anthBlock{}, err
		}
		if tb := textBlocks(texts); len(tb) > 0 {
			block.Content = tb
		}
	}
	return block, nil
}

// convertTools converts tools, tool_choice and parallel_tool_calls.
func convertTools(top object) ([]anthTool, *anthToolChoice, error) {
	var tools []anthTool
	if raw, ok := top.raw("tools"); ok {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, nil, errorf("tools", "expected an array of tools")
		}
		for i, it := range items {
			t, err := convertTool(fmt.Sprintf("tools[%d]", i), it)
			if err != nil {
				return nil, nil, err
			}
			tools = append(tools, t)
		}
	}

	var choice *anthToolChoice
	if raw, ok := top.raw("tool_choice"); ok {
		var err error
		if choice, tools, err = convertToolChoice(raw, tools); err != nil {
			return nil, nil, err
		}
	}

	parallel, ok, err := top.bool("parallel_tool_calls")
	if err != nil {
		return nil, nil, err
	}
	if ok && !parallel && len(tools) > 0 {
		if choice == nil {
			choice = &anthToolChoice{Type: "auto"}
		}
		if choice.Type != "none" {
			choice.DisableParallelToolUse = true
		}
	}
	return tools, choice, nil
}

// convertTool converts one OpenAI function tool.
func convertTool(path string, raw json.RawMessage) (anthTool, error) {
	t, err := asObject(path, raw)
	if err != nil {
		return anthTool{}, err
	}
	typ, _, err := t.str("type")
	if err != nil {
		return anthTool{}, err
	}
	if typ != "function" && typ != "" {
		return anthTool{}, errorf(t.param("type"), "unsupported tool type %q; only \"function\" tools are supported", typ)
	}
	fraw, ok := t.raw("function")
	if !ok {
		return anthTool{}, errorf(t.param("function"), "'function' is required")
	}
	fn, err := asObject(t.param("function"), fraw)
	if err != nil {
		return anthTool{}, err
	}
	name, _, err := fn.str("name")
	if err != nil {
		return anthTool{}, err
	}
	if name == "" {
		return anthTool{}, errorf(fn.param("name"), "'name' is required")
	}
	desc, _, err := fn.str("description")
	if err != nil {
		return anthTool{}, err
	}
	schema := json.RawMessage(`{"type":"object"}`)
	if praw, ok := fn.raw("parameters"); ok {
		params, err := asObject(fn.param("parameters"), praw)
		if err != nil {
			return anthTool{}, err
		}
		schema = praw
		if _, hasType := params.fields["type"]; !hasType {
			params.fields["type"] = json.RawMessage(`"object"`)
			if schema, err = marshal(params.fields); err != nil {
				return anthTool{}, errorf(fn.param("parameters"), "invalid JSON schema: %v", err)
			}
		}
	}
	return anthTool{Name: name, Description: desc, InputSchema: schema}, nil
}

// convertToolChoice converts tool_choice. It may narrow tools (allowed_tools).
func convertToolChoice(raw json.RawMessage, tools []anthTool) (*anthToolChoice, []anthTool, error) {
	const param = "tool_choice"
	has := func(name string) bool {
		for _, t := range tools {
			if t.Name == name {
				return true
			}
		}
		return false
	}
	needTools := func(what string) error {
		if len(tools) == 0 {
			return errorf(param, "%s requires 'tools' to be specified", what)
		}
		return nil
	}

	if firstByte(raw) == '"' {
		var mode string
		_ = json.Unmarshal(raw, &mode)
		switch mode {
		case "auto", "none":
			if len(tools) == 0 {
				return nil, tools, nil // meaningless without tools; Anthropic needs none
			}
			return &anthToolChoice{Type: mode}, tools, nil
		case "required":
			if err := needTools(`tool_choice "required"`); err != nil {
				return nil, nil, err
			}
			return &anthToolChoice{Type: "any"}, tools, nil
		default:
			return nil, nil, errorf(param, "unknown tool_choice %q; expected \"auto\", \"none\", \"required\" or an object", mode)
		}
	}

	tc, err := asObject(param, raw)
	if err != nil {
		return nil, nil, errorf(param, "expected a string or an object")
	}
	typ, _, err := tc.str("type")
	if err != nil {
		return nil, nil, err
	}
	switch typ {
	case "function":
		fraw, ok := tc.raw("function")
		if !ok {
			return nil, nil, errorf(tc.param("function"), "'function' is required")
		}
		fn, err := asObject(tc.param("function"), fraw)
		if err != nil {
			return nil, nil, err
		}
		name, _, err := fn.str("name")
		if err != nil {
			return nil, nil, err
		}
		if name == "" {
			return nil, nil, errorf(fn.param("name"), "'name' is required")
		}
		if err := needTools("a named tool_choice"); err != nil {
			return nil, nil, err
		}
		if !has(name) {
			return nil, nil, errorf(fn.param("name"), "function %q is not among the request's tools", name)
		}
		return &anthToolChoice{Type: "tool", Name: name}, tools, nil
	case "allowed_tools":
		araw, ok := tc.raw("allowed_tools")
		if !ok {
			return nil, nil, errorf(tc.param("allowed_tools"), "'allowed_tools' is required")
		}
		at, err := asObject(tc.param("allowed_tools"), araw)
		if err != nil {
			return nil, nil, err
		}
		mode, _, err := at.str("mode")
		if err != nil {
			return nil, nil, err
		}
		anthType := map[string]string{"auto": "auto", "required": "any"}[mode]
		if anthType == "" {
			return nil, nil, errorf(at.param("mode"), "expected \"auto\" or \"required\", got %q", mode)
		}
		if err := needTools("tool_choice \"allowed_tools\""); err != nil {
			return nil, nil, err
		}
		var listed []struct {
			Type     string `json:"type"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		lraw, _ := at.raw("tools")
		if lraw == nil || json.Unmarshal(lraw, &listed) != nil || len(listed) == 0 {
			return nil, nil, errorf(at.param("tools"), "expected a non-empty array of {\"type\":\"function\",\"function\":{\"name\":...}} objects")
		}
		allowed := map[string]bool{}
		for k, l := range listed {
			if l.Type != "function" || l.Function.Name == "" {
				return nil, nil, errorf(fmt.Sprintf("%s[%d]", at.param("tools"), k), "only {\"type\":\"function\",\"function\":{\"name\":...}} entries are supported")
			}
			if !has(l.Function.Name) {
				return nil, nil, errorf(fmt.Sprintf("%s[%d]", at.param("tools"), k), "function %q is not among the request's tools", l.Function.Name)
			}
			allowed[l.Function.Name] = true
		}
		var narrowed []anthTool
		for _, t := range tools {
			if allowed[t.Name] {
				narrowed = append(narrowed, t)
			}
		}
		return &anthToolChoice{Type: anthType}, narrowed, nil
	default:
		return nil, nil, errorf(tc.param("type"), "unsupported tool_choice type %q; expected \"function\" or \"allowed_tools\"", typ)
	}
}

// object is a decoded JSON object together with its path in the request,
// used to report precise *Error params.
type object struct {
	path   string
	fields map[string]json.RawMessage
}

// parseObject decodes raw as a JSON object.
func parseObject(path string, raw []byte) (object, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return object{}, err
	}
	if fields == nil {
		return object{}, errors.New("null is not an object")
	}
	return object{path: path, fields: fields}, nil
}

// asObject decodes raw as a JSON object, returning an *Error naming path.
func asObject(path string, raw json.RawMessage) (object, error) {
	o, err := parseObject(path, raw)
	if err != nil {
		return object{}, errorf(path, "expected an object")
	}
	return o, nil
}

// param returns the full parameter path of key.
func (o object) param(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

// raw returns key's raw value; absent and null values report false.
func (o object) raw(key string) (json.RawMessage, bool) {
	v, ok := o.fields[key]
	if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil, false
	}
	return v, true
}

// decode unmarshals key into dst, reporting a type mismatch as an *Error.
func (o object) decode(key string, dst any, want string) (bool, error) {
	v, ok := o.raw(key)
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return false, errorf(o.param(key), "expected %s", want)
	}
	return true, nil
}

func (o object) str(key string) (string, bool, error) {
	var s string
	ok, err := o.decode(key, &s, "a string")
	return s, ok, err
}

func (o object) float(key string) (float64, bool, error) {
	var f float64
	ok, err := o.decode(key, &f, "a number")
	return f, ok, err
}

func (o object) bool(key string) (bool, bool, error) {
	var b bool
	ok, err := o.decode(key, &b, "a boolean")
	return b, ok, err
}

func (o object) int(key string) (int64, bool, error) {
	f, ok, err := o.float(key)
	if err != nil || !ok {
		if err != nil {
			err = errorf(o.param(key), "expected an integer")
		}
		return 0, ok, err
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false, errorf(o.param(key), "expected an integer, got %v", f)
	}
	return int64(f), true, nil
}

// firstByte returns the first non-space byte of raw, or 0.
func firstByte(raw []byte) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// firstWord describes a JSON value by its kind for error messages.
func firstWord(s string) string {
	switch s[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}
