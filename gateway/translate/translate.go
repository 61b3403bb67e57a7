package translate

import (
	"fmt"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/dialect/anthropic"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/dialect/chat"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/dialect/gemini"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/dialect/responses"
	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/llm"
)

// Format is the wire format of a chat exchange.
type Format string

// The formats the gateway translates among.
const (
	// Chat is OpenAI Chat Completions (POST /v1/chat/completions).
	Chat Format = "openai_chat"
	// Responses is the OpenAI Responses API (POST /v1/responses); inbound
	// only: requests in it are served through another format.
	Responses Format = "openai_responses"
	// Messages is the Anthropic Messages API (POST /v1/messages).
	Messages Format = "anthropic_messages"
	// Gemini is the Gemini API (models/{model}:generateContent).
	Gemini Format = "gemini"
)

// codec is one format's encoders and decoders; nil where the format is
// never on that side of a translation.
type codec struct {
	decodeRequest  func([]byte, *llm.Request) error
	encodeRequest  func(*llm.Request, llm.EncodeOptions) ([]byte, error)
	decodeResponse func([]byte, *llm.Response) error
	encodeResponse func(*llm.Response, llm.ResponseOptions) ([]byte, error)
	newDecoder     func() llm.StreamDecoder
	newEncoder     func(llm.ResponseOptions) llm.StreamEncoder
	decodeError    func([]byte) (*llm.UpstreamError, bool)
}

var codecs = map[Format]*codec{
	Chat: {chat.DecodeRequest, chat.EncodeRequest, chat.DecodeResponse, chat.EncodeResponse,
		chat.NewStreamDecoder, chat.NewStreamEncoder, chat.DecodeError},
	Messages: {anthropic.DecodeRequest, anthropic.EncodeRequest, anthropic.DecodeResponse, anthropic.EncodeResponse,
		anthropic.NewStreamDecoder, anthropic.NewStreamEncoder, anthropic.DecodeError},
	Gemini: {gemini.DecodeRequest, gemini.EncodeRequest, gemini.DecodeResponse, gemini.EncodeResponse,
		gemini.NewStreamDecoder, gemini.NewStreamEncoder, gemini.DecodeError},
	Responses: {decodeRequest: responses.DecodeRequest, encodeResponse: responses.EncodeResponse,
		newEncoder: responses.NewStreamEncoder, decodeError: chat.DecodeError},
}

func lookup(f Format) (*codec, error) {
	c, ok := codecs[f]
	if !ok {
		return nil, fmt.Errorf("translate: unknown format %q", f)
	}
	return c, nil
}

// CanServe reports whether a client speaking from can be served by an
// upstream speaking to.
func CanServe(from, to Format) bool {
	f, t := codecs[from], codecs[to]
	return f != nil && t != nil && f.decodeRequest != nil && f.encodeResponse != nil && f.newEncoder != nil &&
		t.encodeRequest != nil && t.decodeResponse != nil && t.newDecoder != nil
}

// DecodeRequest reads a request body in format f. A request that is
// invalid or cannot be translated fails with an *llm.Error.
func DecodeRequest(f Format, body []byte) (*llm.Request, error) {
	c, err := lookup(f)
	if err != nil {
		return nil, err
	}
	r := new(llm.Request)
	if err := c.decodeRequest(body, r); err != nil {
		return nil, err
	}
	return r, nil
}

// EncodeRequest writes r as a request body in format f. A request the
// format cannot express faithfully fails with an *llm.Error.
func EncodeRequest(f Format, r *llm.Request, o llm.EncodeOptions) ([]byte, error) {
	c, err := lookup(f)
	if err != nil {
		return nil, err
	}
	return c.encodeRequest(r, o)
}

// Response translates a whole answer body from format from to format to.
func Response(from, to Format, body []byte, o llm.ResponseOptions) ([]byte, error) {
	fc, err := lookup(from)
	if err != nil {
		return nil, err
	}
	tc, err := lookup(to)
	if err != nil {
		return nil, err
	}
	var r llm.Response
	if err := fc.decodeResponse(body, &r); err != nil {
		return nil, fmt.Errorf("reading the %s answer: %w", from, err)
	}
	out, err := tc.encodeResponse(&r, o)
	if err != nil {
		return nil, fmt.Errorf("writing the %s answer: %w", to, err)
	}
	return out, nil
}

// DecodeError reads an error body in format f; ok is false when the body
// is not in f's error shape.
func DecodeError(f Format, body []byte) (e *llm.UpstreamError, ok bool) {
	c, err := lookup(f)
	if err != nil || c.decodeError == nil {
		return nil, false
	}
	return c.decodeError(body)
}

// Stream translates a server-sent event stream, event by event.
type Stream struct {
	dec  llm.StreamDecoder
	enc  llm.StreamEncoder
	dst  []byte
	done bool
	err  *llm.UpstreamError
	emit func(*llm.Event)
}

// NewStream returns a Stream from format from to format to.
func NewStream(from, to Format, o llm.ResponseOptions) (*Stream, error) {
	fc, err := lookup(from)
	if err != nil {
		return nil, err
	}
	tc, err := lookup(to)
	if err != nil {
		return nil, err
	}
	if fc.newDecoder == nil || tc.newEncoder == nil {
		return nil, fmt.Errorf("translate: no stream from %s to %s", from, to)
	}
	s := &Stream{dec: fc.newDecoder(), enc: tc.newEncoder(o)}
	s.emit = func(e *llm.Event) {
		if s.done {
			return // nothing follows the end
		}
		switch e.Type {
		case llm.EventEnd:
			s.done = true
		case llm.EventError:
			s.done = true
			u := *e.Error
			s.err = &u
		}
		s.dst = s.enc.Encode(s.dst, e)
	}
	return s, nil
}

// Event translates one upstream event (its name, possibly empty, and its
// data), appending the client's events to dst. An error means the
// upstream event could not be read.
func (s *Stream) Event(dst []byte, name string, data []byte) ([]byte, error) {
	s.dst = dst
	err := s.dec.Decode(name, data, s.emit)
	dst, s.dst = s.dst, nil
	if err != nil {
		return dst, fmt.Errorf("reading the upstream stream: %w", err)
	}
	return dst, nil
}

// Done reports whether the stream has ended, successfully or with an
// upstream error (see Failed).
func (s *Stream) Done() bool { return s.done }

// Failed is the error the upstream reported mid-stream, or nil.
func (s *Stream) Failed() *llm.UpstreamError { return s.err }
