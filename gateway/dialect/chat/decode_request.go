package chat

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// decodeOpts are the options every decoder of this package uses: a repeated
// member name keeps its last value instead of failing the whole body.
var decodeOpts = jsontext.AllowDuplicateNames(true)

// request is a Chat Completions request as this package reads it. Fields
// the package drops are not listed (unknown members are ignored); fields it
// rejects are kept raw only to notice them.
type request struct {
	Model               string           `json:"model"`
	Messages            *[]message       `json:"messages"`
	FrequencyPenalty    *float64         `json:"frequency_penalty"`
	PresencePenalty     *float64         `json:"presence_penalty"`
	Logprobs            bool             `json:"logprobs"`
	MaxCompletionTokens *int64           `json:"max_completion_tokens"`
	MaxTokens           *int64           `json:"max_tokens"`
	N                   *int64           `json:"n"`
	Modalities          []string         `json:"modalities"`
	Audio               jsontext.Value   `json:"audio"`
	ReasoningEffort     string           `json:"reasoning_effort"`
	ResponseFormat      *responseFormat  `json:"response_format"`
	Seed                *int64           `json:"seed"`
	Stop                stopValue        `json:"stop"`
	Stream              bool             `json:"stream"`
	StreamOptions       *streamOptions   `json:"stream_options"`
	Temperature         *float64         `json:"temperature"`
	TopP                *float64         `json:"top_p"`
	Tools               []tool           `json:"tools"`
	ToolChoice          *toolChoiceValue `json:"tool_choice"`
	ParallelToolCalls   *bool            `json:"parallel_tool_calls"`
	User                string           `json:"user"`
	SafetyIdentifier    string           `json:"safety_identifier"`
	Functions           jsontext.Value   `json:"functions"`
	FunctionCall        jsontext.Value   `json:"function_call"`
	WebSearchOptions    jsontext.Value   `json:"web_search_options"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name   string         `json:"name"`
		Schema jsontext.Value `json:"schema"`
		Strict *bool          `json:"strict"`
	} `json:"json_schema"`
}

// message is one entry of "messages", whatever its role.
type message struct {
	Role         string         `json:"role"`
	Content      content        `json:"content"`
	Refusal      string         `json:"refusal"`
	ToolCalls    []toolCall     `json:"tool_calls"`
	ToolCallID   string         `json:"tool_call_id"`
	FunctionCall jsontext.Value `json:"function_call"`
	Audio        jsontext.Value `json:"audio"`
}

// content is a message's content: null, a string or an array of parts.
type content struct {
	str   string
	parts []contentPart
	kind  byte // 0 (absent or null), '"' or '['
}

// UnmarshalJSONFrom reads a string, an array of content parts or null.
func (c *content) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	switch k := d.PeekKind(); k {
	case 'n':
		_, err := d.ReadToken()
		return err
	case '"':
		tok, err := d.ReadToken()
		c.str, c.kind = tok.String(), '"'
		return err
	case '[':
		c.kind = '['
		return json.UnmarshalDecode(d, &c.parts)
	default:
		return kindError("a string or an array of content parts")
	}
}

// size is the most parts the content can yield.
func (c *content) size() int {
	switch c.kind {
	case '"':
		return 1
	case '[':
		return len(c.parts)
	}
	return 0
}

// partArena hands out slices of parts from one allocation.
type partArena struct{ buf []llm.Part }

// get returns an empty slice with room for n parts.
func (a *partArena) get(n int) []llm.Part {
	l := len(a.buf)
	if n > cap(a.buf)-l {
		return make([]llm.Part, 0, n)
	}
	a.buf = a.buf[:l+n]
	return a.buf[l : l : l+n]
}

// contentPart is one part of an array content.
type contentPart struct {
	Type     string        `json:"type"`
	Text     string        `json:"text"`
	Refusal  string        `json:"refusal"`
	ImageURL imageURLValue `json:"image_url"`
}

// imageURLValue is an image_url part's image_url: {"url":...,"detail":...}
// or, leniently, the URL string alone.
type imageURLValue struct {
	url string
	set bool
}

// UnmarshalJSONFrom reads an image_url object, a bare URL string or null.
func (v *imageURLValue) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	switch d.PeekKind() {
	case 'n':
		_, err := d.ReadToken()
		return err
	case '"':
		tok, err := d.ReadToken()
		v.url, v.set = tok.String(), true
		return err
	case '{':
		var o struct {
			URL string `json:"url"`
		}
		err := json.UnmarshalDecode(d, &o)
		v.url, v.set = o.URL, true
		return err
	default:
		return kindError("an object")
	}
}

// toolCall is an assistant message's tool call.
type toolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function *struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// tool is an entry of "tools".
type tool struct {
	Type     string `json:"type"`
	Function *struct {
		Name        string         `json:"name"`
		Description string         `json:"description"`
		Parameters  jsontext.Value `json:"parameters"`
	} `json:"function"`
}

// stopValue is "stop": a string, an array of strings or null.
type stopValue []string

// UnmarshalJSONFrom reads a string, an array of strings or null.
func (s *stopValue) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	switch d.PeekKind() {
	case 'n':
		_, err := d.ReadToken()
		return err
	case '"':
		tok, err := d.ReadToken()
		*s = stopValue{tok.String()}
		return err
	case '[':
		var list []string
		if err := json.UnmarshalDecode(d, &list); err != nil {
			return err
		}
		*s = list
		return nil
	default:
		return kindError("a string or an array of strings")
	}
}

// toolChoiceValue is "tool_choice": a mode string or an object.
type toolChoiceValue struct {
	mode string // the string form
	obj  struct {
		Type     string `json:"type"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
		AllowedTools *struct {
			Mode  string `json:"mode"`
			Tools []struct {
				Type     string `json:"type"`
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			} `json:"tools"`
		} `json:"allowed_tools"`
	}
}

// UnmarshalJSONFrom reads a string or an object.
func (t *toolChoiceValue) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	switch d.PeekKind() {
	case '"':
		tok, err := d.ReadToken()
		t.mode = tok.String()
		return err
	case '{':
		return json.UnmarshalDecode(d, &t.obj)
	default:
		return kindError("a string or an object")
	}
}

// DecodeRequest reads a Chat Completions request body into r (which it
// resets first). It returns an *llm.Error, with Param in OpenAI's notation
// ("messages[2].content[1].image_url.url"), for a body that is invalid or
// asks for something no translated upstream can honour. The package
// documentation lists every mapping decision.
func DecodeRequest(body []byte, r *llm.Request) error {
	*r = llm.Request{}
	if k := jsontext.Value(body).Kind(); k != '{' {
		if !jsontext.Value(body).IsValid() {
			return decodeError(json.Unmarshal(body, new(request)))
		}
		return &llm.Error{Message: "the request body must be a JSON object"}
	}
	var w request
	if err := json.Unmarshal(body, &w, decodeOpts); err != nil {
		return decodeError(err)
	}
	if err := rejectUnsupported(&w); err != nil {
		return err
	}

	r.Model = w.Model
	if err := decodeMessages(&w, r); err != nil {
		return err
	}

	switch {
	case w.MaxCompletionTokens != nil:
		if *w.MaxCompletionTokens < 1 {
			return llm.Errorf("max_completion_tokens", "must be a positive integer, got %d", *w.MaxCompletionTokens)
		}
		r.MaxTokens = *w.MaxCompletionTokens
	case w.MaxTokens != nil:
		if *w.MaxTokens < 1 {
			return llm.Errorf("max_tokens", "must be a positive integer, got %d", *w.MaxTokens)
		}
		r.MaxTokens = *w.MaxTokens
	}
	if err := inRange("temperature", w.Temperature, 0, 2); err != nil {
		return err
	}
	if err := inRange("top_p", w.TopP, 0, 1); err != nil {
		return err
	}
	if err := inRange("presence_penalty", w.PresencePenalty, -2, 2); err != nil {
		return err
	}
	if err := inRange("frequency_penalty", w.FrequencyPenalty, -2, 2); err != nil {
		return err
	}
	r.Temperature, r.TopP = w.Temperature, w.TopP
	r.PresencePenalty, r.FrequencyPenalty = w.PresencePenalty, w.FrequencyPenalty
	r.Seed = w.Seed
	if w.N != nil {
		if *w.N < 1 {
			return llm.Errorf("n", "must be at least 1, got %d", *w.N)
		}
		r.Candidates = *w.N
	}
	for _, s := range w.Stop {
		if s != "" {
			r.Stop = append(r.Stop, s)
		}
	}
	r.Stream = w.Stream
	r.IncludeUsage = w.StreamOptions != nil && w.StreamOptions.IncludeUsage
	r.User = w.User
	if r.User == "" {
		r.User = w.SafetyIdentifier
	}

	switch w.ReasoningEffort {
	case "":
	case "none":
		r.Reasoning = &llm.Reasoning{Disabled: true}
	case "minimal", "low", "medium", "high", "xhigh":
		r.Reasoning = &llm.Reasoning{Effort: w.ReasoningEffort}
	default:
		return llm.Errorf("reasoning_effort", "unknown reasoning_effort %q; expected none, minimal, low, medium, high or xhigh", w.ReasoningEffort)
	}

	if err := decodeResponseFormat(w.ResponseFormat, r); err != nil {
		return err
	}
	if err := decodeTools(&w, r); err != nil {
		return err
	}
	return nil
}

// rejectUnsupported returns an *llm.Error for options no translated upstream
// can honour.
func rejectUnsupported(w *request) error {
	if w.Logprobs {
		return llm.Errorf("logprobs", "logprobs are not supported by the upstream; remove logprobs or set it to false")
	}
	if isSet(w.Functions) {
		return llm.Errorf("functions", "the deprecated 'functions' parameter is not supported; use 'tools' with type \"function\" instead")
	}
	if isSet(w.FunctionCall) {
		return llm.Errorf("function_call", "the deprecated 'function_call' parameter is not supported; use 'tool_choice' instead")
	}
	for _, m := range w.Modalities {
		if m != "text" {
			return llm.Errorf("modalities", "output modality %q is not supported; only \"text\" is available", m)
		}
	}
	if isSet(w.Audio) {
		return llm.Errorf("audio", "audio output is not supported by the upstream")
	}
	if isSet(w.WebSearchOptions) {
		return llm.Errorf("web_search_options", "web search is not supported by the upstream")
	}
	return nil
}

// inRange checks an optional number against [lo, hi].
func inRange(param string, v *float64, lo, hi float64) error {
	if v != nil && (*v < lo || *v > hi) {
		return llm.Errorf(param, "must be between %v and %v, got %v", lo, hi, *v)
	}
	return nil
}

// decodeMessages fills r.System and r.Messages from "messages".
func decodeMessages(w *request, r *llm.Request) error {
	if w.Messages == nil {
		return llm.Errorf("messages", "'messages' is required: send a non-empty array of messages")
	}
	msgs := *w.Messages
	if len(msgs) == 0 {
		return llm.Errorf("messages", "must contain at least one message")
	}
	r.Messages = make([]llm.Message, 0, len(msgs))
	// All the parts come from one allocation, each message taking at most
	// what its content can yield.
	total := 0
	for i := range msgs {
		m := &msgs[i]
		switch m.Role {
		case "user":
			total += m.Content.size()
		case "assistant":
			total += m.Content.size() + 1 + len(m.ToolCalls)
		case "tool":
			total += 1 + m.Content.size()
		}
	}
	a := partArena{buf: make([]llm.Part, 0, total)}
	var names map[string]string // tool call ID -> tool name, for tool results
	lastTool := false           // the last message added holds tool results only
	for i := range msgs {
		m := &msgs[i]
		isTool := false
		switch m.Role {
		case "system", "developer":
			parts, err := textParts(r.System, i, &m.Content, false)
			if err != nil {
				return err
			}
			r.System = parts
		case "user":
			parts, err := userParts(a.get(m.Content.size()), i, &m.Content)
			if err != nil {
				return err
			}
			if len(parts) > 0 {
				r.Messages = append(r.Messages, llm.Message{Role: llm.RoleUser, Parts: parts})
			}
		case "assistant":
			parts, err := assistantParts(a.get(m.Content.size()+1+len(m.ToolCalls)), i, m, &names)
			if err != nil {
				return err
			}
			if len(parts) > 0 {
				r.Messages = append(r.Messages, llm.Message{Role: llm.RoleAssistant, Parts: parts})
			}
		case "tool":
			if m.ToolCallID == "" {
				return llm.Errorf(msgParam(i, "tool_call_id"), "'tool_call_id' is required for tool messages")
			}
			texts, err := textParts(a.get(m.Content.size()), i, &m.Content, false)
			if err != nil {
				return err
			}
			if len(texts) == 0 {
				texts = nil
			}
			part := llm.Part{Type: llm.PartToolResult, ID: m.ToolCallID, Name: names[m.ToolCallID], Content: texts}
			if n := len(r.Messages); lastTool && n > 0 {
				r.Messages[n-1].Parts = append(r.Messages[n-1].Parts, part)
			} else {
				// Room for the results of the tool messages that follow.
				run := 1
				for k := i + 1; k < len(msgs) && msgs[k].Role != "user" && msgs[k].Role != "assistant"; k++ {
					if msgs[k].Role == "tool" {
						run++
					}
				}
				r.Messages = append(r.Messages, llm.Message{Role: llm.RoleUser, Parts: append(a.get(run), part)})
			}
			isTool = true
		case "function":
			return llm.Errorf(msgParam(i, "role"), "the deprecated \"function\" role is not supported; use assistant tool_calls and \"tool\" messages instead")
		case "":
			return llm.Errorf(msgParam(i, "role"), "'role' is required")
		default:
			return llm.Errorf(msgParam(i, "role"), "unknown role %q; supported roles are system, developer, user, assistant and tool", m.Role)
		}
		if isTool || m.Role != "system" && m.Role != "developer" {
			lastTool = isTool
		}
	}
	if len(r.Messages) == 0 {
		return llm.Errorf("messages", "must contain at least one user, assistant or tool message with non-empty content")
	}
	return nil
}

// textParts appends to dst the non-empty texts of content that may only
// hold text parts (and refusal parts when allowRefusal).
func textParts(dst []llm.Part, i int, c *content, allowRefusal bool) ([]llm.Part, error) {
	switch c.kind {
	case '"':
		if c.str != "" {
			dst = append(dst, llm.Part{Type: llm.PartText, Text: c.str})
		}
	case '[':
		for j := range c.parts {
			p := &c.parts[j]
			text := p.Text
			switch {
			case p.Type == "text":
			case p.Type == "refusal" && allowRefusal:
				text = p.Refusal
			default:
				allowed := `"text"`
				if allowRefusal {
					allowed = `"text" and "refusal"`
				}
				return nil, llm.Errorf(partParam(i, j, "type"), "unsupported content part type %q here; only %s parts are allowed", p.Type, allowed)
			}
			if text != "" {
				dst = append(dst, llm.Part{Type: llm.PartText, Text: text})
			}
		}
	}
	return dst, nil
}

// userParts appends to parts a user message's content: text and
// image_url parts.
func userParts(parts []llm.Part, i int, c *content) ([]llm.Part, error) {
	if c.kind != '[' {
		return textParts(parts, i, c, false)
	}
	for j := range c.parts {
		p := &c.parts[j]
		switch p.Type {
		case "text":
			if p.Text != "" {
				parts = append(parts, llm.Part{Type: llm.PartText, Text: p.Text})
			}
		case "image_url":
			if !p.ImageURL.set {
				return nil, llm.Errorf(partParam(i, j, "image_url"), "'image_url' is required for image_url content parts")
			}
			img, err := imagePart(partParam(i, j, "image_url.url"), p.ImageURL.url)
			if err != nil {
				return nil, err
			}
			parts = append(parts, img)
		case "input_audio", "file":
			return nil, llm.Errorf(partParam(i, j, "type"), "content part type %q is not supported by the upstream; only \"text\" and \"image_url\" parts are", p.Type)
		default:
			return nil, llm.Errorf(partParam(i, j, "type"), "unknown content part type %q; supported types are \"text\" and \"image_url\"", p.Type)
		}
	}
	return parts, nil
}

// imageTypes are the media types OpenAI (and the other dialects) accept for
// inline images.
var imageTypes = [...]string{"image/jpeg", "image/png", "image/gif", "image/webp"}

// imagePart converts an image URL: a data:<type>;base64,<data> URL becomes
// inline data, an http(s) URL stays a URL, anything else is rejected.
func imagePart(param, u string) (llm.Part, error) {
	if u == "" {
		return llm.Part{}, llm.Errorf(param, "'url' is required")
	}
	if len(u) >= 5 && strings.EqualFold(u[:5], "data:") {
		meta, data, found := strings.Cut(u[5:], ",")
		if !found {
			return llm.Part{}, llm.Errorf(param, "malformed data URL: expected data:<media type>;base64,<data>")
		}
		mediaType, params, _ := strings.Cut(meta, ";")
		mediaType = strings.ToLower(strings.TrimSpace(mediaType))
		b64 := false
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			if strings.EqualFold(strings.TrimSpace(p), "base64") {
				b64 = true
			}
		}
		if !b64 {
			return llm.Part{}, llm.Errorf(param, "data URLs must be base64-encoded: expected data:<media type>;base64,<data>")
		}
		if mediaType == "image/jpg" {
			mediaType = "image/jpeg"
		}
		known := false
		for _, t := range imageTypes {
			if t == mediaType {
				mediaType, known = t, true
				break
			}
		}
		if !known {
			return llm.Part{}, llm.Errorf(param, "unsupported image media type %q; supported types are image/jpeg, image/png, image/gif and image/webp", mediaType)
		}
		if data == "" {
			return llm.Part{}, llm.Errorf(param, "the data URL contains no image data")
		}
		return llm.Part{Type: llm.PartImage, MediaType: mediaType, Data: data}, nil
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return llm.Part{}, llm.Errorf(param, "invalid image URL: %v", err)
	}
	switch strings.ToLower(parsed.Scheme) {
	case "http", "https":
		if parsed.Host == "" {
			return llm.Part{}, llm.Errorf(param, "invalid image URL: missing host")
		}
		return llm.Part{Type: llm.PartImage, URL: u}, nil
	case "":
		return llm.Part{}, llm.Errorf(param, "image URL has no scheme; use an http(s) URL or a data:image/...;base64, URL")
	default:
		return llm.Part{}, llm.Errorf(param, "unsupported image URL scheme %q; use an http(s) URL or a data:image/...;base64, URL", parsed.Scheme)
	}
}

// assistantParts appends to parts an assistant message: its text and refusal
// content, its refusal field and its tool calls (whose names it records
// in *names for the tool results that follow).
func assistantParts(parts []llm.Part, i int, m *message, names *map[string]string) ([]llm.Part, error) {
	if isSet(m.FunctionCall) {
		return nil, llm.Errorf(msgParam(i, "function_call"), "the deprecated 'function_call' field is not supported; use 'tool_calls' instead")
	}
	if isSet(m.Audio) {
		return nil, llm.Errorf(msgParam(i, "audio"), "audio responses are not supported by the upstream")
	}
	parts, err := textParts(parts, i, &m.Content, true)
	if err != nil {
		return nil, err
	}
	if m.Refusal != "" {
		parts = append(parts, llm.Part{Type: llm.PartText, Text: m.Refusal})
	}
	for k := range m.ToolCalls {
		tc := &m.ToolCalls[k]
		if tc.Type != "" && tc.Type != "function" {
			return nil, llm.Errorf(callParam(i, k, "type"), "unsupported tool call type %q; only \"function\" tool calls are supported", tc.Type)
		}
		if tc.ID == "" {
			return nil, llm.Errorf(callParam(i, k, "id"), "'id' is required")
		}
		if tc.Function == nil {
			return nil, llm.Errorf(callParam(i, k, "function"), "'function' is required")
		}
		if tc.Function.Name == "" {
			return nil, llm.Errorf(callParam(i, k, "function.name"), "'name' is required")
		}
		args, err := toolArguments(callParam, i, k, tc.Function.Arguments)
		if err != nil {
			return nil, err
		}
		if *names == nil {
			*names = make(map[string]string, len(m.ToolCalls))
		}
		(*names)[tc.ID] = tc.Function.Name
		parts = append(parts, llm.Part{Type: llm.PartToolCall, ID: tc.ID, Name: tc.Function.Name, Arguments: args})
	}
	return parts, nil
}

// toolArguments validates a tool call's arguments string, which must
// encode a JSON object ("" is accepted as {}), and returns it compacted.
// param builds the error's parameter path from i and k.
func toolArguments(param func(i, k int, field string) string, i, k int, args string) (jsontext.Value, error) {
	s := strings.TrimSpace(args)
	if s == "" {
		return jsontext.Value("{}"), nil
	}
	v := jsontext.Value(s)
	if err := v.Compact(decodeOpts); err != nil {
		return nil, llm.Errorf(param(i, k, "function.arguments"), "arguments must be a JSON-encoded object, but is not valid JSON")
	}
	if v.Kind() != '{' {
		return nil, llm.Errorf(param(i, k, "function.arguments"), "arguments must be a JSON-encoded object, got %s", kindName(v.Kind()))
	}
	return v, nil
}

// decodeResponseFormat maps response_format.
func decodeResponseFormat(rf *responseFormat, r *llm.Request) error {
	if rf == nil {
		return nil
	}
	switch rf.Type {
	case "text", "":
	case "json_object":
		r.ResponseFormat = &llm.ResponseFormat{Type: "json_object"}
	case "json_schema":
		js := rf.JSONSchema
		if js == nil {
			return llm.Errorf("response_format.json_schema", "'json_schema' is required for response_format type \"json_schema\"")
		}
		if js.Name == "" {
			return llm.Errorf("response_format.json_schema.name", "'name' is required")
		}
		f := &llm.ResponseFormat{Type: "json_schema", Name: js.Name, Strict: js.Strict != nil && *js.Strict}
		if isSet(js.Schema) {
			if js.Schema.Kind() != '{' {
				return llm.Errorf("response_format.json_schema.schema", "expected an object")
			}
			f.Schema = js.Schema
		}
		r.ResponseFormat = f
	default:
		return llm.Errorf("response_format.type", "unknown response_format type %q; expected \"text\", \"json_object\" or \"json_schema\"", rf.Type)
	}
	return nil
}

// decodeTools maps tools, tool_choice and parallel_tool_calls.
func decodeTools(w *request, r *llm.Request) error {
	if len(w.Tools) > 0 {
		r.Tools = make([]llm.Tool, 0, len(w.Tools))
	}
	for i := range w.Tools {
		t := &w.Tools[i]
		if t.Type != "function" && t.Type != "" {
			return llm.Errorf(toolParam(i, "type"), "unsupported tool type %q; only \"function\" tools are supported", t.Type)
		}
		if t.Function == nil {
			return llm.Errorf(toolParam(i, "function"), "'function' is required")
		}
		fn := t.Function
		if fn.Name == "" {
			return llm.Errorf(toolParam(i, "function.name"), "'name' is required")
		}
		tl := llm.Tool{Name: fn.Name, Description: fn.Description}
		if isSet(fn.Parameters) {
			if fn.Parameters.Kind() != '{' {
				return llm.Errorf(toolParam(i, "function.parameters"), "expected an object")
			}
			tl.Parameters = fn.Parameters
		}
		r.Tools = append(r.Tools, tl)
	}
	r.ParallelToolCalls = w.ParallelToolCalls

	tc := w.ToolChoice
	if tc == nil {
		return nil
	}
	has := func(name string) bool {
		for i := range r.Tools {
			if r.Tools[i].Name == name {
				return true
			}
		}
		return false
	}
	needTools := func(what string) error {
		if len(r.Tools) == 0 {
			return llm.Errorf("tool_choice", "%s requires 'tools' to be specified", what)
		}
		return nil
	}
	if tc.mode != "" {
		switch tc.mode {
		case "auto", "none":
			if len(r.Tools) > 0 { // meaningless without tools
				r.ToolChoice.Mode = llm.ToolMode(tc.mode)
			}
		case "required":
			if err := needTools(`tool_choice "required"`); err != nil {
				return err
			}
			r.ToolChoice.Mode = llm.ToolRequired
		default:
			return llm.Errorf("tool_choice", "unknown tool_choice %q; expected \"auto\", \"none\", \"required\" or an object", tc.mode)
		}
		return nil
	}
	o := &tc.obj
	switch o.Type {
	case "function":
		if o.Function == nil {
			return llm.Errorf("tool_choice.function", "'function' is required")
		}
		name := o.Function.Name
		if name == "" {
			return llm.Errorf("tool_choice.function.name", "'name' is required")
		}
		if err := needTools("a named tool_choice"); err != nil {
			return err
		}
		if !has(name) {
			return llm.Errorf("tool_choice.function.name", "function %q is not among the request's tools", name)
		}
		r.ToolChoice = llm.ToolChoice{Mode: llm.ToolNamed, Name: name}
	case "allowed_tools":
		at := o.AllowedTools
		if at == nil {
			return llm.Errorf("tool_choice.allowed_tools", "'allowed_tools' is required")
		}
		var mode llm.ToolMode
		switch at.Mode {
		case "auto":
			mode = llm.ToolAuto
		case "required":
			mode = llm.ToolRequired
		default:
			return llm.Errorf("tool_choice.allowed_tools.mode", "expected \"auto\" or \"required\", got %q", at.Mode)
		}
		if err := needTools(`tool_choice "allowed_tools"`); err != nil {
			return err
		}
		if len(at.Tools) == 0 {
			return llm.Errorf("tool_choice.allowed_tools.tools", "expected a non-empty array of {\"type\":\"function\",\"function\":{\"name\":...}} objects")
		}
		allowed := make([]string, len(at.Tools))
		for k, l := range at.Tools {
			param := "tool_choice.allowed_tools.tools[" + strconv.Itoa(k) + "]"
			if l.Type != "function" || l.Function.Name == "" {
				return llm.Errorf(param, "only {\"type\":\"function\",\"function\":{\"name\":...}} entries are supported")
			}
			if !has(l.Function.Name) {
				return llm.Errorf(param, "function %q is not among the request's tools", l.Function.Name)
			}
			allowed[k] = l.Function.Name
		}
		r.ToolChoice = llm.ToolChoice{Mode: mode, Allowed: allowed}
	case "custom":
		return llm.Errorf("tool_choice.type", "custom tools are not supported; only \"function\" tools are")
	default:
		return llm.Errorf("tool_choice.type", "unsupported tool_choice type %q; expected \"function\" or \"allowed_tools\"", o.Type)
	}
	return nil
}

// isSet reports whether a raw member was present and not null.
func isSet(v jsontext.Value) bool {
	return len(v) > 0 && v.Kind() != 'n'
}

// msgParam returns "messages[i].field".
func msgParam(i int, field string) string {
	return "messages[" + strconv.Itoa(i) + "]." + field
}

// partParam returns "messages[i].content[j].field".
func partParam(i, j int, field string) string {
	return "messages[" + strconv.Itoa(i) + "].content[" + strconv.Itoa(j) + "]." + field
}

// callParam returns "messages[i].tool_calls[k].field".
func callParam(i, k int, field string) string {
	return "messages[" + strconv.Itoa(i) + "].tool_calls[" + strconv.Itoa(k) + "]." + field
}

// toolParam returns "tools[i].field".
func toolParam(i int, field string) string {
	return "tools[" + strconv.Itoa(i) + "]." + field
}

// kindName names a JSON kind for error messages.
func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '0':
		return "a number"
	default:
		return "nothing"
	}
}
