// Package translate serves a chat exchange in one wire format with a
// provider that speaks another: OpenAI Chat Completions, OpenAI Responses
// (inbound only), Anthropic Messages and the Gemini API.
//
// Translation goes through the dialect-neutral model of package llm: the
// client's request is decoded by its format's codec (gateway/dialect/…) and
// encoded by the provider's; the provider's answer, whole or streamed event
// by event, is decoded by the provider's codec and encoded by the client's.
// Any format can therefore be served by any other, and each codec documents
// the mapping decisions of its own dialect (what is dropped, what is
// refused with an *llm.Error, how finish reasons, usage and tool call IDs
// map).
//
// The package is pure: it transforms bytes, performs no I/O and never
// fetches anything (image URLs are passed on as URLs).
package translate
