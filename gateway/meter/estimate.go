package meter

import "bytes"

// Token estimation.
//
// When a stream is cut before the provider reported its usage, the meter
// estimates it: input from the request body, output from the text streamed
// so far. Budget admission uses the same input estimate. No provider's
// tokenizer is embedded (they differ, and some are not public); instead a
// fixed-weight heuristic on character classes, calibrated against OpenAI's
// cl100k_base and o200k_base encodings on English prose, Markdown, Go,
// Python and JavaScript code, YAML, JSON, digit runs and the GnuPG help
// texts in 17 languages (see EstimateTokens for the weights and measured
// error).

// ImageTokens is what the input estimate counts for one image, audio clip
// or file attached to a request (a data URL, an uploaded file id, Gemini
// inline or file data, an Anthropic image or document source): their real
// cost depends on size and provider (OpenAI ~765 tokens for a 1024×1024
// image at high detail, Anthropic ~1,600 for a full-size image, Gemini 258
// per 768×768 tile), so one round figure in the middle of that range.
const ImageTokens = 1000

// Per-request framing that providers add around messages, after OpenAI's
// published counting recipe: about 4 tokens per message (role and
// separators) and 3 to prime the reply.
const (
	messageOverhead = 4
	replyOverhead   = 3
)

// Character classes for the estimate. Weights are in 1/660 of a token so
// that every rate below is an integer (660 = lcm of 2, 3, 4, 5, 11).
const (
	clsIgnore = iota // UTF-8 continuation byte
	clsLetter        // ASCII letter
	clsDigit         // ASCII digit
	clsSpace         // ASCII space, tab, newline, carriage return
	clsOther         // other ASCII: punctuation, symbols, controls
	clsLatin         // U+0080–U+02FF: accented Latin, IPA
	clsNarrow        // U+0300–U+07FF: Greek, Cyrillic, Hebrew, Arabic…
	clsWide          // U+0800–U+FFFF: CJK, kana, Hangul, Indic, symbols
	clsAstral        // U+10000 and up: emoji, rare CJK
	numClasses
)

const weightUnit = 660

// classWeight is the share of a token each character of a class costs.
var classWeight = [numClasses]int64{
	clsIgnore: 0,
	clsLetter: 120,  // 1/5.5: an English word and its space is about one token
	clsDigit:  330,  // 1/2: digits are split into runs of at most 3
	clsSpace:  165,  // 1/4: spaces mostly merge into the next word
	clsOther:  440,  // 2/3: punctuation is often a token of its own
	clsLatin:  1320, // 2: an accented letter marks a non-English word, split finer
	clsNarrow: 264,  // 2/5: Cyrillic, Greek… (cl100k ~0.45, o200k ~0.3 per letter)
	clsWide:   660,  // 1: CJK ideographs and kana (cl100k ~1.1, o200k ~0.8)
	clsAstral: 990,  // 3/2: emoji are one to three tokens
}

// byteClass classifies each byte: ASCII by kind, UTF-8 lead bytes by the
// range of the rune they start, continuation bytes ignored (counted with
// their lead byte), invalid bytes as "other".
var byteClass = func() (t [256]uint8) {
	for b := 0; b < 256; b++ {
		c := uint8(clsOther)
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z':
			c = clsLetter
		case b >= '0' && b <= '9':
			c = clsDigit
		case b == ' ', b == '\t', b == '\n', b == '\r':
			c = clsSpace
		case b < 0x80:
			c = clsOther
		case b < 0xC0:
			c = clsIgnore
		case b < 0xC2:
			c = clsOther // overlong encodings: invalid
		case b < 0xCC: // U+0080–U+02FF
			c = clsLatin
		case b < 0xE0: // U+0300–U+07FF
			c = clsNarrow
		case b < 0xF0:
			c = clsWide
		case b < 0xF5:
			c = clsAstral
		}
		t[b] = c
	}
	return t
}()

// textStats counts characters by class, so that text seen in pieces (the
// deltas of a stream) is estimated as a whole, without keeping it.
type textStats struct {
	n [numClasses]int64
}

// addRaw counts UTF-8 text. Long runs are counted into four interleaved
// histograms, so consecutive bytes of one class do not wait on each other's
// increment; the result is the same.
func (t *textStats) addRaw(b []byte) {
	if len(b) < 64 {
		for _, c := range b {
			t.n[byteClass[c]]++
		}
		return
	}
	var h [4][numClasses]int64
	i := 0
	for ; i+4 <= len(b); i += 4 {
		h[0][byteClass[b[i]]]++
		h[1][byteClass[b[i+1]]]++
		h[2][byteClass[b[i+2]]]++
		h[3][byteClass[b[i+3]]]++
	}
	for ; i < len(b); i++ {
		h[0][byteClass[b[i]]]++
	}
	for c := range t.n {
		t.n[c] += h[0][c] + h[1][c] + h[2][c] + h[3][c]
	}
}

// addRune counts one decoded rune.
func (t *textStats) addRune(r rune) {
	switch {
	case r < 0x80:
		t.n[byteClass[r]]++
	case r < 0x300:
		t.n[clsLatin]++
	case r < 0x800:
		t.n[clsNarrow]++
	case r < 0x10000:
		t.n[clsWide]++
	default:
		t.n[clsAstral]++
	}
}

// addJSON counts the text of a JSON string, given the raw bytes between its
// quotes: escapes count as the character they stand for.
func (t *textStats) addJSON(s []byte) {
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\\')
		if i < 0 {
			t.addRaw(s)
			return
		}
		t.addRaw(s[:i])
		s = s[i+1:]
		if len(s) == 0 {
			return
		}
		if s[0] != 'u' {
			switch s[0] {
			case 'n', 't', 'r':
				t.n[clsSpace]++
			default: // \" \\ \/ \b \f
				t.n[clsOther]++
			}
			s = s[1:]
			continue
		}
		r, ok := hex4(s[1:])
		if !ok {
			t.n[clsOther]++
			s = s[1:]
			continue
		}
		s = s[5:]
		if r >= 0xD800 && r < 0xDC00 && len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
			if lo, ok := hex4(s[2:]); ok && lo >= 0xDC00 && lo < 0xE000 {
				t.n[clsAstral]++ // a surrogate pair: one rune
				s = s[6:]
				continue
			}
		}
		t.addRune(r)
	}
}

// hex4 decodes the four hex digits of a \u escape.
func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// empty reports whether no character was counted.
func (t *textStats) empty() bool {
	for _, n := range t.n[1:] {
		if n != 0 {
			return false
		}
	}
	return true
}

// tokens is the estimate for everything counted: at least 1 when anything
// was counted.
func (t *textStats) tokens() int64 {
	var sum int64
	for c, n := range t.n {
		sum += n * classWeight[c]
	}
	return (sum + weightUnit - 1) / weightUnit
}

// EstimateTokens estimates how many tokens text is, for any provider.
//
// The heuristic weighs characters by class: an ASCII letter is 1/5.5 of a
// token, a digit 1/2, a space 1/4, other ASCII 2/3; an accented Latin
// letter (U+0080–U+02FF) 2; a Greek, Cyrillic, Hebrew or Arabic letter
// (U+0300–U+07FF) 2/5; a CJK, kana, Hangul or other BMP character 1; an
// emoji or other astral character 3/2. The sum is rounded up.
//
// Measured against OpenAI's cl100k_base / o200k_base (positive: the
// estimate is higher; testdata/README.md lists the samples): English prose
// −9…+7%, Markdown −5…+5%, Go, Python and JavaScript code −13…−2%, YAML
// −14%, JSON +5% (+20% pretty-printed), digit runs −9%; German, French,
// Spanish, Polish, Turkish and other Latin-script languages −25…+18%;
// Russian −11…−5% / +46…+54%; Chinese and Japanese −6…−4% / +25…+35%
// (o200k packs these scripts much tighter than cl100k). Bytes/4, the common
// rule of thumb, is off by +15…+32% on English prose, −27…−36% on
// changelogs and dense JavaScript and −51% on numbers: character classes
// cost a table lookup per byte and remove most of that spread. Claude's and
// Gemini's tokenizers are not public and were not measured (the one Gemini
// sample in the tests, a 28-token prompt, is estimated at 36 with message
// overheads).
func EstimateTokens(text []byte) int64 {
	var t textStats
	t.addRaw(text)
	return t.tokens()
}

// EstimateRequestTokens estimates the input tokens of a request body in a
// dialect ("openai", "anthropic", "gemini"; the op does not change the
// result).
//
// It sums the text of every string in the body (messages, system prompts,
// instructions, input, contents, tool results, tool-call arguments, names,
// descriptions), counts tool definitions and response schemas (tools,
// functions, response_format, responseSchema…) and structured tool
// arguments (Anthropic tool_use input, Gemini functionCall args and
// functionResponse response) by their keys and values, and counts each image,
// audio clip or file (image_url, input_audio, file_data, file_id, Gemini
// inlineData/fileData, Anthropic image and document sources) as
// ImageTokens without reading its bytes. Strings that only steer the API
// (model, ids, types, roles, stop sequences, metadata, cache control,
// signatures, encrypted reasoning…) are left out; roles are counted as
// messageOverhead tokens per message instead, plus replyOverhead per
// request. Token-id arrays (an embeddings or completions input given as
// integers) count one token per id. The key names it acts on do not clash
// between dialects, so one walk serves all three. A body that is not a
// JSON object is estimated as plain text.
func EstimateRequestTokens(dialect, op string, body []byte) int64 {
	i := skipSpace(body, 0)
	if i >= len(body) {
		return 0
	}
	if body[i] != '{' {
		return EstimateTokens(body)
	}
	var w requestWalker
	w.walk(body[i:], nil, 0, false)
	return w.text.tokens() + w.media*ImageTokens + w.messages*messageOverhead + w.ids + replyOverhead
}

// maxWalkDepth bounds the recursion of requestWalker: deeper values are
// counted as raw text.
const maxWalkDepth = 32

// requestWalker accumulates the estimate of a request body.
type requestWalker struct {
	text     textStats
	media    int64 // images, audio clips, files
	messages int64 // objects with a role
	ids      int64 // token ids given as integers
}

// keyRule says how the walk treats the value of a member, by its key.
type keyRule uint8

const (
	ruleWalk      keyRule = iota // count the strings inside
	ruleRaw                      // count keys and values (schemas)
	ruleRawObject                // keys and values if an object, else walk
	ruleMedia                    // one ImageTokens
	ruleSource                   // an Anthropic content source
	ruleSkip                     // not prompt text
	ruleTokenIDs                 // numbers inside are token ids
)

func ruleFor(key []byte) keyRule {
	switch string(key) {
	case "tools", "functions", "response_format", "responseSchema", "response_schema",
		"responseJsonSchema", "response_json_schema", "schema", "parameters",
		"parametersJsonSchema", "input_schema":
		return ruleRaw
	case "input", "args", "response":
		return ruleRawObject
	case "image_url", "input_audio", "file_data", "file_id", "inlineData", "inline_data",
		"fileData", "file_uri", "fileUri":
		return ruleMedia
	case "source":
		return ruleSource
	case "prompt":
		return ruleTokenIDs
	case "model", "id", "type", "role", "tool_call_id", "tool_use_id", "call_id",
		"signature", "encrypted_content", "thoughtSignature", "thought_signature",
		"metadata", "user", "service_tier", "prompt_cache_key", "safety_identifier",
		"cache_control", "media_type", "mime_type", "mimeType", "stream_options",
		"safetySettings", "safety_settings", "previous_response_id", "cachedContent",
		"cached_content", "reasoning_effort", "truncation", "include", "store",
		"modalities", "stop", "stop_sequences", "stopSequences", "logit_bias",
		"encoding_format", "container", "conversation":
		return ruleSkip
	}
	return ruleWalk
}

// walk counts value v, the value of member key (nil at the top level and
// inherited by array elements, for which elem is set).
func (w *requestWalker) walk(v []byte, key []byte, depth int, elem bool) {
	if len(v) == 0 {
		return
	}
	rule := ruleFor(key)
	if elem && rule == ruleRawObject {
		// The Responses API's "input" array holds messages, not
		// arguments: walk them (token ids still count, below).
		rule = ruleTokenIDs
	}
	switch rule {
	case ruleSkip:
		return
	case ruleMedia:
		w.media++
		return
	case ruleRaw:
		w.structured(v, depth)
		return
	case ruleRawObject:
		if isObject(v) {
			w.structured(v, depth)
			return
		}
	case ruleSource:
		if isObject(v) {
			w.source(v, depth)
			return
		}
	}
	switch v[0] {
	case '"':
		w.text.addJSON(stringBody(v))
	case '{':
		if depth >= maxWalkDepth {
			w.text.addRaw(v)
			return
		}
		o := newObject(v)
		for k, val, ok := o.next(); ok; k, val, ok = o.next() {
			if string(k) == "role" {
				w.messages++
			}
			w.walk(val, k, depth+1, false)
		}
	case '[':
		if depth >= maxWalkDepth {
			w.text.addRaw(v)
			return
		}
		a := newArray(v)
		for el, ok := a.next(); ok; el, ok = a.next() {
			w.walk(el, key, depth+1, true)
		}
	case 't', 'f', 'n':
		// Booleans and null carry no prompt text.
	default:
		if rule == ruleTokenIDs {
			w.ids++
		}
	}
}

// structured counts a schema or structured arguments: every key, string
// and scalar as text, the JSON punctuation and layout not at all (providers
// render definitions in their own compact syntax, not as the JSON sent).
func (w *requestWalker) structured(v []byte, depth int) {
	if len(v) == 0 {
		return
	}
	switch v[0] {
	case '"':
		w.text.addJSON(stringBody(v))
	case '{':
		if depth >= maxWalkDepth {
			w.text.addRaw(v)
			return
		}
		o := newObject(v)
		for k, val, ok := o.next(); ok; k, val, ok = o.next() {
			w.text.addJSON(k)
			w.text.n[clsSpace]++
			w.structured(val, depth+1)
		}
	case '[':
		if depth >= maxWalkDepth {
			w.text.addRaw(v)
			return
		}
		a := newArray(v)
		for el, ok := a.next(); ok; el, ok = a.next() {
			w.structured(el, depth+1)
		}
	default:
		w.text.addRaw(v)
	}
}

// source counts an Anthropic content source: text and nested content are
// read; base64, URL and file sources (images, PDFs) are one media item.
func (w *requestWalker) source(v []byte, depth int) {
	t, _ := field(v, "type")
	switch string(stringBody(t)) {
	case "text":
		if d, ok := field(v, "data"); ok {
			w.walk(d, nil, depth+1, false)
		}
	case "content":
		if c, ok := field(v, "content"); ok {
			w.walk(c, nil, depth+1, false)
		}
	default:
		w.media++
	}
}
