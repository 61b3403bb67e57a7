package anthropic

import (
	"fmt"
	"strings"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
	"github.com/go-json-experiment/json/jsontext"
)

// DecodeRequest reads a POST /v1/messages body into r. It returns an
// *llm.Error for a body the Messages API would reject (no max_tokens, no
// messages, a bad role…) and for features that only run on Anthropic's
// platform and cannot be translated (server tools, documents, Files API
// sources…). The package documentation lists every decision.
func DecodeRequest(body []byte, r *llm.Request) error {
	p := getParser(body)
	defer putParser(p)
	p.parts = make([]llm.Part, 0, min(len(body)/256+8, 256))
	*r = llm.Request{}
	var q requestState
	if err := p.request(r, &q); err != nil {
		return requestError(err)
	}
	return q.check(r)
}

// requestState holds what the top-level fields say, checked once the whole
// body is read.
type requestState struct {
	maxTokens     int64
	haveMaxTokens bool
	mcpServers    bool
	noMessages    bool
	thinking      *thinkingIn
	effort        string
	format        *formatIn
	formatParam   string
	toolChoice    *toolChoiceIn
}

// request reads the top-level object.
func (p *parser) request(r *llm.Request, q *requestState) error {
	if k := p.d.PeekKind(); k != '{' {
		if k == 0 { // not JSON: let the decoder say why
			_, err := p.d.ReadToken()
			return err
		}
		return llm.Errorf("", "the request body must be a JSON object")
	}
	if _, err := p.enter('{'); err != nil {
		return err
	}
	for p.more() {
		name, err := p.name()
		if err != nil {
			return err
		}
		switch string(name) {
		case "model":
			r.Model, err = p.str()
		case "max_tokens":
			q.maxTokens, q.haveMaxTokens, err = p.integer()
		case "system":
			r.System, err = p.system()
		case "messages":
			r.Messages, err = p.messages()
			q.noMessages = len(r.Messages) == 0
		case "metadata":
			r.User, err = p.metadata()
		case "stop_sequences":
			r.Stop, err = p.strings()
		case "stream":
			r.Stream, err = p.boolean()
		case "temperature":
			r.Temperature, err = p.optNumber()
		case "top_p":
			r.TopP, err = p.optNumber()
		case "top_k":
			var k int64
			var ok bool
			if k, ok, err = p.integer(); ok {
				r.TopK = &k
			}
		case "thinking":
			q.thinking, err = p.thinking()
		case "output_config":
			err = p.outputConfig(q)
		case "output_format":
			if q.formatParam != "output_config.format" {
				q.format, err = p.format()
				q.formatParam = "output_format"
			} else {
				err = p.d.SkipValue()
			}
		case "tools":
			r.Tools, err = p.tools()
		case "tool_choice":
			q.toolChoice, err = p.toolChoice()
		case "mcp_servers":
			q.mcpServers, err = p.nonEmptyArray()
		default:
			err = p.d.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	if err := p.leave(); err != nil {
		return err
	}
	return p.end()
}

// check applies the rules that need the whole body.
func (q *requestState) check(r *llm.Request) error {
	if !q.haveMaxTokens {
		return llm.Errorf("max_tokens", "field required")
	}
	if q.maxTokens < 1 {
		return llm.Errorf("max_tokens", "must be at least 1, got %d", q.maxTokens)
	}
	r.MaxTokens = q.maxTokens
	if q.mcpServers {
		return llm.Errorf("mcp_servers", "MCP servers are run by Anthropic's platform and cannot be used with this model's provider")
	}
	if len(r.Messages) == 0 {
		if q.noMessages {
			return llm.Errorf("messages", "at least one message is required")
		}
		return llm.Errorf("messages", "field required")
	}
	if len(r.Tools) == 0 {
		r.Tools = nil
	}
	if tc := q.toolChoice; tc != nil {
		switch tc.Type {
		case "auto":
			r.ToolChoice.Mode = llm.ToolAuto
		case "any":
			r.ToolChoice.Mode = llm.ToolRequired
		case "none":
			r.ToolChoice.Mode = llm.ToolNone
		case "tool":
			if tc.Name == "" {
				return llm.Errorf("tool_choice.name", "field required")
			}
			r.ToolChoice = llm.ToolChoice{Mode: llm.ToolNamed, Name: tc.Name}
		default:
			return llm.Errorf("tool_choice.type", "must be \"auto\", \"any\", \"tool\" or \"none\", got %q", tc.Type)
		}
		if tc.DisableParallelToolUse {
			parallel := false
			r.ParallelToolCalls = &parallel
		}
	}
	return q.checkThinking(r)
}

// checkThinking reads thinking, output_config (effort and format) and the
// structured-outputs beta's output_format.
func (q *requestState) checkThinking(r *llm.Request) error {
	effort := q.effort
	switch effort {
	case "", "low", "medium", "high":
	case "xhigh", "max":
		effort = "high"
	default:
		return llm.Errorf("output_config.effort", "must be \"low\", \"medium\", \"high\", \"xhigh\" or \"max\", got %q", effort)
	}
	if t := q.thinking; t != nil {
		switch t.Type {
		case "enabled":
			if t.BudgetTokens == nil {
				return llm.Errorf("thinking.budget_tokens", "field required")
			}
			if *t.BudgetTokens < minThinkingBudget {
				return llm.Errorf("thinking.budget_tokens", "must be at least 1024, got %d", *t.BudgetTokens)
			}
			r.Reasoning = &llm.Reasoning{BudgetTokens: *t.BudgetTokens}
		case "adaptive":
			if effort == "" {
				effort = "high" // Anthropic's default effort
			}
			r.Reasoning = &llm.Reasoning{Effort: effort}
		case "disabled":
			r.Reasoning = &llm.Reasoning{Disabled: true}
		default:
			return llm.Errorf("thinking.type", "must be \"enabled\", \"adaptive\" or \"disabled\", got %q", t.Type)
		}
	} else if effort != "" {
		r.Reasoning = &llm.Reasoning{Effort: effort}
	}
	if f := q.format; f != nil {
		if f.Type != "json_schema" {
			return llm.Errorf(q.formatParam+".type", "must be \"json_schema\", got %q", f.Type)
		}
		if f.Schema.Kind() != '{' {
			return llm.Errorf(q.formatParam+".schema", "must be an object")
		}
		r.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", Name: "response", Schema: f.Schema, Strict: true}
	}
	return nil
}

// optNumber reads a number that may be absent.
func (p *parser) optNumber() (*float64, error) {
	f, ok, err := p.number()
	if !ok {
		return nil, err
	}
	return &f, nil
}

// nonEmptyArray reads an array and reports whether it has elements.
func (p *parser) nonEmptyArray() (bool, error) {
	ok, err := p.enter('[')
	if !ok {
		return false, err
	}
	n := 0
	for p.more() {
		n++
		if err := p.d.SkipValue(); err != nil {
			return false, err
		}
	}
	return n > 0, p.leave()
}

// metadata reads metadata and returns its user_id.
func (p *parser) metadata() (string, error) {
	var user string
	_, err := p.members(func(name string) (err error) {
		if name == "user_id" {
			user, err = p.str()
			return err
		}
		return p.d.SkipValue()
	})
	return user, err
}

// system reads the system prompt: a string or an array of text blocks.
func (p *parser) system() ([]llm.Part, error) {
	switch p.d.PeekKind() {
	case '"':
		s, err := p.str()
		if err != nil || s == "" {
			return nil, err
		}
		return []llm.Part{{Type: llm.PartText, Text: s}}, nil
	case 'n':
		return nil, p.d.SkipValue()
	case '[':
	default:
		return nil, p.mismatch("a string or an array of text blocks")
	}
	if _, err := p.enter('['); err != nil {
		return nil, err
	}
	var parts []llm.Part
	for i := 0; p.more(); i++ {
		var b blockIn
		if err := p.block(&b); err != nil {
			return nil, err
		}
		if b.Type != "text" {
			return nil, llm.Errorf(fmt.Sprintf("system[%d].type", i), "system blocks must be text blocks, got %q", b.Type)
		}
		if b.Text != "" {
			parts = append(parts, llm.Part{Type: llm.PartText, Text: b.Text})
		}
	}
	return parts, p.leave()
}

// messages reads the conversation. Empty text blocks, and messages left
// without content, are dropped. A tool result gets the name of the tool
// call it answers.
func (p *parser) messages() ([]llm.Message, error) {
	ok, err := p.enter('[')
	if !ok {
		return nil, err
	}
	msgs := make([]llm.Message, 0, min(p.size/512+4, 128))
	var names map[string]string // tool_use id -> tool name
	for i := 0; p.more(); i++ {
		m, err := p.message(i, &names)
		if err != nil {
			return nil, err
		}
		if len(m.Parts) > 0 {
			msgs = append(msgs, m)
		}
	}
	return msgs, p.leave()
}

// message reads message i.
func (p *parser) message(i int, names *map[string]string) (llm.Message, error) {
	ok, err := p.enter('{')
	if err != nil {
		return llm.Message{}, err
	}
	if !ok {
		return llm.Message{}, llm.Errorf(fmt.Sprintf("messages[%d]", i), "expected an object, got null")
	}
	var (
		role       string
		parts      []llm.Part
		hasContent bool
		// the first block that only an assistant (or only a user) may send
		assistantOnly, userOnly = -1, -1
		assistantType           string
	)
	for p.more() {
		name, err := p.name()
		if err != nil {
			return llm.Message{}, err
		}
		switch string(name) {
		case "role":
			role, err = p.sym()
		case "content":
			hasContent = p.d.PeekKind() != 'n'
			parts, err = p.content(i, names, &assistantOnly, &assistantType, &userOnly)
		default:
			err = p.d.SkipValue()
		}
		if err != nil {
			return llm.Message{}, err
		}
	}
	if err := p.leave(); err != nil {
		return llm.Message{}, err
	}
	m := llm.Message{Parts: parts}
	switch role {
	case "user":
		m.Role = llm.RoleUser
		if assistantOnly >= 0 {
			return m, llm.Errorf(fmt.Sprintf("messages[%d].content[%d].type", i, assistantOnly), "%s blocks may only appear in assistant messages", assistantType)
		}
	case "assistant":
		m.Role = llm.RoleAssistant
		if userOnly >= 0 {
			return m, llm.Errorf(fmt.Sprintf("messages[%d].content[%d].type", i, userOnly), "tool_result blocks may only appear in user messages")
		}
	default:
		return m, llm.Errorf(fmt.Sprintf("messages[%d].role", i), "must be \"user\" or \"assistant\", got %q", role)
	}
	if !hasContent {
		return m, llm.Errorf(fmt.Sprintf("messages[%d].content", i), "field required")
	}
	return m, nil
}

// content reads the content of message i: a string or an array of blocks.
func (p *parser) content(i int, names *map[string]string, assistantOnly *int, assistantType *string, userOnly *int) ([]llm.Part, error) {
	switch p.d.PeekKind() {
	case '"':
		s, err := p.str()
		if err != nil || s == "" {
			return nil, err
		}
		p.parts = append(p.parts, llm.Part{Type: llm.PartText, Text: s})
		return partsFrom(p.parts, len(p.parts)-1), nil
	case 'n':
		return nil, p.d.SkipValue()
	case '[':
	default:
		return nil, p.mismatch("a string or an array of content blocks")
	}
	if _, err := p.enter('['); err != nil {
		return nil, err
	}
	start := len(p.parts)
	for j := 0; p.more(); j++ {
		var b blockIn
		if err := p.block(&b); err != nil {
			return nil, err
		}
		param := func(field string) string {
			if field == "" {
				return fmt.Sprintf("messages[%d].content[%d]", i, j)
			}
			return fmt.Sprintf("messages[%d].content[%d].%s", i, j, field)
		}
		switch b.Type {
		case "text":
			if b.Text != "" {
				p.parts = append(p.parts, llm.Part{Type: llm.PartText, Text: b.Text})
			}
		case "image":
			part, err := imagePart(&b, param)
			if err != nil {
				return nil, err
			}
			p.parts = append(p.parts, part)
		case "tool_use":
			if b.ID == "" {
				return nil, llm.Errorf(param("id"), "field required")
			}
			if b.Name == "" {
				return nil, llm.Errorf(param("name"), "field required")
			}
			args, ok := toolInput(b.Input)
			if !ok {
				return nil, llm.Errorf(param("input"), "must be an object, got %s", jsonKind(b.Input.Kind()))
			}
			if *names == nil {
				*names = make(map[string]string)
			}
			(*names)[b.ID] = b.Name
			p.parts = append(p.parts, llm.Part{Type: llm.PartToolCall, ID: b.ID, Name: b.Name, Arguments: args})
		case "tool_result":
			if b.ToolUseID == "" {
				return nil, llm.Errorf(param("tool_use_id"), "field required")
			}
			if b.contentErr != nil {
				return nil, b.contentErr.at(param)
			}
			p.parts = append(p.parts, llm.Part{Type: llm.PartToolResult, ID: b.ToolUseID, Name: (*names)[b.ToolUseID], Content: b.Content, IsError: b.IsError})
		case "thinking":
			p.parts = append(p.parts, llm.Part{Type: llm.PartThinking, Text: b.Thinking, Signature: b.Signature})
		case "redacted_thinking":
			p.parts = append(p.parts, llm.Part{Type: llm.PartRedactedThinking, Signature: b.Data})
		default:
			return nil, unsupportedBlock(b.Type, param("type"))
		}
		switch b.Type {
		case "tool_use", "thinking", "redacted_thinking":
			if *assistantOnly < 0 {
				*assistantOnly, *assistantType = j, b.Type
			}
		case "tool_result":
			if *userOnly < 0 {
				*userOnly = j
			}
		}
	}
	return partsFrom(p.parts, start), p.leave()
}

// blockIn is a content block as read, before its type is known.
type blockIn struct {
	Type string
	// text
	Text string
	// image
	Source sourceIn
	// tool_use
	ID    string
	Name  string
	Input jsontext.Value
	// tool_result
	ToolUseID  string
	Content    []llm.Part
	contentErr *contentError
	IsError    bool
	// thinking, redacted_thinking
	Thinking, Signature, Data string
}

// sourceIn is an image source.
type sourceIn struct {
	Type, MediaType, Data, URL string
}

// contentError is an untranslatable item in a tool_result's content,
// reported only if the block is a tool_result.
type contentError struct {
	k             int    // the item
	field, reason string // its offending field, and why
}

func (e *contentError) at(param func(string) string) error {
	return llm.Errorf(param(fmt.Sprintf("content[%d].%s", e.k, e.field)), "%s", e.reason)
}

// block reads a content block.
func (p *parser) block(b *blockIn) error {
	ok, err := p.enter('{')
	if err != nil {
		return err
	}
	if !ok {
		return llm.Errorf(p.param(), "expected an object, got null")
	}
	for p.more() {
		name, err := p.name()
		if err != nil {
			return err
		}
		switch string(name) {
		case "type":
			b.Type, err = p.sym()
		case "text":
			b.Text, err = p.str()
		case "source":
			err = p.source(&b.Source)
		case "id":
			b.ID, err = p.str()
		case "name":
			b.Name, err = p.str()
		case "input":
			b.Input, err = p.raw()
		case "tool_use_id":
			b.ToolUseID, err = p.str()
		case "content":
			b.Content, b.contentErr, err = p.toolResultContent()
		case "is_error":
			b.IsError, err = p.boolean()
		case "thinking":
			b.Thinking, err = p.str()
		case "signature":
			b.Signature, err = p.str()
		case "data":
			b.Data, err = p.str()
		default:
			err = p.d.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	return p.leave()
}

// source reads an image source.
func (p *parser) source(s *sourceIn) error {
	_, err := p.members(func(name string) (err error) {
		switch name {
		case "type":
			s.Type, err = p.sym()
		case "media_type":
			s.MediaType, err = p.sym()
		case "data":
			s.Data, err = p.str()
		case "url":
			s.URL, err = p.str()
		default:
			err = p.d.SkipValue()
		}
		return err
	})
	return err
}

// toolResultContent reads a tool_result's content: a string or text and
// image blocks. Other blocks are reported in the contentError.
func (p *parser) toolResultContent() ([]llm.Part, *contentError, error) {
	switch p.d.PeekKind() {
	case '"':
		s, err := p.str()
		if err != nil || s == "" {
			return nil, nil, err
		}
		p.nested = append(p.nested, llm.Part{Type: llm.PartText, Text: s})
		return partsFrom(p.nested, len(p.nested)-1), nil, nil
	case 'n':
		return nil, nil, p.d.SkipValue()
	case '[':
	default:
		return nil, nil, p.mismatch("a string or an array of content blocks")
	}
	if _, err := p.enter('['); err != nil {
		return nil, nil, err
	}
	// The blocks are gathered here, then moved to p.nested at once: a block
	// may itself hold content that is read into p.nested meanwhile.
	var buf [4]llm.Part
	parts := buf[:0]
	var bad *contentError
	for k := 0; p.more(); k++ {
		var b blockIn
		if err := p.block(&b); err != nil {
			return nil, nil, err
		}
		if bad != nil {
			continue
		}
		switch b.Type {
		case "text":
			if b.Text != "" {
				parts = append(parts, llm.Part{Type: llm.PartText, Text: b.Text})
			}
		case "image":
			part, err := imagePart(&b, func(field string) string { return field })
			if err != nil {
				le := err.(*llm.Error)
				bad = &contentError{k: k, field: le.Param, reason: le.Message}
				continue
			}
			parts = append(parts, part)
		default:
			le := unsupportedBlock(b.Type, "type").(*llm.Error)
			bad = &contentError{k: k, field: le.Param, reason: le.Message}
		}
	}
	start := len(p.nested)
	p.nested = append(p.nested, parts...)
	return partsFrom(p.nested, start), bad, p.leave()
}

// imagePart converts an image block.
func imagePart(b *blockIn, param func(string) string) (llm.Part, error) {
	src := &b.Source
	switch src.Type {
	case "base64":
		if src.MediaType == "" {
			return llm.Part{}, llm.Errorf(param("source.media_type"), "field required")
		}
		if src.Data == "" {
			return llm.Part{}, llm.Errorf(param("source.data"), "field required")
		}
		return llm.Part{Type: llm.PartImage, MediaType: src.MediaType, Data: src.Data}, nil
	case "url":
		if src.URL == "" {
			return llm.Part{}, llm.Errorf(param("source.url"), "field required")
		}
		return llm.Part{Type: llm.PartImage, URL: src.URL}, nil
	case "file":
		return llm.Part{}, llm.Errorf(param("source.type"), "file sources refer to Anthropic's Files API and cannot be sent to this model's provider; send the image as base64 or a URL")
	case "":
		return llm.Part{}, llm.Errorf(param("source"), "field required")
	default:
		return llm.Part{}, llm.Errorf(param("source.type"), "unsupported image source type %q; expected \"base64\" or \"url\"", src.Type)
	}
}

// unsupportedBlock explains why a content block type cannot be translated.
func unsupportedBlock(typ, param string) error {
	switch {
	case typ == "document":
		return llm.Errorf(param, "document blocks (PDF and plain-text documents) are not supported by this model's provider; send the document's text as a text block instead")
	case typ == "search_result":
		return llm.Errorf(param, "search_result blocks are not supported by this model's provider; send the results as text blocks instead")
	case typ == "server_tool_use" || typ == "container_upload" || strings.HasSuffix(typ, "_tool_result") || strings.HasPrefix(typ, "mcp_"):
		return llm.Errorf(param, "%s blocks belong to tools that run on Anthropic's platform and cannot be sent to this model's provider", typ)
	case typ == "":
		return llm.Errorf(param, "field required")
	default:
		return llm.Errorf(param, "unsupported content block type %q", typ)
	}
}

// toolInput checks tool call arguments: a JSON object; absent or null is
// {}. It reports false for anything else.
func toolInput(v jsontext.Value) (jsontext.Value, bool) {
	switch v.Kind() {
	case '{':
		return v, true
	case 0, 'n':
		return jsontext.Value(emptyObject), true
	default:
		return nil, false
	}
}

// emptyObject is the arguments of a tool call that takes none.
var emptyObject = []byte("{}")

// tools reads the tools. Tools with a type (server tools and tools whose
// schema Anthropic defines) are rejected.
func (p *parser) tools() ([]llm.Tool, error) {
	ok, err := p.enter('[')
	if !ok {
		return nil, err
	}
	tools := make([]llm.Tool, 0, 4)
	for i := 0; p.more(); i++ {
		ok, err := p.enter('{')
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, llm.Errorf(fmt.Sprintf("tools[%d]", i), "expected an object, got null")
		}
		var t llm.Tool
		var typ string
		for p.more() {
			name, err := p.name()
			if err != nil {
				return nil, err
			}
			switch string(name) {
			case "type":
				typ, err = p.sym()
			case "name":
				t.Name, err = p.str()
			case "description":
				t.Description, err = p.str()
			case "input_schema":
				if p.d.PeekKind() == '{' || p.d.PeekKind() == 'n' {
					t.Parameters, err = p.raw()
				} else {
					err = p.mismatch("an object")
				}
			default:
				err = p.d.SkipValue()
			}
			if err != nil {
				return nil, err
			}
		}
		if err := p.leave(); err != nil {
			return nil, err
		}
		switch typ {
		case "", "custom":
		default:
			return nil, llm.Errorf(fmt.Sprintf("tools[%d].type", i), "%q is a tool defined and run by Anthropic (a server tool or a tool with a built-in schema) and cannot be used with this model's provider; define a custom tool with an input_schema instead", typ)
		}
		if t.Name == "" {
			return nil, llm.Errorf(fmt.Sprintf("tools[%d].name", i), "field required")
		}
		tools = append(tools, t)
	}
	return tools, p.leave()
}

// thinkingIn is the thinking configuration.
type thinkingIn struct {
	Type         string
	BudgetTokens *int64
}

// thinking reads the thinking configuration.
func (p *parser) thinking() (*thinkingIn, error) {
	t := &thinkingIn{}
	ok, err := p.members(func(name string) (err error) {
		switch name {
		case "type":
			t.Type, err = p.sym()
		case "budget_tokens":
			var n int64
			var ok bool
			if n, ok, err = p.integer(); ok {
				t.BudgetTokens = &n
			}
		default:
			err = p.d.SkipValue()
		}
		return err
	})
	if !ok {
		return nil, err
	}
	return t, err
}

// formatIn is a structured output format.
type formatIn struct {
	Type   string
	Schema jsontext.Value
}

// format reads an output format.
func (p *parser) format() (*formatIn, error) {
	f := &formatIn{}
	ok, err := p.members(func(name string) (err error) {
		switch name {
		case "type":
			f.Type, err = p.sym()
		case "schema":
			f.Schema, err = p.raw()
		default:
			err = p.d.SkipValue()
		}
		return err
	})
	if !ok {
		return nil, err
	}
	return f, err
}

// outputConfig reads output_config: effort and format.
func (p *parser) outputConfig(q *requestState) error {
	_, err := p.members(func(name string) (err error) {
		switch name {
		case "effort":
			q.effort, err = p.sym()
		case "format":
			var f *formatIn
			if f, err = p.format(); f != nil {
				q.format, q.formatParam = f, "output_config.format"
			}
		default:
			err = p.d.SkipValue()
		}
		return err
	})
	return err
}

// toolChoiceIn is the tool choice.
type toolChoiceIn struct {
	Type                   string
	Name                   string
	DisableParallelToolUse bool
}

// toolChoice reads the tool choice.
func (p *parser) toolChoice() (*toolChoiceIn, error) {
	tc := &toolChoiceIn{}
	ok, err := p.members(func(name string) (err error) {
		switch name {
		case "type":
			tc.Type, err = p.sym()
		case "name":
			tc.Name, err = p.str()
		case "disable_parallel_tool_use":
			tc.DisableParallelToolUse, err = p.boolean()
		default:
			err = p.d.SkipValue()
		}
		return err
	})
	if !ok {
		return nil, err
	}
	return tc, err
}
