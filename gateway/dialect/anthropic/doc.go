// Package anthropic is the codec of the Anthropic Messages dialect
// (POST /v1/messages): it decodes request bodies, answers, streams and
// error bodies into the neutral model of package llm and encodes the
// neutral model back, so that Anthropic clients (the anthropic SDKs, Claude
// Code) can be served by any provider and any client can be served by
// Anthropic.
//
// # Reading requests (DecodeRequest)
//
//   - system (a string or text blocks) becomes System; cache_control and
//     citations are dropped everywhere. Message content may be a string or
//     blocks: text, image (base64 or url source), tool_use, tool_result
//     (string or text and image blocks, is_error), thinking (with its
//     signature) and redacted_thinking (its data becomes the part's
//     Signature). Empty texts and messages left empty are dropped. A
//     tool_result gets the Name of the tool_use it answers when that is in
//     the conversation.
//   - Rejected with *llm.Error, because they only work on Anthropic's
//     platform or lose their meaning elsewhere: document and search_result
//     blocks, Files API (file) image sources, server tool blocks
//     (server_tool_use, *_tool_result, mcp_*, container_upload), tools with a
//     type (web_search_…, web_fetch_…, code_execution_…, bash_…,
//     text_editor_…, computer_…, memory_…: Anthropic runs them or defines
//     their schema) and mcp_servers. Also rejected, as the Messages API
//     rejects them: a missing or non-positive max_tokens, no messages, a role
//     other than user and assistant, blocks in a message of the wrong role, a
//     thinking budget below 1024.
//   - tool_choice auto/any/none/tool map to ToolAuto/ToolRequired/ToolNone/
//     ToolNamed; disable_parallel_tool_use=true sets ParallelToolCalls=false.
//   - thinking {enabled, budget_tokens} becomes Reasoning{BudgetTokens},
//     {disabled} Reasoning{Disabled}, {adaptive} Reasoning{Effort} with
//     output_config.effort ("high", Anthropic's default, when absent; xhigh
//     and max become "high"). output_config.format (or the beta's
//     output_format) json_schema becomes ResponseFormat json_schema, strict,
//     named "response".
//   - metadata.user_id becomes User, stop_sequences Stop; temperature, top_p,
//     top_k and stream are kept. The model is kept as given (the gateway
//     routes on it). container, context_management, service_tier,
//     inference_geo, speed, cache_control and unknown fields are ignored.
//   - JSON: invalid JSON and invalid UTF-8 are rejected, values of the wrong
//     type are rejected naming the field (messages[2].content[0].text), null
//     is the same as absent, a repeated member name is accepted (the last
//     one wins, as in the API), integers may be written 1024.0.
//
// # Writing requests (EncodeRequest)
//
//   - model is EncodeOptions.Model. max_tokens is the request's, else
//     EncodeOptions.DefaultMaxTokens, else 4096.
//   - system: one text is written as a string, several as text blocks (no
//     separator is invented). Content is always written as blocks. Empty text
//     blocks and messages left empty are dropped; consecutive messages of one
//     role are merged (Anthropic requires alternation); tool_result blocks
//     are moved (stably) to the front of their user message.
//   - Images: base64 data with image/jpeg, png, gif or webp ("image/jpg"
//     becomes image/jpeg; others are rejected), http(s) URLs as url sources,
//     data: URLs as base64; other URLs are rejected. Images are never
//     fetched.
//   - Tool calls become tool_use blocks whose input is the arguments object
//     (arguments that are not a valid JSON object are rejected);
//     tool ids keep their value, with bytes outside [A-Za-z0-9_-] (which
//     Anthropic rejects) replaced by '_' in both the call and its result.
//   - Thinking parts are sent back as thinking blocks only with their
//     signature: Anthropic verifies it, so thinking from other providers
//     (unsigned) is dropped. Redacted thinking becomes redacted_thinking.
//     Thinking parts in user messages are dropped.
//   - Tools get input_schema = the parameters; nil becomes
//     {"type":"object"} and a schema without "type" gets "type":"object".
//     ToolChoice.Allowed restricts the tools sent. Modes: auto -> auto,
//     required -> any, none -> none, named -> tool; auto and none are
//     dropped when no tools are sent, required and named are then rejected.
//     ParallelToolCalls=false sets disable_parallel_tool_use (with an
//     explicit auto choice when none was given).
//   - temperature above 1 (up to OpenAI's 2) is clamped to 1 rather than
//     scaled; outside 0..2 is rejected, as is top_p outside 0..1. top_k is
//     kept (a negative one is rejected). User becomes metadata.user_id, Stop stop_sequences (empty
//     strings dropped).
//   - Reasoning: BudgetTokens becomes thinking {enabled, budget_tokens},
//     raised to Anthropic's minimum of 1024. An effort becomes a budget:
//     low 1024, medium 4096 (also for an empty or unknown effort), high
//     16384; "minimal" sends no thinking. When max_tokens is not above the
//     budget, the budget is added to it, so the request's cap still bounds
//     the visible answer (thinking counts toward max_tokens on Anthropic).
//     Disabled sends nothing. Thinking is not sent either when the last
//     assistant message calls tools without starting with a signed thinking
//     block (a tool loop begun by another provider, or by a client whose
//     dialect cannot carry the signature back): Anthropic rejects thinking
//     then. Note that Anthropic also rejects thinking with a temperature
//     other than 1, with top_k, or with a forced tool choice; those are
//     passed through as given and Anthropic's error reaches the client.
//     Models that take only adaptive thinking (Claude Opus 4.7 and later,
//     and newer families; see adaptiveOnly) get thinking {type: adaptive}
//     and output_config.effort instead: minimal and low are low, medium
//     medium, high high, xhigh max; a budget maps by size (up to 2048 low,
//     up to 8192 medium, above high), none given is high.
//   - Rejected with *llm.Error: Candidates > 1 ("n") and a json_object or
//     json_schema ResponseFormat ("response_format"), which the Messages API
//     has no exact equivalent for on every model.
//   - Dropped: Seed, PresencePenalty, FrequencyPenalty (no Anthropic
//     equivalent) and IncludeUsage (Anthropic always reports usage).
//
// # Answers and streams
//
// stop_reason maps to Finish as end_turn -> stop, stop_sequence ->
// stop_sequence (with Response.StopSequence), max_tokens and
// model_context_window_exceeded -> length, tool_use -> tool_calls, refusal
// -> refusal, pause_turn -> pause_turn; unknown reasons are stop. Back:
// stop -> end_turn, stop_sequence -> stop_sequence, length -> max_tokens,
// tool_calls -> tool_use, content_filter and refusal -> refusal, pause_turn
// -> pause_turn, and a natural stop of an answer that called tools ->
// tool_use (Anthropic clients look for it).
//
// Usage: Input = input_tokens + cache_read_input_tokens +
// cache_creation_input_tokens, CacheRead and CacheWrite are the two cache
// counts, Output = output_tokens, Reasoning =
// output_tokens_details.thinking_tokens when sent. Writing, input_tokens is
// Input - CacheRead - CacheWrite. In streams Anthropic's counts are
// cumulative (message_delta's replace message_start's; null counts are
// ignored).
//
// Reading answers, text, thinking, redacted_thinking and tool_use blocks
// become parts; citations and server tool blocks are dropped. Writing,
// empty text parts are dropped, thinking blocks always carry a signature
// ("" when the provider gave none), and a missing message or tool call ID is
// made up (msg_… / toolu_… with random hex); IDs from other providers are
// kept as they are.
//
// The stream encoder writes message_start (input usage when known at the
// start, else 0; output_tokens as given, usually 0), then for each part
// content_block_start, its deltas (text_delta; thinking_delta and
// signature_delta; tool_use starting with input {} then input_json_delta)
// and content_block_stop when the next part starts, then at EventEnd
// message_delta with stop_reason, stop_sequence and the usage (output_tokens,
// plus the input counts when known) and message_stop. message_start is
// written lazily when the upstream sent no start. A delta for a part whose
// block was already stopped (parts interleaved by the upstream) is written
// to that block. EventError writes `event: error` with
// {"type":"error","error":{"type","message"}}, the type being the upstream's
// when it is an Anthropic type and otherwise derived from the status or the
// upstream type (rate limits -> rate_limit_error, 503 -> overloaded_error,
// else api_error).
//
// DecodeError reads {"type":"error","error":{"type","message"}} and sets
// Status from the documented status of the type.
package anthropic
