// AUTOMATIC1111's prompt syntax: emphasis, BREAK, prompt editing and alternation (the parsers),
// and the 75-token chunks A1111 encodes a prompt in. The conditioning itself (text encoder,
// weights, schedules in the denoising loop) is in src/pipelines/prompt-conditioning.ts.
export { type AttentionPart, parsePromptAttention } from './attention.js';
export { getPromptSchedule, type PromptSchedule, type PromptScheduleOptions, scheduleIndexAt } from './schedule.js';
export { CHUNK_TOKENS, type ChunkOptions, COMMA_PADDING_BACKTRACK, emptyPromptChunk, type PromptChunk, type PromptChunks, tokenizePromptChunks } from './chunks.js';
