// Package chat is the codec of the OpenAI Chat Completions dialect
// (POST /v1/chat/completions): it decodes request bodies, chat.completion
// answers and chat.completion.chunk streams into the neutral model of
// package llm, and encodes that model back. It is pure: it transforms
// bytes, performs no I/O and never fetches an image URL.
//
// # Reading a request (DecodeRequest)
//
// The decoder is used when a Chat Completions client is served by an
// upstream of another dialect, so it rejects, with an *llm.Error whose
// Param uses OpenAI's notation ("messages[2].content[1].image_url.url"),
// what none of them can honour, and otherwise keeps everything the neutral
// model can hold:
//
//   - system and developer messages, wherever they are, become System text
//     parts, in order. Empty texts are dropped everywhere, and a user or
//     assistant message left without parts is dropped.
//   - user content is a string or text and image_url parts. A
//     data:<type>;base64,<data> URL becomes inline data (image/jpeg,
//     image/png, image/gif, image/webp; "image/jpg" is read as image/jpeg);
//     an http(s) URL stays a URL; other schemes are rejected. image_url may
//     also be the URL string alone. The "detail" hint is dropped.
//     input_audio and file parts are rejected.
//   - assistant content (text and refusal parts) and the "refusal" field
//     are kept as text: they are what the assistant said. tool_calls become
//     tool call parts; their arguments string must encode a JSON object
//     ("" is {}), kept compacted. Custom (non-function) tool calls, the
//     legacy "function_call" field and "audio" are rejected.
//   - a tool message becomes a tool result part (its text parts; no image
//     can be in a tool message) whose Name is that of the assistant tool
//     call with the same ID, when there is one. Consecutive tool messages
//     go into one user message; a following user message stays separate
//     (encoders that need one user turn merge them).
//   - tools: function tools, with their description and parameters (an
//     object, kept as sent; "strict" is dropped). Custom tools are rejected.
//   - tool_choice: "auto", "none", "required", a named function, or
//     allowed_tools (Allowed, with mode auto or required). A named or
//     required choice, or allowed_tools, needs tools naming the functions;
//     "auto" and "none" without tools are dropped. parallel_tool_calls is
//     kept.
//   - max_completion_tokens wins over max_tokens; both must be positive.
//     temperature (0..2), top_p (0..1), presence_penalty and
//     frequency_penalty (-2..2) are range-checked and kept, as are seed,
//     stop (a string or an array; empty strings dropped), stream and
//     stream_options.include_usage (IncludeUsage).
//   - n becomes Candidates (the encoders of single-answer dialects reject
//     values above 1); it must be at least 1.
//   - reasoning_effort: none becomes Reasoning{Disabled}, minimal, low,
//     medium, high and xhigh become Reasoning{Effort}; others are rejected.
//   - response_format: json_object and json_schema (name required, schema,
//     strict) become ResponseFormat; text is the default.
//   - user, or failing that safety_identifier, becomes User.
//   - Rejected: logprobs=true, modalities other than "text", audio,
//     web_search_options, the legacy functions and function_call, and the
//     "function" role.
//   - Dropped (no meaning for the other dialects): model (the gateway
//     routes on it; encoders name the upstream's), message "name",
//     top_logprobs, logit_bias, store, metadata, service_tier, prediction,
//     prompt_cache_key, prompt_cache_retention, verbosity,
//     stream_options.include_obfuscation and any member this package does
//     not know.
//
// # Writing a request (EncodeRequest)
//
// Used when a client of another dialect is served by OpenAI, Azure OpenAI
// or an OpenAI-compatible server:
//
//   - the model is EncodeOptions.Model. System parts become one "system"
//     message ("system" rather than "developer": OpenAI maps it for
//     reasoning models and compatible servers only know "system").
//   - a content of exactly one text is a string, anything else an array of
//     parts (no separator is invented between texts); images become
//     image_url parts, inline ones as data: URLs.
//   - tool results become "tool" messages (tool_call_id, text content)
//     placed before the rest of their user message. Tool messages only
//     take text, so the images of a tool result are moved into the user
//     message that follows the tool messages (made if needed), ahead of the
//     user's own parts: the model still sees them, right after the
//     results. IsError has no equivalent and is dropped.
//   - tool calls become tool_calls with arguments as a compact JSON string
//     ("{}" when empty); an assistant message with only tool calls has no
//     content. Thinking and redacted thinking are dropped: the API takes no
//     reasoning back. A message left empty is dropped.
//   - MaxTokens becomes max_completion_tokens, not max_tokens: OpenAI's
//     reasoning models reject max_tokens and current compatible servers
//     read both. TopK has no equivalent and is dropped. Candidates above 1
//     are refused: the answer is translated from its first choice only.
//   - Reasoning: Effort is sent as reasoning_effort; a BudgetTokens becomes
//     an effort (<= 1024 low, <= 8192 medium, above high); Disabled sends
//     nothing. It is sent only to models known to reason (o1, o3, o4…,
//     gpt-5…, gpt-oss, codex; see reasoningModel): the others answer it
//     with a 400, so for them the client's thinking request is dropped.
//   - ResponseFormat becomes response_format; a json_schema without a name
//     is named "response" (the API requires one).
//   - tools, tool_choice and parallel_tool_calls are only sent with tools
//     (OpenAI rejects the last two without). User becomes "user", which
//     compatible servers know (safety_identifier is newer).
//   - a streamed request always asks for stream_options.include_usage: the
//     gateway meters the stream from the usage chunk.
//
// # Reading answers (DecodeResponse, NewStreamDecoder)
//
// The first choice is read. reasoning_content (or reasoning), an extension
// of DeepSeek, vLLM and others, becomes a thinking part before the text;
// content and refusal become text; tool calls become tool call parts (a
// whole answer whose arguments are not a JSON object is an error; a call
// without an ID, as some compatible servers send, gets "call_<n>").
// finish_reason maps stop -> FinishStop, length -> FinishLength,
// tool_calls and function_call -> FinishToolCalls, content_filter ->
// FinishContentFilter; "stop" when the answer called tools is
// FinishToolCalls (OpenAI says "stop" when tool_choice forced the call).
// Usage maps prompt_tokens -> Input, completion_tokens -> Output,
// prompt_tokens_details.cached_tokens (or DeepSeek's
// prompt_cache_hit_tokens) -> CacheRead,
// prompt_tokens_details.cache_write_tokens -> CacheWrite and
// completion_tokens_details.reasoning_tokens -> Reasoning: OpenAI's counts
// already are totals.
//
// In a stream, the first chunk with an ID, a choice or a usage is
// EventStart (Azure's leading prompt_filter_results chunk is skipped).
// Text and thinking deltas continue the current part of their type or
// open a new one; a tool call seen for the first time (a new index, or a
// new ID at a known index, as some compatible servers send parallel calls)
// opens a part of its own, with a made-up ID "call_<n>" when the server
// gave none. "usage": null is ignored; a usage object is EventUsage;
// "[DONE]" is EventEnd; an {"error":{...}} chunk is EventError.
//
// # Writing answers (EncodeResponse, NewStreamEncoder)
//
// The chat.completion object and chunks are written as OpenAI documents
// them. The ID is the answer's, or a made-up "chatcmpl-..." when empty;
// created is ResponseOptions.Created. Text parts are concatenated into
// message.content (null when there is none); refusal is always null;
// annotations is []; logprobs is null; tool calls are type "function" with
// arguments as a compact JSON string. Thinking is dropped: the standard
// object has no place for it. Finish maps stop, stop_sequence and
// pause_turn -> "stop" (or "tool_calls" when the answer called tools),
// length -> "length", tool_calls -> "tool_calls", content_filter and
// refusal -> "content_filter". Usage maps back: prompt_tokens = Input,
// completion_tokens = Output, total_tokens = their sum, cached_tokens =
// CacheRead, reasoning_tokens = Reasoning.
//
// The stream starts with a chunk whose delta is {"role":"assistant",
// "content":""}; each text delta is a chunk; a tool call is a chunk with
// its index (counting tool calls from 0), ID, type and name, and
// "arguments":"", then one chunk per argument fragment. The finish chunk
// (delta {} and finish_reason) and, when ResponseOptions.IncludeUsage is
// set, the usage chunk ("choices":[]; every other chunk then has
// "usage":null) are written at EventEnd, followed by "data: [DONE]". An
// error is written as data: {"error":{"message","type","param":null,
// "code"}}, with the provider's error type mapped to OpenAI's (the
// original type is the code), and nothing follows it.
//
// # Errors (DecodeError)
//
// {"error":{"message","type","param","code"}} becomes an UpstreamError
// whose Type is the type, or the code when there is no type; a numeric
// code that is an HTTP status becomes Status. {"error":"message"} and a
// one-element array holding the error object (Gemini's OpenAI-compatible
// endpoint, whose status becomes the type) are read too.
package chat
