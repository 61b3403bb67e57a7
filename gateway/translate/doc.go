// Package translate converts between the OpenAI Chat Completions wire format
// (POST /v1/chat/completions) and the Anthropic Messages wire format
// (POST /v1/messages), so that an OpenAI-speaking client can be served by an
// Anthropic upstream, streaming included.
//
// The package is pure: it only transforms bytes, depends on the standard
// library alone, performs no I/O and never fetches anything (image URLs are
// passed to the upstream as URL sources, not downloaded).
//
// # Request translation (OpenAI -> Anthropic)
//
// [ChatToMessagesRequest] makes these choices where the two formats differ:
//
//   - system and developer messages, wherever they appear in the conversation
//     and however many there are, are hoisted in order into the top-level
//     "system" field. A single non-empty text becomes the string form
//     ("system": "..."); two or more texts become the array form, one text
//     block per text, so no separator is invented between them.
//   - Message content is always emitted in the array-of-content-blocks form.
//     Empty text parts are dropped (Anthropic rejects empty text blocks) and a
//     message left without any block is dropped. Consecutive messages that map
//     to the same Anthropic role are merged, because Anthropic requires the
//     roles to alternate. tool messages become tool_result blocks in a user
//     message; inside a merged user message the tool_result blocks are moved
//     (stably) in front of the other blocks, as Anthropic requires.
//   - image_url parts: data:<type>;base64,<data> URLs become base64 image
//     sources (image/jpeg, image/png, image/gif and image/webp; "image/jpg" is
//     normalised to image/jpeg), http(s) URLs become url image sources, and any
//     other scheme is rejected. The "detail" hint has no Anthropic equivalent
//     and is dropped. input_audio and file parts are rejected.
//   - assistant refusal content parts and the assistant "refusal" field are
//     kept as text, since they are what the assistant said.
//   - tool_calls become tool_use blocks; the arguments string must be a JSON
//     object (an empty string is accepted as {}). The legacy function-calling
//     surface (role "function", "functions", "function_call") is rejected
//     with a pointer to tools/tool_calls: it has no tool call ids to pair a
//     tool_use with its tool_result.
//   - tools: function tools become Anthropic custom tools. A missing or null
//     "parameters" becomes {"type":"object"}; a schema object without "type"
//     gets "type":"object" added. The OpenAI "strict" flag is dropped. Custom
//     (non-function) tools are rejected.
//   - tool_choice: "auto" -> {type:auto}, "required" -> {type:any},
//     "none" -> {type:none}, a named function -> {type:tool,name}. An
//     "allowed_tools" choice restricts the forwarded tools to the listed ones
//     (mode auto -> auto, required -> any). parallel_tool_calls=false sets
//     disable_parallel_tool_use=true on the tool choice (an explicit
//     {type:auto} is added when only tools were sent). When no tools are sent,
//     "auto" and "none" are dropped and "required"/named choices are rejected.
//   - temperature: OpenAI accepts 0..2, Anthropic 0..1. Values above 1 are
//     clamped to 1 (rather than scaled, so the common 0..1 values keep their
//     meaning); values outside 0..2 are rejected. top_p must be within 0..1.
//   - max_tokens: max_completion_tokens wins over max_tokens; when neither is
//     sent the caller's default is used (4096 if the caller passes <= 0).
//   - user (or, failing that, safety_identifier) becomes metadata.user_id.
//   - stop (string or array) becomes stop_sequences; empty strings are dropped.
//   - Rejected with *Error because they cannot be honoured: n > 1,
//     logprobs=true, response_format json_object/json_schema (Anthropic has
//     no exact equivalent; silently dropping it would hand a JSON-expecting
//     client prose), modalities containing anything but "text".
//   - Dropped because they have no Anthropic meaning: model (replaced by the
//     upstream model), stream_options (the caller reads include_usage itself),
//     n=1, logprobs=false, top_logprobs, seed, presence_penalty,
//     frequency_penalty, logit_bias, store, metadata, service_tier,
//     reasoning_effort, verbosity, prediction, prompt_cache_key,
//     web_search_options, audio, response_format {type:text}, and any field
//     this package does not know.
//
// # Response translation (Anthropic -> OpenAI)
//
// [MessagesToChatResponse] and [ChatStream] keep the Anthropic message id and
// model, concatenate text blocks into the assistant content (null when there
// is no text), turn tool_use blocks into tool_calls, and drop thinking,
// redacted_thinking and server-tool blocks: they have no place in the
// standard OpenAI chat.completion object. Usage maps as
// prompt_tokens = input_tokens + cache_read_input_tokens +
// cache_creation_input_tokens, completion_tokens = output_tokens and
// prompt_tokens_details.cached_tokens = cache_read_input_tokens.
package translate
