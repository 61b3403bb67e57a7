package gemini

import (
	"errors"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/caddy-llm-gateway/caddy-llm-gateway/gateway/dialect/internal/jsonw"
)

// Contents hold nearly all of a body's bytes (the conversation's and the
// answer's text), so they are written by hand with the fast string
// appender of package jsonw rather than by reflection; the result is the
// same JSON the struct tags describe (same members, order and omissions).

// errRawValue reports a raw JSON value (function arguments or a function
// response) that is not valid JSON.
var errRawValue = errors.New("gemini: a function call's arguments or a function response is not valid JSON")

// MarshalJSONTo writes c as the struct tags of content and part describe.
func (c *content) MarshalJSONTo(enc *jsontext.Encoder) error {
	b, err := appendContent(make([]byte, 0, contentSize(c)), c)
	if err != nil {
		return err
	}
	return enc.WriteValue(b)
}

// contentSize estimates the encoded size of c.
func contentSize(c *content) int {
	n := 32
	for i := range c.Parts {
		p := &c.Parts[i]
		if p.Text != nil {
			n += len(*p.Text) + len(*p.Text)/16 + 16
		}
		if p.InlineData != nil {
			n += len(p.InlineData.Data) + 64
		}
		if p.FunctionCall != nil {
			n += len(p.FunctionCall.Args) + 64
		}
		if p.FunctionResponse != nil {
			n += len(p.FunctionResponse.Response) + 64
		}
		n += len(p.ThoughtSignature) + 32
	}
	return n
}

// object appends the members of a JSON object, with the commas between.
type object struct {
	b     []byte
	first bool
}

func openObject(b []byte) object { return object{b: append(b, '{'), first: true} }

func (o *object) key(name string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = append(o.b, '"')
	o.b = append(o.b, name...)
	o.b = append(o.b, '"', ':')
}

func (o *object) str(name, v string) {
	o.key(name)
	o.b = jsonw.AppendString(o.b, v)
}

func (o *object) raw(name string, v jsontext.Value) error {
	if !v.IsValid() {
		return errRawValue
	}
	o.key(name)
	o.b = append(o.b, v...)
	return nil
}

func (o *object) close() []byte { return append(o.b, '}') }

func appendContent(b []byte, c *content) ([]byte, error) {
	b = append(b, `{"parts":[`...)
	for i := range c.Parts {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendPart(b, &c.Parts[i]); err != nil {
			return nil, err
		}
	}
	b = append(b, ']')
	if c.Role != "" {
		b = append(b, `,"role":`...)
		b = jsonw.AppendString(b, c.Role)
	}
	return append(b, '}'), nil
}

func appendPart(b []byte, p *part) ([]byte, error) {
	o := openObject(b)
	if p.Text != nil {
		o.str("text", *p.Text)
	}
	if p.Thought {
		o.key("thought")
		o.b = append(o.b, "true"...)
	}
	if p.InlineData != nil {
		o.key("inlineData")
		o.b = appendBlob(o.b, p.InlineData)
	}
	if p.FileData != nil {
		o.key("fileData")
		o.b = appendFileData(o.b, p.FileData)
	}
	if fc := p.FunctionCall; fc != nil {
		o.key("functionCall")
		f := openObject(o.b)
		if fc.ID != "" {
			f.str("id", fc.ID)
		}
		f.str("name", fc.Name)
		if len(fc.Args) > 0 {
			if err := f.raw("args", fc.Args); err != nil {
				return nil, err
			}
		}
		o.b = f.close()
	}
	if fr := p.FunctionResponse; fr != nil {
		o.key("functionResponse")
		f := openObject(o.b)
		if fr.ID != "" {
			f.str("id", fr.ID)
		}
		f.str("name", fr.Name)
		if len(fr.Response) > 0 {
			if err := f.raw("response", fr.Response); err != nil {
				return nil, err
			}
		}
		if len(fr.Parts) > 0 {
			f.key("parts")
			f.b = append(f.b, '[')
			for i := range fr.Parts {
				if i > 0 {
					f.b = append(f.b, ',')
				}
				fp := openObject(f.b)
				if fr.Parts[i].InlineData != nil {
					fp.key("inlineData")
					fp.b = appendBlob(fp.b, fr.Parts[i].InlineData)
				}
				if fr.Parts[i].FileData != nil {
					fp.key("fileData")
					fp.b = appendFileData(fp.b, fr.Parts[i].FileData)
				}
				f.b = fp.close()
			}
			f.b = append(f.b, ']')
		}
		o.b = f.close()
	}
	if p.ThoughtSignature != "" {
		o.str("thoughtSignature", p.ThoughtSignature)
	}
	return o.close(), nil
}

func appendBlob(b []byte, v *blob) []byte {
	o := openObject(b)
	o.str("mimeType", v.MimeType)
	o.str("data", v.Data)
	return o.close()
}

func appendFileData(b []byte, v *fileData) []byte {
	o := openObject(b)
	if v.MimeType != "" {
		o.str("mimeType", v.MimeType)
	}
	o.str("fileUri", v.FileURI)
	return o.close()
}

// appendResponse writes a GenerateContentResponse, as its struct tags
// describe.
func appendResponse(b []byte, r *generateResponse) ([]byte, error) {
	o := openObject(b)
	if len(r.Candidates) > 0 {
		o.key("candidates")
		o.b = append(o.b, '[')
		for i := range r.Candidates {
			c := &r.Candidates[i]
			if i > 0 {
				o.b = append(o.b, ',')
			}
			co := openObject(o.b)
			if c.Content != nil {
				co.key("content")
				var err error
				if co.b, err = appendContent(co.b, c.Content); err != nil {
					return nil, err
				}
			}
			if c.FinishReason != "" {
				co.str("finishReason", c.FinishReason)
			}
			co.key("index")
			co.b = strconv.AppendInt(co.b, int64(c.Index), 10)
			o.b = co.close()
		}
		o.b = append(o.b, ']')
	}
	if r.PromptFeedback != nil {
		o.key("promptFeedback")
		pf := openObject(o.b)
		if r.PromptFeedback.BlockReason != "" {
			pf.str("blockReason", r.PromptFeedback.BlockReason)
		}
		o.b = pf.close()
	}
	if u := r.UsageMetadata; u != nil {
		o.key("usageMetadata")
		uo := openObject(o.b)
		num := func(name string, v int64, always bool) {
			if always || v != 0 {
				uo.key(name)
				uo.b = strconv.AppendInt(uo.b, v, 10)
			}
		}
		num("promptTokenCount", u.PromptTokenCount, true)
		num("candidatesTokenCount", u.CandidatesTokenCount, true)
		num("totalTokenCount", u.TotalTokenCount, true)
		num("cachedContentTokenCount", u.CachedContentTokenCount, false)
		num("thoughtsTokenCount", u.ThoughtsTokenCount, false)
		num("toolUsePromptTokenCount", u.ToolUsePromptTokenCount, false)
		o.b = uo.close()
	}
	if r.ModelVersion != "" {
		o.str("modelVersion", r.ModelVersion)
	}
	if r.ResponseID != "" {
		o.str("responseId", r.ResponseID)
	}
	if e := r.Error; e != nil {
		o.key("error")
		eo := openObject(o.b)
		eo.key("code")
		eo.b = strconv.AppendInt(eo.b, int64(e.Code), 10)
		eo.str("message", e.Message)
		eo.str("status", e.Status)
		o.b = eo.close()
	}
	return o.close(), nil
}
