// A local fake of the LLM providers' HTTP APIs, close enough to the real wire formats that the real
// AI SDK provider packages talk to it unchanged. Each provider lives under its own prefix:
//
//   /openai/v1/responses                    OpenAI Responses API (what openai(model) calls)
//   /openai/v1/chat/completions             OpenAI Chat Completions (openai.chat(model))
//   /compat/v1/chat/completions             an OpenAI-compatible server (Ollama, vLLM)
//   /anthropic/v1/messages                  Anthropic Messages
//   /google/v1beta/models/{m}:generateContent (and :streamGenerateContent?alt=sse)
//   /bedrock/model/{id}/converse            Bedrock Converse (JSON only, no event stream)
//
// Tests script a queue of replies per provider and read back every request received, with
// credentials redacted. A request with nothing scripted gets a 500 saying so.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

type FakeProvider = 'openai' | 'anthropic' | 'google' | 'bedrock' | 'openai-compatible';

export interface FakeUsage {
  inputTokens: number;
  outputTokens: number;
}

interface Common {
  /** Wait this long before sending anything. */
  delayMs?: number;
  usage?: FakeUsage;
}

type FakeReply =
  /** The model answers with this value as its JSON output (text, or the tool input in tool mode). */
  | (Common & { json: unknown })
  /** The model answers with the JSON value this returns for the prompt's text (benches: batches). */
  | (Common & { respond: (prompt: string) => unknown })
  /** The model answers with this raw text (e.g. not JSON, to test invalid output). */
  | (Common & { text: string })
  /** An HTTP error in the provider's error format. */
  | (Common & {
      status: number;
      message?: string;
      /** Retry-After header, seconds or an HTTP date. */
      retryAfter?: number | string;
      /** OpenAI's retry-after-ms header. */
      retryAfterMs?: number;
      headers?: Record<string, string>;
    })
  /**
   * The model's output in pieces, `chunkDelayMs` apart. A streaming request gets them as SSE
   * deltas; a plain request gets the complete JSON body trickled in as many pieces.
   */
  | (Common & { stream: string[]; chunkDelayMs?: number })
  /** Close the connection without answering (a network error). */
  | (Common & { drop: true })
  /**
   * The provider's own refusal, in its wire format (HTTP 200, no usable output): OpenAI chat and
   * OpenAI-compatible servers `message.refusal` with `content: null` (variant `content_filter`:
   * no refusal text, `finish_reason: "content_filter"`), the Responses API a `refusal` content part,
   * Anthropic `stop_reason: "refusal"`, Gemini a candidate with `finishReason: "SAFETY"` and no
   * content, Bedrock Converse `stopReason: "content_filtered"`. Not streamed.
   */
  | (Common & { refusal: string; variant?: 'content_filter' })
  /** Only a delay: stall, then answer 504 (the client should have given up by then). */
  | { delayMs: number };

export interface RecordedRequest {
  provider: FakeProvider | 'unknown';
  method: string;
  /** Path after the provider prefix, e.g. /v1/responses. */
  path: string;
  query: Record<string, string>;
  /** Lower-case names; credentials replaced by `[redacted]` (keeping a Bearer/AWS4 scheme word). */
  headers: Record<string, string>;
  body: unknown;
  /** The API the request was routed to. */
  api: Api | 'unknown';
  stream: boolean;
  model?: string;
}

type Api = 'openai-responses' | 'openai-chat' | 'anthropic' | 'google' | 'bedrock';

export interface FakeLlm {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The base URL to give the provider package (includes /v1 or /v1beta where the package expects it). */
  baseURL(provider: FakeProvider): string;
  /** Appends replies to the provider's queue. */
  script(provider: FakeProvider, ...replies: FakeReply[]): void;
  /** Replies still queued. */
  pending(provider: FakeProvider): number;
  readonly requests: readonly RecordedRequest[];
  requestsFor(provider: FakeProvider): RecordedRequest[];
  /** Forgets queues and recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

const PREFIX: Record<FakeProvider, string> = {
  openai: '/openai',
  anthropic: '/anthropic',
  google: '/google',
  bedrock: '/bedrock',
  'openai-compatible': '/compat',
};
const BASE_SUFFIX: Record<FakeProvider, string> = {
  openai: '/v1',
  anthropic: '/v1',
  google: '/v1beta',
  bedrock: '',
  'openai-compatible': '/v1',
};

const SECRET_HEADERS = new Set([
  'authorization',
  'x-api-key',
  'x-goog-api-key',
  'x-amz-security-token',
  'api-key',
]);

function redactHeaders(raw: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    const value = Array.isArray(v) ? v.join(', ') : v;
    if (SECRET_HEADERS.has(k)) {
      const scheme = /^(Bearer|Basic|AWS4-HMAC-SHA256)\s/i.exec(value)?.[1];
      out[k] = scheme ? `${scheme} [redacted]` : '[redacted]';
    } else out[k] = value;
  }
  return out;
}

const DEFAULT_USAGE: FakeUsage = { inputTokens: 100, outputTokens: 50 };

interface Route {
  provider: FakeProvider | 'unknown';
  api: Api | 'unknown';
  path: string;
  model?: string;
  streamPath: boolean;
}

function route(pathname: string): Route {
  for (const [provider, prefix] of Object.entries(PREFIX) as [FakeProvider, string][]) {
    if (!pathname.startsWith(`${prefix}/`)) continue;
    const path = pathname.slice(prefix.length);
    if (provider === 'openai' && path === '/v1/responses')
      return { provider, api: 'openai-responses', path, streamPath: false };
    if ((provider === 'openai' || provider === 'openai-compatible') && path === '/v1/chat/completions')
      return { provider, api: 'openai-chat', path, streamPath: false };
    if (provider === 'anthropic' && path === '/v1/messages')
      return { provider, api: 'anthropic', path, streamPath: false };
    const g = /^\/v1beta\/models\/([^:/]+):(generateContent|streamGenerateContent)$/.exec(path);
    if (provider === 'google' && g)
      return {
        provider,
        api: 'google',
        path,
        model: decodeURIComponent(g[1]!),
        streamPath: g[2] === 'streamGenerateContent',
      };
    const b = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(path);
    if (provider === 'bedrock' && b)
      return {
        provider,
        api: 'bedrock',
        path,
        model: decodeURIComponent(b[1]!),
        streamPath: b[2] === 'converse-stream',
      };
    return { provider, api: 'unknown', path, streamPath: false };
  }
  return { provider: 'unknown', api: 'unknown', path: pathname, streamPath: false };
}

// --- wire formats -------------------------------------------------------------------------------

function errorBody(api: Api, status: number, message: string): unknown {
  switch (api) {
    case 'openai-responses':
    case 'openai-chat':
      return {
        error: {
          message,
          type:
            status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error',
          param: null,
          code: status === 429 ? 'rate_limit_exceeded' : status === 401 ? 'invalid_api_key' : null,
        },
      };
    case 'anthropic':
      return {
        type: 'error',
        error: {
          type:
            status === 429
              ? 'rate_limit_error'
              : status === 529
                ? 'overloaded_error'
                : status === 401
                  ? 'authentication_error'
                  : status >= 500
                    ? 'api_error'
                    : 'invalid_request_error',
          message,
        },
      };
    case 'google':
      return {
        error: {
          code: status,
          message,
          status:
            status === 429
              ? 'RESOURCE_EXHAUSTED'
              : status === 401
                ? 'UNAUTHENTICATED'
                : status >= 500
                  ? 'INTERNAL'
                  : 'INVALID_ARGUMENT',
        },
      };
    case 'bedrock':
      return { message };
  }
}

interface Ctx {
  api: Api;
  model: string;
  body: Record<string, unknown>;
  usage: FakeUsage;
  /** Anthropic/Bedrock asked for the answer as a `json` tool call. */
  toolMode: boolean;
}

const now = () => Math.floor(Date.now() / 1000);

/** The non-streaming response body for a complete model output. */
function completeBody(ctx: Ctx, text: string, value: unknown): unknown {
  const { usage, model } = ctx;
  switch (ctx.api) {
    case 'openai-responses':
      return {
        id: 'resp_fake',
        object: 'response',
        created_at: now(),
        status: 'completed',
        model,
        output: [
          {
            type: 'message',
            id: 'msg_fake',
            status: 'completed',
            role: 'assistant',
            content: [{ type: 'output_text', text, annotations: [] }],
          },
        ],
        incomplete_details: null,
        usage: {
          input_tokens: usage.inputTokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: usage.outputTokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: usage.inputTokens + usage.outputTokens,
        },
      };
    case 'openai-chat':
      return {
        id: 'chatcmpl-fake',
        object: 'chat.completion',
        created: now(),
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: usage.inputTokens,
          completion_tokens: usage.outputTokens,
          total_tokens: usage.inputTokens + usage.outputTokens,
        },
      };
    case 'anthropic':
      return {
        id: 'msg_fake',
        type: 'message',
        role: 'assistant',
        model,
        content:
          ctx.toolMode && value !== undefined
            ? [{ type: 'tool_use', id: 'toolu_fake', name: 'json', input: value }]
            : [{ type: 'text', text }],
        stop_reason: ctx.toolMode && value !== undefined ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens },
      };
    case 'google':
      return {
        candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
        usageMetadata: {
          promptTokenCount: usage.inputTokens,
          candidatesTokenCount: usage.outputTokens,
          totalTokenCount: usage.inputTokens + usage.outputTokens,
        },
        modelVersion: model,
      };
    case 'bedrock':
      return {
        output: {
          message: {
            role: 'assistant',
            content:
              ctx.toolMode && value !== undefined
                ? [{ toolUse: { toolUseId: 'tooluse_fake', name: 'json', input: value } }]
                : [{ text }],
          },
        },
        stopReason: ctx.toolMode && value !== undefined ? 'tool_use' : 'end_turn',
        usage: {
          inputTokens: usage.inputTokens,
          outputTokens: usage.outputTokens,
          totalTokens: usage.inputTokens + usage.outputTokens,
        },
        metrics: { latencyMs: 1 },
      };
  }
}

/** A refusal in the provider's wire format: a 200 whose answer holds no output to use. */
function refusalBody(ctx: Ctx, refusal: string, variant?: 'content_filter'): unknown {
  const { usage, model } = ctx;
  switch (ctx.api) {
    case 'openai-responses':
      return {
        ...(completeBody(ctx, '', undefined) as Record<string, unknown>),
        output: [
          {
            type: 'message',
            id: 'msg_fake',
            status: 'completed',
            role: 'assistant',
            content: [{ type: 'refusal', refusal }],
          },
        ],
      };
    case 'openai-chat':
      return {
        ...(completeBody(ctx, '', undefined) as Record<string, unknown>),
        choices: [
          {
            index: 0,
            message:
              variant === 'content_filter'
                ? { role: 'assistant', content: null }
                : { role: 'assistant', content: null, refusal },
            finish_reason: variant === 'content_filter' ? 'content_filter' : 'stop',
          },
        ],
      };
    case 'anthropic':
      return {
        id: 'msg_fake',
        type: 'message',
        role: 'assistant',
        model,
        content: refusal ? [{ type: 'text', text: refusal }] : [],
        stop_reason: 'refusal',
        stop_sequence: null,
        usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens },
      };
    case 'google':
      return {
        candidates: [
          {
            finishReason: 'SAFETY',
            index: 0,
            safetyRatings: [
              { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true },
            ],
          },
        ],
        usageMetadata: {
          promptTokenCount: usage.inputTokens,
          candidatesTokenCount: 0,
          totalTokenCount: usage.inputTokens,
        },
        modelVersion: model,
      };
    case 'bedrock':
      return {
        output: { message: { role: 'assistant', content: refusal ? [{ text: refusal }] : [] } },
        stopReason: 'content_filtered',
        usage: {
          inputTokens: usage.inputTokens,
          outputTokens: usage.outputTokens,
          totalTokens: usage.inputTokens + usage.outputTokens,
        },
        metrics: { latencyMs: 1 },
      };
  }
}

/** The SSE events for a streamed model output made of `pieces`. */
function sseEvents(ctx: Ctx, pieces: string[]): string[] {
  const { usage, model } = ctx;
  const ev = (data: unknown, event?: string) =>
    `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
  switch (ctx.api) {
    case 'openai-responses': {
      const item = { type: 'message', id: 'msg_fake', status: 'in_progress', role: 'assistant', content: [] };
      return [
        ev(
          {
            type: 'response.created',
            response: { id: 'resp_fake', created_at: now(), model, status: 'in_progress' },
          },
          'response.created',
        ),
        ev({ type: 'response.output_item.added', output_index: 0, item }, 'response.output_item.added'),
        ...pieces.map((delta) =>
          ev(
            {
              type: 'response.output_text.delta',
              item_id: 'msg_fake',
              output_index: 0,
              content_index: 0,
              delta,
            },
            'response.output_text.delta',
          ),
        ),
        ev(
          { type: 'response.output_item.done', output_index: 0, item: { ...item, status: 'completed' } },
          'response.output_item.done',
        ),
        ev(
          {
            type: 'response.completed',
            response: {
              id: 'resp_fake',
              status: 'completed',
              incomplete_details: null,
              usage: {
                input_tokens: usage.inputTokens,
                output_tokens: usage.outputTokens,
                total_tokens: usage.inputTokens + usage.outputTokens,
              },
            },
          },
          'response.completed',
        ),
      ];
    }
    case 'openai-chat': {
      const chunk = (delta: object, finish: string | null) => ({
        id: 'chatcmpl-fake',
        object: 'chat.completion.chunk',
        created: now(),
        model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      });
      const includeUsage = (ctx.body.stream_options as { include_usage?: boolean } | undefined)
        ?.include_usage;
      return [
        ...pieces.map((content, i) =>
          ev(chunk(i === 0 ? { role: 'assistant', content } : { content }, null)),
        ),
        ev(chunk({}, 'stop')),
        ...(includeUsage
          ? [
              ev({
                id: 'chatcmpl-fake',
                object: 'chat.completion.chunk',
                created: now(),
                model,
                choices: [],
                usage: {
                  prompt_tokens: usage.inputTokens,
                  completion_tokens: usage.outputTokens,
                  total_tokens: usage.inputTokens + usage.outputTokens,
                },
              }),
            ]
          : []),
        'data: [DONE]\n\n',
      ];
    }
    case 'anthropic':
      return [
        ev(
          {
            type: 'message_start',
            message: {
              id: 'msg_fake',
              type: 'message',
              role: 'assistant',
              model,
              content: [],
              stop_reason: null,
              stop_sequence: null,
              usage: { input_tokens: usage.inputTokens, output_tokens: 1 },
            },
          },
          'message_start',
        ),
        ev(
          { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
          'content_block_start',
        ),
        ...pieces.map((text) =>
          ev(
            { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } },
            'content_block_delta',
          ),
        ),
        ev({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
        ev(
          {
            type: 'message_delta',
            delta: { stop_reason: 'end_turn', stop_sequence: null },
            usage: { output_tokens: usage.outputTokens },
          },
          'message_delta',
        ),
        ev({ type: 'message_stop' }, 'message_stop'),
      ];
    case 'google':
      return pieces.map((text, i) =>
        ev({
          candidates: [
            {
              content: { parts: [{ text }], role: 'model' },
              index: 0,
              ...(i === pieces.length - 1 ? { finishReason: 'STOP' } : {}),
            },
          ],
          ...(i === pieces.length - 1
            ? {
                usageMetadata: {
                  promptTokenCount: usage.inputTokens,
                  candidatesTokenCount: usage.outputTokens,
                  totalTokenCount: usage.inputTokens + usage.outputTokens,
                },
              }
            : {}),
          modelVersion: model,
        }),
      );
    case 'bedrock':
      throw new Error('the fake does not speak the Bedrock event stream');
  }
}

function isToolMode(api: Api, body: Record<string, unknown>): boolean {
  if (api === 'anthropic') {
    const tools = body.tools as { name?: string }[] | undefined;
    return !!tools?.some((t) => t.name === 'json');
  }
  if (api === 'bedrock') {
    const cfg = body.toolConfig as { tools?: { toolSpec?: { name?: string } }[] } | undefined;
    return !!cfg?.tools?.some((t) => t.toolSpec?.name === 'json');
  }
  return false;
}

// --- the server ---------------------------------------------------------------------------------

export interface FakeLlmOptions {
  /**
   * Counts tokens of a text. When given, a reply scripted without `usage` reports what was really
   * sent and answered: input = the prompt text of the request (messages, and the output schema or
   * tools sent with it), output = the answer's text (benchmarks; the default usage is fixed).
   */
  countTokens?: (text: string) => number;
}

/** The text a model reads from a request: every message's text, plus the schema or tools sent. */
export function promptTextOf(body: unknown): string {
  if (!body || typeof body !== 'object') return typeof body === 'string' ? body : '';
  const b = body as Record<string, unknown>;
  const texts: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === 'string') texts.push(v);
    else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.text === 'string') texts.push(o.text);
      else if ('content' in o) collect(o.content);
      else if ('parts' in o) collect(o.parts);
    }
  };
  collect(b.system);
  collect(b.instructions);
  collect(b.messages);
  collect(b.input);
  collect(b.contents);
  collect((b.systemInstruction as { parts?: unknown } | undefined)?.parts);
  for (const k of ['response_format', 'text', 'tools', 'toolConfig', 'output_format'])
    if (b[k] !== undefined && typeof b[k] !== 'string') texts.push(JSON.stringify(b[k]));
  const gen = b.generationConfig as Record<string, unknown> | undefined;
  if (gen?.responseSchema) texts.push(JSON.stringify(gen.responseSchema));
  return texts.join('\n');
}

export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<FakeLlm> {
  const queues = new Map<FakeProvider, FakeReply[]>();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number, res: ServerResponse) =>
    new Promise<void>((resolve) => {
      if (ms <= 0) return resolve();
      const t = setTimeout(() => {
        timers.delete(t);
        res.off('close', done);
        resolve();
      }, ms);
      const done = () => {
        clearTimeout(t);
        timers.delete(t);
        resolve();
      };
      timers.add(t);
      res.once('close', done);
    });
  const gone = (res: ServerResponse) => res.destroyed || res.writableEnded;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      // keep the raw text
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const r = route(url.pathname);
    const query = Object.fromEntries(url.searchParams);
    if ('key' in query) query.key = '[redacted]';
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const stream = r.streamPath || b.stream === true;
    const model = r.model ?? (typeof b.model === 'string' ? b.model : undefined);
    requests.push({
      provider: r.provider,
      method: req.method ?? 'GET',
      path: r.path,
      query,
      headers: redactHeaders(req.headers),
      body,
      api: r.api,
      stream,
      ...(model !== undefined ? { model } : {}),
    });

    if (r.provider === 'unknown' || r.api === 'unknown' || req.method !== 'POST') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `fake LLM: no route for ${req.method} ${url.pathname}` } }));
      return;
    }
    const api = r.api;
    const queued = queues.get(r.provider)?.shift();
    const reply =
      queued && 'respond' in queued
        ? { ...queued, json: queued.respond(promptTextOf(body)), respond: undefined }
        : queued;
    const sendError = (status: number, message: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(errorBody(api, status, message)));
    };
    if (!reply) return sendError(500, `fake LLM: nothing scripted for ${r.provider}`);

    await sleep(reply.delayMs ?? 0, res);
    if (gone(res)) return;

    if ('drop' in reply) {
      req.socket.destroy();
      return;
    }
    if ('status' in reply) {
      const headers: Record<string, string> = { ...reply.headers };
      if (reply.retryAfter !== undefined) headers['retry-after'] = String(reply.retryAfter);
      if (reply.retryAfterMs !== undefined) headers['retry-after-ms'] = String(reply.retryAfterMs);
      if (api === 'bedrock')
        headers['x-amzn-errortype'] = reply.status === 429 ? 'ThrottlingException' : 'Error';
      return sendError(reply.status, reply.message ?? `fake LLM error ${reply.status}`, headers);
    }
    if ('refusal' in reply) {
      if (stream) return sendError(501, 'fake LLM: streamed refusals are not implemented');
      const ctx: Ctx = {
        api,
        model: model ?? 'fake-model',
        body: b,
        usage: reply.usage ?? DEFAULT_USAGE,
        toolMode: false,
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(refusalBody(ctx, reply.refusal, reply.variant)));
      return;
    }
    if (!('json' in reply) && !('text' in reply) && !('stream' in reply))
      return sendError(504, 'fake LLM: stalled reply ended');

    const ctx: Ctx = {
      api,
      model: model ?? 'fake-model',
      body: b,
      usage: reply.usage ?? DEFAULT_USAGE,
      toolMode: isToolMode(api, b),
    };
    const value = 'json' in reply ? reply.json : undefined;
    const text =
      'json' in reply ? JSON.stringify(reply.json) : 'text' in reply ? reply.text : reply.stream.join('');
    if (!reply.usage && options.countTokens)
      ctx.usage = {
        inputTokens: options.countTokens(promptTextOf(body)),
        outputTokens: options.countTokens(text),
      };
    const pieces = 'stream' in reply ? reply.stream : [text];
    const chunkDelayMs = 'stream' in reply ? (reply.chunkDelayMs ?? 0) : 0;

    if (stream) {
      if (api === 'bedrock') return sendError(501, 'fake LLM: Bedrock streaming is not implemented');
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      res.flushHeaders();
      for (const [i, e] of sseEvents(ctx, pieces).entries()) {
        if (i > 0 && chunkDelayMs) await sleep(chunkDelayMs, res);
        if (gone(res)) return;
        res.write(e);
      }
      res.end();
      return;
    }

    const payload = JSON.stringify(completeBody(ctx, text, value));
    res.writeHead(200, { 'content-type': 'application/json' });
    if (pieces.length <= 1 || !chunkDelayMs) {
      res.end(payload);
      return;
    }
    // Trickle the body: headers now, the rest in as many pieces as the script has chunks.
    res.flushHeaders();
    const size = Math.ceil(payload.length / pieces.length);
    for (let i = 0; i < payload.length; i += size) {
      if (i > 0) await sleep(chunkDelayMs, res);
      if (gone(res)) return;
      res.write(payload.slice(i, i + size));
    }
    res.end();
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `fake LLM crashed: ${String(err)}` } }));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    baseURL: (p) => `${url}${PREFIX[p]}${BASE_SUFFIX[p]}`,
    script(p, ...replies) {
      const q = queues.get(p) ?? [];
      q.push(...replies);
      queues.set(p, q);
    },
    pending: (p) => queues.get(p)?.length ?? 0,
    requests,
    requestsFor: (p) => requests.filter((r) => r.provider === p),
    reset() {
      queues.clear();
      requests.length = 0;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}
